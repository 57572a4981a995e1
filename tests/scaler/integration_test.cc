// The real `augur` binary against a real Prometheus holding a week of backfilled
// daily-cycle history. Timing with a real binary cannot use a fake clock: short flag
// values and bounded polling instead (no fixed sleeps).

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "externalscaler.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inspector.grpc.pb.h"
#include "promclient/curl_http_transport.h"
#include "tests/scaler/wire_clients.h"
#include "tests/testing/augur_process.h"
#include "tests/testing/prometheus_server.h"

namespace {

using ::testing::HasSubstr;

constexpr double kDay = 86400;
constexpr double kPi = 3.14159265358979323846;
constexpr double kPeakAhead = 3 * 3600;  // the daily peak comes 3 h after the test starts

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Between 50 and 150, peaking kPeakAhead after `t0`.
double Load(double t, double t0) {
  return 100 + 50 * std::cos(2 * kPi * (t - (t0 + kPeakAhead)) / kDay);
}

std::string MakeTempDir() {
  char tmpl[] = "/tmp/augur-scaler-it-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  return dir ? dir : "";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The real augur (AUGUR_BINARY) on free loopback ports, its log in `dir`.
struct AugurProcess {
  static std::unique_ptr<testing_support::AugurProcess> Start(
      const std::vector<std::string>& flags, const std::string& dir) {
    return testing_support::AugurProcess::Start(AUGUR_BINARY, flags, dir);
  }
};
using testing_support::PollUntil;

class AugurIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = MakeTempDir();
    t0_ = std::floor(Now() / 60) * 60;
    testing_support::PrometheusServerOptions o;
    const double t0 = t0_;
    o.openmetrics = testing_support::OpenMetricsGauge(
        "augur_it_load", "{job=\"it\"}", t0 - 7 * kDay, t0 - 60, 60,
        [t0](double t) { return Load(t, t0); });
    auto prom = testing_support::PrometheusServer::Start(o);
    if (!prom.ok()) {
      start_error_ = std::string(prom.status().message());
      return;
    }
    prom_ = std::move(*prom).release();
  }
  static void TearDownTestSuite() {
    delete prom_;
    prom_ = nullptr;
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  void SetUp() override {
    ASSERT_NE(prom_, nullptr) << "Prometheus did not start: " << start_error_;
  }

  static externalscaler::ScaledObjectRef Ref(const std::string& name,
                                             std::map<std::string, std::string> extra = {}) {
    externalscaler::ScaledObjectRef ref;
    ref.set_name(name);
    ref.set_namespace_("it");
    std::map<std::string, std::string> md = {{"query", "sum(augur_it_load{job=\"it\"})"},
                                             {"targetValue", "10"},
                                             {"history", "7d"},
                                             {"step", "5m"},
                                             {"horizon", "3h"},
                                             {"seasonality", "1d"},
                                             {"refreshInterval", "1s"}};
    for (auto& [k, v] : extra) md[k] = v;
    for (auto& [k, v] : md) (*ref.mutable_scalermetadata())[k] = v;
    return ref;
  }

  std::unique_ptr<testing_support::AugurProcess> StartAugur(std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {"--prometheus-url", prom_->url(),
                                      "--first-answer-timeout", "60s", "--log-level", "debug"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto augur = AugurProcess::Start(flags, dir_);
    EXPECT_FALSE(augur->grpc_address().empty()) << augur->log();
    return augur;
  }

  static inline std::string dir_;
  static inline double t0_ = 0;
  static inline testing_support::PrometheusServer* prom_ = nullptr;
  static inline std::string start_error_;
};

TEST_F(AugurIntegrationTest, KedaOrderAnswersAheadOfTheDailyPeak) {
  auto augur = StartAugur();
  auto channel = grpc::CreateChannel(augur->grpc_address(), grpc::InsecureChannelCredentials());
  auto stub = externalscaler::ExternalScaler::NewStub(channel);
  auto ref = Ref("web");

  grpc::ClientContext c1;
  externalscaler::GetMetricSpecResponse spec;
  ASSERT_TRUE(stub->GetMetricSpec(&c1, ref, &spec).ok()) << augur->log();
  ASSERT_EQ(spec.metricspecs_size(), 1);
  EXPECT_EQ(spec.metricspecs(0).metricname(), "augur-web");

  grpc::ClientContext c2;
  externalscaler::GetMetricsRequest req;
  *req.mutable_scaledobjectref() = ref;
  req.set_metricname(spec.metricspecs(0).metricname());
  externalscaler::GetMetricsResponse metrics;
  grpc::Status s = stub->GetMetrics(&c2, req, &metrics);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << augur->log();
  ASSERT_EQ(metrics.metricvalues_size(), 1);
  const double value = metrics.metricvalues(0).metricvaluefloat();
  const double current = Load(t0_ - 60, t0_);
  const double peak = 150;
  EXPECT_GT(value, current + 0.5 * (peak - current)) << "current " << current;
  EXPECT_NEAR(value, peak, 5) << "current " << current;

  grpc::ClientContext c3;
  externalscaler::IsActiveResponse active;
  ASSERT_TRUE(stub->IsActive(&c3, ref, &active).ok());
  EXPECT_TRUE(active.result());

  // The Inspector explains it.
  auto inspector = augur::v1::Inspector::NewStub(channel);
  grpc::ClientContext c4;
  augur::v1::Explanation e;
  ASSERT_TRUE(inspector->Explain(&c4, ref, &e).ok());
  EXPECT_EQ(e.reason(), "forecast");
  EXPECT_GT(e.history().points(), 2000u);
  EXPECT_TRUE(e.model().fitted());

  EXPECT_EQ(augur->Terminate(5), 0) << augur->log();
  EXPECT_THAT(augur->log(), HasSubstr("event=object_tracked"));
  EXPECT_THAT(augur->log(), HasSubstr("event=fit"));
}

TEST_F(AugurIntegrationTest, HealthReflectionInspectorAndHttpEndpoints) {
  auto augur = StartAugur();
  auto channel = grpc::CreateChannel(augur->grpc_address(), grpc::InsecureChannelCredentials());
  for (const char* service : {"", "liveness", "readiness"}) {
    auto status = scaler_testing::HealthCheck(channel, service);
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_EQ(*status, 1) << service;
  }
  bool found = false;
  auto services =
      scaler_testing::ReflectionListServices(channel, "externalscaler.ExternalScaler", &found);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, ::testing::IsSupersetOf({"externalscaler.ExternalScaler",
                                                  "augur.v1.Inspector",
                                                  "grpc.reflection.v1alpha.ServerReflection"}));
  EXPECT_TRUE(found);

  auto inspector = augur::v1::Inspector::NewStub(channel);
  {
    grpc::ClientContext ctx;
    augur::v1::Explanation e;
    ASSERT_TRUE(inspector->Explain(&ctx, Ref("api"), &e).ok());
  }
  grpc::ClientContext ctx;
  augur::v1::ListResponse list;
  ASSERT_TRUE(inspector->List(&ctx, augur::v1::ListRequest(), &list).ok());
  ASSERT_EQ(list.objects_size(), 1);
  EXPECT_EQ(list.objects(0).name(), "api");

  promclient::CurlHttpTransport http;
  auto get = [&](const std::string& path) {
    promclient::HttpRequest r;
    r.url = "http://" + augur->http_address() + path;
    r.timeout = std::chrono::seconds(5);
    return http.Send(r);
  };
  auto healthz = get("/healthz");
  ASSERT_TRUE(healthz.ok()) << healthz.status();
  EXPECT_EQ(healthz->status_code, 200);
  auto readyz = get("/readyz");
  ASSERT_TRUE(readyz.ok());
  EXPECT_EQ(readyz->status_code, 200);
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(metrics->body, HasSubstr("augur_returned_value{metric=\"augur-api\",namespace=\"it\","
                                       "scaledobject=\"api\",trigger=\""));
  EXPECT_THAT(metrics->body, HasSubstr("augur_grpc_requests_total{code=\"ok\",method=\"Inspector.Explain\"}"));
  EXPECT_THAT(metrics->body, HasSubstr("augur_tracked_objects 1"));
  EXPECT_THAT(metrics->body, testing::ContainsRegex("augur_build_info\\{revision=\"[^\"]+\",version=\"" +
                                                    std::string(AUGUR_PROJECT_VERSION) + "\"\\} 1\n"));
  EXPECT_EQ(augur->Terminate(5), 0) << augur->log();
}

TEST_F(AugurIntegrationTest, PrometheusDownKeepsTheAnswerUntilStaleThenRecovers) {
  auto augur = StartAugur({"--max-staleness", "3s", "--prometheus-timeout", "1s"});
  auto stub = externalscaler::ExternalScaler::NewStub(
      grpc::CreateChannel(augur->grpc_address(), grpc::InsecureChannelCredentials()));
  auto ref = Ref("outage");
  auto get = [&](std::string* error) {
    grpc::ClientContext ctx;
    externalscaler::GetMetricsRequest req;
    *req.mutable_scaledobjectref() = ref;
    req.set_metricname("augur-outage");
    externalscaler::GetMetricsResponse resp;
    grpc::Status s = stub->GetMetrics(&ctx, req, &resp);
    if (error) *error = s.error_message();
    return s.error_code();
  };
  ASSERT_EQ(get(nullptr), grpc::StatusCode::OK) << augur->log();

  prom_->Kill();
  const auto killed = std::chrono::steady_clock::now();
  EXPECT_EQ(get(nullptr), grpc::StatusCode::OK);  // the last answer is kept
  std::string error;
  ASSERT_TRUE(PollUntil(20, [&] { return get(&error) == grpc::StatusCode::UNAVAILABLE; }))
      << augur->log();
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  EXPECT_GE(waited, 1.5);  // not before the answer could be 3 s old
  EXPECT_THAT(error, HasSubstr("--max-staleness"));
  EXPECT_THAT(error, HasSubstr("last refresh error"));
  EXPECT_THAT(augur->log(), HasSubstr("event=source_error"));

  ASSERT_TRUE(prom_->Restart().ok());
  EXPECT_TRUE(PollUntil(30, [&] { return get(nullptr) == grpc::StatusCode::OK; }))
      << augur->log();
  EXPECT_THAT(augur->log(), HasSubstr("event=source_recovered"));
  EXPECT_EQ(augur->Terminate(5), 0) << augur->log();
}

// Certificates for TLS and mTLS, made with the openssl CLI.
class Certificates {
 public:
  explicit Certificates(const std::string& dir) : dir_(dir) {
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::ofstream(dir + "/san.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    const std::string script =
        "cd '" + dir + "' && "
        "openssl req -x509 " + ec + " -keyout ca.key -out ca.crt -days 2 -subj /CN=augur-it-ca && "
        "openssl req " + ec + " -keyout server.key -out server.csr -subj /CN=localhost && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out server.crt -days 2 -extfile san.ext && "
        "openssl req " + ec + " -keyout client.key -out client.csr -subj /CN=keda && "
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out client.crt -days 2";
    ok_ = std::system((script + " >/dev/null 2>&1").c_str()) == 0;
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string pem(const std::string& name) const { return ReadAll(path(name)); }

 private:
  std::string dir_;
  bool ok_ = false;
};

grpc::StatusCode SpecCall(const std::shared_ptr<grpc::Channel>& channel,
                          const externalscaler::ScaledObjectRef& ref) {
  auto stub = externalscaler::ExternalScaler::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  externalscaler::GetMetricSpecResponse resp;
  return stub->GetMetricSpec(&ctx, ref, &resp).error_code();
}

std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                          grpc::SslCredentialsOptions options) {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

TEST_F(AugurIntegrationTest, TlsAndMutualTls) {
  const std::string dir = dir_ + "/certs";
  mkdir(dir.c_str(), 0700);
  Certificates certs(dir);
  ASSERT_TRUE(certs.ok()) << "openssl failed to make test certificates";
  auto ref = Ref("tls");

  auto tls = StartAugur({"--tls-cert", certs.path("server.crt"), "--tls-key",
                         certs.path("server.key")});
  EXPECT_THAT(tls->log(), HasSubstr("tls=tls"));
  grpc::SslCredentialsOptions trust;
  trust.pem_root_certs = certs.pem("ca.crt");
  EXPECT_EQ(SpecCall(TlsChannel(tls->grpc_address(), trust), ref), grpc::StatusCode::OK)
      << tls->log();
  EXPECT_NE(SpecCall(grpc::CreateChannel(tls->grpc_address(), grpc::InsecureChannelCredentials()),
                     ref),
            grpc::StatusCode::OK);  // plaintext is refused
  EXPECT_EQ(tls->Terminate(5), 0);

  auto mtls = StartAugur({"--tls-cert", certs.path("server.crt"), "--tls-key",
                          certs.path("server.key"), "--tls-client-ca", certs.path("ca.crt")});
  EXPECT_THAT(mtls->log(), HasSubstr("tls=mtls"));
  EXPECT_NE(SpecCall(TlsChannel(mtls->grpc_address(), trust), ref), grpc::StatusCode::OK);
  grpc::SslCredentialsOptions with_cert = trust;
  with_cert.pem_cert_chain = certs.pem("client.crt");
  with_cert.pem_private_key = certs.pem("client.key");
  EXPECT_EQ(SpecCall(TlsChannel(mtls->grpc_address(), with_cert), ref), grpc::StatusCode::OK)
      << mtls->log();
  EXPECT_EQ(mtls->Terminate(5), 0);
}

// No Prometheus needed here.
TEST(AugurFlags, VersionPrintsTheProjectVersionAndRevisionAndExitsZero) {
  const std::string dir_ = MakeTempDir();
  auto augur = AugurProcess::Start({"--version"}, dir_);
  EXPECT_EQ(augur->Terminate(5), 0);
  EXPECT_THAT(augur->log(), testing::MatchesRegex("augur " AUGUR_PROJECT_VERSION
                                                  " \\(revision [A-Za-z0-9._+-]+\\)\n"));
  // An AUGUR_VERSION variable is no flag: augur starts as usual (it exits 2 here only
  // because of the bad duration, which it must still report).
  setenv("AUGUR_VERSION", "1", 1);
  setenv("AUGUR_IDLE_TTL", "later", 1);
  auto env = AugurProcess::Start({}, dir_);
  unsetenv("AUGUR_VERSION");
  unsetenv("AUGUR_IDLE_TTL");
  EXPECT_EQ(env->Terminate(5), 2);
  EXPECT_THAT(env->log(), HasSubstr("--idle-ttl 'later'"));
  std::system(("rm -rf '" + dir_ + "'").c_str());
}

TEST(AugurFlags, BadFlagsExitTwoWithUsage) {
  const std::string dir_ = MakeTempDir();
  auto augur = AugurProcess::Start({"--max-staleness", "soon"}, dir_);
  EXPECT_EQ(augur->Terminate(5), 2);
  EXPECT_THAT(augur->log(), HasSubstr("--max-staleness"));
  auto unknown = AugurProcess::Start({"--no-such-flag"}, dir_);
  EXPECT_EQ(unknown->Terminate(5), 2);
  EXPECT_THAT(unknown->log(), HasSubstr("--listen"));  // the usage
  // Flags are also AUGUR_* environment variables.
  setenv("AUGUR_IDLE_TTL", "a while", 1);
  auto env = AugurProcess::Start({}, dir_);
  unsetenv("AUGUR_IDLE_TTL");
  EXPECT_EQ(env->Terminate(5), 2);
  EXPECT_THAT(env->log(), HasSubstr("--idle-ttl 'a while'"));
  // Values out of range are usage errors too, checked by scaler::Config::Validate.
  auto threads = AugurProcess::Start({"--rpc-threads", "0"}, dir_);
  EXPECT_EQ(threads->Terminate(5), 2);
  EXPECT_THAT(threads->log(), HasSubstr("augur: --rpc-threads 0: expected 1 to 64"));
  auto url = AugurProcess::Start({"--prometheus-url", "prometheus:9090"}, dir_);
  EXPECT_EQ(url->Terminate(5), 2);
  EXPECT_THAT(url->log(), HasSubstr("--prometheus-url 'prometheus:9090': expected an http://"));
  // --shutdown-drain: a duration from 0 (no drain) to 10m, as a flag or AUGUR_SHUTDOWN_DRAIN.
  auto drain = AugurProcess::Start({"--shutdown-drain", "soon"}, dir_);
  EXPECT_EQ(drain->Terminate(5), 2);
  EXPECT_THAT(drain->log(), HasSubstr("augur: --shutdown-drain 'soon': expected a duration"));
  auto long_drain = AugurProcess::Start({"--shutdown-drain=1h"}, dir_);
  EXPECT_EQ(long_drain->Terminate(5), 2);
  EXPECT_THAT(long_drain->log(),
              HasSubstr("augur: --shutdown-drain 1h: expected 0 (no drain) to 10m, and shorter "
                        "than the pod's terminationGracePeriodSeconds"));
  setenv("AUGUR_SHUTDOWN_DRAIN", "a bit", 1);
  auto drain_env = AugurProcess::Start({}, dir_);
  unsetenv("AUGUR_SHUTDOWN_DRAIN");
  EXPECT_EQ(drain_env->Terminate(5), 2);
  EXPECT_THAT(drain_env->log(), HasSubstr("--shutdown-drain 'a bit'"));
  std::system(("rm -rf '" + dir_ + "'").c_str());
}

}  // namespace
