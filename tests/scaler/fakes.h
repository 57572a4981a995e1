#pragma once
// Fakes for the scaler's seams: a settable clock, a metric source computing its samples
// from a function of time (or failing on demand), and executors that run refreshes
// inline or only when the test says so.
//
// Thread-safety: FakeClock, FakeMetricSource and ManualExecutor are thread-safe.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "scaler/clock.h"
#include "scaler/metric_source.h"
#include "scaler/metrics.h"
#include "scaler/tracker.h"

namespace scaler_testing {

// Wall and monotonic time that move only when the test says: Advance() moves both (and
// ends the timed waits whose deadline it reaches), Set() only the wall clock.
//
// Timed waits (Clock::WaitUntil) block on their condition variable with no real-time
// timeout; each registers itself here while blocked, and Advance() notifies the ones it
// makes due, under their own mutex (so a wait that is about to block cannot miss it).
// Lock order: a waiter's mutex, then the clock's; Advance() takes the waiters' mutexes
// only with the clock's released, and a waiter leaves only once Advance() is done with
// its mutex and condition variable (`busy`).
class FakeClock final : public scaler::Clock {
 public:
  explicit FakeClock(double now) : now_(now) {}

  double Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  scaler::MonotonicTime Monotonic() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return monotonic_;
  }
  void Set(double now) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = now;
  }
  // `seconds` >= 0 (the monotonic time never goes back; a negative value moves only the
  // wall clock).
  void Advance(double seconds) {
    std::vector<Waiter*> due;
    {
      std::lock_guard<std::mutex> lock(mu_);
      now_ += seconds;
      if (seconds > 0) {
        // Rounded, so that Advance(1.999) then Advance(0.001) is exactly 2 s.
        monotonic_ += std::chrono::round<scaler::MonotonicTime::duration>(
            std::chrono::duration<double>(seconds));
      }
      for (Waiter* w : waiters_) {
        if (w->deadline <= monotonic_) {
          ++w->busy;
          due.push_back(w);
        }
      }
    }
    for (Waiter* w : due) {
      std::lock_guard<std::mutex> lock(*w->mu);
      w->cv->notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (Waiter* w : due) --w->busy;
    changed_.notify_all();
  }

  // Timed waits blocked on this clock now.
  size_t waiters() const {
    std::lock_guard<std::mutex> lock(mu_);
    return waiters_.size();
  }
  // Blocks until at least `n` timed waits are blocked on this clock, or (a test bug or a
  // hang) `patience` of real time has passed; returns whether they are.
  bool AwaitWaiters(size_t n, std::chrono::seconds patience = std::chrono::seconds(30)) const {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, patience, [&] { return waiters_.size() >= n; });
  }

 protected:
  void WaitOnce(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                scaler::MonotonicTime deadline) const override {
    Waiter w{lock.mutex(), &cv, deadline};
    {
      std::lock_guard<std::mutex> clock_lock(mu_);
      if (monotonic_ >= deadline) return;
      waiters_.push_back(&w);
      changed_.notify_all();
    }
    cv.wait(lock);
    // Leave with the waiter's mutex released: Advance() may be waiting for it.
    lock.unlock();
    {
      std::unique_lock<std::mutex> clock_lock(mu_);
      changed_.wait(clock_lock, [&] { return w.busy == 0; });
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &w));
      changed_.notify_all();
    }
    lock.lock();
  }

 private:
  struct Waiter {
    std::mutex* mu;
    std::condition_variable* cv;
    scaler::MonotonicTime deadline;
    int busy = 0;  // Advance() is notifying it; guarded by the clock's mu_
  };
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;  // waiters_ or a `busy` changed
  double now_;
  scaler::MonotonicTime monotonic_{std::chrono::hours(1)};
  mutable std::vector<Waiter*> waiters_;
};

struct FetchCall {
  std::string query;
  double start, end, step;
};

// Samples on the step grid over [start, end] from value_at(t), skipping times before
// `data_start` (the metric did not exist yet); or the error set with Fail().
class FakeMetricSource final : public scaler::MetricSource {
 public:
  explicit FakeMetricSource(std::function<double(double)> value_at)
      : value_at_(std::move(value_at)) {}

  void SetValues(std::function<double(double)> value_at) {
    std::lock_guard<std::mutex> lock(mu_);
    value_at_ = std::move(value_at);
  }
  void SetDataStart(double t) {
    std::lock_guard<std::mutex> lock(mu_);
    data_start_ = t;
  }
  void Fail(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::move(status);
  }
  void Recover() { Fail(absl::OkStatus()); }
  // Makes Fetch throw, as a misbehaving library might.
  void SetThrow(bool t) {
    std::lock_guard<std::mutex> lock(mu_);
    throw_ = t;
  }
  // Servers other than these are PERMISSION_DENIED by Validate().
  void SetAllowed(std::vector<std::string> servers) {
    std::lock_guard<std::mutex> lock(mu_);
    allowed_ = std::move(servers);
  }
  std::vector<FetchCall> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  absl::Status Validate(const scaler::MetricQuery& query) const override {
    std::lock_guard<std::mutex> lock(mu_);
    if (allowed_.empty()) return absl::OkStatus();
    for (const auto& a : allowed_) {
      if (a == query.server_address) return absl::OkStatus();
    }
    return absl::PermissionDeniedError("serverAddress '" + query.server_address +
                                       "' is not allowed");
  }

  absl::StatusOr<forecast::Series> Fetch(const scaler::MetricQuery& query, double start,
                                         double end, double step) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({query.query, start, end, step});
    if (throw_) throw std::runtime_error("fake source exploded");
    if (!error_.ok()) return error_;
    forecast::Series s;
    for (double t = std::ceil(start / step) * step; t <= end + 1e-9; t += step) {
      if (t < data_start_) continue;
      const double v = value_at_(t);
      s.timestamps.push_back(t);
      s.values.push_back(v);
    }
    return s;
  }

 private:
  mutable std::mutex mu_;
  std::function<double(double)> value_at_;
  double data_start_ = -1e300;
  absl::Status error_;
  bool throw_ = false;
  std::vector<std::string> allowed_;
  std::vector<FetchCall> calls_;
};

class InlineExecutor final : public scaler::Executor {
 public:
  void Submit(std::function<void()> task) override { task(); }
};

// Queues tasks until RunAll() (the tests' stand-in for a slow worker).
class ManualExecutor final : public scaler::Executor {
 public:
  void Submit(std::function<void()> task) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    submitted_.notify_all();
  }
  size_t pending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_.size();
  }
  // Waits until at least `n` tasks are queued (another thread submits them), for at most
  // `timeout` of real time so that a test that never submits fails instead of hanging.
  // Returns whether they were.
  bool WaitForPending(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    return submitted_.wait_for(lock, timeout, [&] { return tasks_.size() >= n; });
  }
  void RunAll() {
    for (;;) {
      std::function<void()> task;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable submitted_;
  std::deque<std::function<void()>> tasks_;
};

// The first series' value of metric family `name` (counter or gauge) as augur would
// export it now; NaN when the family has no series.
inline double MetricValue(scaler::ScalerMetrics& metrics, const std::string& name) {
  for (const auto& family : metrics.Collect()) {
    if (family.name != name || family.metric.empty()) continue;
    return family.type == prometheus::MetricType::Counter ? family.metric[0].counter.value
                                                          : family.metric[0].gauge.value;
  }
  return NAN;
}

}  // namespace scaler_testing
