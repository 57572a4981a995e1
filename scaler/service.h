#pragma once
// ExternalScalerService: KEDA's externalscaler.ExternalScaler (docs/keda.md), served
// from the Tracker's published answers. Every handler catches everything: no exception
// leaves it, and every error is a status with a message naming the object.
//
// The three unary RPCs are served from gRPC completion queues, each polled by one thread
// of ours (ServerOptions::rpc_threads) that reads the request, answers inline and writes
// the response: a warm object's answer is a lookup, so no thread hand-off is worth its
// cost. On 2 cores one such thread takes about a third less CPU per call than gRPC's
// callback API, whose calls pass between gRPC's own threads (docs/scaler.md,
// "Performance"). The one case
// that would block, the first call for an object that has no answer yet (it waits up to
// --first-answer-timeout), is handed to a small pool of waiter threads. The two streams
// hold a thread each (synchronous API): they are few, one per ScaledObject using
// external-push.
//
// Time (a call's arrival, the first-answer wait, stream waits, shutdown bounds) comes
// from the Clock's monotonic time.
//
// Thread-safety: gRPC calls the handlers from many threads at once.
// Locks: queues_mu_, streams_mu_ and waits_mu_ are each taken alone: never one under
// another, nor the tracker's (tracker.h) under any of them.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "externalscaler.grpc.pb.h"
#include "scaler/clock.h"
#include "scaler/metrics.h"
#include "scaler/mutex.h"
#include "scaler/tracker.h"

namespace scaler {

// Converts a status, keeping code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);
// A KEDA ScaledObjectRef as the tracker's key.
ObjectRef ToObjectRef(const externalscaler::ScaledObjectRef& ref);

// The service base: GetMetricSpec, GetMetrics and IsActive asynchronous (completion
// queues), the streams synchronous.
using ExternalScalerBase = externalscaler::ExternalScaler::WithAsyncMethod_GetMetricSpec<
    externalscaler::ExternalScaler::WithAsyncMethod_GetMetrics<
        externalscaler::ExternalScaler::WithAsyncMethod_IsActive<
            externalscaler::ExternalScaler::Service>>>;

class UnaryCallBase;
template <typename Request, typename Response>
class UnaryCall;

class ExternalScalerService final : public ExternalScalerBase {
 public:
  // `tracker`, `clock` (and `metrics`, if given) must outlive the service.
  // `stream_poll` bounds how long a stream waits before re-checking whether its client
  // left (gRPC's synchronous API reports that only when asked).
  ExternalScalerService(Tracker& tracker, const Clock& clock, ScalerMetrics* metrics,
                        std::chrono::milliseconds stream_poll = std::chrono::milliseconds(500));

  ~ExternalScalerService();

  // The unary RPCs' completion queues, in this order (Server does it):
  //  1. AddUnaryQueues(builder, n) before builder.BuildAndStart();
  //  2. StartUnaryThreads() once the server is built: one thread per queue;
  //  3. after the server's Shutdown has returned, StopUnaryThreads(max_wait): waits (at
  //     most max_wait) for calls still on the waiter pool, then shuts the queues down and
  //     joins their threads. Idempotent; also run by the destructor. Without step 2 (the
  //     server failed to start) it only drains the queues.
  void AddUnaryQueues(grpc::ServerBuilder& builder, int threads);
  void StartUnaryThreads();
  void StopUnaryThreads(std::chrono::milliseconds max_wait);

  // The drain (Server::BeginDrain): ends the open streams (OK) and wakes the calls waiting
  // for a first answer (UNAVAILABLE, the tracker's "augur is shutting down"); from now on
  // every new call, unary or stream, is UNAVAILABLE "augur is shutting down" at once.
  // Calls already past that check finish normally. Call before the server's own Shutdown
  // so that it does not wait for the streams. Idempotent.
  void BeginShutdown();
  // What a call gets once BeginShutdown() has been called.
  static grpc::Status ShuttingDown(const char* method);
  // Waits (at most `max_wait`) until every stream handler has returned.
  bool WaitForStreams(std::chrono::milliseconds max_wait);

  grpc::Status StreamIsActive(grpc::ServerContext* context,
                              const externalscaler::ScaledObjectRef* request,
                              grpc::ServerWriter<externalscaler::IsActiveResponse>* writer) override;
  grpc::Status StreamMetricSpec(
      grpc::ServerContext* context, const externalscaler::ScaledObjectRef* request,
      grpc::ServerWriter<externalscaler::GetMetricSpecResponse>* writer) override;

 private:
  template <typename Request, typename Response>
  friend class UnaryCall;

  template <typename Fn>
  grpc::Status Guard(const char* method, Fn&& fn);
  // The unary handlers: fill `response` and return the call's status, or nullopt when the
  // answer would have to wait for the object's first refresh and `may_wait` is false (the
  // call is then run again with `may_wait` on a waiter thread).
  std::optional<grpc::Status> Handle(const externalscaler::ScaledObjectRef& request,
                                     externalscaler::GetMetricSpecResponse* response,
                                     MonotonicTime received, bool may_wait);
  std::optional<grpc::Status> Handle(const externalscaler::GetMetricsRequest& request,
                                     externalscaler::GetMetricsResponse* response,
                                     MonotonicTime received, bool may_wait);
  std::optional<grpc::Status> Handle(const externalscaler::ScaledObjectRef& request,
                                     externalscaler::IsActiveResponse* response,
                                     MonotonicTime received, bool may_wait);
  // Asks gRPC for the next call of the method `response` belongs to, on `cq`.
  void Request(grpc::ServerContext* context, externalscaler::ScaledObjectRef* request,
               grpc::ServerAsyncResponseWriter<externalscaler::GetMetricSpecResponse>* response,
               grpc::ServerCompletionQueue* cq, void* tag);
  void Request(grpc::ServerContext* context, externalscaler::GetMetricsRequest* request,
               grpc::ServerAsyncResponseWriter<externalscaler::GetMetricsResponse>* response,
               grpc::ServerCompletionQueue* cq, void* tag);
  void Request(grpc::ServerContext* context, externalscaler::ScaledObjectRef* request,
               grpc::ServerAsyncResponseWriter<externalscaler::IsActiveResponse>* response,
               grpc::ServerCompletionQueue* cq, void* tag);
  // Runs `op` (which arms or finishes a call on a queue) unless the queues are shut down;
  // false when they are (the caller then drops the call).
  template <typename Op>
  bool WhileQueuesOpen(Op&& op);
  // A call that has to wait for a first answer: `wait` runs on the waiter pool, counted
  // so that StopUnaryThreads can wait for it.
  void SubmitWait(std::function<void()> wait);
  // The answer for `ref`: TryGet (inline), or GetBy when the call may wait.
  std::optional<absl::StatusOr<TrackedAnswer>> Lookup(
      const ObjectRef& ref, MonotonicTime received, bool may_wait);

  Tracker& tracker_;
  const Clock& clock_;
  ScalerMetrics* const metrics_;
  const std::chrono::milliseconds stream_poll_;
  std::atomic<bool> shutting_down_{false};
  Mutex streams_mu_;
  std::condition_variable streams_cv_;
  int open_streams_ ABSL_GUARDED_BY(streams_mu_) = 0;

  // The unary RPCs' queues and their threads. Arming a call or finishing one happens under
  // a shared lock of queues_mu_, shutting the queues down under an exclusive one, so that
  // nothing reaches a queue after its Shutdown.
  // queues_ and queue_threads_ are filled before the server serves (AddUnaryQueues,
  // StartUnaryThreads) and only read after.
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> queue_threads_;
  SharedMutex queues_mu_;
  bool queues_closed_ ABSL_GUARDED_BY(queues_mu_) = false;
  Mutex waits_mu_;
  std::condition_variable waits_cv_;
  int pending_waits_ ABSL_GUARDED_BY(waits_mu_) = 0;  // calls on the waiter pool
  // Calls that wait for an object's first answer (bounded by --first-answer-timeout).
  // Last member: its destructor runs what is queued and joins before the rest goes.
  ThreadPoolExecutor waiters_{kWaiterThreads};
  static constexpr int kWaiterThreads = 8;
  friend class StreamCount;
};

}  // namespace scaler
