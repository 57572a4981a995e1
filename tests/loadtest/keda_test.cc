// KedaEmulator on a fake clock against a fake scaler: call order and frequency as KEDA
// (docs/keda.md §2), the retry of a failed pair, fallback, and the reactive column.

#include "loadtest/keda.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest {
namespace {

using testing::ElementsAre;

// name/namespace{k=v,...} with sorted keys (map serialization order is unspecified).
std::string Describe(const externalscaler::ScaledObjectRef& ref) {
  std::map<std::string, std::string> md(ref.scalermetadata().begin(), ref.scalermetadata().end());
  std::string out = ref.namespace_() + "/" + ref.name() + "{";
  for (const auto& [k, v] : md) out += k + "=" + v + ",";
  return out + "}";
}

// Records every call; answers with `value` (or an error while `failing`).
class FakeScaler final : public ScalerApi {
 public:
  absl::StatusOr<externalscaler::GetMetricSpecResponse> GetMetricSpec(
      const externalscaler::ScaledObjectRef& ref) override {
    calls.push_back("GetMetricSpec");
    refs.push_back(Describe(ref));
    externalscaler::GetMetricSpecResponse r;
    auto* spec = r.add_metricspecs();
    spec->set_metricname("augur-checkout");
    spec->set_targetsizefloat(target);
    return r;
  }
  absl::StatusOr<externalscaler::GetMetricsResponse> GetMetrics(
      const externalscaler::GetMetricsRequest& request) override {
    calls.push_back("GetMetrics");
    refs.push_back(Describe(request.scaledobjectref()));
    metric_names.push_back(request.metricname());
    if (failing) return absl::UnavailableError("prometheus down");
    externalscaler::GetMetricsResponse r;
    auto* v = r.add_metricvalues();
    v->set_metricname(request.metricname());
    v->set_metricvaluefloat(value);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    v->set_metricvalue(static_cast<int64_t>(std::ceil(value)));
#pragma GCC diagnostic pop
    return r;
  }
  absl::StatusOr<bool> IsActive(const externalscaler::ScaledObjectRef& ref) override {
    calls.push_back("IsActive");
    refs.push_back(Describe(ref));
    return value > 0;
  }

  double target = 10;
  double value = 0;
  bool failing = false;
  std::vector<std::string> calls;
  std::vector<std::string> refs;
  std::vector<std::string> metric_names;
};

KedaConfig Config() {
  KedaConfig c;
  c.ref.set_name("checkout");
  c.ref.set_namespace_("shop");
  (*c.ref.mutable_scalermetadata())["query"] = "sum(rate(http_requests_total[1m]))";
  (*c.ref.mutable_scalermetadata())["targetValue"] = "10";
  c.initial_replicas = 1;
  return c;
}

TEST(KedaEmulator, CallsGetMetricSpecAtStartThenTheTripletOnEachPollAndSync) {
  FakeScaler scaler;
  scaler.value = 35;
  KedaEmulator keda(Config(), scaler);
  auto start = keda.Start(1000);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(keda.metric_name(), "augur-checkout");
  EXPECT_DOUBLE_EQ(keda.target(), 10);
  EXPECT_THAT(scaler.calls, ElementsAre("GetMetricSpec"));
  scaler.calls.clear();

  // Over 60 s: polls at 1000, 1030, 1060; syncs at 1015, 1030, 1045, 1060.
  std::vector<KedaEvent> events = keda.RunDue(1060);
  std::vector<std::string> kinds;
  std::vector<double> times;
  for (const auto& e : events) {
    kinds.push_back(KedaEventKindName(e.kind));
    times.push_back(e.time);
  }
  EXPECT_THAT(kinds, ElementsAre("poll", "hpa", "poll", "hpa", "hpa", "poll", "hpa"));
  EXPECT_THAT(times, ElementsAre(1000, 1015, 1030, 1030, 1045, 1060, 1060));
  ASSERT_EQ(scaler.calls.size(), 7u * 3);
  for (size_t i = 0; i < scaler.calls.size(); i += 3) {
    EXPECT_EQ(scaler.calls[i], "GetMetricSpec");
    EXPECT_EQ(scaler.calls[i + 1], "GetMetrics");
    EXPECT_EQ(scaler.calls[i + 2], "IsActive");
  }
  // The same ScaledObjectRef every time, and the metric name from GetMetricSpec.
  for (const std::string& r : scaler.refs) {
    EXPECT_EQ(r, "shop/checkout{query=sum(rate(http_requests_total[1m])),targetValue=10,}");
  }
  for (const std::string& n : scaler.metric_names) EXPECT_EQ(n, "augur-checkout");
  // 35 / 10 -> 4 replicas at the first HPA sync (1 + max(4, 1) = 5 allows it).
  EXPECT_EQ(events[1].replicas, 4);
  EXPECT_EQ(keda.replicas(), 4);
  EXPECT_DOUBLE_EQ(keda.NextEventTime(), 1075);
  // Nothing is due before the next event.
  EXPECT_TRUE(keda.RunDue(1074).empty());
}

TEST(KedaEmulator, RetriesAFailedPairOnceThenHoldsReplicas) {
  FakeScaler scaler;
  scaler.value = 50;
  KedaConfig config = Config();
  config.initial_replicas = 5;
  KedaEmulator keda(config, scaler);
  ASSERT_TRUE(keda.Start(0).ok());
  keda.RunDue(0);  // poll
  scaler.calls.clear();
  scaler.failing = true;
  std::vector<KedaEvent> events = keda.RunDue(15);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].error);
  EXPECT_EQ(events[0].rpcs, 4);  // (GetMetricSpec, GetMetrics) twice
  EXPECT_THAT(scaler.calls, ElementsAre("GetMetricSpec", "GetMetrics", "GetMetricSpec", "GetMetrics"));
  EXPECT_EQ(events[0].replicas, 5);
  EXPECT_THAT(events[0].reason, testing::HasSubstr("UNAVAILABLE"));
}

TEST(KedaEmulator, FallsBackAfterTheFailureThreshold) {
  FakeScaler scaler;
  scaler.value = 20;
  KedaConfig config = Config();
  config.hpa.failure_threshold = 2;
  config.hpa.fallback_replicas = 6;
  config.polling_seconds = 1000;  // keep the example to HPA syncs
  KedaEmulator keda(config, scaler);
  ASSERT_TRUE(keda.Start(0).ok());
  keda.RunDue(14);  // the poll at 0
  std::vector<KedaEvent> events = keda.RunDue(15);
  ASSERT_EQ(keda.replicas(), 2);
  scaler.failing = true;
  events = keda.RunDue(60);  // syncs at 30, 45, 60: failures 1, 2 hold; 3 > 2 falls back
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].replicas, 2);
  EXPECT_EQ(events[1].replicas, 2);
  EXPECT_EQ(events[2].replicas, 6);  // 10 * 6 = 60 -> 6 (2 + 4 allowed)
  EXPECT_THAT(events[2].reason, testing::HasSubstr("fallback"));
}

TEST(KedaEmulator, ReactiveColumnFollowsTheObservedValue) {
  FakeScaler scaler;
  scaler.value = 80;  // Augur answers ahead of the load
  double observed = 30;
  KedaEmulator keda(Config(), scaler, [&observed](double) -> absl::StatusOr<double> { return observed; });
  ASSERT_TRUE(keda.Start(0).ok());
  std::vector<KedaEvent> events = keda.RunDue(15);
  ASSERT_EQ(events.size(), 2u);
  const KedaEvent& sync = events[1];
  ASSERT_TRUE(sync.observed.has_value());
  EXPECT_DOUBLE_EQ(*sync.observed, 30);
  EXPECT_DOUBLE_EQ(*sync.value, 80);
  EXPECT_EQ(sync.replicas, 5);             // 80 / 10 = 8, limited to 1 + 4
  EXPECT_EQ(*sync.reactive_replicas, 3);   // 30 / 10
}

TEST(KedaEmulator, ScalesToZeroAfterCooldownAndBackOnActivity) {
  FakeScaler scaler;
  scaler.value = 0;
  KedaConfig config = Config();
  config.min_replica_count = 0;
  config.cooldown_seconds = 60;
  KedaEmulator keda(config, scaler);
  ASSERT_TRUE(keda.Start(0).ok());
  keda.RunDue(59);
  EXPECT_EQ(keda.replicas(), 1);
  keda.RunDue(60);  // poll at 60: inactive for 60 s
  EXPECT_EQ(keda.replicas(), 0);
  scaler.value = 5;
  std::vector<KedaEvent> events = keda.RunDue(90);  // sync 75 (idle), poll 90 activates
  EXPECT_EQ(keda.replicas(), 1);
  bool activated = false;
  for (const KedaEvent& e : events) activated |= e.reason.find("activated") != std::string::npos;
  EXPECT_TRUE(activated);
}

TEST(KedaEmulator, StartFailsOnAnEmptyOrNonPositiveSpec) {
  FakeScaler scaler;
  scaler.target = 0;
  KedaEmulator keda(Config(), scaler);
  auto start = keda.Start(0);
  EXPECT_EQ(start.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(start.status().message()), testing::HasSubstr("target"));
  EXPECT_TRUE(keda.RunDue(100).empty());
}

TEST(KedaValues, FloatWinsOnlyWhenPositive) {
  externalscaler::MetricValue v;
  v.set_metricvaluefloat(2.5);
  EXPECT_DOUBLE_EQ(KedaMetricValue(v), 2.5);
  externalscaler::MetricValue i;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  i.set_metricvalue(7);
#pragma GCC diagnostic pop
  i.set_metricvaluefloat(0);
  EXPECT_DOUBLE_EQ(KedaMetricValue(i), 7);
  externalscaler::MetricValue milli;
  milli.set_metricvaluefloat(1.23456);
  EXPECT_DOUBLE_EQ(KedaMetricValue(milli), 1.235);
}

TEST(ReconnectBackoff, DoublesToAMinuteAndResetsAfterACleanEnd) {
  ReconnectBackoff b;
  std::vector<double> delays;
  for (int i = 0; i < 7; ++i) delays.push_back(b.Next(false));
  EXPECT_THAT(delays, ElementsAre(2, 4, 8, 16, 32, 60, 60));
  EXPECT_EQ(b.Next(true), 2);
  EXPECT_EQ(b.Next(false), 4);
}

}  // namespace
}  // namespace loadtest
