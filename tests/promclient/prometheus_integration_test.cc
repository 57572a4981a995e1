// Integration tests against a real Prometheus (Debian's `prometheus` + `promtool`) with
// backfilled history. One server serves the read-only suite; the tests that stop the
// server get their own.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "promclient/curl_http_transport.h"
#include "promclient/prometheus_client.h"
#include "tests/promclient/loopback_http_server.h"
#include "tests/testing/prometheus_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_file.h"

namespace promclient {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;
using ::testing_support::TempFile;

// History ends at kEnd (a whole minute) and spans a week at 1-minute resolution.
constexpr double kEnd = 1699999980;  // 2023-11-14T22:13:00Z
constexpr double kWeek = 7 * 86400;
constexpr double kStart = kEnd - kWeek;

// A daily cycle plus seeded noise, with values that survive a text round trip exactly.
double WeeklyValue(double t) {
  static const std::vector<double> noise = [] {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> dist(0, 3);
    std::vector<double> n(10081);
    for (double& x : n) x = dist(rng);
    return n;
  }();
  const auto i = static_cast<size_t>(std::llround((t - kStart) / 60));
  return 100 + 40 * std::sin(2 * M_PI * (t - kStart) / 86400) + noise[i % noise.size()];
}

// pod="a"/"b"/"c": a*1, b*2, c*3 over the last two hours of the week.
double PodValue(int pod, double t) { return pod * 10.0 + (t - kStart) / 60; }

std::string History() {
  using testing_support::OpenMetricsGauge;
  std::vector<std::string> docs = {
      OpenMetricsGauge("augur_week", "{job=\"demo\"}", kStart, kEnd, 60, WeeklyValue)};
  for (int pod = 1; pod <= 3; ++pod) {
    docs.push_back(OpenMetricsGauge(
        "augur_pods", absl::StrCat("{pod=\"", std::string(1, 'a' + pod - 1), "\"}"), kEnd - 7200,
        kEnd, 60, [pod](double t) { return PodValue(pod, t); }));
  }
  // A 20-minute hole in the last hour.
  docs.push_back(OpenMetricsGauge("augur_gappy", "", kEnd - 3600, kEnd - 2400, 60,
                                  [](double t) { return t - kEnd; }));
  docs.push_back(OpenMetricsGauge("augur_gappy", "", kEnd - 1200, kEnd, 60,
                                  [](double t) { return t - kEnd; }));
  return testing_support::ConcatOpenMetrics(docs);
}

class PrometheusIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing_support::PrometheusServerOptions options;
    options.openmetrics = History();
    auto server = testing_support::PrometheusServer::Start(std::move(options));
    if (!server.ok()) {
      *start_error_ = server.status().ToString();
      return;
    }
    server_ = std::move(server).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "Prometheus did not start: " << *start_error_;
    ClientOptions options;
    options.base_url = server_->url();
    auto client = PrometheusClient::Create(options, std::make_shared<CurlHttpTransport>());
    ASSERT_THAT(client, IsOk());
    client_ = std::move(client).value();
  }

  static testing_support::PrometheusServer* server_;
  static std::string* start_error_;
  std::unique_ptr<PrometheusClient> client_;
};

testing_support::PrometheusServer* PrometheusIntegrationTest::server_ = nullptr;
std::string* PrometheusIntegrationTest::start_error_ = new std::string;

TEST_F(PrometheusIntegrationTest, ReadsAWeekAtOneMinuteExactly) {
  auto result = client_->QueryRange("augur_week", kStart, kEnd, 60.0);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->type, ResultType::kMatrix);
  ASSERT_EQ(result->series.size(), 1u);
  EXPECT_EQ(result->series[0].labels, (Labels{{"__name__", "augur_week"}, {"job", "demo"}}));
  const std::vector<Sample>& samples = result->series[0].samples;
  ASSERT_EQ(samples.size(), 10081u);
  for (size_t i = 0; i < samples.size(); ++i) {
    const double t = kStart + 60.0 * static_cast<double>(i);
    ASSERT_EQ(samples[i].timestamp, t) << "sample " << i;
    ASSERT_EQ(samples[i].value, WeeklyValue(t)) << "sample " << i << " at " << t;
  }
}

TEST_F(PrometheusIntegrationTest, AutoStepReadsAWeekInOneRequestAtOneMinute) {
  auto result = client_->QueryRange("augur_week", kStart, kEnd, std::nullopt);
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->series.size(), 1u);
  EXPECT_EQ(result->series[0].samples.size(), 10081u);
  EXPECT_EQ(result->series[0].samples[1].timestamp - result->series[0].samples[0].timestamp, 60);
}

TEST_F(PrometheusIntegrationTest, SplitsRangeOverElevenThousandPointsSeamlessly) {
  // A week at 30 s is 20,161 points: two requests. Every step sees the latest minute.
  auto result = client_->QueryRange("augur_week", kStart, kEnd, 30.0);
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->series.size(), 1u);
  const std::vector<Sample>& samples = result->series[0].samples;
  ASSERT_EQ(samples.size(), 20161u);
  for (size_t i = 0; i < samples.size(); ++i) {
    const double t = kStart + 30.0 * static_cast<double>(i);
    ASSERT_EQ(samples[i].timestamp, t) << "sample " << i;
    ASSERT_EQ(samples[i].value, WeeklyValue(std::floor(t / 60) * 60)) << "sample " << i;
  }
}

TEST_F(PrometheusIntegrationTest, ReturnsSeveralSeriesWithTheirLabels) {
  auto result = client_->QueryRange("augur_pods", kEnd - 3600, kEnd, 60.0);
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->series.size(), 3u);
  for (const Series& s : result->series) {
    const int pod = s.labels.at("pod")[0] - 'a' + 1;
    ASSERT_EQ(s.samples.size(), 61u) << "pod " << pod;
    for (const Sample& sample : s.samples) {
      ASSERT_EQ(sample.value, PodValue(pod, sample.timestamp));
    }
  }
}

TEST_F(PrometheusIntegrationTest, KeepsGapsAsGaps) {
  auto result = client_->QueryRange("augur_gappy", kEnd - 3600, kEnd, 60.0);
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->series.size(), 1u);
  const std::vector<Sample>& samples = result->series[0].samples;
  // Prometheus' 5-minute lookback repeats the last sample for a few steps; after that
  // nothing until the data resumes.
  int in_hole = 0;
  for (const Sample& s : samples) {
    if (s.timestamp > kEnd - 2400 + 360 && s.timestamp < kEnd - 1200) ++in_hole;
  }
  EXPECT_EQ(in_hole, 0);
  EXPECT_LT(samples.size(), 61u);
  EXPECT_EQ(samples.front().timestamp, kEnd - 3600);
  EXPECT_EQ(samples.back().timestamp, kEnd);
  EXPECT_EQ(samples.back().value, 0);
}

TEST_F(PrometheusIntegrationTest, InstantQueriesReturnEveryResultType) {
  auto vector = client_->Query("augur_pods{pod=\"b\"}", kEnd);
  ASSERT_THAT(vector, IsOk());
  EXPECT_EQ(vector->type, ResultType::kVector);
  ASSERT_EQ(vector->series.size(), 1u);
  ASSERT_EQ(vector->series[0].samples.size(), 1u);
  EXPECT_EQ(vector->series[0].samples[0].timestamp, kEnd);
  EXPECT_EQ(vector->series[0].samples[0].value, PodValue(2, kEnd));

  auto scalar = client_->Query("scalar(sum(augur_pods)) / 0", kEnd);
  ASSERT_THAT(scalar, IsOk());
  EXPECT_EQ(scalar->type, ResultType::kScalar);
  ASSERT_TRUE(scalar->scalar.has_value());
  EXPECT_TRUE(std::isinf(scalar->scalar->value));

  auto nan = client_->Query("0/0", kEnd);
  ASSERT_THAT(nan, IsOk());
  ASSERT_TRUE(nan->scalar.has_value());
  EXPECT_TRUE(std::isnan(nan->scalar->value));

  auto string = client_->Query("\"hello\"", kEnd);
  ASSERT_THAT(string, IsOk());
  EXPECT_EQ(string->type, ResultType::kString);
  EXPECT_EQ(string->string_value, "hello");

  auto empty = client_->Query("augur_does_not_exist", kEnd);
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->type, ResultType::kVector);
  EXPECT_TRUE(empty->series.empty());
}

TEST_F(PrometheusIntegrationTest, BadPromQLIsInvalidArgumentQuotingPrometheus) {
  auto result = client_->QueryRange("sum(augur_week", kStart, kEnd, 60.0);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument,
                               ::testing::AllOf(HasSubstr("bad_data"), HasSubstr("parse error"))));
  auto instant = client_->Query("rate(augur_week[5m]", std::nullopt);
  EXPECT_THAT(instant, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("parse error")));
}

TEST_F(PrometheusIntegrationTest, PathPrefixThatDoesNotExistIsNotFound) {
  ClientOptions options;
  options.base_url = server_->url() + "/no/such/prefix";
  auto client = PrometheusClient::Create(options, std::make_shared<CurlHttpTransport>());
  ASSERT_THAT(client, IsOk());
  EXPECT_THAT((*client)->Query("1", std::nullopt),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("HTTP 404")));
}

TEST_F(PrometheusIntegrationTest, ManyConcurrentCallersShareOneClient) {
  constexpr int kThreads = 8;
  constexpr int kQueriesEach = 5;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int q = 0; q < kQueriesEach; ++q) {
        auto r = client_->QueryRange("augur_pods", kEnd - 600, kEnd, 60.0);
        if (!r.ok() || r->series.size() != 3 || r->series[0].samples.size() != 11) {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(failures, ::testing::Each(0));
}

// Reads Prometheus' own count of accepted HTTP connections.
std::optional<double> AcceptedConnections(HttpTransport& transport, const std::string& url) {
  HttpRequest request;
  request.url = url + "/metrics";
  auto response = transport.Send(request);
  if (!response.ok()) return std::nullopt;
  const std::string key = "net_conntrack_listener_conn_accepted_total{listener_name=\"http\"} ";
  const size_t pos = response->body.find(key);
  if (pos == std::string::npos) return std::nullopt;
  return std::stod(response->body.substr(pos + key.size()));
}

TEST_F(PrometheusIntegrationTest, ReusesConnections) {
  auto transport = std::make_shared<CurlHttpTransport>();
  ClientOptions options;
  options.base_url = server_->url();
  auto client = PrometheusClient::Create(options, transport);
  ASSERT_THAT(client, IsOk());
  std::optional<double> before = AcceptedConnections(*transport, server_->url());
  ASSERT_TRUE(before.has_value());
  for (int i = 0; i < 20; ++i) ASSERT_THAT((*client)->Query("1", std::nullopt), IsOk());
  std::optional<double> after = AcceptedConnections(*transport, server_->url());
  ASSERT_TRUE(after.has_value());
  // One connection serves all 20 queries and the metrics reads.
  EXPECT_LE(*after - *before, 1);
}

// A server of its own, since these tests stop it.
TEST(PrometheusServerFixture, StopKillAndRestartKeepTheData) {
  testing_support::PrometheusServerOptions options;
  options.openmetrics = testing_support::OpenMetricsGauge("augur_restart", "", kEnd - 600, kEnd, 60,
                                                          [](double t) { return (kEnd - t) / 60; });
  auto server = testing_support::PrometheusServer::Start(options);
  ASSERT_THAT(server, IsOk());
  ClientOptions client_options;
  client_options.base_url = (*server)->url();
  client_options.timeout = std::chrono::milliseconds(2000);
  auto client = PrometheusClient::Create(client_options, std::make_shared<CurlHttpTransport>());
  ASSERT_THAT(client, IsOk());
  auto read = [&] { return (*client)->QueryRange("augur_restart", kEnd - 600, kEnd, 60.0); };

  auto before = read();
  ASSERT_THAT(before, IsOk());
  ASSERT_EQ(before->series.size(), 1u);
  EXPECT_EQ(before->series[0].samples.size(), 11u);

  (*server)->Stop();  // in the middle of a test: the client says UNAVAILABLE
  EXPECT_THAT(read(), StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_THAT((*server)->Restart(), IsOk());
  EXPECT_EQ(client_options.base_url, (*server)->url());  // same port
  auto again = read();
  ASSERT_THAT(again, IsOk());
  ASSERT_EQ(again->series.size(), 1u);
  EXPECT_EQ(again->series[0].samples.size(), 11u);

  (*server)->Kill();
  EXPECT_THAT(read(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("127.0.0.1")));
  ASSERT_THAT((*server)->Restart(), IsOk());
  EXPECT_THAT(read(), IsOk());
}

// A throw-away CA with a server certificate for 127.0.0.1 and a client certificate,
// made with the openssl command line. Removed on destruction.
class TestCertificates {
 public:
  TestCertificates() {
    char tmpl[] = "/tmp/augur-certs-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    const std::string script = absl::StrCat(
        "set -e; cd '", dir_, "'; ",
        "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1; }; ",
        "key ca.key; openssl req -x509 -new -key ca.key -out ca.crt -days 2 -subj /CN=augur-ca; ",
        "printf 'subjectAltName=IP:127.0.0.1\n' > san.ext; ",
        "for who in server client; do key $who.key; ",
        "openssl req -new -key $who.key -out $who.csr -subj /CN=augur-$who; ",
        "openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial ",
        "-out $who.crt -days 2 -extfile san.ext; done", " > openssl.log 2>&1");
    ok_ = std::system(script.c_str()) == 0;
  }
  ~TestCertificates() {
    if (!dir_.empty()) std::system(absl::StrCat("rm -rf '", dir_, "'").c_str());
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  bool ok_ = false;
};

TEST(PrometheusTls, CaFileClientCertificateAndInsecureSkipVerify) {
  TestCertificates certs;
  ASSERT_TRUE(certs.ok()) << "openssl failed; see " << certs.path("openssl.log");
  testing_support::PrometheusServerOptions options;
  options.https = true;
  options.web_config = absl::StrCat("tls_server_config:\n  cert_file: ", certs.path("server.crt"),
                                    "\n  key_file: ", certs.path("server.key"),
                                    "\n  client_auth_type: RequireAndVerifyClientCert",
                                    "\n  client_ca_file: ", certs.path("ca.crt"), "\n");
  options.probe_tls.ca_file = certs.path("ca.crt");
  options.probe_tls.client_cert_file = certs.path("client.crt");
  options.probe_tls.client_key_file = certs.path("client.key");
  auto server = testing_support::PrometheusServer::Start(options);
  ASSERT_THAT(server, IsOk());
  ASSERT_EQ((*server)->url().rfind("https://", 0), 0u);

  auto query_with = [&](TlsOptions tls) {
    ClientOptions client_options;
    client_options.base_url = (*server)->url();
    client_options.tls = tls;
    client_options.timeout = std::chrono::milliseconds(3000);
    auto client = PrometheusClient::Create(client_options, std::make_shared<CurlHttpTransport>());
    if (!client.ok()) return client.status();
    return (*client)->Query("1+1", std::nullopt).status();
  };
  EXPECT_THAT(query_with(options.probe_tls), IsOk());

  TlsOptions no_client_cert;
  no_client_cert.ca_file = certs.path("ca.crt");
  EXPECT_THAT(query_with(no_client_cert), StatusIs(absl::StatusCode::kUnavailable));

  TlsOptions system_cas = options.probe_tls;  // the server's CA is not a system CA
  system_cas.ca_file.clear();
  EXPECT_THAT(query_with(system_cas), StatusIs(absl::StatusCode::kUnavailable));

  TlsOptions insecure = system_cas;
  insecure.insecure_skip_verify = true;
  EXPECT_THAT(query_with(insecure), IsOk());
}

TEST(PrometheusBasicAuth, PasswordFileIsAcceptedAndWrongOrMissingOnesAreUnauthenticated) {
  // A bcrypt hash (cost 4, to keep start-up fast) of "augur-test-password", made once with
  // python3-bcrypt; Prometheus' web config takes only hashes.
  testing_support::PrometheusServerOptions options;
  options.web_config =
      "basic_auth_users:\n"
      "  augur: $2b$04$vGHh2S5UgEyHGUU4IxbIWOuK03yV9skuPrfnXIWZQUbAFgiQEPXeO\n";
  options.probe_headers = {
      {"Authorization", "Basic " + absl::Base64Escape("augur:augur-test-password")}};
  auto server = testing_support::PrometheusServer::Start(options);
  ASSERT_THAT(server, IsOk());

  auto query_as = [&](const std::string& user, const std::string& password) {
    TempFile password_file;
    password_file.Write(password + "\n", 1000);
    ClientOptions client_options;
    client_options.base_url = (*server)->url();
    client_options.timeout = std::chrono::milliseconds(3000);
    if (!user.empty()) {
      client_options.basic_auth_user = user;
      client_options.basic_auth_password_file = password_file.path();
    }
    auto client = PrometheusClient::Create(client_options, std::make_shared<CurlHttpTransport>());
    if (!client.ok()) return client.status();
    return (*client)->Query("1+1", std::nullopt).status();
  };
  EXPECT_THAT(query_as("augur", "augur-test-password"), IsOk());
  const absl::Status wrong = query_as("augur", "not-the-password");
  EXPECT_THAT(wrong, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(wrong.message()), Not(HasSubstr("not-the-password")));
  EXPECT_THAT(query_as("", ""), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(PrometheusServerFixture, ScrapesTheGivenTargets) {
  testing_http::CannedHttpServer target("# TYPE augur_scraped gauge\naugur_scraped 42\n", 200,
                                        "text/plain; version=0.0.4");
  testing_support::PrometheusServerOptions options;
  const std::string url = target.url();  // http://127.0.0.1:<port>/
  options.scrape_targets = {url.substr(7, url.size() - 8)};
  options.scrape_interval = "200ms";
  auto server = testing_support::PrometheusServer::Start(options);
  ASSERT_THAT(server, IsOk());
  ClientOptions client_options;
  client_options.base_url = (*server)->url();
  auto client = PrometheusClient::Create(client_options, std::make_shared<CurlHttpTransport>());
  ASSERT_THAT(client, IsOk());
  // Bounded polling of the real server until its first scrape lands (about 200 ms).
  absl::StatusOr<QueryResult> result;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    result = (*client)->Query("augur_scraped", std::nullopt);
    if (result.ok() && !result->series.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < until);
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->series.size(), 1u) << "no scrape within 20 s";
  EXPECT_EQ(result->series[0].samples[0].value, 42);
  EXPECT_EQ(result->series[0].labels.at("job"), "targets");
  EXPECT_EQ(result->series[0].labels.at("instance"), url.substr(7, url.size() - 8));
}

TEST(PrometheusServerFixture, RejectedBackfillIsInternalWithPromtoolsOutput) {
  testing_support::PrometheusServerOptions options;
  options.openmetrics = "this is not openmetrics\n# EOF\n";
  auto server = testing_support::PrometheusServer::Start(options);
  EXPECT_THAT(server, StatusIs(absl::StatusCode::kInternal, HasSubstr("promtool")));
}

TEST(OpenMetricsGauge, WritesSamplesNaNAndEof) {
  std::string text = testing_support::OpenMetricsGauge(
      "m", "{a=\"1\"}", 0, 120, 60, [](double t) { return t == 60 ? NAN : t / 2; });
  EXPECT_EQ(text, "# TYPE m gauge\nm{a=\"1\"} 0 0\nm{a=\"1\"} NaN 60\nm{a=\"1\"} 60 120\n# EOF\n");
}

}  // namespace
}  // namespace promclient
