// The HPA arithmetic against worked examples (docs/keda.md §4), on a fake clock:
// every Sync takes the time as an argument.

#include "loadtest/hpa.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest {
namespace {

HpaConfig Config(double target) {
  HpaConfig c;
  c.target = target;
  c.min_replicas = 1;
  c.max_replicas = 100;
  return c;
}

TEST(Hpa, AverageValueDesiredIsCeilOfValueOverTarget) {
  Hpa hpa(Config(10), 2);
  // 2 replicas, value 55 -> ratio 55 / 20 = 2.75, outside tolerance: ceil(55 / 10) = 6.
  HpaDecision d = hpa.Sync(0, 55.0, 2);
  EXPECT_EQ(d.recommended, 6);
  EXPECT_EQ(d.desired, 6);
  EXPECT_EQ(hpa.replicas(), 6);
  EXPECT_EQ(d.reason, "metric");
}

TEST(Hpa, WithinToleranceKeepsReplicas) {
  Hpa hpa(Config(10), 5);
  // ratio 54 / 50 = 1.08: |1 - 1.08| <= 0.1, unchanged although ceil(5.4) = 6.
  HpaDecision d = hpa.Sync(0, 54.0, 5);
  EXPECT_EQ(d.desired, 5);
  EXPECT_EQ(d.reason, "within tolerance");
  // ratio 56 / 50 = 1.12: outside, ceil(5.6) = 6.
  d = hpa.Sync(15, 56.0, 5);
  EXPECT_EQ(d.desired, 6);
  // ratio 45 / 60 = 0.75 would scale down to 5, but see stabilisation below; with no
  // window it goes down at once.
  HpaConfig c = Config(10);
  c.scale_down_stabilization_seconds = 0;
  Hpa quick(c, 6);
  EXPECT_EQ(quick.Sync(0, 45.0, 6).desired, 5);
}

TEST(Hpa, ScaleUpLimitIsMaxOfFourPodsAndDoublingPer15s) {
  Hpa hpa(Config(10), 1);
  HpaDecision d = hpa.Sync(0, 100.0, 1);
  EXPECT_EQ(d.recommended, 10);
  EXPECT_EQ(d.desired, 5);  // 1 + max(4, 1) = 5
  EXPECT_EQ(d.reason, "scale-up limit");
  d = hpa.Sync(15, 100.0, 5);
  EXPECT_EQ(d.desired, 10);  // 5 + max(4, 5) = 10
  Hpa big(Config(1), 10);
  d = big.Sync(0, 100.0, 10);
  EXPECT_EQ(d.desired, 20);  // 10 * 2 (100 %) beats 10 + 4
  d = big.Sync(15, 100.0, 20);
  EXPECT_EQ(d.desired, 40);
  // Two syncs within one 15 s period share the period's budget: from 40 at t=30 to 80,
  // and another sync at t=35 cannot add more (period start was 40).
  d = big.Sync(30, 100.0, 40);
  EXPECT_EQ(d.desired, 80);
  d = big.Sync(35, 100.0, 80);
  EXPECT_EQ(d.desired, 80);
  EXPECT_EQ(d.reason, "scale-up limit");
  d = big.Sync(45, 100.0, 80);
  EXPECT_EQ(d.desired, 100);  // max replicas
}

TEST(Hpa, ScaleDownWaitsForTheStabilisationWindow) {
  Hpa hpa(Config(10), 8);
  EXPECT_EQ(hpa.Sync(0, 80.0, 8).desired, 8);
  // Load drops to 20 (recommendation 2) at t=15: the max over the last 300 s is 8.
  for (double t = 15; t < 300; t += 15) {
    HpaDecision d = hpa.Sync(t, 20.0, 8);
    ASSERT_EQ(d.desired, 8) << "t=" << t;
    ASSERT_EQ(d.reason, "scale-down stabilized");
  }
  // At t=300 the recommendation of 8 made at t=0 is exactly 300 s old: out of the window.
  HpaDecision d = hpa.Sync(300, 20.0, 8);
  EXPECT_EQ(d.desired, 2);
  EXPECT_EQ(d.reason, "metric");
}

TEST(Hpa, StabilisationTakesTheMaxOfTheWindow) {
  Hpa hpa(Config(10), 10);
  hpa.Sync(0, 100.0, 10);   // rec 10
  hpa.Sync(100, 60.0, 10);  // rec 6, held at 10
  hpa.Sync(200, 30.0, 10);  // rec 3, held at 10
  EXPECT_EQ(hpa.Sync(301, 30.0, 10).desired, 6);  // rec 10 left the window; max(6, 3, 3)
  EXPECT_EQ(hpa.Sync(401, 30.0, 6).desired, 3);
}

TEST(Hpa, MinAndMaxReplicasClamp) {
  HpaConfig c = Config(10);
  c.min_replicas = 2;
  c.max_replicas = 7;
  c.scale_down_stabilization_seconds = 0;
  Hpa hpa(c, 5);
  HpaDecision d = hpa.Sync(0, 1000.0, 5);
  EXPECT_EQ(d.desired, 7);
  EXPECT_EQ(d.reason, "max replicas");
  d = hpa.Sync(15, 0.0, 7);
  EXPECT_EQ(d.desired, 2);
  EXPECT_EQ(d.reason, "min replicas");
}

TEST(Hpa, ValueMetricTypeScalesWithReadyPods) {
  HpaConfig c = Config(50);
  c.metric_type = MetricType::kValue;
  Hpa hpa(c, 4);
  // ratio = 100 / 50 = 2; desired = ceil(2 * 4 ready) = 8.
  EXPECT_EQ(hpa.Sync(0, 100.0, 4).desired, 8);
  // ratio 52 / 50 = 1.04: within tolerance.
  EXPECT_EQ(hpa.Sync(15, 52.0, 8).desired, 8);
}

TEST(Hpa, MetricErrorHoldsReplicasWithoutFallback) {
  Hpa hpa(Config(10), 4);
  for (int i = 0; i < 5; ++i) {
    HpaDecision d = hpa.Sync(15.0 * i, std::nullopt, 4);
    EXPECT_EQ(d.desired, 4);
    EXPECT_FALSE(d.fallback);
    EXPECT_THAT(d.reason, testing::HasSubstr("metric error"));
  }
  EXPECT_EQ(hpa.consecutive_failures(), 5);
  hpa.Sync(75, 40.0, 4);
  EXPECT_EQ(hpa.consecutive_failures(), 0);
}

TEST(Hpa, FallbackAfterMoreThanFailureThresholdErrors) {
  HpaConfig c = Config(10.7);  // KEDA truncates the target: fallback metric = 10 * 9
  c.failure_threshold = 3;
  c.fallback_replicas = 9;
  Hpa hpa(c, 2);
  for (int i = 1; i <= 3; ++i) {
    HpaDecision d = hpa.Sync(15.0 * i, std::nullopt, 2);
    ASSERT_FALSE(d.fallback) << i;
    ASSERT_EQ(d.desired, 2);
  }
  // The 4th consecutive failure is > 3: fallback feeds 10 * 9 = 90 -> ceil(90 / 10.7) = 9.
  HpaDecision d = hpa.Sync(60, std::nullopt, 2);
  EXPECT_TRUE(d.fallback);
  ASSERT_TRUE(d.metric.has_value());
  EXPECT_DOUBLE_EQ(*d.metric, 90.0);
  EXPECT_EQ(d.recommended, 9);
  EXPECT_EQ(d.desired, 6);  // still rate limited: 2 + max(4, 2)
  EXPECT_EQ(d.reason, "scale-up limit");
  EXPECT_EQ(hpa.Sync(75, std::nullopt, 6).desired, 9);
  // A success ends the fallback and resets the count.
  d = hpa.Sync(90, 95.0, 9);
  EXPECT_FALSE(d.fallback);
  EXPECT_EQ(hpa.consecutive_failures(), 0);
}

TEST(Hpa, FallbackOnlyForAverageValue) {
  HpaConfig c = Config(10);
  c.metric_type = MetricType::kValue;
  c.failure_threshold = 0;
  c.fallback_replicas = 9;
  Hpa hpa(c, 2);
  HpaDecision d = hpa.Sync(0, std::nullopt, 2);
  EXPECT_FALSE(d.fallback);
  EXPECT_EQ(d.desired, 2);
}

TEST(HpaConfig, RejectsBadValuesWithAClearMessage) {
  HpaConfig c;
  c.target = 0;
  EXPECT_THAT(std::string(c.Validate().message()), testing::HasSubstr("target"));
  c.target = 1;
  c.max_replicas = 0;
  EXPECT_THAT(std::string(c.Validate().message()), testing::HasSubstr("max replicas"));
  c.max_replicas = 10;
  EXPECT_TRUE(c.Validate().ok());
}

}  // namespace
}  // namespace loadtest
