#include "scaler/prometheus_metric_source.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

TEST(NormalizeServerUrl, DropsUserInfoCaseAndTrailingSlash) {
  EXPECT_EQ(NormalizeServerUrl("HTTPS://u:p@Prom.Example:9090/Prefix/"),
            "https://prom.example:9090/Prefix");
}

}  // namespace
}  // namespace scaler
