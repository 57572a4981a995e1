#include "scaler/tracker.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "common/duration.h"
#include "scaler/log.h"
#include "scaler/prometheus_metric_source.h"
#include "scaler/ring_buffer.h"

namespace scaler {
namespace {

std::string Seconds(double s) {
  if (s >= 1 && std::fabs(s - std::round(s)) < 1e-9 && s < 1e9) {
    return common::FormatDuration(std::chrono::milliseconds(static_cast<int64_t>(s * 1000)));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", s);
  return buf;
}

// Refusals beyond --max-objects are logged at most this often (a flood of new metadata
// would otherwise fill the log).
constexpr std::chrono::seconds kRefusalLogPeriod{60};

std::string Describe(const ScalerSpec& s) { return s.namespace_ + "/" + s.name; }

}  // namespace

// ---------------------------------------------------------------------------------------
// ThreadPoolExecutor

ThreadPoolExecutor::ThreadPoolExecutor(int threads) {
  for (int i = 0; i < std::max(threads, 1); ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> task;
        {
          MutexLock lock(mu_);
          cv_.wait(lock.native(), [this] {
            mu_.AssertHeld();
            return stopping_ || !queue_.empty();
          });
          if (queue_.empty()) return;  // stopping and drained
          task = std::move(queue_.front());
          queue_.pop_front();
        }
        task();
      }
    });
  }
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ThreadPoolExecutor::Submit(std::function<void()> task) {
  {
    MutexLock lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

// ---------------------------------------------------------------------------------------
// Tracker

ObjectConfig ModelConfigFor(const ScalerSpec& spec, bool trend_uncertainty) {
  ObjectConfig c;
  c.step_seconds = spec.step_seconds;
  c.history_seconds = spec.history_seconds;
  c.refresh_interval_seconds = spec.refresh_interval_seconds;
  c.refit_interval_seconds = spec.refit_interval_seconds;
  c.target_value = spec.target_value;
  c.pod_capacity = spec.pod_capacity;
  c.ignore_null_values = spec.ignore_null_values;
  c.policy = spec.policy;
  c.fit_options = spec.fit_options;
  c.fit_options.trend_uncertainty = trend_uncertainty;
  return c;
}

std::string ObjectKey(const ObjectRef& ref) {
  // Lengths make the key unambiguous whatever the strings contain.
  std::string key;
  auto add = [&key](const std::string& s) {
    key += std::to_string(s.size());
    key += ':';
    key += s;
  };
  add(ref.namespace_);
  add(ref.name);
  for (const auto& [k, v] : ref.metadata) {
    add(k);
    add(v);
  }
  return key;
}

// The scheduling fields, the answer and the recent record are guarded by `mu`; the model
// and the refresh state are touched only by the entry's one refresh in flight.
struct Tracker::Entry {
  Entry(std::shared_ptr<const ScalerSpec> s, ObjectConfig config, std::string server_key,
        std::shared_ptr<ObjectMetrics> object_metrics, size_t recent_capacity)
      : spec(std::move(s)),
        server(std::move(server_key)),
        metrics(std::move(object_metrics)),
        model(std::move(config)),
        recent_observations(recent_capacity),
        recent_answers(recent_capacity) {}

  const std::shared_ptr<const ScalerSpec> spec;
  const std::string server;  // the normalized server URL: the key of its query slots
  const std::shared_ptr<ObjectMetrics> metrics;  // null without ScalerMetrics

  Mutex mu;
  std::condition_variable answered;  // a publication, or WakeAll()
  std::shared_ptr<const Answer> answer ABSL_GUARDED_BY(mu);
  uint64_t version ABSL_GUARDED_BY(mu) = 0;  // publications so far
  // A refresh is submitted (it holds a query slot until its query returns) or running.
  bool in_flight ABSL_GUARDED_BY(mu) = false;
  bool started ABSL_GUARDED_BY(mu) = false;  // a first refresh has been submitted
  double next_refresh ABSL_GUARDED_BY(mu) = 0;  // wall time the next refresh is due
  std::atomic<double> last_access{0};

  // --- refresh state (the refresh in flight only) ---
  ObjectModel model;
  bool holds_slot = false;  // the refresh in flight has not released its query slot
  std::shared_ptr<const Answer> pending_answer;  // to publish when the refresh ends
  std::string fit_error;  // the last fit error logged (each new one is logged once)
  std::string last_error;
  int consecutive_errors = 0;
  bool budget_missed = false;  // logged as missed, not yet as kept again

  // --- recent record (Recent()); compact: 8 + 32 bytes an item; each at most
  // TrackerOptions::recent_capacity, the newest (pushing past it drops the oldest) ---
  struct CompactAnswer {
    double at;
    float current, peak, value;  // NaN = none
    Reason reason;
    bool active;
  };
  double recent_base ABSL_GUARDED_BY(mu) = 0;  // observation times are seconds since this
  RingBuffer<std::pair<uint32_t, float>> recent_observations ABSL_GUARDED_BY(mu);
  RingBuffer<CompactAnswer> recent_answers ABSL_GUARDED_BY(mu);
};

Tracker::Tracker(TrackerOptions options, MetricSource& source, const Clock& clock,
                 Executor& executor, ScalerMetrics* metrics, SpecDefaults defaults)
    : options_(options),
      source_(source),
      clock_(clock),
      executor_(executor),
      metrics_(metrics),
      defaults_(std::move(defaults)) {}

Tracker::~Tracker() { Stop(); }

absl::Status Tracker::Refuse(const ScalerSpec& spec) {
  if (metrics_ != nullptr) metrics_->ObjectRefused();
  ++refused_unlogged_;
  const MonotonicTime now = clock_.Monotonic();
  if (!refused_logged_at_ || now - *refused_logged_at_ >= kRefusalLogPeriod) {
    Log(LogLevel::kWarn, "objects_refused",
        {{"namespace", spec.namespace_},
         {"scaledobject", spec.name},
         {"refused", static_cast<long long>(refused_unlogged_)},
         {"tracked", static_cast<long long>(entries_.size())},
         {"max_objects", static_cast<long long>(options_.max_objects)}});
    refused_logged_at_ = now;
    refused_unlogged_ = 0;
  }
  return absl::ResourceExhaustedError(
      Describe(spec) + " is not tracked: augur tracks " + std::to_string(entries_.size()) +
      " objects, its limit (--max-objects " + std::to_string(options_.max_objects) +
      "); raise --max-objects, or remove unused ScaledObjects (objects not asked about for "
      "--idle-ttl " + Seconds(options_.idle_ttl_seconds) + " are dropped)");
}

std::shared_ptr<Tracker::Entry> Tracker::FindOrCreate(const ObjectRef& ref, absl::Status* status) {
  const std::string key = ObjectKey(ref);
  const double now = clock_.Now();
  {
    ReaderLock lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      it->second->last_access.store(now, std::memory_order_relaxed);
      return it->second;
    }
  }
  absl::StatusOr<ScalerSpec> spec = ParseSpec(ref.name, ref.namespace_, ref.metadata, defaults_);
  if (!spec.ok()) {
    *status = spec.status();
    return nullptr;
  }
  absl::Status allowed = source_.Validate(spec->query);
  if (!allowed.ok()) {
    *status = allowed;
    return nullptr;
  }
  auto shared_spec = std::make_shared<const ScalerSpec>(std::move(*spec));
  const std::string server = NormalizeServerUrl(shared_spec->query.server_address.empty()
                                                    ? defaults_.prometheus_url
                                                    : shared_spec->query.server_address);
  std::shared_ptr<Entry> e;
  bool submit = false;
  {
    WriterLock lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {  // another caller won the race
      it->second->last_access.store(now, std::memory_order_relaxed);
      return it->second;
    }
    if (stopped_.load()) {
      *status = absl::UnavailableError(Describe(*shared_spec) +
                                       " is not tracked: augur is shutting down; retry "
                                       "(another replica answers)");
      return nullptr;
    }
    if (options_.max_objects > 0 && entries_.size() >= options_.max_objects) {
      *status = Refuse(*shared_spec);
      return nullptr;
    }
    std::shared_ptr<ObjectMetrics> object_metrics;
    if (metrics_ != nullptr) {
      object_metrics = metrics_->ForObject(shared_spec->namespace_, shared_spec->name,
                                           shared_spec->metric_name, shared_spec->trigger_id);
    }
    e = std::make_shared<Entry>(shared_spec,
                                ModelConfigFor(*shared_spec, options_.trend_uncertainty), server,
                                std::move(object_metrics), options_.recent_capacity);
    e->last_access.store(now);
    entries_.emplace(key, e);
    if (metrics_ != nullptr) metrics_->SetTrackedObjects(entries_.size());
    // Its first refresh starts now if the server has a slot free and nothing waits for
    // one; else it queues in Tick() behind the refreshes due before it.
    MutexLock slots(sched_mu_);
    MutexLock elock(e->mu);
    e->next_refresh = now;
    submit = TakeQuerySlot(*e, /*queue_jump=*/false);
    if (submit) {
      e->in_flight = true;
      e->started = true;
    }
  }
  std::vector<LogField> fields = {{"namespace", e->spec->namespace_},
                                  {"scaledobject", e->spec->name},
                                  {"metric", e->spec->metric_name},
                                  {"trigger", e->spec->trigger_id},
                                  {"mode", ModeName(e->spec->policy.mode)},
                                  {"server", RedactUrl(e->spec->query.server_address)},
                                  {"history", Seconds(e->spec->history_seconds)},
                                  {"step", Seconds(e->spec->step_seconds)},
                                  {"horizon", Seconds(e->spec->horizon_seconds)}};
  if (e->spec->step_requested_seconds > 0) {
    // The history cap coarsened the step (--max-history-points).
    fields.push_back({"step_requested", Seconds(e->spec->step_requested_seconds)});
    fields.push_back({"max_history_points", static_cast<long long>(defaults_.max_history_points)});
  }
  Log(LogLevel::kInfo, "object_tracked", fields);
  if (submit) {
    Submit(e);
  } else {
    RequestTick();
  }
  return e;
}

absl::StatusOr<std::shared_ptr<const ScalerSpec>> Tracker::Track(const ObjectRef& ref) {
  absl::Status status;
  std::shared_ptr<Entry> e = FindOrCreate(ref, &status);
  if (e == nullptr) return status;
  return e->spec;
}

absl::StatusOr<TrackedAnswer> Tracker::Get(const ObjectRef& ref) {
  return *GetWaitingUntil(ref, clock_.After(options_.first_answer_timeout));
}

std::optional<absl::StatusOr<TrackedAnswer>> Tracker::TryGet(const ObjectRef& ref) {
  return GetWaitingUntil(ref, std::nullopt);
}

absl::StatusOr<TrackedAnswer> Tracker::GetBy(const ObjectRef& ref, MonotonicTime received) {
  return *GetWaitingUntil(ref, Clock::Saturated(received, options_.first_answer_timeout));
}

std::optional<absl::StatusOr<TrackedAnswer>> Tracker::GetWaitingUntil(
    const ObjectRef& ref, std::optional<MonotonicTime> wait_until) {
  absl::Status status;
  std::shared_ptr<Entry> e = FindOrCreate(ref, &status);
  if (e == nullptr) return absl::StatusOr<TrackedAnswer>(status);
  std::shared_ptr<const Answer> answer;
  bool woken = false;  // by WakeAll (the server is stopping), not by an answer
  bool started = false;
  {
    MutexLock lock(e->mu);
    if (e->answer == nullptr && options_.first_answer_timeout.count() > 0) {
      if (!wait_until) return std::nullopt;  // the caller would have to wait
      clock_.WaitUntil(lock.native(), e->answered, *wait_until, [&] {
        e->mu.AssertHeld();
        woken = first_waits_ended_.load();
        return e->answer != nullptr || woken;
      });
    }
    answer = e->answer;
    started = e->started;
  }
  const ScalerSpec& spec = *e->spec;
  if (answer == nullptr && woken) {
    return absl::UnavailableError("no answer yet for " + Describe(spec) +
                                  ": augur is shutting down; retry (another replica answers)");
  }
  if (answer == nullptr) {
    const std::string after = Seconds(options_.first_answer_timeout.count() / 1000.0);
    if (!started) {
      return absl::UnavailableError(
          "no answer yet for " + Describe(spec) + ": its first refresh is still waiting after " +
          after + " (--first-answer-timeout) for one of the " +
          std::to_string(options_.max_queries_per_server) + " query slots of " +
          RedactUrl(e->server) + " (--prometheus-max-concurrent-queries); retry shortly");
    }
    return absl::UnavailableError("no answer yet for " + Describe(spec) +
                                  ": its first refresh is still running after " + after +
                                  " (--first-answer-timeout); retry shortly");
  }
  if (!answer->status.ok()) {
    return absl::Status(answer->status.code(),
                        Describe(spec) + ": " + std::string(answer->status.message()));
  }
  const double age = clock_.Now() - answer->computed_at;
  if (age > options_.max_staleness_seconds) {
    return absl::UnavailableError(
        "the answer for " + Describe(spec) + " is " + Seconds(std::floor(age)) +
        " old (> --max-staleness " + Seconds(options_.max_staleness_seconds) +
        "): last refresh error: " + (answer->last_error.empty() ? "none" : answer->last_error));
  }
  return TrackedAnswer{e->spec, std::move(answer)};
}

bool Tracker::TakeQuerySlot(Entry& e, bool queue_jump) {
  if (no_more_refreshes_) return false;  // Stop() began
  Server& server = servers_[e.server];
  if (server.in_flight >= std::max(options_.max_queries_per_server, 1)) return false;
  if (!queue_jump && server.waiting > 0) return false;
  ++server.in_flight;
  ++refreshes_;
  e.holds_slot = true;
  return true;
}

void Tracker::ReleaseQuerySlot(Entry& e) {
  if (!e.holds_slot) return;
  e.holds_slot = false;
  bool someone_waits = false;
  {
    MutexLock lock(sched_mu_);
    auto it = servers_.find(e.server);
    if (it != servers_.end()) {
      --it->second.in_flight;
      someone_waits = it->second.waiting > 0;
      if (it->second.in_flight == 0 && it->second.waiting == 0) servers_.erase(it);
    }
  }
  if (someone_waits) RequestTick();
}

void Tracker::Submit(const std::shared_ptr<Entry>& e) {
  executor_.Submit([this, e] { RunRefresh(e); });
}

void Tracker::RequestTick() {
  {
    MutexLock lock(thread_mu_);
    tick_requested_ = true;
  }
  thread_cv_.notify_all();
}

size_t Tracker::waiting_for_query_slot() const {
  MutexLock lock(sched_mu_);
  size_t n = 0;
  for (const auto& [url, server] : servers_) n += server.waiting;
  return n;
}

void Tracker::Tick() {
  std::vector<std::shared_ptr<Entry>> dropped, admitted;
  size_t remaining = 0, waiting = 0, release = 0;
  {
    WriterLock lock(mu_);
    // The time is read under the lock: a tick that read it and then waited for the lock
    // behind another tick and a refresh's end would hand a freed slot to whatever was due
    // at that earlier time (a new object ahead of tracked ones that fell due meanwhile).
    const double now = clock_.Now();
    // Due refreshes in turn: first the objects that have an answer to keep fresh (an
    // incremental query each), then the others (a first refresh: the whole history);
    // oldest due first within each (a new object is due when it was created). So a
    // flood of new objects waits behind the tracked ones, not the other way round.
    std::vector<std::pair<std::pair<bool, double>, std::shared_ptr<Entry>>> due;
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& e = *it->second;
      MutexLock elock(e.mu);
      if (!e.in_flight && now - e.last_access.load() > options_.idle_ttl_seconds) {
        dropped.push_back(it->second);
        it = entries_.erase(it);
        continue;
      }
      if (!e.in_flight && now >= e.next_refresh) {
        const bool answers = e.answer != nullptr && e.answer->status.ok();
        due.push_back({{!answers, e.next_refresh}, it->second});
      }
      ++it;
    }
    remaining = entries_.size();
    dropped_unreleased_ += dropped.size();
    if (options_.release_memory && !dropped.empty() &&
        dropped_unreleased_ >= std::max<size_t>(1, options_.release_after_dropped)) {
      release = dropped_unreleased_;
      dropped_unreleased_ = 0;
    }
    std::sort(due.begin(), due.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    MutexLock slots(sched_mu_);
    for (auto& [url, server] : servers_) server.waiting = 0;
    for (auto& [at, e] : due) {
      if (!TakeQuerySlot(*e, /*queue_jump=*/true)) {
        ++servers_[e->server].waiting;
        ++waiting;
        continue;
      }
      MutexLock elock(e->mu);
      e->in_flight = true;
      e->started = true;
      admitted.push_back(std::move(e));
    }
    for (auto it = servers_.begin(); it != servers_.end();) {
      it = it->second.in_flight == 0 && it->second.waiting == 0 ? servers_.erase(it) : ++it;
    }
  }
  if (metrics_ != nullptr) {
    if (!dropped.empty()) metrics_->SetTrackedObjects(remaining);
    metrics_->SetRefreshesWaiting(waiting);
  }
  for (const auto& e : dropped) {
    Log(LogLevel::kInfo, "object_dropped",
        {{"namespace", e->spec->namespace_},
         {"scaledobject", e->spec->name},
         {"metric", e->spec->metric_name},
         {"idle_ttl", Seconds(options_.idle_ttl_seconds)}});
  }
  // Freed here unless a refresh or a reader still holds one (then when it lets go).
  dropped.clear();
  if (release > 0) options_.release_memory(release);
  for (const auto& e : admitted) Submit(e);
}

void Tracker::Start() {
  MutexLock lock(thread_mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] {
    for (;;) {
      {
        MutexLock lock(thread_mu_);
        if (stopping_) return;
        tick_requested_ = false;
      }
      Tick();
      MutexLock lock(thread_mu_);
      clock_.WaitFor(lock.native(), thread_cv_, options_.tick_period, [this] {
        thread_mu_.AssertHeld();
        return stopping_ || tick_requested_;
      });
    }
  });
}

bool Tracker::Stop(std::chrono::milliseconds max_wait) {
  stopped_.store(true);
  {
    MutexLock lock(sched_mu_);
    no_more_refreshes_ = true;
  }
  std::thread thread;
  {
    MutexLock lock(thread_mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  thread_cv_.notify_all();
  if (thread.joinable()) {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();
    } else {
      thread.join();
    }
  }
  WakeAll();
  MutexLock lock(sched_mu_);
  return clock_.WaitFor(lock.native(), sched_cv_, max_wait, [this] {
    sched_mu_.AssertHeld();
    return refreshes_ == 0;
  });
}

std::shared_ptr<const ScalerSpec> Tracker::SpecOf(const ObjectRef& ref) const {
  ReaderLock lock(mu_);
  auto it = entries_.find(ObjectKey(ref));
  return it == entries_.end() ? nullptr : it->second->spec;
}

std::vector<TrackedObjectState> Tracker::List() const {
  std::vector<TrackedObjectState> out;
  ReaderLock lock(mu_);
  for (const auto& [key, e] : entries_) {
    MutexLock elock(e->mu);
    out.push_back({e->spec, e->answer, e->in_flight, e->last_access.load()});
  }
  std::sort(out.begin(), out.end(), [](const TrackedObjectState& a, const TrackedObjectState& b) {
    return std::tie(a.spec->namespace_, a.spec->name, a.spec->metric_name) <
           std::tie(b.spec->namespace_, b.spec->name, b.spec->metric_name);
  });
  return out;
}

std::vector<std::pair<TrackedObjectState, RecentRecord>> Tracker::Recent(
    const std::string& namespace_, const std::string& name) const {
  std::vector<std::pair<TrackedObjectState, RecentRecord>> out;
  ReaderLock lock(mu_);
  for (const auto& [key, e] : entries_) {
    if (e->spec->namespace_ != namespace_ || e->spec->name != name) continue;
    MutexLock elock(e->mu);
    RecentRecord r;
    r.observations.reserve(e->recent_observations.size());
    for (const auto& [t, v] : e->recent_observations) {
      r.observations.emplace_back(e->recent_base + t, v);
    }
    r.answers.reserve(e->recent_answers.size());
    auto opt = [](float x) { return std::isnan(x) ? std::nullopt : std::optional<double>(x); };
    for (const Entry::CompactAnswer& a : e->recent_answers) {
      r.answers.push_back({a.at, opt(a.current), opt(a.peak), a.value, a.reason, a.active});
    }
    out.emplace_back(TrackedObjectState{e->spec, e->answer, e->in_flight, e->last_access.load()},
                     std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.first.spec->metric_name < b.first.spec->metric_name;
  });
  return out;
}

size_t Tracker::size() const {
  ReaderLock lock(mu_);
  return entries_.size();
}

void Tracker::WakeAll() {
  // Set before each entry's lock is taken below, so no first-answer waiter misses it.
  first_waits_ended_.store(true);
  std::vector<std::shared_ptr<Entry>> all;
  {
    ReaderLock lock(mu_);
    for (const auto& [key, e] : entries_) all.push_back(e);
  }
  for (const auto& e : all) {
    {
      MutexLock lock(e->mu);
      wake_epoch_.fetch_add(1);
    }
    e->answered.notify_all();
  }
  wake_epoch_.fetch_add(1);
}

void Tracker::WaitForObjectChange(const ObjectRef& ref, uint64_t* version,
                                  std::chrono::milliseconds max_wait) {
  std::shared_ptr<Entry> e;
  {
    ReaderLock lock(mu_);
    auto it = entries_.find(ObjectKey(ref));
    if (it == entries_.end()) return;
    e = it->second;
  }
  const uint64_t epoch = wake_epoch_.load();
  MutexLock lock(e->mu);
  // first_waits_ended_ too: a WakeAll() between the caller's last look at its stop flag
  // and the epoch read above would otherwise be missed, and the wait last its whole
  // max_wait (forever on a fake clock nobody advances).
  clock_.WaitFor(lock.native(), e->answered, max_wait, [&] {
    e->mu.AssertHeld();
    return e->version != *version || wake_epoch_.load() != epoch || first_waits_ended_.load();
  });
  *version = e->version;
}

void Tracker::UpdateAgeMetrics() {
  const double now = clock_.Now();
  ReaderLock lock(mu_);
  for (const auto& [key, e] : entries_) {
    if (!e->metrics) continue;
    std::shared_ptr<const Answer> a;
    {
      MutexLock elock(e->mu);
      a = e->answer;
    }
    if (a && a->status.ok()) e->metrics->SetAnswerAge(now - a->computed_at);
  }
}

void Tracker::Publish(Entry& e, std::shared_ptr<const Answer> answer) {
  e.pending_answer = std::move(answer);  // published by RefreshDone
}

void Tracker::RefreshDone(Entry& e, double started_at) {
  ReleaseQuerySlot(e);  // if the refresh ended before its query returned
  double next = started_at + e.spec->refresh_interval_seconds;
  std::shared_ptr<const Answer> answer = std::move(e.pending_answer);
  {
    // The answer and the end of the refresh in one step: whoever sees the answer sees
    // the object free for its next refresh.
    MutexLock lock(e.mu);
    if (answer != nullptr) {
      // A new answer (not a failed refresh's copy of the previous one) joins the record.
      if (answer->status.ok() && options_.recent_capacity > 0 &&
          (e.recent_answers.empty() || answer->computed_at > e.recent_answers.back().at)) {
        const Decision& d = answer->decision;
        constexpr float kNone = std::numeric_limits<float>::quiet_NaN();
        e.recent_answers.push_back({answer->computed_at,
                                    d.current ? static_cast<float>(*d.current) : kNone,
                                    d.peak ? static_cast<float>(*d.peak) : kNone,
                                    static_cast<float>(d.value), d.reason, d.active});
      }
      e.answer = std::move(answer);
      ++e.version;
    }
    e.in_flight = false;
    e.next_refresh = next;
  }
  e.answered.notify_all();
  // Due again already (the refresh took longer than its interval): its turn comes at the
  // next Tick, not a tick period later.
  if (next <= clock_.Now()) RequestTick();
  // Last, and notified under the lock: once Stop() sees no refresh left the tracker may
  // be destroyed, so nothing of it is touched after this (ThreadSanitizer found the
  // notify after the unlock racing with the destructor).
  MutexLock lock(sched_mu_);
  --refreshes_;
  sched_cv_.notify_all();
}

void Tracker::Refresh(const std::shared_ptr<Entry>& ep, double now) {
  Entry& e = *ep;
  const ScalerSpec& spec = *e.spec;
  std::vector<LogField> who = {{"namespace", spec.namespace_},
                               {"scaledobject", spec.name},
                               {"metric", spec.metric_name}};
  auto log = [&who](LogLevel level, const char* event, std::vector<LogField> more) {
    if (!LogEnabled(level)) return;
    std::vector<LogField> fields = who;
    for (auto& f : more) fields.push_back(std::move(f));
    Log(level, event, fields);
  };

  // 1. Fetch what is new (the model says from where).
  const double start = e.model.FetchStart(now);
  const MonotonicTime q0 = clock_.Monotonic();
  absl::StatusOr<forecast::Series> got = source_.Fetch(spec.query, start, now, spec.step_seconds);
  ReleaseQuerySlot(e);
  if (metrics_ != nullptr) {
    metrics_->ObserveQuery(clock_.SecondsSince(q0),
                           got.ok() ? "" : CodeLabel(static_cast<int>(got.status().code())));
  }

  if (!got.ok()) {
    const std::string error(got.status().message());
    ++e.consecutive_errors;
    if (error != e.last_error) {
      log(LogLevel::kWarn, "source_error",
          {{"code", CodeLabel(static_cast<int>(got.status().code()))}, {"error", error}});
    }
    e.last_error = error;
    std::shared_ptr<const Answer> previous;
    {
      MutexLock lock(e.mu);
      previous = e.answer;
    }
    auto answer = std::make_shared<Answer>();
    if (previous != nullptr && previous->status.ok()) {
      *answer = *previous;  // keep answering until the staleness bound
    } else {
      answer->status = got.status();
    }
    answer->last_error = error;
    answer->consecutive_errors = e.consecutive_errors;
    Publish(e, std::move(answer));
    return;
  }
  if (!e.last_error.empty()) {
    log(LogLevel::kInfo, "source_recovered", {{"after_errors", e.consecutive_errors}});
  }
  e.last_error.clear();
  e.consecutive_errors = 0;

  RecordObservations(e, *got);

  // 2. The model takes the samples; a null result it cannot answer with is the answer.
  absl::Status ingested = e.model.Ingest(now, start, *got);
  if (!ingested.ok()) {
    auto answer = std::make_shared<Answer>();
    answer->status = ingested;
    answer->computed_at = now;
    Publish(e, std::move(answer));
    return;
  }

  // 3. Refit on schedule (every refresh until a model exists).
  if (e.model.RefitDue(now)) {
    const MonotonicTime f0 = clock_.Monotonic();
    FitOutcome fit = e.model.Refit(now);
    const double took = clock_.SecondsSince(f0);
    if (metrics_ != nullptr) metrics_->ObserveFit(took, fit.status.ok());
    if (fit.status.ok()) {
      e.model.SetFitSeconds(took);
      e.fit_error.clear();
      if (e.metrics) e.metrics->SetFit(took, now);
      const forecast::FitInfo& info = e.model.model()->info();
      std::string seasonalities;
      for (const auto& name : info.seasonalities) {
        seasonalities += (seasonalities.empty() ? "" : ",") + name;
      }
      log(LogLevel::kInfo, "fit",
          {{"points", info.points_used},
           {"seasonalities", seasonalities.empty() ? "none" : seasonalities},
           {"seconds", took}});
    } else {
      const std::string error(fit.status.message());
      if (error != e.fit_error) log(LogLevel::kWarn, "fit_failed", {{"error", error}});
      e.fit_error = error;
    }
  }

  // 4. Forecast, score and decide; state changes are logged, metrics follow every answer.
  AnswerUpdate update = e.model.Update(now);
  const Decision& decision = update.answer->decision;
  const bool fallback = IsFallback(decision.reason);
  const std::optional<Reason>& last = update.previous_reason;
  const bool was_fallback = last && IsFallback(*last);
  if (fallback && (!last || !was_fallback || *last != decision.reason)) {
    log(LogLevel::kInfo, "fallback_entered",
        {{"reason", ReasonName(decision.reason)}, {"detail", decision.detail}});
  } else if (!fallback && was_fallback) {
    log(LogLevel::kInfo, "fallback_left",
        {{"reason", ReasonName(decision.reason)}, {"detail", decision.detail}});
  }
  if (e.metrics) {
    e.metrics->SetAnswer(decision.current, decision.peak, decision.value, decision.reason,
                         update.answer->mase);
    e.metrics->SetAnswerAge(0);
    BudgetMetrics bm;
    if (const std::optional<BudgetState>& b = update.answer->budget) {
      bm.budget = b->budget;
      bm.realised = b->realised_rate;
      bm.headroom = b->headroom;
      bm.window_seconds = b->window_seconds;
      bm.total_scored_seconds = b->total_scored_seconds;
      bm.total_short_seconds = b->total_short_seconds;
    }
    e.metrics->SetBudget(bm);
  }
  // A budget missed (twice over, on a calibrated record) is logged when it starts and
  // when it ends (back under 1.5 times the budget).
  if (const std::optional<BudgetState>& b = update.answer->budget) {
    if (b->calibrated && b->realised_rate) {
      const double rate = *b->realised_rate;
      if (!e.budget_missed && rate > 2 * b->budget) {
        e.budget_missed = true;
        log(LogLevel::kWarn, "shortfall_budget_missed",
            {{"budget", b->budget}, {"realised", rate}, {"window", Seconds(b->window_seconds)},
             {"shape", b->shape}, {"theta", b->theta}, {"reachable", b->reachable ? "true" : "false"}});
      } else if (e.budget_missed && rate < 1.5 * b->budget) {
        e.budget_missed = false;
        log(LogLevel::kInfo, "shortfall_budget_kept",
            {{"budget", b->budget}, {"realised", rate}, {"window", Seconds(b->window_seconds)}});
      }
    }
  }
  Publish(e, std::move(update.answer));
}

void Tracker::RunRefresh(const std::shared_ptr<Entry>& e) {
  const double now = clock_.Now();
  // Nothing may escape a worker (the process must not die on what a query returns or
  // what a fit meets): an exception becomes the object's error.
  try {
    Refresh(e, now);
  } catch (const std::exception& ex) {
    RefreshFailed(*e, ex.what());
  } catch (...) {
    RefreshFailed(*e, "unknown exception");
  }
  RefreshDone(*e, now);
}

void Tracker::RecordObservations(Entry& e, const forecast::Series& samples) {
  const size_t cap = options_.recent_capacity;
  if (cap == 0) return;
  MutexLock lock(e.mu);
  double newest = e.recent_observations.empty()
                      ? -std::numeric_limits<double>::infinity()
                      : e.recent_base + e.recent_observations.back().first;
  const size_t n = std::min(samples.timestamps.size(), samples.values.size());
  // Only the newest `cap` samples can stay; the first refresh brings the whole history.
  const size_t first = n > cap ? n - cap : 0;
  e.recent_observations.Grow(e.recent_observations.size() + (n - first));
  for (size_t i = first; i < n; ++i) {
    const double ts = samples.timestamps[i];
    const double v = samples.values[i];
    if (!std::isfinite(ts) || !std::isfinite(v) || ts <= newest) continue;
    if (e.recent_observations.empty()) e.recent_base = std::floor(ts);
    if (ts < e.recent_base) continue;
    e.recent_observations.push_back(
        {static_cast<uint32_t>(std::llround(ts - e.recent_base)), static_cast<float>(v)});
    newest = e.recent_base + e.recent_observations.back().first;
  }
}

void Tracker::RefreshFailed(Entry& e, const std::string& what) {
  Log(LogLevel::kError, "refresh_failed",
      {{"namespace", e.spec->namespace_},
       {"scaledobject", e.spec->name},
       {"metric", e.spec->metric_name},
       {"error", what}});
  std::shared_ptr<const Answer> previous;
  {
    MutexLock lock(e.mu);
    previous = e.answer;
  }
  auto answer = std::make_shared<Answer>();
  if (previous != nullptr) *answer = *previous;
  if (previous == nullptr || !previous->status.ok()) {
    answer->status = absl::InternalError("refresh failed unexpectedly: " + what);
  }
  answer->last_error = "refresh failed unexpectedly: " + what;
  Publish(e, std::move(answer));
}

}  // namespace scaler
