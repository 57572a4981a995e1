#pragma once
// What every gRPC handler of ours runs in: no exception leaves it (an escaped exception
// becomes INTERNAL naming the method), and each call is counted and timed in
// augur_grpc_requests_total / augur_grpc_request_duration_seconds. Failed calls are
// logged at debug level. Synchronous handlers use GuardedRpc; asynchronous (completion-queue)
// handlers use RunCatching and RecordRpc around their own completion.
//
// Thread-safety: as thread-safe as `fn` and ScalerMetrics (which is).

#include <chrono>
#include <exception>
#include <string>

#include <grpcpp/grpcpp.h>

#include "scaler/clock.h"
#include "scaler/log.h"
#include "scaler/metrics.h"

namespace scaler {

// Counts, times (from `start`, the clock's monotonic time) and, at debug level, logs one
// finished call. `metrics` may be null (nothing recorded).
inline void RecordRpc(ScalerMetrics* metrics, const Clock& clock, const char* method,
                      MonotonicTime start, const grpc::Status& status) {
  if (metrics != nullptr) {
    metrics->ObserveGrpc(method, CodeLabel(static_cast<int>(status.error_code())),
                         clock.SecondsSince(start));
  }
  if (!status.ok() && LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, "rpc_error",
        {{"method", method},
         {"code", CodeLabel(static_cast<int>(status.error_code()))},
         {"error", status.error_message()}});
  }
}

// Runs `fn` (returning grpc::Status); an escaped exception becomes INTERNAL naming the
// method.
template <typename Fn>
grpc::Status RunCatching(const char* method, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        std::string(method) + " failed unexpectedly: " + e.what());
  } catch (...) {
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string(method) + " failed unexpectedly");
  }
}

// A synchronous handler's body: RunCatching + RecordRpc.
template <typename Fn>
grpc::Status GuardedRpc(ScalerMetrics* metrics, const Clock& clock, const char* method, Fn&& fn) {
  const MonotonicTime start = clock.Monotonic();
  grpc::Status status = RunCatching(method, std::forward<Fn>(fn));
  RecordRpc(metrics, clock, method, start, status);
  return status;
}

}  // namespace scaler
