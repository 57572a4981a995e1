#pragma once
// ExternalScalerService: KEDA's externalscaler.ExternalScaler (keda-contract.md), served
// from the Tracker's published answers. Every handler catches everything: no exception
// leaves it, and every error is a status with a message naming the object.
//
// Thread-safety: gRPC calls the handlers from many threads at once.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "externalscaler.grpc.pb.h"
#include "scaler/metrics.h"
#include "scaler/tracker.h"

namespace scaler {

// Converts a status, keeping code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);
// A KEDA ScaledObjectRef as the tracker's key.
ObjectRef ToObjectRef(const externalscaler::ScaledObjectRef& ref);

class ExternalScalerService final : public externalscaler::ExternalScaler::Service {
 public:
  // `tracker` (and `metrics`, if given) must outlive the service.
  // `stream_poll` bounds how long a stream waits before re-checking whether its client
  // left (gRPC's synchronous API reports that only when asked).
  ExternalScalerService(Tracker& tracker, ScalerMetrics* metrics,
                        std::chrono::milliseconds stream_poll = std::chrono::milliseconds(500));

  // Ends the open streams (OK) and makes new ones end at once; call before the server's
  // own Shutdown so that it does not wait for them.
  void BeginShutdown();
  // Waits (at most `max_wait`) until every stream handler has returned.
  bool WaitForStreams(std::chrono::milliseconds max_wait);

  grpc::Status IsActive(grpc::ServerContext* context,
                        const externalscaler::ScaledObjectRef* request,
                        externalscaler::IsActiveResponse* response) override;
  grpc::Status StreamIsActive(grpc::ServerContext* context,
                              const externalscaler::ScaledObjectRef* request,
                              grpc::ServerWriter<externalscaler::IsActiveResponse>* writer) override;
  grpc::Status GetMetricSpec(grpc::ServerContext* context,
                             const externalscaler::ScaledObjectRef* request,
                             externalscaler::GetMetricSpecResponse* response) override;
  grpc::Status GetMetrics(grpc::ServerContext* context,
                          const externalscaler::GetMetricsRequest* request,
                          externalscaler::GetMetricsResponse* response) override;
  grpc::Status StreamMetricSpec(
      grpc::ServerContext* context, const externalscaler::ScaledObjectRef* request,
      grpc::ServerWriter<externalscaler::GetMetricSpecResponse>* writer) override;

 private:
  template <typename Fn>
  grpc::Status Guard(const char* method, Fn&& fn);

  Tracker& tracker_;
  ScalerMetrics* metrics_;
  std::chrono::milliseconds stream_poll_;
  std::atomic<bool> shutting_down_{false};
  std::mutex streams_mu_;
  std::condition_variable streams_cv_;
  int open_streams_ = 0;
  friend class StreamCount;
};

}  // namespace scaler
