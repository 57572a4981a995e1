#include "scaler/service.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <exception>

#include "absl/strings/match.h"
#include "scaler/log.h"
#include "scaler/rpc_guard.h"

namespace scaler {
namespace {

// KEDA strips its "s<index>-" prefix before GetMetrics; older clients may not.
bool MetricNameMatches(const std::string& requested, const std::string& ours) {
  if (absl::EqualsIgnoreCase(requested, ours)) return true;
  if (requested.size() > 2 && (requested[0] == 's' || requested[0] == 'S')) {
    size_t i = 1;
    while (i < requested.size() && std::isdigit(static_cast<unsigned char>(requested[i]))) ++i;
    if (i > 1 && i < requested.size() && requested[i] == '-') {
      return absl::EqualsIgnoreCase(requested.substr(i + 1), ours);
    }
  }
  return false;
}

// ceil(v) as KEDA's deprecated integer fields want it, saturated instead of overflowing.
int64_t CeilToInt64(double v) {
  if (!(v > 0)) return 0;
  if (v >= 9.2e18) return INT64_MAX;
  return static_cast<int64_t>(std::ceil(v));
}

// KEDA before v2.17 reads only the integer fields, which the proto marks deprecated.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void SetIntegerTarget(externalscaler::MetricSpec* m, double v) { m->set_targetsize(CeilToInt64(v)); }
void SetIntegerValue(externalscaler::MetricValue* m, double v) { m->set_metricvalue(CeilToInt64(v)); }
#pragma GCC diagnostic pop

void FillSpec(const ScalerSpec& spec, externalscaler::GetMetricSpecResponse* response) {
  response->clear_metricspecs();
  externalscaler::MetricSpec* m = response->add_metricspecs();
  m->set_metricname(spec.metric_name);
  m->set_targetsizefloat(spec.target_value);
  SetIntegerTarget(m, spec.target_value);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

ObjectRef ToObjectRef(const externalscaler::ScaledObjectRef& ref) {
  ObjectRef out;
  out.namespace_ = ref.namespace_();
  out.name = ref.name();
  for (const auto& [k, v] : ref.scalermetadata()) out.metadata.emplace(k, v);
  return out;
}

ExternalScalerService::ExternalScalerService(Tracker& tracker, const Clock& clock,
                                             ScalerMetrics* metrics,
                                             std::chrono::milliseconds stream_poll)
    : tracker_(tracker), clock_(clock), metrics_(metrics), stream_poll_(stream_poll) {}

void ExternalScalerService::BeginShutdown() {
  shutting_down_ = true;
  tracker_.WakeAll();
}

grpc::Status ExternalScalerService::ShuttingDown(const char* method) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      std::string(method) +
                          ": augur is shutting down (this replica is draining); retry "
                          "(another replica answers)");
}

// Counts a stream handler for the lifetime of the object.
class StreamCount {
 public:
  explicit StreamCount(ExternalScalerService& s) : s_(s) {
    MutexLock lock(s_.streams_mu_);
    ++s_.open_streams_;
  }
  ~StreamCount() {
    {
      MutexLock lock(s_.streams_mu_);
      --s_.open_streams_;
    }
    s_.streams_cv_.notify_all();
  }

 private:
  ExternalScalerService& s_;
};

bool ExternalScalerService::WaitForStreams(std::chrono::milliseconds max_wait) {
  MutexLock lock(streams_mu_);
  return clock_.WaitFor(lock.native(), streams_cv_, max_wait, [this] {
    streams_mu_.AssertHeld();
    return open_streams_ == 0;
  });
}

template <typename Fn>
grpc::Status ExternalScalerService::Guard(const char* method, Fn&& fn) {
  return GuardedRpc(metrics_, clock_, method, std::forward<Fn>(fn));
}

// One unary call on a completion queue. The queue returns its tag twice: when a request
// has arrived (the call then arms its successor, so that the queue always has a call
// waiting, and answers) and when the response has been sent (the call is deleted).
// A tag returned with ok = false (the server is shutting down, or the client left) ends
// the call.
class UnaryCallBase {
 public:
  virtual ~UnaryCallBase() = default;
  virtual void Proceed(bool ok) = 0;
};

template <typename Request, typename Response>
class UnaryCall final : public UnaryCallBase {
 public:
  // Arms a new call for `method` on `cq`; deletes itself when the queues are shut down.
  static void Arm(ExternalScalerService& service, grpc::ServerCompletionQueue* cq,
                  const char* method) {
    auto* call = new UnaryCall(service, cq, method);
    if (!service.WhileQueuesOpen([&] {
          service.Request(&call->context_, &call->request_, &call->writer_, cq, call);
        })) {
      delete call;
    }
  }

  void Proceed(bool ok) override {
    if (finishing_ || !ok) {
      delete this;
      return;
    }
    Arm(service_, cq_, method_);
    finishing_ = true;
    received_ = service_.clock_.Monotonic();
    if (service_.shutting_down_.load()) {
      Finish(ExternalScalerService::ShuttingDown(method_));
      return;
    }
    if (std::optional<grpc::Status> status = Run(/*may_wait=*/false)) {
      Finish(*status);
      return;
    }
    // No answer yet for this object: wait for it off the queue's thread.
    service_.SubmitWait([this] {
      std::optional<grpc::Status> waited = Run(/*may_wait=*/true);
      Finish(waited.value_or(grpc::Status(
          grpc::StatusCode::INTERNAL, std::string(method_) + " did not produce an answer")));
    });
  }

 private:
  UnaryCall(ExternalScalerService& service, grpc::ServerCompletionQueue* cq, const char* method)
      : service_(service), cq_(cq), method_(method), writer_(&context_) {}

  std::optional<grpc::Status> Run(bool may_wait) {
    std::optional<grpc::Status> status;
    grpc::Status caught = RunCatching(method_, [&] {
      status = service_.Handle(request_, &response_, received_, may_wait);
      return grpc::Status::OK;
    });
    if (!caught.ok()) return caught;
    return status;
  }

  void Finish(const grpc::Status& status) {
    RecordRpc(service_.metrics_, service_.clock_, method_, received_, status);
    if (!service_.WhileQueuesOpen([&] {
          if (status.ok()) {
            writer_.Finish(response_, status, this);
          } else {
            writer_.FinishWithError(status, this);
          }
        })) {
      delete this;  // the server has stopped: nobody reads the answer
    }
  }

  ExternalScalerService& service_;
  grpc::ServerCompletionQueue* cq_;
  const char* method_;
  grpc::ServerContext context_;
  Request request_;
  Response response_;
  grpc::ServerAsyncResponseWriter<Response> writer_;
  MonotonicTime received_;
  bool finishing_ = false;
};

ExternalScalerService::~ExternalScalerService() { StopUnaryThreads(std::chrono::milliseconds(0)); }

void ExternalScalerService::AddUnaryQueues(grpc::ServerBuilder& builder, int threads) {
  for (int i = 0; i < threads; ++i) queues_.push_back(builder.AddCompletionQueue());
}

void ExternalScalerService::StartUnaryThreads() {
  for (auto& queue : queues_) {
    grpc::ServerCompletionQueue* cq = queue.get();
    // A few calls armed per method, so that a burst does not wait for re-arming.
    for (int i = 0; i < 8; ++i) {
      UnaryCall<externalscaler::ScaledObjectRef, externalscaler::GetMetricSpecResponse>::Arm(
          *this, cq, "GetMetricSpec");
      UnaryCall<externalscaler::GetMetricsRequest, externalscaler::GetMetricsResponse>::Arm(
          *this, cq, "GetMetrics");
      UnaryCall<externalscaler::ScaledObjectRef, externalscaler::IsActiveResponse>::Arm(
          *this, cq, "IsActive");
    }
    queue_threads_.emplace_back([cq] {
      void* tag = nullptr;
      bool ok = false;
      while (cq->Next(&tag, &ok)) static_cast<UnaryCallBase*>(tag)->Proceed(ok);
    });
  }
}

void ExternalScalerService::StopUnaryThreads(std::chrono::milliseconds max_wait) {
  {
    MutexLock lock(waits_mu_);
    clock_.WaitFor(lock.native(), waits_cv_, max_wait, [this] {
      waits_mu_.AssertHeld();
      return pending_waits_ == 0;
    });
  }
  {
    WriterLock lock(queues_mu_);
    if (queues_closed_) return;
    queues_closed_ = true;
    for (auto& queue : queues_) queue->Shutdown();
  }
  for (std::thread& t : queue_threads_) t.join();
  if (queue_threads_.empty()) {
    // Never served (the server did not start): drain here.
    for (auto& queue : queues_) {
      void* tag = nullptr;
      bool ok = false;
      while (queue->Next(&tag, &ok)) static_cast<UnaryCallBase*>(tag)->Proceed(false);
    }
  }
}

template <typename Op>
bool ExternalScalerService::WhileQueuesOpen(Op&& op) {
  ReaderLock lock(queues_mu_);
  if (queues_closed_) return false;
  op();
  return true;
}

void ExternalScalerService::SubmitWait(std::function<void()> wait) {
  {
    MutexLock lock(waits_mu_);
    ++pending_waits_;
  }
  waiters_.Submit([this, wait = std::move(wait)] {
    wait();
    {
      MutexLock lock(waits_mu_);
      --pending_waits_;
    }
    waits_cv_.notify_all();
  });
}

void ExternalScalerService::Request(
    grpc::ServerContext* context, externalscaler::ScaledObjectRef* request,
    grpc::ServerAsyncResponseWriter<externalscaler::GetMetricSpecResponse>* response,
    grpc::ServerCompletionQueue* cq, void* tag) {
  RequestGetMetricSpec(context, request, response, cq, cq, tag);
}

void ExternalScalerService::Request(
    grpc::ServerContext* context, externalscaler::GetMetricsRequest* request,
    grpc::ServerAsyncResponseWriter<externalscaler::GetMetricsResponse>* response,
    grpc::ServerCompletionQueue* cq, void* tag) {
  RequestGetMetrics(context, request, response, cq, cq, tag);
}

void ExternalScalerService::Request(
    grpc::ServerContext* context, externalscaler::ScaledObjectRef* request,
    grpc::ServerAsyncResponseWriter<externalscaler::IsActiveResponse>* response,
    grpc::ServerCompletionQueue* cq, void* tag) {
  RequestIsActive(context, request, response, cq, cq, tag);
}

std::optional<absl::StatusOr<TrackedAnswer>> ExternalScalerService::Lookup(
    const ObjectRef& ref, MonotonicTime received, bool may_wait) {
  if (may_wait) return tracker_.GetBy(ref, received);
  return tracker_.TryGet(ref);
}

std::optional<grpc::Status> ExternalScalerService::Handle(
    const externalscaler::ScaledObjectRef& request, externalscaler::GetMetricSpecResponse* response,
    MonotonicTime, bool) {
  // Never waits: tracking an object starts its first refresh without waiting for it.
  auto spec = tracker_.Track(ToObjectRef(request));
  if (!spec.ok()) return ToGrpcStatus(spec.status());
  FillSpec(**spec, response);
  return grpc::Status::OK;
}

std::optional<grpc::Status> ExternalScalerService::Handle(
    const externalscaler::GetMetricsRequest& request, externalscaler::GetMetricsResponse* response,
    MonotonicTime received, bool may_wait) {
  const ObjectRef ref = ToObjectRef(request.scaledobjectref());
  // One tracker lookup for a warm object: its answer carries the spec. Only without an
  // answer (an error, or a cold object) is the spec looked up on its own, so that a wrong
  // metric name is NOT_FOUND before any wait or answer error. An object the lookup did
  // not track (bad metadata, a server not allowed, beyond --max-objects, shutting down)
  // gets the lookup's error, once (a refusal is counted once per call).
  auto got = Lookup(ref, received, may_wait);
  std::shared_ptr<const ScalerSpec> spec;
  if (got && got->ok()) {
    spec = (*got)->spec;
  } else if (std::shared_ptr<const ScalerSpec> known = tracker_.SpecOf(ref)) {
    spec = std::move(known);
  } else if (got) {
    return ToGrpcStatus(got->status());
  } else {
    auto tracked = tracker_.Track(ref);  // dropped meanwhile (idle): tracked again
    if (!tracked.ok()) return ToGrpcStatus(tracked.status());
    spec = *std::move(tracked);
  }
  if (!MetricNameMatches(request.metricname(), spec->metric_name)) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "unknown metric '" + request.metricname() + "' for " + ref.namespace_ +
                            "/" + ref.name + ": expected '" + spec->metric_name +
                            "' (the name GetMetricSpec returns)");
  }
  if (!got) return std::nullopt;
  if (!got->ok()) return ToGrpcStatus(got->status());
  const double value = (*got)->answer->decision.value;
  externalscaler::MetricValue* m = response->add_metricvalues();
  m->set_metricname((*got)->spec->metric_name);
  m->set_metricvaluefloat(value);
  SetIntegerValue(m, value);
  return grpc::Status::OK;
}

std::optional<grpc::Status> ExternalScalerService::Handle(
    const externalscaler::ScaledObjectRef& request, externalscaler::IsActiveResponse* response,
    MonotonicTime received, bool may_wait) {
  auto got = Lookup(ToObjectRef(request), received, may_wait);
  if (!got) return std::nullopt;
  if (!got->ok()) return ToGrpcStatus(got->status());
  response->set_result((*got)->answer->decision.active);
  return grpc::Status::OK;
}

grpc::Status ExternalScalerService::StreamIsActive(
    grpc::ServerContext* context, const externalscaler::ScaledObjectRef* request,
    grpc::ServerWriter<externalscaler::IsActiveResponse>* writer) {
  StreamCount count(*this);
  return Guard("StreamIsActive", [&]() -> grpc::Status {
    if (shutting_down_) return ShuttingDown("StreamIsActive");
    const ObjectRef ref = ToObjectRef(*request);
    auto spec = tracker_.Track(ref);
    if (!spec.ok()) return ToGrpcStatus(spec.status());
    bool seen = false;  // an answer of the object has been looked at
    uint64_t activations = 0;
    uint64_t version = 0;
    while (!shutting_down_ && !context->IsCancelled()) {
      auto got = tracker_.Get(ref);
      // While the object has no valid answer (first refresh, staleness) nothing is sent:
      // KEDA's polling sees the error, and the stream resumes with the next answer.
      if (got.ok()) {
        const Answer& answer = *got->answer;
        // Only `true`: at once if the object is active when the stream opens, then for
        // each inactive -> active transition. Never `false`: KEDA up to v2.17 acts on a
        // `false` (with a stale copy of the ScaledObject, so a `false` on every stream
        // (re)open could scale a workload to zero early); v2.18+ ignores it. Deactivation
        // is left to KEDA's polling of IsActive (docs/keda.md §2, §7).
        if (seen ? answer.activations > activations : answer.decision.active) {
          externalscaler::IsActiveResponse message;
          message.set_result(true);
          if (!writer->Write(message)) break;  // the client left
        }
        seen = true;
        activations = answer.activations;
      }
      if (shutting_down_) break;
      // Woken by this object's next answer only (not every object's), by the server's
      // shutdown, or after stream_poll to notice a client that left.
      tracker_.WaitForObjectChange(ref, &version, stream_poll_);
    }
    return grpc::Status::OK;
  });
}

grpc::Status ExternalScalerService::StreamMetricSpec(
    grpc::ServerContext* context, const externalscaler::ScaledObjectRef* request,
    grpc::ServerWriter<externalscaler::GetMetricSpecResponse>* writer) {
  StreamCount count(*this);
  return Guard("StreamMetricSpec", [&]() -> grpc::Status {
    if (shutting_down_) return ShuttingDown("StreamMetricSpec");
    const ObjectRef ref = ToObjectRef(*request);
    auto spec = tracker_.Track(ref);
    if (!spec.ok()) return ToGrpcStatus(spec.status());
    // The spec of an object is a function of its metadata, so it never changes while
    // the stream is open: send it once, as GetMetricSpec returns it, and hold the
    // stream open until the client leaves or the server stops.
    externalscaler::GetMetricSpecResponse message;
    FillSpec(**spec, &message);
    if (!writer->Write(message)) return grpc::Status::OK;
    uint64_t version = 0;
    while (!shutting_down_ && !context->IsCancelled()) {
      if (!tracker_.Track(ref).ok()) break;  // keeps the object tracked while streamed
      tracker_.WaitForObjectChange(ref, &version, stream_poll_);
    }
    return grpc::Status::OK;
  });
}

}  // namespace scaler
