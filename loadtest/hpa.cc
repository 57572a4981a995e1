#include "loadtest/hpa.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace loadtest {

absl::Status HpaConfig::Validate() const {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (!std::isfinite(target) || target <= 0) {
    return bad(absl::StrCat("target = ", target, ": expected a number > 0"));
  }
  if (min_replicas < 1) {
    return bad(absl::StrCat("min replicas = ", min_replicas, ": expected >= 1"));
  }
  if (max_replicas < min_replicas) {
    return bad(absl::StrCat("max replicas = ", max_replicas, ": expected >= min replicas (",
                            min_replicas, ")"));
  }
  if (!std::isfinite(tolerance) || tolerance < 0) {
    return bad(absl::StrCat("tolerance = ", tolerance, ": expected a number >= 0"));
  }
  if (scale_up_stabilization_seconds < 0 || scale_down_stabilization_seconds < 0) {
    return bad("stabilization windows must be >= 0 seconds");
  }
  if (scale_up_pods < 0 || scale_up_percent < 0 || scale_down_percent < 0) {
    return bad("scaling policy values must be >= 0");
  }
  if (scale_up_period_seconds <= 0 || scale_down_period_seconds <= 0) {
    return bad("scaling policy periods must be > 0 seconds");
  }
  if (failure_threshold && *failure_threshold < 0) {
    return bad(absl::StrCat("failure threshold = ", *failure_threshold, ": expected >= 0"));
  }
  if (fallback_replicas < 0) {
    return bad(absl::StrCat("fallback replicas = ", fallback_replicas, ": expected >= 0"));
  }
  return absl::OkStatus();
}

Hpa::Hpa(HpaConfig config, int initial_replicas)
    : config_(std::move(config)),
      replicas_(std::clamp(initial_replicas, config_.min_replicas, config_.max_replicas)) {}

int Hpa::Recommend(double metric, int current, int ready_pods) const {
  // replica_calculator.go: GetExternalPerPodMetricReplicas / GetExternalMetricReplicas.
  // Quantities are milli-precise in Kubernetes; the ratio test is the same.
  if (config_.metric_type == MetricType::kAverageValue) {
    const double ratio = metric / (config_.target * std::max(current, 1));
    if (std::fabs(1.0 - ratio) <= config_.tolerance) return current;
    return static_cast<int>(std::ceil(metric / config_.target - 1e-9));
  }
  const double ratio = metric / config_.target;
  if (std::fabs(1.0 - ratio) <= config_.tolerance) return current;
  return static_cast<int>(std::ceil(ratio * std::max(ready_pods, 1) - 1e-9));
}

HpaDecision Hpa::Sync(double now, std::optional<double> metric, int ready_pods) {
  HpaDecision d;
  d.time = now;
  d.current = replicas_;
  if (!metric) {
    ++failures_;
    const bool fallback_on = config_.failure_threshold.has_value() &&
                             config_.metric_type == MetricType::kAverageValue &&
                             failures_ > *config_.failure_threshold;
    if (!fallback_on) {
      // Without a metric the HPA holds its count (no scale-down on invalid metrics).
      d.recommended = d.desired = replicas_;
      d.reason = absl::StrCat("metric error: held (", failures_, " consecutive)");
      return d;
    }
    // KEDA truncates the target to an integer before multiplying (fallback.go).
    metric = std::trunc(config_.target) * config_.fallback_replicas;
    d.fallback = true;
  } else {
    failures_ = 0;
  }
  const double value = std::isfinite(*metric) && *metric > 0 ? *metric : 0;
  d.metric = value;
  const int current = replicas_;
  d.recommended = Recommend(value, current, ready_pods);
  const double ratio = config_.metric_type == MetricType::kAverageValue
                           ? value / (config_.target * std::max(current, 1))
                           : value / config_.target;
  std::string reason = d.fallback                                       ? "fallback"
                       : std::fabs(1.0 - ratio) <= config_.tolerance ? "within tolerance"
                                                                       : "metric";

  // Stabilisation (horizontal.go stabilizeRecommendationWithBehaviors): the stored
  // recommendations in each window bound the move.
  recommendations_.push_back({now, d.recommended});
  const double keep = std::max(config_.scale_up_stabilization_seconds,
                               config_.scale_down_stabilization_seconds);
  while (!recommendations_.empty() && recommendations_.front().time < now - keep) {
    recommendations_.pop_front();
  }
  int up = d.recommended;
  int down = d.recommended;
  for (const Recommendation& r : recommendations_) {
    if (r.time > now - config_.scale_up_stabilization_seconds) up = std::min(up, r.replicas);
    if (r.time > now - config_.scale_down_stabilization_seconds) down = std::max(down, r.replicas);
  }
  int desired = current;
  if (desired < up) desired = up;
  if (desired > down) desired = down;
  if (d.recommended < current && desired > d.recommended) reason = "scale-down stabilized";

  // Rate limits over the policy periods (convertDesiredReplicasWithBehaviorRate).
  int added = 0, removed = 0;
  const double keep_events = std::max(config_.scale_up_period_seconds, config_.scale_down_period_seconds);
  while (!events_.empty() && events_.front().time <= now - keep_events) events_.pop_front();
  for (const ScaleEvent& e : events_) {
    if (e.delta > 0 && e.time > now - config_.scale_up_period_seconds) added += e.delta;
    if (e.delta < 0 && e.time > now - config_.scale_down_period_seconds) removed -= e.delta;
  }
  if (desired > current) {
    const int start_up = current - added;
    const int by_pods = start_up + config_.scale_up_pods;
    const int by_percent =
        static_cast<int>(std::ceil(start_up * (1 + config_.scale_up_percent / 100.0) - 1e-9));
    int limit = std::max(std::max(by_pods, by_percent), current);
    int max_allowed = config_.max_replicas;
    bool limited_by_policy = false;
    if (max_allowed > limit) {
      max_allowed = limit;
      limited_by_policy = true;
    }
    if (desired > max_allowed) {
      desired = max_allowed;
      reason = limited_by_policy ? "scale-up limit" : "max replicas";
    }
  } else if (desired < current) {
    const int start_down = current + removed;
    int limit = static_cast<int>(std::floor(start_down * (1 - config_.scale_down_percent / 100.0) + 1e-9));
    limit = std::min(limit, current);
    int min_allowed = config_.min_replicas;
    bool limited_by_policy = false;
    if (min_allowed < limit) {
      min_allowed = limit;
      limited_by_policy = true;
    }
    if (desired < min_allowed) {
      desired = min_allowed;
      reason = limited_by_policy ? "scale-down limit" : "min replicas";
    }
  } else {
    // Unchanged: still respect min/max (e.g. a config change).
    if (desired > config_.max_replicas) { desired = config_.max_replicas; reason = "max replicas"; }
    if (desired < config_.min_replicas) { desired = config_.min_replicas; reason = "min replicas"; }
  }
  if (desired != current) events_.push_back({now, desired - current});
  replicas_ = desired;
  d.desired = desired;
  d.reason = reason;
  return d;
}

}  // namespace loadtest
