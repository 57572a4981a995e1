#include "loadtest/bench.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "externalscaler.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

absl::StatusOr<BenchRpc> ParseBenchRpc(const std::string& name) {
  if (name == "GetMetrics") return BenchRpc::kGetMetrics;
  if (name == "IsActive") return BenchRpc::kIsActive;
  if (name == "GetMetricSpec") return BenchRpc::kGetMetricSpec;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown rpc '", name, "': expected GetMetrics, IsActive or GetMetricSpec"));
}

absl::Status BenchConfig::Validate() const {
  if (concurrency < 1 || concurrency > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("concurrency = ", concurrency, ": expected 1..10000"));
  }
  if (connections < 1 || connections > concurrency) {
    return absl::InvalidArgumentError(absl::StrCat(
        "connections = ", connections, ": expected 1..concurrency (", concurrency, ")"));
  }
  if (!std::isfinite(rate) || rate < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate = ", rate, ": expected requests per second >= 0 (0 = unlimited)"));
  }
  if (!std::isfinite(duration_seconds) || duration_seconds < 0 || count < 0) {
    return absl::InvalidArgumentError("duration and count must be >= 0");
  }
  if (duration_seconds == 0 && count == 0) {
    return absl::InvalidArgumentError(
        "neither --duration nor --count bounds the run: expected one of them > 0");
  }
  if (!std::isfinite(warmup_seconds) || warmup_seconds < 0) {
    return absl::InvalidArgumentError("warmup must be a duration >= 0");
  }
  if (objects < 1 || objects > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat("objects = ", objects, ": expected 1..1000000"));
  }
  if (timeout.count() <= 0) return absl::InvalidArgumentError("timeout must be > 0");
  return absl::OkStatus();
}

const char* GrpcCodeName(int code) {
  static const char* const kNames[] = {
      "OK",        "CANCELLED",          "UNKNOWN",          "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",   "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",      "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code < 0 || code > 16) return "UNKNOWN";
  return kNames[code];
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9);
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted.size()))) - 1;
  return sorted[index];
}

namespace {

// One call slot: at most one request in flight. Its record is touched only by the
// completion thread (latencies, counts) and, between calls, by whoever issues its next
// call, which happens after the completion that freed it.
struct Slot {
  externalscaler::ExternalScaler::Stub* stub = nullptr;
  std::unique_ptr<grpc::ClientContext> context;  // a fresh one per call
  std::unique_ptr<grpc::ClientAsyncResponseReader<externalscaler::GetMetricsResponse>> metrics_reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<externalscaler::IsActiveResponse>> active_reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<externalscaler::GetMetricSpecResponse>> spec_reader;
  externalscaler::GetMetricsResponse metrics_response;
  externalscaler::IsActiveResponse active_response;
  externalscaler::GetMetricSpecResponse spec_response;
  grpc::Status status;
  Clock::time_point origin;  // latency origin: the scheduled send time (paced) or the send
  std::vector<double> latencies_ms;
  std::map<int, int64_t> errors;
  int64_t ok = 0;
};

// Drives every call through one gRPC completion queue that the calling thread polls
// itself: the thread that wakes up for a response is the one that reads it from the
// socket and records it, with no hand-off to gRPC's callback threads (on a 2-core machine
// shared with the scaler, those wake-ups cost more CPU than the calls; docs/scaler.md).
//  - As fast as possible: every completion issues that slot's next request, on the same
//    thread.
//  - Paced (`rate` > 0): a pacer thread issues request k at start + k/rate on a free slot
//    (it sleeps on a high-resolution timer; the queue's own timeouts are only
//    millisecond-exact); latency runs from that scheduled time, so a client or server
//    that falls behind shows up in the latency (no coordinated omission).
class Driver {
 public:
  Driver(const BenchConfig& config, const std::atomic<bool>& stop,
         std::vector<std::unique_ptr<externalscaler::ExternalScaler::Stub>>& stubs,
         const std::vector<externalscaler::ScaledObjectRef>& refs,
         const std::vector<externalscaler::GetMetricsRequest>& metric_requests)
      : config_(config), stop_(stop), refs_(refs), metric_requests_(metric_requests),
        slots_(static_cast<size_t>(config.concurrency)) {
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].stub = stubs[i % stubs.size()].get();
  }

  ~Driver() {
    // Every phase waited for its calls, so the queue only has to be drained of its
    // shutdown event.
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // Runs one phase until `end`, `count` requests (0 = unbounded) or a stop request; returns
  // when every call it issued has completed (each has a deadline, so this is bounded).
  void RunPhase(Clock::time_point end, int64_t count, bool record) {
    record_ = record;
    end_ = end;
    count_ = count;
    next_ticket_.store(0);
    issuing_done_.store(false);
    if (record) {
      for (Slot& s : slots_) s.latencies_ms.reserve(EstimatedPerSlot());
    }
    std::thread pacer;
    if (config_.rate > 0) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        free_.clear();
        for (Slot& s : slots_) free_.push_back(&s);
      }
      pacer = std::thread([this] { Pace(); });
    } else {
      bool more = true;
      for (Slot& s : slots_) {
        if (!(more = IssueNext(s, Clock::now(), /*paced=*/false))) break;
      }
      if (!more) issuing_done_.store(true);
    }
    // Completions until nothing more will be issued and nothing is in flight.
    while (!(issuing_done_.load() && in_flight_.load() == 0)) {
      void* tag = nullptr;
      bool ok = false;
      const auto status = cq_.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + std::chrono::milliseconds(20));
      if (status == grpc::CompletionQueue::SHUTDOWN) break;
      if (status == grpc::CompletionQueue::GOT_EVENT) Complete(*static_cast<Slot*>(tag));
    }
    if (pacer.joinable()) pacer.join();
  }

  int64_t completed() const { return completed_.load(std::memory_order_relaxed); }
  const std::vector<Slot>& slots() const { return slots_; }

 private:
  size_t EstimatedPerSlot() const {
    double n = 0;
    if (count_ > 0) n = static_cast<double>(count_);
    if (config_.rate > 0 && config_.duration_seconds > 0) {
      const double by_time = config_.rate * config_.duration_seconds;
      n = n > 0 ? std::min(n, by_time) : by_time;
    }
    n = n / static_cast<double>(slots_.size()) + 16;
    return static_cast<size_t>(std::min(n, 1e6));
  }

  // Takes the next ticket and issues it on `slot`; false (and nothing issued) once the
  // phase is over.
  bool IssueNext(Slot& slot, Clock::time_point origin, bool paced) {
    if (stop_.load(std::memory_order_relaxed)) return false;
    if (!paced && Clock::now() >= end_) return false;
    const int64_t k = next_ticket_.fetch_add(1, std::memory_order_relaxed);
    if (count_ > 0 && k >= count_) return false;
    in_flight_.fetch_add(1);
    Issue(slot, static_cast<size_t>(k % config_.objects), origin);
    return true;
  }

  void Issue(Slot& slot, size_t object, Clock::time_point origin) {
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.context->set_deadline(std::chrono::system_clock::now() + config_.timeout);
    slot.origin = origin;
    grpc::ClientContext* ctx = slot.context.get();
    switch (config_.rpc) {
      case BenchRpc::kGetMetrics:
        slot.metrics_response.Clear();
        slot.metrics_reader = slot.stub->AsyncGetMetrics(ctx, metric_requests_[object], &cq_);
        slot.metrics_reader->Finish(&slot.metrics_response, &slot.status, &slot);
        break;
      case BenchRpc::kIsActive:
        slot.active_response.Clear();
        slot.active_reader = slot.stub->AsyncIsActive(ctx, refs_[object], &cq_);
        slot.active_reader->Finish(&slot.active_response, &slot.status, &slot);
        break;
      case BenchRpc::kGetMetricSpec:
        slot.spec_response.Clear();
        slot.spec_reader = slot.stub->AsyncGetMetricSpec(ctx, refs_[object], &cq_);
        slot.spec_reader->Finish(&slot.spec_response, &slot.status, &slot);
        break;
    }
  }

  // On the completion thread.
  void Complete(Slot& slot) {
    if (record_) {
      slot.latencies_ms.push_back(Seconds(Clock::now() - slot.origin) * 1000);
      if (slot.status.ok()) {
        ++slot.ok;
      } else {
        ++slot.errors[slot.status.error_code()];
      }
      completed_.fetch_add(1, std::memory_order_relaxed);
    }
    if (config_.rate > 0) {
      // Paced: the slot goes back to the pacer.
      {
        std::lock_guard<std::mutex> lock(mu_);
        free_.push_back(&slot);
      }
      free_cv_.notify_one();  // no system call when the pacer is not waiting
      in_flight_.fetch_sub(1);
      return;
    }
    // As fast as possible: the slot goes straight on with its next request.
    if (!IssueNext(slot, Clock::now(), /*paced=*/false)) issuing_done_.store(true);
    in_flight_.fetch_sub(1);
  }

  void Pace() {
#ifdef PR_SET_TIMERSLACK
    prctl(PR_SET_TIMERSLACK, 20000UL, 0UL, 0UL, 0UL);  // wake within ~20 us of a due time
#endif
    const auto start = Clock::now();
    for (int64_t k = 0;; ++k) {
      const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(k) / config_.rate));
      if (due >= end_) break;
      // Sleep in short slices so that a stop request is seen promptly.
      for (auto now = Clock::now(); now < due && !stop_.load(); now = Clock::now()) {
        std::this_thread::sleep_for(std::min<Clock::duration>(due - now, std::chrono::milliseconds(50)));
      }
      Slot* slot = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu_);
        // Every slot busy: wait for one (the wait counts in the latency, which runs from
        // `due`); the per-request deadline bounds it.
        while (free_.empty() && !stop_.load()) {
          free_cv_.wait_for(lock, std::chrono::milliseconds(50));
        }
        if (stop_.load()) break;
        slot = free_.back();
        free_.pop_back();
      }
      if (!IssueNext(*slot, due, /*paced=*/true)) {
        std::lock_guard<std::mutex> lock(mu_);
        free_.push_back(slot);
        break;
      }
    }
    issuing_done_.store(true);
  }

  const BenchConfig& config_;
  const std::atomic<bool>& stop_;
  const std::vector<externalscaler::ScaledObjectRef>& refs_;
  const std::vector<externalscaler::GetMetricsRequest>& metric_requests_;
  std::vector<Slot> slots_;
  grpc::CompletionQueue cq_;
  std::atomic<bool> record_{false};
  Clock::time_point end_;
  int64_t count_ = 0;
  std::atomic<int64_t> next_ticket_{0};
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> issuing_done_{false};

  std::mutex mu_;
  std::condition_variable free_cv_;
  std::vector<Slot*> free_;  // guarded by mu_ (paced mode)
};

}  // namespace

absl::StatusOr<BenchResult> RunBench(const BenchConfig& config, const ChannelFactory& channels,
                                     const std::atomic<bool>& stop,
                                     const std::function<void(const BenchResult&)>& progress) {
  absl::Status valid = config.Validate();
  if (!valid.ok()) return valid;
  std::vector<std::unique_ptr<externalscaler::ExternalScaler::Stub>> stubs;
  for (int c = 0; c < config.connections; ++c) {
    stubs.push_back(externalscaler::ExternalScaler::NewStub(channels(c)));
  }
  // One ScaledObjectRef (and GetMetricsRequest) per object, built once.
  std::vector<externalscaler::ScaledObjectRef> refs(static_cast<size_t>(config.objects));
  std::vector<externalscaler::GetMetricsRequest> metric_requests(refs.size());
  for (size_t i = 0; i < refs.size(); ++i) {
    refs[i].set_name(absl::StrCat(config.name_prefix, "-", i));
    refs[i].set_namespace_(config.ns);
    for (const auto& [k, v] : config.metadata) (*refs[i].mutable_scalermetadata())[k] = v;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + config.timeout);
    externalscaler::GetMetricSpecResponse spec;
    grpc::Status s = stubs[i % stubs.size()]->GetMetricSpec(&ctx, refs[i], &spec);
    if (!s.ok()) {
      return absl::UnavailableError(absl::StrCat("warm-up GetMetricSpec for ", refs[i].name(),
                                                 " failed: ", GrpcCodeName(s.error_code()), ": ",
                                                 s.error_message()));
    }
    *metric_requests[i].mutable_scaledobjectref() = refs[i];
    if (spec.metricspecs_size() > 0) metric_requests[i].set_metricname(spec.metricspecs(0).metricname());
    if (stop.load()) break;
  }

  Driver driver(config, stop, stubs, refs, metric_requests);
  auto after = [](double seconds) {
    return Clock::now() +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  // Warm-up: the same load, unrecorded.
  if (config.warmup_seconds > 0 && !stop.load()) {
    driver.RunPhase(after(config.warmup_seconds), 0, /*record=*/false);
  }

  std::atomic<bool> finished{false};
  const auto start = Clock::now();
  // Progress about once a second, from its own thread, until the run ends.
  std::thread reporter;
  if (progress) {
    reporter = std::thread([&] {
      while (!finished.load()) {
        for (int i = 0; i < 20 && !finished.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (finished.load()) break;
        BenchResult r;
        r.requests = driver.completed();
        r.elapsed_seconds = Seconds(Clock::now() - start);
        r.rps = r.elapsed_seconds > 0 ? static_cast<double>(r.requests) / r.elapsed_seconds : 0;
        progress(r);
      }
    });
  }
  if (!stop.load()) {
    driver.RunPhase(config.duration_seconds > 0 ? after(config.duration_seconds)
                                                : Clock::time_point::max(),
                    config.count, /*record=*/true);
  }
  const double elapsed = Seconds(Clock::now() - start);
  finished.store(true);
  if (reporter.joinable()) reporter.join();

  BenchResult result;
  std::vector<double> all;
  double sum = 0;
  for (const Slot& s : driver.slots()) {
    all.insert(all.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    result.ok += s.ok;
    for (const auto& [code, n] : s.errors) result.errors[GrpcCodeName(code)] += n;
  }
  for (double v : all) sum += v;
  std::sort(all.begin(), all.end());
  result.requests = static_cast<int64_t>(all.size());
  result.elapsed_seconds = elapsed;
  result.rps = elapsed > 0 ? static_cast<double>(result.requests) / elapsed : 0;
  result.p50 = Percentile(all, 50);
  result.p90 = Percentile(all, 90);
  result.p99 = Percentile(all, 99);
  result.p999 = Percentile(all, 99.9);
  result.max = all.empty() ? 0 : all.back();
  result.mean = all.empty() ? 0 : sum / static_cast<double>(all.size());
  return result;
}

std::string BenchJson(const BenchResult& r) {
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [code, n] : r.errors) errors[code] = n;
  nlohmann::json j{{"rps", r.rps},
                   {"latency_ms",
                    {{"p50", r.p50}, {"p90", r.p90}, {"p99", r.p99}, {"p999", r.p999}, {"max", r.max}}},
                   {"errors", errors}};
  return j.dump();
}

std::string BenchText(const BenchResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "requests: %lld (ok %lld) in %.3f s\nrps: %.1f\nlatency ms: p50 %.3f  p90 %.3f  "
                "p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
                static_cast<long long>(r.requests), static_cast<long long>(r.ok), r.elapsed_seconds,
                r.rps, r.p50, r.p90, r.p99, r.p999, r.max, r.mean);
  std::string out = buf;
  if (r.errors.empty()) {
    out += "errors: none\n";
  } else {
    out += "errors:";
    for (const auto& [code, n] : r.errors) absl::StrAppend(&out, " ", code, "=", n);
    out += "\n";
  }
  return out;
}

}  // namespace loadtest
