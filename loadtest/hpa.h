#pragma once
// The Kubernetes HPA's replica arithmetic for one external metric, and KEDA's fallback,
// as a pure, clock-injected state machine: every call takes the time (unix seconds) as
// an argument, so tests run it on a fake clock and `simulate` on simulated time.
//
// Sources (see docs/keda.md §2 and §4): kubernetes
// pkg/controller/podautoscaler/{replica_calculator.go, horizontal.go} (tolerance,
// stabilisation, behavior rate limits) and kedacore/keda pkg/fallback/fallback.go.
//
// Thread-safety: not thread-safe; one owner calls Sync() in time order.

#include <deque>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace loadtest {

enum class MetricType { kAverageValue, kValue };

struct HpaConfig {
  MetricType metric_type = MetricType::kAverageValue;
  double target = 1;                    // AverageValue per pod, or Value; > 0
  int min_replicas = 1;                 // the HPA's minReplicas (KEDA: max(min, 1))
  int max_replicas = 100;
  double tolerance = 0.1;
  double scale_up_stabilization_seconds = 0;
  double scale_down_stabilization_seconds = 300;
  // Scale-up policies (selectPolicy Max): + scale_up_pods, or + scale_up_percent %, per
  // scale_up_period_seconds, whichever allows more.
  int scale_up_pods = 4;
  double scale_up_percent = 100;
  double scale_up_period_seconds = 15;
  // Scale-down policy: - scale_down_percent % per scale_down_period_seconds.
  double scale_down_percent = 100;
  double scale_down_period_seconds = 15;
  // KEDA fallback: after more than `failure_threshold` consecutive metric errors the
  // HPA is fed target * fallback_replicas (AverageValue only, as KEDA). nullopt = none.
  std::optional<int> failure_threshold;
  int fallback_replicas = 0;

  // kInvalidArgument naming the field, the value and what is expected.
  absl::Status Validate() const;
};

struct HpaDecision {
  double time = 0;
  std::optional<double> metric;  // the value the HPA used (fallback value on fallback)
  int current = 0;               // replicas before the sync
  int recommended = 0;           // from the metric alone (tolerance applied)
  int desired = 0;               // after stabilisation, rate limits, min/max
  bool fallback = false;
  // Why `desired` is what it is: "within tolerance", "metric", "scale-down stabilized",
  // "scale-up limit", "scale-down limit", "max replicas", "min replicas",
  // "metric error: held", "fallback".
  std::string reason;
};

class Hpa {
 public:
  // `initial_replicas` is clamped to [min_replicas, max_replicas]. `config` must be valid.
  Hpa(HpaConfig config, int initial_replicas);

  // One HPA sync at `now` (non-decreasing). `metric` = the metric's value, or nullopt
  // when GetMetrics/IsActive failed. `ready_pods` is used by metricType Value.
  HpaDecision Sync(double now, std::optional<double> metric, int ready_pods);

  int replicas() const { return replicas_; }
  int consecutive_failures() const { return failures_; }
  const HpaConfig& config() const { return config_; }

 private:
  struct Recommendation {
    double time;
    int replicas;
  };
  struct ScaleEvent {
    double time;
    int delta;  // > 0 added, < 0 removed
  };
  int Recommend(double metric, int current, int ready_pods) const;

  HpaConfig config_;
  int replicas_;
  int failures_ = 0;
  std::deque<Recommendation> recommendations_;
  std::deque<ScaleEvent> events_;
};

}  // namespace loadtest
