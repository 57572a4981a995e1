#pragma once
// `keda`: drives a running external scaler exactly as KEDA does (docs/keda.md §2):
//   at start            GetMetricSpec (fixes the HPA's target, as at reconcile time)
//   every pollingInterval  GetMetricSpec -> GetMetrics -> IsActive   (activation 0 <-> 1)
//   every HPA sync         GetMetricSpec -> GetMetrics -> IsActive   -> HPA arithmetic
// with the same ScaledObjectRef every time; a failed GetMetrics/IsActive pair is retried
// once at once (KEDA rebuilds the scaler), then counts as a metric error for the HPA
// (hold, or KEDA's fallback after failureThreshold). Optionally a reactive scaler's
// replicas from an observed value go through the same HPA rules, side by side.
//
// KedaEmulator is a pure, clock-injected state machine: it never reads a clock or
// sleeps; the caller passes `now` (unix seconds). Only main uses the real clock.
//
// Thread-safety: KedaEmulator is not thread-safe. GrpcScalerApi is thread-safe.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "externalscaler.grpc.pb.h"
#include "loadtest/hpa.h"

namespace loadtest {

// The three RPCs of KEDA's polling and HPA paths. Errors are the RPC's status.
class ScalerApi {
 public:
  virtual ~ScalerApi() = default;
  virtual absl::StatusOr<externalscaler::GetMetricSpecResponse> GetMetricSpec(
      const externalscaler::ScaledObjectRef& ref) = 0;
  virtual absl::StatusOr<externalscaler::GetMetricsResponse> GetMetrics(
      const externalscaler::GetMetricsRequest& request) = 0;
  virtual absl::StatusOr<bool> IsActive(const externalscaler::ScaledObjectRef& ref) = 0;
};

// gRPC status -> absl::Status (same codes), message kept.
absl::Status FromGrpcStatus(const grpc::Status& status);

// ScalerApi over a gRPC channel; every RPC gets `timeout` as its deadline.
class GrpcScalerApi final : public ScalerApi {
 public:
  GrpcScalerApi(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout);
  absl::StatusOr<externalscaler::GetMetricSpecResponse> GetMetricSpec(
      const externalscaler::ScaledObjectRef& ref) override;
  absl::StatusOr<externalscaler::GetMetricsResponse> GetMetrics(
      const externalscaler::GetMetricsRequest& request) override;
  absl::StatusOr<bool> IsActive(const externalscaler::ScaledObjectRef& ref) override;

 private:
  std::unique_ptr<externalscaler::ExternalScaler::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

// The value KEDA takes from a MetricValue: metricValueFloat if > 0, else metricValue.
double KedaMetricValue(const externalscaler::MetricValue& v);
// The target KEDA takes from a MetricSpec: targetSizeFloat if > 0, else targetSize.
double KedaTargetValue(const externalscaler::MetricSpec& s);

struct KedaConfig {
  externalscaler::ScaledObjectRef ref;
  double polling_seconds = 30;
  double hpa_sync_seconds = 15;
  // KEDA's minReplicaCount (0 allows scale to zero) and cooldownPeriod (seconds of
  // inactivity before scaling to zero). The HPA's own min is max(min_replica_count, 1).
  int min_replica_count = 1;
  double cooldown_seconds = 300;
  int initial_replicas = 1;
  // HPA rules; `target` is replaced by the scaler's GetMetricSpec answer at Start().
  HpaConfig hpa;

  // kInvalidArgument naming the field and what is expected.
  absl::Status Validate() const;
};

struct KedaEvent {
  enum class Kind { kStart, kPoll, kHpaSync, kStream };
  Kind kind = Kind::kHpaSync;
  double time = 0;
  std::optional<double> observed;  // the observed value (reactive input), if configured
  std::optional<double> value;     // the value the scaler returned
  std::optional<bool> active;      // IsActive's answer
  int replicas = 0;                // Augur-driven replicas after this event
  std::optional<int> reactive_replicas;  // reactive scaler's replicas after this event
  std::string reason;              // the HPA's reason, activation, or the error
  bool error = false;
  int rpcs = 0;                    // RPCs made for this event (retries included)
};
const char* KedaEventKindName(KedaEvent::Kind kind);  // "start", "poll", "hpa", "stream"

class KedaEmulator {
 public:
  // `observe(now)` returns the observed metric (for the reactive column) or an error; it
  // may be empty. `api` must outlive the emulator.
  KedaEmulator(KedaConfig config, ScalerApi& api,
               std::function<absl::StatusOr<double>(double)> observe = {});

  // GetMetricSpec at `now`: fixes the metric name and the HPA target. Errors: the RPC's
  // status, or kFailedPrecondition for an empty spec list / a target <= 0 (KEDA fails
  // the ScaledObject the same way).
  absl::StatusOr<KedaEvent> Start(double now);

  // The time of the next poll or HPA sync.
  double NextEventTime() const;
  // Runs every poll and HPA sync due at or before `now`, in time order (polls before
  // syncs at the same instant).
  std::vector<KedaEvent> RunDue(double now);

  int replicas() const { return replicas_; }
  std::optional<int> reactive_replicas() const;
  const std::string& metric_name() const { return metric_name_; }
  double target() const { return config_.hpa.target; }

 private:
  struct PairResult {
    std::optional<double> value;
    std::optional<bool> active;
    std::string error;
    int rpcs = 0;
  };
  PairResult Query(bool retry);
  KedaEvent Poll(double now);
  KedaEvent Sync(double now);

  KedaConfig config_;
  ScalerApi& api_;
  std::function<absl::StatusOr<double>(double)> observe_;
  std::string metric_name_;
  bool started_ = false;
  double next_poll_ = 0;
  double next_sync_ = 0;
  int replicas_ = 0;
  std::optional<Hpa> hpa_;
  std::optional<Hpa> reactive_hpa_;
  double last_active_ = 0;
};

// KEDA's reconnect backoff for an external-push StreamIsActive: 2 s doubling to 60 s,
// reset to 2 s only after a clean end of the stream.
class ReconnectBackoff {
 public:
  // The delay before the next reconnect, given how the stream ended.
  double Next(bool clean_end);

 private:
  double delay_ = 0;
};

}  // namespace loadtest
