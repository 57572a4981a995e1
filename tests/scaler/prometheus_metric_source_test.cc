#include "scaler/prometheus_metric_source.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scaler/spec.h"
#include "tests/testing/fake_http_transport.h"
#include "tests/testing/status_matchers.h"

namespace scaler {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing_support::FakeHttpTransport;
using ::testing_support::FormValue;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

std::string Matrix(int series) {
  std::string out = R"({"status":"success","data":{"resultType":"matrix","result":[)";
  for (int i = 0; i < series; ++i) {
    if (i) out += ",";
    out += R"({"metric":{"pod":"p)" + std::to_string(i) +
           R"("},"values":[[1000,"1"],[1060,"NaN"],[1120,"3.5"]]})";
  }
  return out + "]}}";
}

class PrometheusMetricSourceTest : public ::testing::Test {
 protected:
  PrometheusMetricSourceTest() {
    options_.default_url = "http://prom:9090";
    options_.allowed_servers = {"http://thanos:10902/", "https://mimir.example/tenants/*"};
  }
  PrometheusMetricSource Make() { return PrometheusMetricSource(options_, transport_); }

  PrometheusSourceOptions options_;
  std::shared_ptr<FakeHttpTransport> transport_ = std::make_shared<FakeHttpTransport>();
};

TEST_F(PrometheusMetricSourceTest, AllowListIsEnforced) {
  auto source = Make();
  MetricQuery q;
  q.query = "up";
  EXPECT_THAT(source.Validate(q), IsOk());  // the default server
  q.server_address = "http://PROM:9090/";
  EXPECT_THAT(source.Validate(q), IsOk());
  q.server_address = "http://thanos:10902";
  EXPECT_THAT(source.Validate(q), IsOk());
  q.server_address = "https://mimir.example/tenants/a/prometheus";
  EXPECT_THAT(source.Validate(q), IsOk());
  q.server_address = "http://metadata.internal:80";
  EXPECT_THAT(source.Validate(q), StatusIs(absl::StatusCode::kPermissionDenied,
                                           AllOf(HasSubstr("metadata.internal"),
                                                 HasSubstr("--allow-server"))));
  EXPECT_THAT(source.Fetch(q, 0, 100, 10), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(transport_->requests().empty());  // never contacted
}

TEST_F(PrometheusMetricSourceTest, FetchReturnsTheSeriesWithNaNKept) {
  transport_->SetHandler([](const promclient::HttpRequest&) {
    promclient::HttpResponse r;
    r.status_code = 200;
    r.content_type = "application/json";
    r.body = Matrix(1);
    return absl::StatusOr<promclient::HttpResponse>(r);
  });
  auto source = Make();
  MetricQuery q;
  q.query = "sum(rate(x[1m]))";
  q.prom_namespace = "tenant";
  q.headers = {{"X-Scope-OrgID", "a"}};
  q.timeout = std::chrono::milliseconds(1500);
  auto got = source.Fetch(q, 1000, 1120, 60);
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->values.size(), 3u);
  EXPECT_DOUBLE_EQ(got->timestamps[2], 1120);
  EXPECT_TRUE(std::isnan(got->values[1]));
  ASSERT_EQ(transport_->requests().size(), 1u);
  const promclient::HttpRequest req = transport_->requests()[0];
  EXPECT_THAT(req.url, HasSubstr("http://prom:9090/api/v1/query_range"));
  EXPECT_THAT(req.url, HasSubstr("namespace=tenant"));
  EXPECT_EQ(req.timeout, std::chrono::milliseconds(1500));
  EXPECT_THAT(req.headers, ::testing::Contains(std::make_pair(std::string("X-Scope-OrgID"),
                                                              std::string("a"))));
}

TEST_F(PrometheusMetricSourceTest, SeveralSeriesAskToAggregate) {
  transport_->SetHandler([](const promclient::HttpRequest&) {
    promclient::HttpResponse r;
    r.status_code = 200;
    r.content_type = "application/json";
    r.body = Matrix(3);
    return absl::StatusOr<promclient::HttpResponse>(r);
  });
  auto source = Make();
  MetricQuery q;
  q.query = "rate(x[1m])";
  EXPECT_THAT(source.Fetch(q, 1000, 1120, 60),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("3 series"), HasSubstr("sum(rate(x[1m]))"))));
}

TEST_F(PrometheusMetricSourceTest, EmptyResultIsAnEmptySeries) {
  transport_->SetHandler([](const promclient::HttpRequest&) {
    promclient::HttpResponse r;
    r.status_code = 200;
    r.content_type = "application/json";
    r.body = R"({"status":"success","data":{"resultType":"matrix","result":[]}})";
    return absl::StatusOr<promclient::HttpResponse>(r);
  });
  auto source = Make();
  MetricQuery q;
  q.query = "absent_metric";
  auto got = source.Fetch(q, 1000, 1120, 60);
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(got->values.empty());
}

TEST_F(PrometheusMetricSourceTest, ServerErrorsPassThrough) {
  transport_->SetHandler([](const promclient::HttpRequest&) {
    return absl::StatusOr<promclient::HttpResponse>(absl::UnavailableError("connection refused"));
  });
  auto source = Make();
  MetricQuery q;
  q.query = "up";
  EXPECT_THAT(source.Fetch(q, 1000, 1120, 60), StatusIs(absl::StatusCode::kUnavailable));
}

// An empty matrix for every request: the tests below look at how requests are sent.
void AnswerEmpty(FakeHttpTransport& transport) {
  transport.SetHandler([](const promclient::HttpRequest&) {
    promclient::HttpResponse r;
    r.status_code = 200;
    r.content_type = "application/json";
    r.body = R"({"status":"success","data":{"resultType":"matrix","result":[]}})";
    return absl::StatusOr<promclient::HttpResponse>(r);
  });
}

TEST_F(PrometheusMetricSourceTest, CertificatesAreVerifiedUnlessTheOperatorSaysOtherwise) {
  AnswerEmpty(*transport_);
  options_.insecure_servers = {"https://dev-prom.example:9090", "https://lab.example/*"};
  auto source = Make();
  auto fetch = [&](const std::string& server) {
    MetricQuery q;
    q.query = "up";
    q.server_address = server;
    EXPECT_THAT(source.Validate(q), IsOk()) << server;
    EXPECT_THAT(source.Fetch(q, 1000, 1120, 60), IsOk()) << server;
    return transport_->requests().back().tls.insecure_skip_verify;
  };
  EXPECT_FALSE(fetch(""));  // --prometheus-url without --prometheus-insecure-skip-verify
  EXPECT_FALSE(fetch("http://thanos:10902"));
  EXPECT_FALSE(fetch("https://mimir.example/tenants/a"));
  EXPECT_TRUE(fetch("https://DEV-PROM.example:9090/"));  // --allow-server-insecure: allowed too
  EXPECT_TRUE(fetch("https://lab.example/team-a"));
}

TEST_F(PrometheusMetricSourceTest, InsecureSkipVerifyAppliesToTheDefaultServerOnly) {
  AnswerEmpty(*transport_);
  options_.insecure_skip_verify = true;
  options_.allowed_servers.push_back("http://prom:9090/tenant-b");
  auto source = Make();
  MetricQuery q;
  q.query = "up";
  ASSERT_THAT(source.Fetch(q, 1000, 1120, 60), IsOk());
  EXPECT_TRUE(transport_->requests().back().tls.insecure_skip_verify);
  q.server_address = "http://prom:9090/tenant-b";  // the same server under a path prefix
  ASSERT_THAT(source.Fetch(q, 1000, 1120, 60), IsOk());
  EXPECT_TRUE(transport_->requests().back().tls.insecure_skip_verify);
  q.server_address = "http://thanos:10902";
  ASSERT_THAT(source.Fetch(q, 1000, 1120, 60), IsOk());
  EXPECT_FALSE(transport_->requests().back().tls.insecure_skip_verify);
}

// KEDA's `unsafeSsl` means "do not verify the scaler's certificate" (KEDA -> Augur). A
// ScaledObject author must not be able to turn off the verification of Augur's own
// (credentialed) connection to Prometheus with it.
TEST_F(PrometheusMetricSourceTest, MetadataUnsafeSslNeverDisablesVerificationOfPrometheus) {
  AnswerEmpty(*transport_);
  options_.default_url = "https://prom:9090";
  auto source = Make();
  for (const char* value : {"true", "True", "1"}) {
    for (const char* key : {"unsafeSsl", "unsafeSslFromEnv"}) {
      auto spec = ParseSpec("web", "shop",
                            {{"query", "up"}, {"targetValue", "1"}, {key, value}},
                            {"https://prom:9090"});
      ASSERT_THAT(spec, IsOk());
      ASSERT_THAT(source.Fetch(spec->query, 1000, 1120, 60), IsOk());
      EXPECT_FALSE(transport_->requests().back().tls.insecure_skip_verify) << key << "=" << value;
    }
  }
}

TEST(NormalizeServerUrl, DropsUserInfoCaseAndTrailingSlash) {
  EXPECT_EQ(NormalizeServerUrl("HTTPS://u:p@Prom.Example:9090/Prefix/"),
            "https://prom.example:9090/Prefix");
}

}  // namespace
}  // namespace scaler
