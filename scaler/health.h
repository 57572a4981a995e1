#pragma once
// HealthService: grpc.health.v1.Health (Check and Watch) for augur's server, on gRPC's
// synchronous API. Kubernetes' gRPC probes call Check with "liveness" / "readiness";
// "" is the server as a whole; each registered service has its own name.
//
// Why not gRPC's built-in health service: it uses the callback API, whose threads then
// poll every connection and hand each request they read to the thread that serves it;
// on 2 cores that costs about a third of the CPU per GetMetrics call (docs/scaler.md).
//
// Semantics (the health-checking protocol): Check on an unknown service is NOT_FOUND;
// Watch on one sends SERVICE_UNKNOWN and keeps watching. After Shutdown() every service
// is NOT_SERVING, later SetServingStatus calls are ignored and open Watch streams end.
//
// Thread-safety: every method may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "health.grpc.pb.h"  // generated from scaler/health.proto
#include "scaler/clock.h"
#include "scaler/mutex.h"

namespace scaler {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  // `watch_poll` bounds how long a Watch waits before re-checking whether its client left
  // (the synchronous API reports that only when asked), in `clock`'s monotonic time;
  // `clock` must outlive the service.
  explicit HealthService(const Clock& clock,
                         std::chrono::milliseconds watch_poll = std::chrono::milliseconds(500));

  // Whether `service` is SERVING now.
  bool IsServing(const std::string& service) const;

  // Sets (or adds) one service's status.
  void SetServingStatus(const std::string& service, bool serving);
  // Sets every known service's status.
  void SetAllServingStatus(bool serving);
  // Every service NOT_SERVING for good; Watch streams end (after sending it).
  void Shutdown();

  grpc::Status Check(grpc::ServerContext* context, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;
  Status StatusOf(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const std::chrono::milliseconds watch_poll_;
  mutable Mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;  // bumped on every change
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace scaler
