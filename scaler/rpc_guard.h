#pragma once
// The one wrapper every gRPC handler of ours runs in: no exception leaves it (an escaped
// exception becomes INTERNAL naming the method), and each call is counted and timed in
// augur_grpc_requests_total / augur_grpc_request_duration_seconds. Failed calls are
// logged at debug level.
//
// Thread-safety: as thread-safe as `fn` and ScalerMetrics (which is).

#include <chrono>
#include <exception>
#include <string>

#include <grpcpp/grpcpp.h>

#include "scaler/log.h"
#include "scaler/metrics.h"

namespace scaler {

// `metrics` may be null (no metrics recorded). `fn` returns grpc::Status.
template <typename Fn>
grpc::Status GuardedRpc(ScalerMetrics* metrics, const char* method, Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status;
  try {
    status = fn();
  } catch (const std::exception& e) {
    status = grpc::Status(grpc::StatusCode::INTERNAL,
                          std::string(method) + " failed unexpectedly: " + e.what());
  } catch (...) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, std::string(method) + " failed unexpectedly");
  }
  if (metrics != nullptr) {
    metrics->ObserveGrpc(
        method, CodeLabel(static_cast<int>(status.error_code())),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (!status.ok() && LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, "rpc_error",
        {{"method", method},
         {"code", CodeLabel(static_cast<int>(status.error_code()))},
         {"error", status.error_message()}});
  }
  return status;
}

}  // namespace scaler
