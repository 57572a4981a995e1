#include "scaler/spec.h"

#include <limits>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace scaler {
namespace {

using ::testing::AllOf;
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
  // A shortfall budget by default, judged by its own record (no point-error gate).
  ASSERT_TRUE(spec->policy.shortfall.has_value());
  EXPECT_TRUE(spec->policy.shortfall->relative);
  EXPECT_DOUBLE_EQ(spec->policy.shortfall->value, kDefaultShortfall.value);
  EXPECT_EQ(spec->policy.mode, Mode::kPredictive);
  EXPECT_DOUBLE_EQ(spec->refresh_interval_seconds, 30);
  EXPECT_DOUBLE_EQ(spec->refit_interval_seconds, 600);
  EXPECT_DOUBLE_EQ(spec->policy.min_history_seconds, 3600);
  EXPECT_EQ(spec->policy.max_forecast_error, std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(spec->policy.activation_threshold, 0);
  EXPECT_DOUBLE_EQ(spec->policy.horizon_seconds, 300);
  EXPECT_TRUE(spec->ignore_null_values);
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

// Every one of Augur's keys, with a valid value and the value's effect on the spec.
struct KeyCase {
  std::string key, value;
  std::function<bool(const ScalerSpec&)> applied;
};

std::vector<KeyCase> EveryAugurKey() {
  return {
      {"query", "sum(rate(x[1m]))", [](const ScalerSpec& s) { return s.query.query == "sum(rate(x[1m]))"; }},
      {"targetValue", "42", [](const ScalerSpec& s) { return s.target_value == 42; }},
      {"serverAddress", "http://thanos:9090", [](const ScalerSpec& s) { return s.query.server_address == "http://thanos:9090"; }},
      {"activationThreshold", "3", [](const ScalerSpec& s) { return s.policy.activation_threshold == 3; }},
      {"metricName", "shop-rps", [](const ScalerSpec& s) { return s.metric_name == "shop-rps"; }},
      {"horizon", "10m", [](const ScalerSpec& s) { return s.horizon_seconds == 600; }},
      {"history", "2d", [](const ScalerSpec& s) { return s.history_seconds == 2 * 86400; }},
      {"step", "2m", [](const ScalerSpec& s) { return s.step_seconds == 120 && !s.step_auto; }},
      {"seasonality", "1d", [](const ScalerSpec& s) { return s.seasonality == "1d"; }},
      {"holidays", "xmas=2026-12-25:-1d", [](const ScalerSpec& s) {
         return s.holidays == "xmas=2026-12-25:-1d" && s.fit_options.events.size() == 1 &&
                s.fit_options.events[0].days_before == 1;
       }},
      {"excludePeriods", "2026-11-20T10:00Z/2026-11-20T14:00Z", [](const ScalerSpec& s) {
         const auto& p = s.fit_options.exclude_periods;
         return p.size() == 1 && p[0].end - p[0].start == 4 * 3600;
       }},
      {"shortfall", "5%", [](const ScalerSpec& s) {
         return s.policy.shortfall && s.policy.shortfall->value == 0.05 && !s.policy.shortfall->relative;
       }},
      {"podCapacity", "12", [](const ScalerSpec& s) { return s.pod_capacity == 12.0; }},
      {"quantile", "0.8", [](const ScalerSpec& s) {
         return s.policy.quantile == 0.8 && !s.policy.shortfall && s.policy.max_forecast_error == 1.0;
       }},
      {"mode", "shadow", [](const ScalerSpec& s) { return s.policy.mode == Mode::kShadow; }},
      {"refreshInterval", "15s", [](const ScalerSpec& s) { return s.refresh_interval_seconds == 15; }},
      {"refitInterval", "1h", [](const ScalerSpec& s) { return s.refit_interval_seconds == 3600; }},
      {"minHistory", "2h", [](const ScalerSpec& s) { return s.policy.min_history_seconds == 7200; }},
      {"maxForecastError", "1.5", [](const ScalerSpec& s) { return s.policy.max_forecast_error == 1.5; }},
      {"ignoreNullValues", "false", [](const ScalerSpec& s) { return !s.ignore_null_values; }},
      {"namespace", "tenant", [](const ScalerSpec& s) { return s.query.prom_namespace == "tenant"; }},
      {"customHeaders", "X-A=1", [](const ScalerSpec& s) { return s.query.headers.size() == 1; }},
      {"queryParameters", "dedup=true", [](const ScalerSpec& s) { return s.query.params.size() == 1; }},
      {"timeout", "2500", [](const ScalerSpec& s) { return s.query.timeout == std::chrono::milliseconds(2500); }},
  };
}

// A budget as users write it; a fixed quantile instead of it, not with it; the
// point-error gate only where asked for in budget mode.
TEST(ParseSpec, ShortfallBudgetOrQuantile) {
  struct Case {
    std::string text;
    double value;
    bool relative;
  };
  for (const Case& c : std::vector<Case>{{"2%", 0.02, false},
                                         {"0.5%", 0.005, false},
                                         {" 10 % ", 0.10, false},
                                         {"0.03", 0.03, false},
                                         {"50%", 0.5, false},
                                         {"0.5x", 0.5, true},
                                         {"1X", 1.0, true},
                                         {"0.25 x", 0.25, true}}) {
    auto md = Minimal();
    md["shortfall"] = c.text;
    auto spec = ParseSpec("web", "shop", md, {"http://prom:9090"});
    ASSERT_THAT(spec, IsOk()) << c.text;
    ASSERT_TRUE(spec->policy.shortfall.has_value()) << c.text;
    EXPECT_DOUBLE_EQ(spec->policy.shortfall->value, c.value) << c.text;
    EXPECT_EQ(spec->policy.shortfall->relative, c.relative) << c.text;
  }
  for (const std::string bad : {"0%", "-1%", "60%", "two percent", "2%%", "nan", "0.7", "1.5x", "0x"}) {
    auto md = Minimal();
    md["shortfall"] = bad;
    EXPECT_THAT(ParseSpec("web", "shop", md, {"http://prom:9090"}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("'shortfall'"), HasSubstr("(0, 50%]"), HasSubstr("2%"),
                               HasSubstr("0.5x"))))
        << bad;
  }
  auto both = Minimal();
  both["shortfall"] = "2%";
  both["quantile"] = "0.9";
  EXPECT_THAT(ParseSpec("web", "shop", both, {"http://prom:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'shortfall'"), HasSubstr("'quantile'"))));
  auto gated = Minimal();
  gated["maxForecastError"] = "2";
  auto spec = ParseSpec("web", "shop", gated, {"http://prom:9090"});
  ASSERT_THAT(spec, IsOk());
  EXPECT_TRUE(spec->policy.shortfall.has_value());
  EXPECT_EQ(spec->policy.max_forecast_error, 2.0);
}

TEST(ParseSpec, PodCapacityIsAtLeastTheTarget) {
  auto md = Minimal();
  md["podCapacity"] = "8";  // below targetValue 10
  EXPECT_THAT(ParseSpec("web", "shop", md, {"http://prom:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'podCapacity'"), HasSubstr(">= targetValue"))));
  EXPECT_FALSE(ParseSpec("web", "shop", Minimal(), {"http://prom:9090"})->pod_capacity.has_value());
}

TEST(KnownMetadataKeys, AugursAndKedasKeysTogether) {
  std::vector<std::string> augur;
  for (const KeyCase& k : EveryAugurKey()) augur.push_back(k.key);
  EXPECT_EQ(AugurMetadataKeys(), augur);
  EXPECT_THAT(KedaMetadataKeys(),
              ::testing::UnorderedElementsAre("scalerAddress", "enableTLS", "unsafeSsl", "caCert",
                                              "tlsClientCert", "tlsClientKey", "tlsCertFile"));
  EXPECT_EQ(KnownMetadataKeys().size(), AugurMetadataKeys().size() + KedaMetadataKeys().size());
}

// KEDA forwards `<key>FromEnv` under that name, with the target container's environment
// variable as the value (docs/keda.md §7): every key of Augur's must take it.
TEST(ParseSpec, EveryKeyAlsoComesFromEnv) {
  for (const KeyCase& k : EveryAugurKey()) {
    auto md = Minimal();
    md.erase(k.key);
    md[k.key + "FromEnv"] = k.value;
    auto spec = ParseSpec("web", "shop", md, {"http://prom:9090"});
    ASSERT_THAT(spec, IsOk()) << k.key << "FromEnv";
    EXPECT_TRUE(k.applied(*spec)) << k.key << "FromEnv=" << k.value;
  }
}

TEST(ParseSpec, FromEnvIsValidatedAsTheKeyAndNamedAsGiven) {
  auto md = Minimal();
  md["horizonFromEnv"] = "5 min";
  EXPECT_THAT(ParseSpec("web", "shop", md, {"http://p:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'horizonFromEnv'"), HasSubstr("'5 min'"),
                             HasSubstr("duration"))));
  md = Minimal();
  md.erase("targetValue");
  md["targetValueFromEnv"] = "0";
  EXPECT_THAT(ParseSpec("web", "shop", md, {"http://p:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'targetValueFromEnv'"), HasSubstr("> 0"))));
}

TEST(ParseSpec, KeyAndItsFromEnvTogetherIsAnErrorNamingBoth) {
  for (const KeyCase& k : EveryAugurKey()) {
    auto md = Minimal();
    md[k.key] = k.value;
    md[k.key + "FromEnv"] = k.value;
    EXPECT_THAT(ParseSpec("web", "shop", md, {"http://prom:9090"}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("'" + k.key + "'"), HasSubstr("'" + k.key + "FromEnv'"),
                               HasSubstr("only one"))))
        << k.key;
  }
}

// Helm templates render unset values as "": as in KEDA, an empty value is no value.
TEST(ParseSpec, EmptyValuesMeanUnset) {
  for (const KeyCase& k : EveryAugurKey()) {
    if (k.key == "query" || k.key == "targetValue") continue;
    for (const std::string& key : {k.key, k.key + "FromEnv"}) {
      auto md = Minimal();
      md[key] = "";
      auto spec = ParseSpec("web", "shop", md, {"http://prom:9090"});
      ASSERT_THAT(spec, IsOk()) << key;
      EXPECT_FALSE(k.applied(*spec)) << key << ": the default applies";
    }
  }
  auto md = Minimal();
  md["horizon"] = "";
  md["horizonFromEnv"] = "10m";  // an empty key does not clash with its FromEnv form
  auto spec = ParseSpec("web", "shop", md, {"http://prom:9090"});
  ASSERT_THAT(spec, IsOk());
  EXPECT_DOUBLE_EQ(spec->horizon_seconds, 600);
  md = Minimal();
  md["query"] = "";
  EXPECT_THAT(ParseSpec("web", "shop", md, {"http://p:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'query' (or 'queryFromEnv') is required")));
}

// KEDA's client settings come verbatim with the metadata; they are KEDA's business, so
// their values are never parsed (any value goes) and never change Augur's spec.
TEST(ParseSpec, KedasKeysAreAcceptedAndIgnoredWhateverTheirValue) {
  auto plain = ParseSpec("web", "shop", Minimal(), {"http://p:9090"});
  ASSERT_THAT(plain, IsOk());
  for (const std::string& key : KedaMetadataKeys()) {
    for (const char* value : {"", "true", "on", "-----BEGIN PRIVATE KEY-----\nMIIE"}) {
      for (const std::string& k : {key, key + "FromEnv"}) {
        auto md = Minimal();
        md[k] = value;
        auto spec = ParseSpec("web", "shop", md, {"http://p:9090"});
        ASSERT_THAT(spec, IsOk()) << k << "=" << value;
        EXPECT_EQ(spec->query.server_address, plain->query.server_address);
        EXPECT_EQ(spec->trigger_id, plain->trigger_id) << k;
      }
    }
  }
}

TEST(ParseSpec, UnknownFromEnvKeyNamesTheClosestKnownOne) {
  auto md = Minimal();
  md["horiznFromEnv"] = "5m";
  EXPECT_THAT(ParseSpec("web", "shop", md, {"http://p:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'horiznFromEnv'"), HasSubstr("did you mean 'horizonFromEnv'"))));
}

TEST(TriggerId, DiffersBetweenTriggersAndIsStable) {
  auto a = ParseSpec("web", "shop", Minimal(), {"http://p:9090"});
  auto md = Minimal();
  md["query"] = "sum(rate(errors[1m]))";
  auto b = ParseSpec("web", "shop", md, {"http://p:9090"});
  md = Minimal();
  md["horizon"] = "10m";
  auto c = ParseSpec("web", "shop", md, {"http://p:9090"});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(a->trigger_id, ::testing::MatchesRegex("[0-9a-f]{8}"));
  EXPECT_NE(a->trigger_id, b->trigger_id);
  EXPECT_NE(a->trigger_id, c->trigger_id);
  // A pure function of the settings: the same on every replica and after a restart.
  EXPECT_EQ(a->trigger_id, TriggerId({{"query", "sum(up)"}, {"targetValue", "10"}}));
  // `queryFromEnv` with the same value is the same setting.
  md = Minimal();
  md.erase("query");
  md["queryFromEnv"] = "sum(up)";
  EXPECT_EQ(ParseSpec("web", "shop", md, {"http://p:9090"})->trigger_id, a->trigger_id);
}

TEST(TriggerId, LeavesOutHeaderAndParameterValues) {
  EXPECT_EQ(TriggerId({{"customHeaders", "Authorization=Bearer a"}, {"query", "q"}}),
            TriggerId({{"customHeaders", "Authorization=Bearer b"}, {"query", "q"}}));
  EXPECT_EQ(TriggerId({{"queryParameters", "key=1"}, {"query", "q"}}),
            TriggerId({{"queryParameters", "key=2"}, {"query", "q"}}));
  EXPECT_NE(TriggerId({{"customHeaders", "A=1"}, {"query", "q"}}), TriggerId({{"query", "q"}}));
}

TEST(ParseSpec, AutoStepIsPrometheusClientsRule) {
  // One rule (promclient::AutoStep, tested there): at most 11,000 points per query.
  for (const auto& [history, step] : std::vector<std::pair<std::string, double>>{
           {"1h", 1}, {"6h", 2}, {"1d", 10}, {"7d", 60}, {"30d", 300}}) {
    auto m = Minimal();
    m["history"] = history;
    auto spec = ParseSpec("web", "shop", m, {"http://prom:9090"});
    ASSERT_THAT(spec, IsOk());
    EXPECT_DOUBLE_EQ(spec->step_seconds, step) << history;
    EXPECT_TRUE(spec->step_auto);
  }
  auto m = Minimal();
  m["step"] = " auto ";
  EXPECT_TRUE(ParseSpec("web", "shop", m, {"http://prom:9090"})->step_auto);
}

TEST(ParseMode, IgnoresCaseAndBlanksAndNamesTheChoices) {
  EXPECT_EQ(*ParseMode("predictive"), Mode::kPredictive);
  EXPECT_EQ(*ParseMode(" Forecast "), Mode::kForecast);
  EXPECT_EQ(*ParseMode("SHADOW"), Mode::kShadow);
  EXPECT_THAT(ParseMode("fast"), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("'fast': expected predictive, forecast or shadow")));
  auto m = Minimal();
  m["mode"] = "fast";
  EXPECT_THAT(ParseSpec("web", "shop", m, {"http://prom:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("metadata key 'mode' has value 'fast': expected predictive")));
}

TEST(DefaultMetricName, LowercasesAndReplaces) {
  EXPECT_EQ(DefaultMetricName("Checkout_API"), "augur-checkout-api");
  EXPECT_EQ(DefaultMetricName("web"), "augur-web");
}


// Known events and excluded periods: the documented examples parse; a bad value names the
// key, the element at fault and the format expected; values over the limit are refused.
TEST(ParseSpec, HolidaysAndExcludePeriods) {
  auto md = Minimal();
  md["holidays"] = " black-friday=2026-11-27/2026-11-30:-1d:+1d, xmas=2025-12-25|2026-12-25 ";
  md["excludePeriods"] = "2026-11-20T10:00Z/2026-11-20T14:00Z, 2026-11-24";
  auto spec = ParseSpec("web", "shop", md, {"http://prom:9090"});
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->holidays,
            "black-friday=2026-11-27/2026-11-30:-1d:+1d, xmas=2025-12-25|2026-12-25");
  ASSERT_EQ(spec->fit_options.events.size(), 3u);
  EXPECT_EQ(spec->fit_options.events[0].name, "black-friday");
  EXPECT_EQ(spec->fit_options.events[0].days, 4);
  EXPECT_EQ(spec->fit_options.events[0].days_before, 1);
  EXPECT_EQ(spec->fit_options.events[0].days_after, 1);
  EXPECT_EQ(spec->fit_options.events[2].name, "xmas");
  ASSERT_EQ(spec->fit_options.exclude_periods.size(), 2u);
  EXPECT_EQ(spec->fit_options.exclude_periods[1].end - spec->fit_options.exclude_periods[1].start,
            86400);

  // Through FromEnv as every key.
  md = Minimal();
  md["holidaysFromEnv"] = "xmas=2026-12-25";
  spec = ParseSpec("web", "shop", md, {"http://prom:9090"});
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->fit_options.events.size(), 1u);

  const std::vector<std::pair<std::pair<std::string, std::string>, std::vector<std::string>>>
      bad = {
          {{"holidays", "black-friday"},
           {"metadata key 'holidays'", "has no '='", "e.g. \"black-friday=2026-11-27/2026-11-30"}},
          {{"holidays", "xmas=2026-12-25:+1w"}, {"'holidays'", "window ':+1w'", ":-Nd"}},
          {{"holidays", "xmas=25/12/2026"}, {"'holidays'", "expected a date YYYY-MM-DD"}},
          {{"excludePeriods", "2026-11-20T10:00/2026-11-20T14:00"},
           {"metadata key 'excludePeriods'", "add Z for UTC",
            "e.g. \"2026-11-20T10:00Z/2026-11-20T14:00Z"}},
          {{"excludePeriods", "2026-11-20T14:00Z/2026-11-20T10:00Z"},
           {"'excludePeriods'", "ends at or before it starts"}},
      };
  for (const auto& [kv, wants] : bad) {
    md = Minimal();
    md[kv.first] = kv.second;
    auto got = ParseSpec("web", "shop", md, {"http://prom:9090"});
    for (const std::string& want : wants) {
      EXPECT_THAT(got, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(want))) << kv.second;
    }
  }

  md = Minimal();
  std::string many;
  while (many.size() <= kMaxListBytes) many += "2026-11-20T10:00Z/2026-11-20T14:00Z,";
  md["excludePeriods"] = many;
  EXPECT_THAT(ParseSpec("web", "shop", md, {"http://prom:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'excludePeriods' is"), HasSubstr("at most 16384"))));
  md = Minimal();
  many.clear();
  for (int i = 0; i <= forecast::kMaxExcludedPeriods; ++i) many += "2026-11-20,";
  many.pop_back();
  md["excludePeriods"] = many;
  EXPECT_THAT(ParseSpec("web", "shop", md, {"http://prom:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 200")));
}

}  // namespace
}  // namespace scaler
