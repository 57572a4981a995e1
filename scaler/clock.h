#pragma once
// The scaler's clock seam: wall time (unix seconds, as answers, metrics and queries see
// it), monotonic time (durations, deadlines), and waits on a condition variable bounded
// by the clock's own monotonic time. Library code never reads a system clock nor waits
// with a timeout of its own: every wait and timeout in scaler/ goes through a Clock, so
// that a fake clock (tests/scaler/fakes.h) decides when a timed wait ends and tests
// never sleep (cf. Envoy's TimeSource and TimeSystem::waitFor).
//
// Thread-safety: implementations are thread-safe.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace scaler {

// A point of a clock's monotonic time. Only differences and comparisons between points
// of the same Clock mean anything (a fake clock starts wherever it likes).
using MonotonicTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix seconds (fractional). May jump (NTP, a fake clock's Set()).
  virtual double Now() const = 0;
  // Never goes back.
  virtual MonotonicTime Monotonic() const = 0;

  // Monotonic() + d, saturated at the end of time (a huge timeout does not wrap round).
  template <typename Rep, typename Period>
  MonotonicTime After(std::chrono::duration<Rep, Period> d) const {
    return Saturated(Monotonic(), std::chrono::duration_cast<std::chrono::nanoseconds>(d));
  }
  // Seconds from `since` to Monotonic().
  double SecondsSince(MonotonicTime since) const {
    return std::chrono::duration<double>(Monotonic() - since).count();
  }

  // Waits until `pred()` holds or this clock's Monotonic() reaches `deadline`, whichever
  // is first; `lock` (held, on the mutex `cv` is used with) is released while waiting.
  // Returns pred() (false: the deadline passed first). `pred` is evaluated with the lock
  // held, as by std::condition_variable::wait_until.
  template <typename Pred>
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 MonotonicTime deadline, Pred pred) const {
    while (!pred()) {
      if (Monotonic() >= deadline) return pred();
      WaitOnce(lock, cv, deadline);
    }
    return true;
  }
  template <typename Rep, typename Period, typename Pred>
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::duration<Rep, Period> timeout, Pred pred) const {
    return WaitUntil(lock, cv, After(timeout), std::move(pred));
  }

  static MonotonicTime Saturated(MonotonicTime t, std::chrono::nanoseconds d);

 protected:
  // Blocks with `lock` released until `cv` is notified or Monotonic() reaches
  // `deadline` (or spuriously); returns with `lock` held. WaitUntil re-checks both.
  virtual void WaitOnce(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                        MonotonicTime deadline) const = 0;
};

// The system's clocks: system_clock for Now(), steady_clock for Monotonic() and waits.
class SystemClock final : public Clock {
 public:
  double Now() const override;
  MonotonicTime Monotonic() const override;

 protected:
  void WaitOnce(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                MonotonicTime deadline) const override;
};

}  // namespace scaler
