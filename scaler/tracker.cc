#include "scaler/tracker.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "common/duration.h"
#include "scaler/log.h"

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

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
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
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ThreadPoolExecutor::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
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

// The model and the source-error state are touched only by the entry's one refresh in
// flight; the scheduling fields and the answer are guarded by `mu`.
struct Tracker::Entry {
  Entry(std::shared_ptr<const ScalerSpec> s, ObjectConfig config)
      : spec(std::move(s)), model(std::move(config)) {}

  std::shared_ptr<const ScalerSpec> spec;
  std::shared_ptr<ObjectMetrics> metrics;

  std::mutex mu;
  std::condition_variable answered;
  std::shared_ptr<const Answer> answer;
  uint64_t version = 0;  // publications so far
  bool in_flight = false;
  double next_refresh = 0;
  std::atomic<double> last_access{0};

  // --- refresh state ---
  ObjectModel model;
  std::string fit_error;  // the last fit error logged (each new one is logged once)
  std::string last_error;
  int consecutive_errors = 0;
  bool budget_missed = false;  // logged as missed, not yet as kept again

  // --- recent record (Recent()), guarded by mu; compact: 8 + 32 bytes an item ---
  struct CompactAnswer {
    double at;
    float current, peak, value;  // NaN = none
    Reason reason;
    bool active;
  };
  double recent_base = 0;  // observation times are seconds since this
  std::deque<std::pair<uint32_t, float>> recent_observations;
  std::deque<CompactAnswer> recent_answers;
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

std::shared_ptr<Tracker::Entry> Tracker::FindOrCreate(const ObjectRef& ref, absl::Status* status) {
  const std::string key = ObjectKey(ref);
  const double now = clock_.Now();
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
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
  auto e = std::make_shared<Entry>(shared_spec,
                                   ModelConfigFor(*shared_spec, options_.trend_uncertainty));
  e->last_access.store(now);
  e->in_flight = true;  // its first refresh is submitted below
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    auto [it, inserted] = entries_.emplace(key, e);
    if (!inserted) {
      it->second->last_access.store(now, std::memory_order_relaxed);
      return it->second;  // another caller won the race
    }
    if (metrics_ != nullptr) {
      e->metrics = metrics_->ForObject(e->spec->namespace_, e->spec->name, e->spec->metric_name,
                                       e->spec->trigger_id);
      metrics_->SetTrackedObjects(entries_.size());
    }
  }
  Log(LogLevel::kInfo, "object_tracked",
      {{"namespace", e->spec->namespace_},
       {"scaledobject", e->spec->name},
       {"metric", e->spec->metric_name},
       {"trigger", e->spec->trigger_id},
       {"mode", ModeName(e->spec->policy.mode)},
       {"server", RedactUrl(e->spec->query.server_address)},
       {"history", Seconds(e->spec->history_seconds)},
       {"step", Seconds(e->spec->step_seconds)},
       {"horizon", Seconds(e->spec->horizon_seconds)}});
  {
    std::lock_guard<std::mutex> lock(flight_mu_);
    ++in_flight_;
  }
  executor_.Submit([this, e] { RunRefresh(e); });
  return e;
}

absl::StatusOr<std::shared_ptr<const ScalerSpec>> Tracker::Track(const ObjectRef& ref) {
  absl::Status status;
  std::shared_ptr<Entry> e = FindOrCreate(ref, &status);
  if (e == nullptr) return status;
  return e->spec;
}

absl::StatusOr<TrackedAnswer> Tracker::Get(const ObjectRef& ref) {
  return *GetWaitingUntil(ref, std::chrono::steady_clock::now() + options_.first_answer_timeout);
}

std::optional<absl::StatusOr<TrackedAnswer>> Tracker::TryGet(const ObjectRef& ref) {
  return GetWaitingUntil(ref, std::nullopt);
}

absl::StatusOr<TrackedAnswer> Tracker::GetBy(const ObjectRef& ref,
                                             std::chrono::steady_clock::time_point received) {
  return *GetWaitingUntil(ref, received + options_.first_answer_timeout);
}

std::optional<absl::StatusOr<TrackedAnswer>> Tracker::GetWaitingUntil(
    const ObjectRef& ref, std::optional<std::chrono::steady_clock::time_point> wait_until) {
  absl::Status status;
  std::shared_ptr<Entry> e = FindOrCreate(ref, &status);
  if (e == nullptr) return absl::StatusOr<TrackedAnswer>(status);
  std::shared_ptr<const Answer> answer;
  bool woken = false;  // by WakeAll (the server is stopping), not by an answer
  {
    std::unique_lock<std::mutex> lock(e->mu);
    if (e->answer == nullptr && options_.first_answer_timeout.count() > 0) {
      if (!wait_until) return std::nullopt;  // the caller would have to wait
      e->answered.wait_until(lock, *wait_until, [&] {
        woken = first_waits_ended_.load();
        return e->answer != nullptr || woken;
      });
    }
    answer = e->answer;
  }
  const ScalerSpec& spec = *e->spec;
  if (answer == nullptr && woken) {
    return absl::UnavailableError("no answer yet for " + Describe(spec) +
                                  ": augur is shutting down; retry (another replica answers)");
  }
  if (answer == nullptr) {
    return absl::UnavailableError("no answer yet for " + Describe(spec) +
                                  ": its first refresh is still running after " +
                                  Seconds(options_.first_answer_timeout.count() / 1000.0) +
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

void Tracker::Tick() {
  const double now = clock_.Now();
  std::vector<std::shared_ptr<Entry>> due, dropped;
  size_t remaining = 0;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& e = *it->second;
      std::lock_guard<std::mutex> elock(e.mu);
      if (!e.in_flight && now - e.last_access.load() > options_.idle_ttl_seconds) {
        dropped.push_back(it->second);
        it = entries_.erase(it);
        continue;
      }
      if (!e.in_flight && now >= e.next_refresh) {
        e.in_flight = true;
        due.push_back(it->second);
      }
      ++it;
    }
    remaining = entries_.size();
  }
  if (metrics_ != nullptr && !dropped.empty()) metrics_->SetTrackedObjects(remaining);
  for (const auto& e : dropped) {
    Log(LogLevel::kInfo, "object_dropped",
        {{"namespace", e->spec->namespace_},
         {"scaledobject", e->spec->name},
         {"metric", e->spec->metric_name},
         {"idle_ttl", Seconds(options_.idle_ttl_seconds)}});
  }
  if (!due.empty()) {
    std::lock_guard<std::mutex> lock(flight_mu_);
    in_flight_ += static_cast<int>(due.size());
  }
  for (auto& e : due) executor_.Submit([this, e] { RunRefresh(e); });
}

void Tracker::Start() {
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(thread_mu_);
    while (!stopping_) {
      lock.unlock();
      Tick();
      lock.lock();
      thread_cv_.wait_for(lock, options_.tick_period, [this] { return stopping_; });
    }
  });
}

bool Tracker::Stop(std::chrono::milliseconds max_wait) {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stopping_ = true;
  }
  thread_cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  WakeAll();
  std::unique_lock<std::mutex> lock(flight_mu_);
  return flight_cv_.wait_for(lock, max_wait, [this] { return in_flight_ == 0; });
}

std::vector<TrackedObjectState> Tracker::List() const {
  std::vector<TrackedObjectState> out;
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [key, e] : entries_) {
    std::lock_guard<std::mutex> elock(e->mu);
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
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [key, e] : entries_) {
    if (e->spec->namespace_ != namespace_ || e->spec->name != name) continue;
    std::lock_guard<std::mutex> elock(e->mu);
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
  std::shared_lock<std::shared_mutex> lock(mu_);
  return entries_.size();
}

uint64_t Tracker::Generation() const { return generation_.load(); }

void Tracker::WaitForChange(uint64_t seen, std::chrono::milliseconds max_wait) {
  std::unique_lock<std::mutex> lock(change_mu_);
  change_cv_.wait_for(lock, max_wait, [&] { return generation_.load() != seen; });
}

void Tracker::WakeAll() {
  // Set before each entry's lock is taken below, so no first-answer waiter misses it.
  first_waits_ended_.store(true);
  {
    std::lock_guard<std::mutex> lock(change_mu_);
    generation_.fetch_add(1);
  }
  change_cv_.notify_all();
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    for (const auto& [key, e] : entries_) all.push_back(e);
  }
  for (const auto& e : all) {
    {
      std::lock_guard<std::mutex> lock(e->mu);
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
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = entries_.find(ObjectKey(ref));
    if (it == entries_.end()) return;
    e = it->second;
  }
  const uint64_t epoch = wake_epoch_.load();
  std::unique_lock<std::mutex> lock(e->mu);
  e->answered.wait_for(lock, max_wait, [&] {
    return e->version != *version || wake_epoch_.load() != epoch;
  });
  *version = e->version;
}

void Tracker::UpdateAgeMetrics() {
  const double now = clock_.Now();
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [key, e] : entries_) {
    if (!e->metrics) continue;
    std::shared_ptr<const Answer> a;
    {
      std::lock_guard<std::mutex> elock(e->mu);
      a = e->answer;
    }
    if (a && a->status.ok()) e->metrics->SetAnswerAge(now - a->computed_at);
  }
}

void Tracker::Publish(Entry& e, std::shared_ptr<const Answer> answer) {
  {
    std::lock_guard<std::mutex> lock(e.mu);
    // A new answer (not a failed refresh's copy of the previous one) joins the record.
    if (answer->status.ok() && options_.recent_capacity > 0 &&
        (e.recent_answers.empty() || answer->computed_at > e.recent_answers.back().at)) {
      const Decision& d = answer->decision;
      constexpr float kNone = std::numeric_limits<float>::quiet_NaN();
      e.recent_answers.push_back({answer->computed_at,
                                  d.current ? static_cast<float>(*d.current) : kNone,
                                  d.peak ? static_cast<float>(*d.peak) : kNone,
                                  static_cast<float>(d.value), d.reason, d.active});
      while (e.recent_answers.size() > options_.recent_capacity) e.recent_answers.pop_front();
    }
    e.answer = std::move(answer);
    ++e.version;
  }
  e.answered.notify_all();
  {
    std::lock_guard<std::mutex> lock(change_mu_);
    generation_.fetch_add(1);
  }
  change_cv_.notify_all();
}

void Tracker::RefreshDone(Entry& e, double started_at) {
  {
    std::lock_guard<std::mutex> lock(e.mu);
    e.in_flight = false;
    e.next_refresh = started_at + e.spec->refresh_interval_seconds;
  }
  {
    std::lock_guard<std::mutex> lock(flight_mu_);
    --in_flight_;
  }
  flight_cv_.notify_all();
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
  const double q0 = SteadySeconds();
  absl::StatusOr<forecast::Series> got = source_.Fetch(spec.query, start, now, spec.step_seconds);
  if (metrics_ != nullptr) {
    metrics_->ObserveQuery(SteadySeconds() - q0,
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
      std::lock_guard<std::mutex> lock(e.mu);
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
    const double f0 = SteadySeconds();
    FitOutcome fit = e.model.Refit(now);
    const double took = SteadySeconds() - f0;
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
  std::lock_guard<std::mutex> lock(e.mu);
  double newest = e.recent_observations.empty()
                      ? -std::numeric_limits<double>::infinity()
                      : e.recent_base + e.recent_observations.back().first;
  const size_t n = std::min(samples.timestamps.size(), samples.values.size());
  // Only the newest `cap` samples can stay; the first refresh brings the whole history.
  for (size_t i = n > cap ? n - cap : 0; i < n; ++i) {
    const double ts = samples.timestamps[i];
    const double v = samples.values[i];
    if (!std::isfinite(ts) || !std::isfinite(v) || ts <= newest) continue;
    if (e.recent_observations.empty()) e.recent_base = std::floor(ts);
    if (ts < e.recent_base) continue;
    e.recent_observations.emplace_back(static_cast<uint32_t>(std::llround(ts - e.recent_base)),
                                       static_cast<float>(v));
    newest = e.recent_base + e.recent_observations.back().first;
  }
  while (e.recent_observations.size() > cap) e.recent_observations.pop_front();
}

void Tracker::RefreshFailed(Entry& e, const std::string& what) {
  Log(LogLevel::kError, "refresh_failed",
      {{"namespace", e.spec->namespace_},
       {"scaledobject", e.spec->name},
       {"metric", e.spec->metric_name},
       {"error", what}});
  std::shared_ptr<const Answer> previous;
  {
    std::lock_guard<std::mutex> lock(e.mu);
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

double SystemClock::Now() const {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace scaler
