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
// entries; Start() runs Tick() from a background thread. Time comes from the Clock: wall
// time for answers, refresh times, staleness and idleness; its monotonic time for every
// wait and duration (first-answer waits, stream waits, the tick period, Stop's bound).
//
// Limits (docs/reliability.md, "Limits"): at most TrackerOptions::max_objects objects
// (a new one beyond is refused with RESOURCE_EXHAUSTED; tracked ones keep answering);
// at most max_queries_per_server refreshes whose query is in flight per Prometheus
// server: the others wait in Tick's queue, not on a worker or in an RPC — objects with
// an answer to keep fresh first, then first refreshes, oldest due first in each. (A
// Prometheus that asks to retry later, HTTP 429/503 with Retry-After, is held off by
// promclient itself: queries during the hold fail at once, docs/promclient.md.)
//
// Thread-safety: all public methods may be called from any thread.
// Ownership: the source, clock, executor and metrics must outlive the tracker; call
// Stop() (or destroy the tracker) only after the executor can still run tasks: Stop()
// waits (bounded) for the refreshes in flight.
//
// Locks (clang checks the annotations below: scaler/mutex.h). Acquired in this order,
// never the other way round:
//   mu_             the registry (entries_, refused_*). Held shared by lookups, List(),
//                   Recent(), UpdateAgeMetrics(); exclusive to add or drop an entry.
//   sched_mu_       the per-server query slots and the count of refreshes in flight.
//                   Taken with mu_ held (Tick, FindOrCreate) or alone (a refresh's end).
//   Entry::mu       one object's answer, scheduling fields and recent record. Taken with
//                   mu_ and/or sched_mu_ held, or alone; nothing is taken under it.
//   thread_mu_      the background thread's stop and wake-up flags; taken alone.
// ScalerMetrics' own locks are taken under mu_ (an object's series are made and dropped
// with its entry). An entry's model and refresh state have no lock: only the one
// refresh in flight touches them (Entry::in_flight, set and cleared under Entry::mu,
// hands them from one refresh to the next).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "forecast/forecast.h"
#include "scaler/clock.h"
#include "scaler/metric_source.h"
#include "scaler/metrics.h"
#include "scaler/mutex.h"
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
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

struct TrackerOptions {
  std::chrono::milliseconds first_answer_timeout{2000};
  double max_staleness_seconds = 120;
  double idle_ttl_seconds = 900;
  // Whether the forecast intervals include the trend's uncertainty
  // (forecast::Options::trend_uncertainty).
  bool trend_uncertainty = true;
  // Period of the background Tick() started by Start() (the clock's monotonic time).
  std::chrono::milliseconds tick_period{250};
  // How many recent observations and answers each object keeps for Recent() (the web
  // view): 360 of each, ~14 kB per object; 3 h of answers at 30 s refreshes.
  size_t recent_capacity = 360;
  // Objects tracked at most (--max-objects); 0 = no limit.
  size_t max_objects = 5000;
  // Refreshes whose Prometheus query is in flight, per server
  // (--prometheus-max-concurrent-queries); >= 1.
  int max_queries_per_server = 4;
  // Called by Tick() once its idle sweeps have dropped release_after_dropped objects
  // since the last call, right after the sweep that reached the count freed them (on the
  // thread that ticks, no lock held), with that count. augur gives it the glibc release
  // (memory.h), so that the pages a wave of expiries frees go back to the kernel at once
  // rather than at the periodic MemoryReleaser's next turn. Null: nothing is called.
  // Thread-safe, as Tick() may run on two threads at once (each calls it for its own
  // sweep's count).
  // Counted across sweeps: a set of objects asked about every 10 s expires over ~40
  // ticks, tens an object a tick. 100 objects are ~4 MiB (an object costs ~40 KiB of
  // RSS in the soak, docs/reliability.md) against a few milliseconds of malloc_trim;
  // fewer are left to the periodic release.
  std::function<void(size_t dropped)> release_memory;
  size_t release_after_dropped = 100;
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
  // once if its server has a query slot free, else at the next Tick(); this call does
  // not wait for it).
  // Errors: kInvalidArgument (bad metadata), kPermissionDenied (server not allowed),
  // kResourceExhausted (a new object beyond max_objects: the message names the limit
  // and --max-objects).
  absl::StatusOr<std::shared_ptr<const ScalerSpec>> Track(const ObjectRef& ref);

  // The object's current answer; tracks it if needed and then waits for its first
  // answer at most TrackerOptions::first_answer_timeout (the clock's monotonic time).
  // Errors: as Track(); kUnavailable (no answer yet after the wait, or the answer is
  // older than max_staleness: the message names the object, the age and the cause);
  // the object's own error (Answer::status) when it has no answer to give.
  absl::StatusOr<TrackedAnswer> Get(const ObjectRef& ref);
  // As Get(), but never blocks: nullopt when the object has no answer yet and Get()
  // would wait for its first one (the object is tracked from now on either way). For
  // handlers that must not block a gRPC thread: they answer at once when this has a
  // value and hand the call to GetBy() on a thread of their own otherwise.
  std::optional<absl::StatusOr<TrackedAnswer>> TryGet(const ObjectRef& ref);
  // As Get(), for a call received at `received` (the clock's Monotonic()): waits for the
  // first answer until received + first_answer_timeout at most (not at all once that has
  // passed, nor after WakeAll(): UNAVAILABLE, the server is stopping).
  absl::StatusOr<TrackedAnswer> GetBy(const ObjectRef& ref, MonotonicTime received);

  // Drops entries idle for longer than idle_ttl and starts the refreshes that are due,
  // in the order above, as far as their servers' query slots allow.
  void Tick();
  // Runs Tick() every tick_period from a background thread until Stop(), and as soon as
  // a query slot frees while refreshes wait for one.
  void Start();
  // Stops the background thread, wakes every waiter and waits at most `max_wait` (the
  // clock's monotonic time) for the refreshes in flight (queued ones included). Returns
  // whether none is left. From then on no refresh starts and a new object is
  // UNAVAILABLE ("augur is shutting down"); tracked objects keep their last answers.
  // Idempotent; may be called from several threads at once.
  bool Stop(std::chrono::milliseconds max_wait = std::chrono::seconds(10));

  // The spec of the object if it is tracked now; null otherwise. Does not track it, nor
  // count as an access.
  std::shared_ptr<const ScalerSpec> SpecOf(const ObjectRef& ref) const;

  std::vector<TrackedObjectState> List() const;
  size_t size() const;
  // Every tracked object named (namespace_, name) — one per trigger metadata — with a
  // snapshot of its recent record, ordered as List(). Empty when none is tracked. Does
  // not track anything nor count as an access (idle objects still expire).
  std::vector<std::pair<TrackedObjectState, RecentRecord>> Recent(const std::string& namespace_,
                                                                  const std::string& name) const;

  // One object's answer changes (what a stream waits for, so that a publication wakes
  // only that object's streams): blocks until the object's answer version differs from
  // `*version` (then updates it), WakeAll() is called, or `max_wait` passes (the clock's
  // monotonic time). Returns at once if the object is not tracked or WakeAll() was
  // called already (the server is stopping).
  void WaitForObjectChange(const ObjectRef& ref, uint64_t* version,
                           std::chrono::milliseconds max_wait);
  // The server is stopping: wakes every waiter above, and waits for a first answer
  // (GetBy) end now and for good (later ones do not wait). Idempotent.
  void WakeAll();

  // Refreshes every object's answer-age metric (called before /metrics is served).
  void UpdateAgeMetrics();

  // Refreshes waiting for a query slot of their server at the last Tick() (all servers).
  size_t waiting_for_query_slot() const;

 private:
  struct Entry;
  // Per Prometheus server (normalized URL).
  struct Server {
    int in_flight = 0;  // refreshes submitted whose query has not returned
    size_t waiting = 0;  // due refreshes the last Tick() could not start
  };
  std::shared_ptr<Entry> FindOrCreate(const ObjectRef& ref, absl::Status* status);
  // The error for a new object beyond max_objects (counted and logged, rate-limited).
  absl::Status Refuse(const ScalerSpec& spec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Get(); `wait_until` nullopt = do not wait (then nullopt when Get() would wait).
  std::optional<absl::StatusOr<TrackedAnswer>> GetWaitingUntil(
      const ObjectRef& ref, std::optional<MonotonicTime> wait_until);
  // Takes a query slot of the entry's server for a refresh about to be submitted; false
  // when there is none free (or, unless `queue_jump`, when refreshes already wait).
  bool TakeQuerySlot(Entry& e, bool queue_jump) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  // The refresh's query has returned (or it never ran): frees its slot, once.
  void ReleaseQuerySlot(Entry& e);
  void Submit(const std::shared_ptr<Entry>& e);
  // Asks the background thread for a Tick() now.
  void RequestTick();
  void RunRefresh(const std::shared_ptr<Entry>& e);
  void Refresh(const std::shared_ptr<Entry>& e, double now);
  void RefreshFailed(Entry& e, const std::string& what);
  // Adds the samples newer than the record's newest to the entry's recent record.
  void RecordObservations(Entry& e, const forecast::Series& samples);
  // The refresh's answer, published by RefreshDone() together with the end of the refresh.
  void Publish(Entry& e, std::shared_ptr<const Answer> answer);
  // Publishes the answer, frees the object for its next refresh (due at `started_at` +
  // refreshInterval, or later as a Retry-After asks) and wakes its waiters.
  void RefreshDone(Entry& e, double started_at);

  const TrackerOptions options_;
  MetricSource& source_;
  const Clock& clock_;
  Executor& executor_;
  ScalerMetrics* const metrics_;
  const SpecDefaults defaults_;

  mutable SharedMutex mu_ ABSL_ACQUIRED_BEFORE(sched_mu_);
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t refused_unlogged_ ABSL_GUARDED_BY(mu_) = 0;  // refusals since the last log line
  size_t dropped_unreleased_ ABSL_GUARDED_BY(mu_) = 0;  // dropped since release_memory
  std::optional<MonotonicTime> refused_logged_at_ ABSL_GUARDED_BY(mu_);

  mutable Mutex sched_mu_;
  std::condition_variable sched_cv_;  // refreshes_ dropped (Stop waits for 0)
  int refreshes_ ABSL_GUARDED_BY(sched_mu_) = 0;  // submitted and not finished
  // Stop() began: no query slot is given any more, so that the refreshes Stop() waits
  // for can only end (callers still calling get their answers, or UNAVAILABLE).
  bool no_more_refreshes_ ABSL_GUARDED_BY(sched_mu_) = false;
  std::map<std::string, Server> servers_ ABSL_GUARDED_BY(sched_mu_);

  std::atomic<uint64_t> wake_epoch_{0};         // WakeAll() calls
  std::atomic<bool> first_waits_ended_{false};  // WakeAll() was called
  std::atomic<bool> stopped_{false};  // Stop() was called: no new objects

  Mutex thread_mu_;
  std::condition_variable thread_cv_;
  bool stopping_ ABSL_GUARDED_BY(thread_mu_) = false;
  bool tick_requested_ ABSL_GUARDED_BY(thread_mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(thread_mu_);
};

}  // namespace scaler
