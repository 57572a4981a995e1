#include "scaler/tracker.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "common/duration.h"
#include "scaler/log.h"

namespace scaler {
namespace {

constexpr double kBandLow = 0.1;
constexpr double kBandHigh = 0.9;

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

// The refresh state is touched only by the entry's one refresh in flight; the
// scheduling fields and the answer are guarded by `mu`.
struct Tracker::Entry {
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
  // History, compact: seconds since `base` and float values (8 bytes a point, so that a
  // week at 1-minute steps costs ~80 kB per object).
  double base = 0;
  std::deque<uint32_t> t;
  std::deque<float> v;
  bool fetched = false;
  double next_fetch_start = 0;
  std::optional<std::pair<double, double>> newest_raw;  // newest sample, NaN included
  std::shared_ptr<const forecast::Model> model;
  double last_fit_at = 0;
  double last_fit_attempt = -1e300;
  double fit_seconds = 0;
  std::string fit_error;
  ForecastErrorTracker errors;
  std::string last_error;
  int consecutive_errors = 0;
  std::optional<Reason> last_reason;
  bool last_active = false;
  uint64_t activations = 0;
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
  auto e = std::make_shared<Entry>();
  e->spec = std::make_shared<const ScalerSpec>(std::move(*spec));
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
      e->metrics = metrics_->ForObject(e->spec->namespace_, e->spec->name, e->spec->metric_name);
      metrics_->SetTrackedObjects(entries_.size());
    }
  }
  Log(LogLevel::kInfo, "object_tracked",
      {{"namespace", e->spec->namespace_},
       {"scaledobject", e->spec->name},
       {"metric", e->spec->metric_name},
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
  const double step = spec.step_seconds;
  std::vector<LogField> who = {{"namespace", spec.namespace_},
                               {"scaledobject", spec.name},
                               {"metric", spec.metric_name}};
  auto log = [&who](LogLevel level, const char* event, std::vector<LogField> more) {
    if (!LogEnabled(level)) return;
    std::vector<LogField> fields = who;
    for (auto& f : more) fields.push_back(std::move(f));
    Log(level, event, fields);
  };

  // 1. Fetch what is new: the whole history the first time, then only the steps after
  //    the last one queried (on Prometheus' step grid, so that samples line up).
  double start = e.fetched ? e.next_fetch_start : now - spec.history_seconds;
  start = std::ceil(start / step) * step;
  // Refreshing faster than the step: no new step yet, but the newest one is read again
  // (already-kept samples are skipped), so every refresh checks that the source still
  // answers and the answer's age says when it last did.
  if (start > now) start = std::floor(now / step) * step;
  const double q0 = SteadySeconds();
  absl::StatusOr<forecast::Series> got = source_.Fetch(spec.query, start, now, step);
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

  // 2. Append the new samples; NaN and Inf never enter the history.
  if (!e.fetched) {
    e.base = std::floor(start);
    e.fetched = true;
  }
  e.next_fetch_start = std::floor(now / step) * step + step;
  std::vector<double> new_t, new_v;
  const double newest_kept = e.t.empty() ? -1e300 : e.base + e.t.back();
  const forecast::Series& s = *got;
  for (size_t i = 0; i < s.timestamps.size() && i < s.values.size(); ++i) {
    const double ts = s.timestamps[i];
    const double val = s.values[i];
    if (!std::isfinite(ts) || ts <= newest_kept || ts < e.base) continue;
    if (!e.newest_raw || ts > e.newest_raw->first) e.newest_raw = std::make_pair(ts, val);
    if (!std::isfinite(val)) continue;
    e.t.push_back(static_cast<uint32_t>(std::llround(ts - e.base)));
    e.v.push_back(static_cast<float>(val));
    new_t.push_back(e.base + e.t.back());
    new_v.push_back(val);
  }
  const double oldest_allowed = now - spec.history_seconds;
  while (!e.t.empty() && e.base + e.t.front() < oldest_allowed) {
    e.t.pop_front();
    e.v.pop_front();
  }

  // 3. The current value (design: none if the newest sample is older than 2 steps).
  std::optional<double> current;
  absl::Status null_error;
  if (e.newest_raw && now - e.newest_raw->first <= 2 * step) {
    if (std::isfinite(e.newest_raw->second)) {
      current = e.newest_raw->second;
    } else if (spec.ignore_null_values) {
      current = 0;
    } else {
      null_error = absl::FailedPreconditionError(
          "the query's newest sample is NaN or Inf (ignoreNullValues is false)");
    }
  } else if (!e.newest_raw) {
    if (spec.ignore_null_values) {
      current = 0;  // KEDA's prometheus scaler: an empty result is 0
    } else {
      null_error = absl::FailedPreconditionError(
          "the query returned no data (empty result; ignoreNullValues is false)");
    }
  }
  if (!null_error.ok()) {
    auto answer = std::make_shared<Answer>();
    answer->status = null_error;
    answer->computed_at = now;
    Publish(e, std::move(answer));
    return;
  }

  // 4. Refit on schedule. With no model yet, every refresh tries (cheap when it fails
  //    for lack of points).
  const bool refit_due = e.model == nullptr
                             ? true
                             : now - e.last_fit_at >= spec.refit_interval_seconds;
  if (refit_due && e.t.size() >= 2) {
    forecast::Series history;
    history.timestamps.reserve(e.t.size());
    history.values.reserve(e.v.size());
    for (size_t i = 0; i < e.t.size(); ++i) {
      history.timestamps.push_back(e.base + e.t[i]);
      history.values.push_back(e.v[i]);
    }
    forecast::Options fit_options = spec.fit_options;
    fit_options.uncertainty_samples = options_.uncertainty_samples;
    const double f0 = SteadySeconds();
    absl::StatusOr<forecast::Model> model = forecast::Fit(history, fit_options);
    const double took = SteadySeconds() - f0;
    if (metrics_ != nullptr) metrics_->ObserveFit(took, model.ok());
    if (model.ok()) {
      e.model = std::make_shared<const forecast::Model>(std::move(*model));
      e.last_fit_at = now;
      e.fit_seconds = took;
      e.fit_error.clear();
      if (e.metrics) e.metrics->SetFit(took, now);
      std::string seasonalities;
      for (const auto& name : e.model->info().seasonalities) {
        seasonalities += (seasonalities.empty() ? "" : ",") + name;
      }
      log(LogLevel::kInfo, "fit",
          {{"points", e.model->info().points_used},
           {"seasonalities", seasonalities.empty() ? "none" : seasonalities},
           {"seconds", took}});
    } else {
      const std::string error(model.status().message());
      if (error != e.fit_error) log(LogLevel::kWarn, "fit_failed", {{"error", error}});
      e.fit_error = error;
    }
  }

  // 5. Forecast (now, now + horizon] at every refresh, with the new samples as `recent`.
  std::optional<forecast::Forecast> fc;
  std::string no_forecast_detail;
  if (e.model != nullptr) {
    std::vector<double> ts;
    for (int k = 1; k * step <= spec.horizon_seconds + 1e-9 && k <= 100000; ++k) {
      ts.push_back(now + k * step);
    }
    if (ts.empty() || ts.back() < now + spec.horizon_seconds - 1e-9) {
      ts.push_back(now + spec.horizon_seconds);
    }
    std::vector<double> levels = {kBandLow, 0.5, kBandHigh};
    if (std::find(levels.begin(), levels.end(), spec.policy.quantile) == levels.end()) {
      levels.push_back(spec.policy.quantile);
      std::sort(levels.begin(), levels.end());
    }
    forecast::Series recent;
    const double fitted_until = e.model->last_timestamp();
    for (size_t i = 0; i < e.t.size(); ++i) {
      const double at = e.base + e.t[i];
      if (at > fitted_until) {
        recent.timestamps.push_back(at);
        recent.values.push_back(e.v[i]);
      }
    }
    absl::StatusOr<forecast::Forecast> p = e.model->Predict(ts, levels, recent);
    if (p.ok()) {
      fc = std::move(*p);
    } else {
      no_forecast_detail = "predict failed: " + std::string(p.status().message());
    }
  } else if (!e.fit_error.empty()) {
    no_forecast_detail = "fit failed: " + e.fit_error;
  } else {
    no_forecast_detail = "no model yet (" + std::to_string(e.t.size()) + " points)";
  }

  // 6. Score past forecasts against the new observations, then decide.
  e.errors.Observe(new_t, new_v, step);
  if (fc) e.errors.RecordForecast(now, current, fc->timestamps, fc->yhat);

  PolicyInput input;
  input.current = current;
  input.history_seconds = e.t.size() >= 2 ? static_cast<double>(e.t.back() - e.t.front()) : 0;
  input.forecast = fc ? &*fc : nullptr;
  input.error_ratio = e.errors.Ratio();
  input.no_forecast_detail = no_forecast_detail;
  Decision decision = Decide(spec.policy, input);

  auto answer = std::make_shared<Answer>();
  answer->decision = decision;
  answer->computed_at = now;
  answer->step_seconds = step;
  HistorySummary& h = answer->history;
  h.points = e.t.size();
  if (!e.t.empty()) {
    h.first_timestamp = e.base + e.t.front();
    h.last_timestamp = e.base + e.t.back();
    h.last_value = e.v.back();
    double sum = 0;
    h.min = h.max = e.v.front();
    for (float x : e.v) {
      sum += x;
      h.min = std::min<double>(h.min, x);
      h.max = std::max<double>(h.max, x);
    }
    h.mean = sum / e.v.size();
  }
  if (e.model != nullptr) {
    answer->model.fitted = true;
    answer->model.fitted_at = e.last_fit_at;
    answer->model.fit_seconds = e.fit_seconds;
    answer->model.info = e.model->info();
  }
  answer->model.fit_error = e.fit_error;
  if (fc) {
    answer->forecast_timestamps = fc->timestamps;
    answer->yhat = fc->yhat;
    auto row = [&](double level) {
      for (size_t i = 0; i < fc->quantile_levels.size() && i < fc->quantiles.size(); ++i) {
        if (std::fabs(fc->quantile_levels[i] - level) < 1e-12) return fc->quantiles[i];
      }
      return std::vector<double>();
    };
    answer->lower = row(kBandLow);
    answer->upper = row(kBandHigh);
    answer->at_quantile = row(spec.policy.quantile);
    answer->components = std::move(fc->components);
  }
  answer->error_ratio = e.errors.Ratio();
  answer->mase = e.errors.Mase();

  // 7. State changes are logged; metrics follow every answer.
  const bool fallback = IsFallback(decision.reason);
  const bool was_fallback = e.last_reason && IsFallback(*e.last_reason);
  if (fallback && (!e.last_reason || !was_fallback || *e.last_reason != decision.reason)) {
    log(LogLevel::kInfo, "fallback_entered",
        {{"reason", ReasonName(decision.reason)}, {"detail", decision.detail}});
  } else if (!fallback && was_fallback) {
    log(LogLevel::kInfo, "fallback_left",
        {{"reason", ReasonName(decision.reason)}, {"detail", decision.detail}});
  }
  e.last_reason = decision.reason;
  if (decision.active && !e.last_active) ++e.activations;
  e.last_active = decision.active;
  answer->activations = e.activations;
  if (e.metrics) {
    e.metrics->SetAnswer(decision.current, decision.peak, decision.value, decision.reason,
                         answer->mase);
    e.metrics->SetAnswerAge(0);
  }
  Publish(e, std::move(answer));
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
