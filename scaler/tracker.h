#pragma once
// Tracker: one entry per tracked object (namespace, name, metadata). Each entry is
// refreshed in the background every refreshInterval: an incremental range query for the
// samples since the last one, handed to the object's ObjectModel (object_model.h: history,
// refit schedule, forecast, policy, Answer), whose Answer is then published atomically.
// The Tracker owns the registry, the scheduling, the waits, the source errors, logs and
// metrics; the model owns the answer logic. RPCs only read the published Answer: once an
// object is warm, no RPC waits on Prometheus or on a fit.
//
// Scheduling is explicit so that tests need no sleeps: Tick() starts the refreshes that
// are due (at most one in flight per object, run on the Executor) and drops idle
// entries; Start() runs Tick() from a background thread. Time comes from the Clock.
//
// Thread-safety: all public methods may be called from any thread.
// Ownership: the source, clock, executor and metrics must outlive the tracker; call
// Stop() (or destroy the tracker) only after the executor can still run tasks: Stop()
// waits (bounded) for the refreshes in flight.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "forecast/forecast.h"
#include "scaler/clock.h"
#include "scaler/metric_source.h"
#include "scaler/metrics.h"
#include "scaler/object_model.h"
#include "scaler/policy.h"
#include "scaler/spec.h"

namespace scaler {

// Runs refresh tasks. Implementations are thread-safe.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Submit(std::function<void()> task) = 0;
};

// A fixed pool of worker threads with an unbounded queue (the tracker bounds it: one
// task per tracked object at most). The destructor runs the queued tasks, then joins.
class ThreadPoolExecutor final : public Executor {
 public:
  explicit ThreadPoolExecutor(int threads);
  ~ThreadPoolExecutor() override;
  void Submit(std::function<void()> task) override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

struct TrackerOptions {
  std::chrono::milliseconds first_answer_timeout{2000};
  double max_staleness_seconds = 120;
  double idle_ttl_seconds = 900;
  // Whether the forecast intervals include the trend's uncertainty
  // (forecast::Options::trend_uncertainty).
  bool trend_uncertainty = true;
  // Period of the background Tick() started by Start() (real time).
  std::chrono::milliseconds tick_period{250};
  // How many recent observations and answers each object keeps for Recent() (the web
  // view): 360 of each, ~14 kB per object; 3 h of answers at 30 s refreshes.
  size_t recent_capacity = 360;
};

struct ObjectRef {
  std::string namespace_;
  std::string name;
  std::map<std::string, std::string> metadata;
};

// The identity of a tracked object: namespace, name and the whole metadata.
std::string ObjectKey(const ObjectRef& ref);

// The per-object model's configuration for a parsed spec, as the tracker builds it
// (TrackerOptions::trend_uncertainty applied).
ObjectConfig ModelConfigFor(const ScalerSpec& spec, bool trend_uncertainty);

struct TrackedAnswer {
  std::shared_ptr<const ScalerSpec> spec;
  std::shared_ptr<const Answer> answer;
};

// One published answer, as the web view charts it: what GetMetrics returned from `at`
// until the next one.
struct RecentAnswer {
  double at = 0;  // Answer::computed_at, unix seconds
  std::optional<double> current, peak;
  double value = 0;
  Reason reason = Reason::kForecast;
  bool active = false;
};

// An object's recent record, oldest first: history samples as fetched (unix seconds,
// value) and its answers. At most TrackerOptions::recent_capacity of each.
struct RecentRecord {
  std::vector<std::pair<double, double>> observations;
  std::vector<RecentAnswer> answers;
};

struct TrackedObjectState {
  std::shared_ptr<const ScalerSpec> spec;
  std::shared_ptr<const Answer> answer;  // null until the first refresh ends
  bool refresh_in_flight = false;
  double last_access = 0;
};

class Tracker {
 public:
  Tracker(TrackerOptions options, MetricSource& source, const Clock& clock, Executor& executor,
          ScalerMetrics* metrics = nullptr, SpecDefaults defaults = {});
  ~Tracker();
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // The object's spec, tracking the object from now on (its first refresh starts at
  // once; this call does not wait for it).
  // Errors: kInvalidArgument (bad metadata), kPermissionDenied (server not allowed).
  absl::StatusOr<std::shared_ptr<const ScalerSpec>> Track(const ObjectRef& ref);

  // The object's current answer; tracks it if needed and then waits for its first
  // answer at most TrackerOptions::first_answer_timeout.
  // Errors: as Track(); kUnavailable (no answer yet after the wait, or the answer is
  // older than max_staleness: the message names the object, the age and the cause);
  // the object's own error (Answer::status) when it has no answer to give.
  absl::StatusOr<TrackedAnswer> Get(const ObjectRef& ref);
  // As Get(), but never blocks: nullopt when the object has no answer yet and Get()
  // would wait for its first one (the object is tracked from now on either way). For
  // handlers that must not block a gRPC thread: they answer at once when this has a
  // value and hand the call to GetBy() on a thread of their own otherwise.
  std::optional<absl::StatusOr<TrackedAnswer>> TryGet(const ObjectRef& ref);
  // As Get(), for a call received at `received`: waits for the first answer until
  // received + first_answer_timeout at most (not at all once that has passed, nor after
  // WakeAll(): UNAVAILABLE, the server is stopping).
  absl::StatusOr<TrackedAnswer> GetBy(const ObjectRef& ref,
                                      std::chrono::steady_clock::time_point received);

  // Starts due refreshes and drops entries idle for longer than idle_ttl.
  void Tick();
  // Runs Tick() every tick_period from a background thread until Stop().
  void Start();
  // Stops the background thread, wakes every waiter and waits at most `max_wait` for
  // the refreshes in flight (queued ones included). Returns whether none is left.
  // Idempotent.
  bool Stop(std::chrono::milliseconds max_wait = std::chrono::seconds(10));

  std::vector<TrackedObjectState> List() const;
  size_t size() const;
  // Every tracked object named (namespace_, name) — one per trigger metadata — with a
  // snapshot of its recent record, ordered as List(). Empty when none is tracked. Does
  // not track anything nor count as an access (idle objects still expire).
  std::vector<std::pair<TrackedObjectState, RecentRecord>> Recent(const std::string& namespace_,
                                                                  const std::string& name) const;

  // Answer changes: Generation() increases at every publication; WaitForChange blocks
  // until it differs from `seen`, WakeAll() is called, or `max_wait` passes.
  uint64_t Generation() const;
  void WaitForChange(uint64_t seen, std::chrono::milliseconds max_wait);
  // One object's answer changes (what a stream waits for, so that a publication wakes
  // only that object's streams): blocks until the object's answer version differs from
  // `*version` (then updates it), WakeAll() is called, or `max_wait` passes. Returns at
  // once if the object is not tracked.
  void WaitForObjectChange(const ObjectRef& ref, uint64_t* version,
                           std::chrono::milliseconds max_wait);
  // The server is stopping: wakes every waiter above, and waits for a first answer
  // (GetBy) end now and for good (later ones do not wait). Idempotent.
  void WakeAll();

  // Refreshes every object's answer-age metric (called before /metrics is served).
  void UpdateAgeMetrics();

 private:
  struct Entry;
  std::shared_ptr<Entry> FindOrCreate(const ObjectRef& ref, absl::Status* status);
  // Get(); `wait_until` nullopt = do not wait (then nullopt when Get() would wait).
  std::optional<absl::StatusOr<TrackedAnswer>> GetWaitingUntil(
      const ObjectRef& ref, std::optional<std::chrono::steady_clock::time_point> wait_until);
  void RunRefresh(const std::shared_ptr<Entry>& e);
  void Refresh(const std::shared_ptr<Entry>& e, double now);
  void RefreshFailed(Entry& e, const std::string& what);
  // Adds the samples newer than the record's newest to the entry's recent record.
  void RecordObservations(Entry& e, const forecast::Series& samples);
  void Publish(Entry& e, std::shared_ptr<const Answer> answer);
  void RefreshDone(Entry& e, double started_at);

  TrackerOptions options_;
  MetricSource& source_;
  const Clock& clock_;
  Executor& executor_;
  ScalerMetrics* metrics_;
  SpecDefaults defaults_;

  mutable std::shared_mutex mu_;  // entries_
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;

  std::mutex change_mu_;
  std::condition_variable change_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> wake_epoch_{0};  // WakeAll() calls
  std::atomic<bool> first_waits_ended_{false};  // WakeAll() was called

  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  int in_flight_ = 0;

  std::mutex thread_mu_;
  std::condition_variable thread_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace scaler
