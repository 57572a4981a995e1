#include "scaler/spec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace scaler {
namespace {

using ::testing::HasSubstr;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

std::map<std::string, std::string> Minimal() {
  return {{"query", "sum(up)"}, {"targetValue", "10"}};
}

TEST(ParseSpec, DefaultsFollowTheDesign) {
  auto spec = ParseSpec("web", "shop", Minimal(), {"http://prom:9090"});
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->metric_name, "augur-web");
  EXPECT_EQ(spec->query.server_address, "http://prom:9090");
  EXPECT_DOUBLE_EQ(spec->target_value, 10);
  EXPECT_DOUBLE_EQ(spec->horizon_seconds, 300);
  EXPECT_DOUBLE_EQ(spec->history_seconds, 7 * 86400);
  EXPECT_TRUE(spec->step_auto);
  EXPECT_DOUBLE_EQ(spec->step_seconds, 60);  // 10,080 points <= 11,000
  EXPECT_EQ(spec->seasonality, "auto");
  EXPECT_DOUBLE_EQ(spec->policy.quantile, 0.5);
  EXPECT_EQ(spec->policy.mode, Mode::kPredictive);
  EXPECT_DOUBLE_EQ(spec->refresh_interval_seconds, 30);
  EXPECT_DOUBLE_EQ(spec->refit_interval_seconds, 600);
  EXPECT_DOUBLE_EQ(spec->policy.min_history_seconds, 3600);
  EXPECT_DOUBLE_EQ(spec->policy.max_forecast_error, 1.0);
  EXPECT_DOUBLE_EQ(spec->policy.activation_threshold, 0);
  EXPECT_DOUBLE_EQ(spec->policy.horizon_seconds, 300);
  EXPECT_TRUE(spec->ignore_null_values);
  EXPECT_FALSE(spec->query.unsafe_ssl);
}

TEST(ParseSpec, EveryKeyIsApplied) {
  auto md = Minimal();
  md.insert({{"serverAddress", "https://mimir.example/prometheus"},
             {"activationThreshold", "2.5"},
             {"metricName", "shop-rps"},
             {"horizon", "10m"},
             {"history", "2w"},
             {"step", "2m"},
             {"seasonality", "1d,1w"},
             {"quantile", "0.9"},
             {"mode", "Shadow"},
             {"refreshInterval", "15s"},
             {"refitInterval", "1h"},
             {"minHistory", "0s"},
             {"maxForecastError", "1.2"},
             {"ignoreNullValues", "false"},
             {"namespace", "tenant"},
             {"customHeaders", "X-Scope-OrgID=a, X-B = b"},
             {"queryParameters", "dedup=true"},
             {"timeout", "1.5s"},
             {"unsafeSsl", "True"},
             {"scalerAddress", "augur:6000"},
             {"enableTLS", "1"}});
  auto spec = ParseSpec("web", "shop", md, {});
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->query.server_address, "https://mimir.example/prometheus");
  EXPECT_DOUBLE_EQ(spec->policy.activation_threshold, 2.5);
  EXPECT_EQ(spec->metric_name, "shop-rps");
  EXPECT_DOUBLE_EQ(spec->horizon_seconds, 600);
  EXPECT_DOUBLE_EQ(spec->history_seconds, 14 * 86400);
  EXPECT_DOUBLE_EQ(spec->step_seconds, 120);
  EXPECT_FALSE(spec->step_auto);
  EXPECT_FALSE(spec->fit_options.auto_seasonality);
  EXPECT_EQ(spec->fit_options.seasonalities.size(), 2u);
  EXPECT_DOUBLE_EQ(spec->policy.quantile, 0.9);
  EXPECT_EQ(spec->policy.mode, Mode::kShadow);
  EXPECT_DOUBLE_EQ(spec->refresh_interval_seconds, 15);
  EXPECT_DOUBLE_EQ(spec->refit_interval_seconds, 3600);
  EXPECT_DOUBLE_EQ(spec->policy.min_history_seconds, 0);
  EXPECT_DOUBLE_EQ(spec->policy.max_forecast_error, 1.2);
  EXPECT_FALSE(spec->ignore_null_values);
  EXPECT_EQ(spec->query.prom_namespace, "tenant");
  ASSERT_EQ(spec->query.headers.size(), 2u);
  EXPECT_EQ(spec->query.headers[1], std::make_pair(std::string("X-B"), std::string("b")));
  ASSERT_EQ(spec->query.params.size(), 1u);
  EXPECT_EQ(spec->query.timeout, std::chrono::milliseconds(1500));
  EXPECT_TRUE(spec->query.unsafe_ssl);
}

TEST(ParseSpec, TimeoutAsIntegerIsMilliseconds) {
  auto md = Minimal();
  md["timeout"] = "2500";
  auto spec = ParseSpec("web", "shop", md, {"http://p:9090"});
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->query.timeout, std::chrono::milliseconds(2500));
}

TEST(ParseSpec, NoServerAnywhereIsAnError) {
  EXPECT_THAT(ParseSpec("web", "shop", Minimal(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--prometheus-url")));
}

TEST(ParseSpec, UnknownKeyNamesTheClosestKnownOne) {
  auto md = Minimal();
  md["activationTreshold"] = "3";
  EXPECT_THAT(ParseSpec("web", "shop", md, {"http://p:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("did you mean 'activationThreshold'")));
  md.erase("activationTreshold");
  md["IGNORENULLVALUES"] = "true";
  EXPECT_THAT(ParseSpec("web", "shop", md, {"http://p:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'ignoreNullValues'")));
}

TEST(KnownMetadataKeys, CoversTheDesignTable) {
  const auto& keys = KnownMetadataKeys();
  for (const char* k :
       {"query", "targetValue", "serverAddress", "activationThreshold", "metricName", "horizon",
        "history", "step", "seasonality", "quantile", "mode", "refreshInterval", "refitInterval",
        "minHistory", "maxForecastError", "ignoreNullValues", "namespace", "customHeaders",
        "queryParameters", "timeout", "unsafeSsl", "scalerAddress", "enableTLS"}) {
    EXPECT_THAT(keys, ::testing::Contains(std::string(k)));
  }
}

TEST(AutoStepSeconds, KeepsAtMost11000Points) {
  EXPECT_DOUBLE_EQ(AutoStepSeconds(3600), 1);
  EXPECT_DOUBLE_EQ(AutoStepSeconds(86400), 10);
  EXPECT_DOUBLE_EQ(AutoStepSeconds(7 * 86400), 60);
  EXPECT_DOUBLE_EQ(AutoStepSeconds(30 * 86400), 300);
  for (double h : {600.0, 86400.0 * 3, 86400.0 * 400}) EXPECT_LE(h / AutoStepSeconds(h), 11000);
}

TEST(DefaultMetricName, LowercasesAndReplaces) {
  EXPECT_EQ(DefaultMetricName("Checkout_API"), "augur-checkout-api");
  EXPECT_EQ(DefaultMetricName("web"), "augur-web");
}

}  // namespace
}  // namespace scaler
