#include "scaler/clock.h"

namespace scaler {

MonotonicTime Clock::Saturated(MonotonicTime t, std::chrono::nanoseconds d) {
  if (d.count() <= 0) return t;
  if (t.time_since_epoch().count() > 0 && d > MonotonicTime::max() - t) {
    return MonotonicTime::max();
  }
  return t + std::chrono::duration_cast<MonotonicTime::duration>(d);
}

double SystemClock::Now() const {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

MonotonicTime SystemClock::Monotonic() const { return std::chrono::steady_clock::now(); }

void SystemClock::WaitOnce(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                           MonotonicTime deadline) const {
  if (deadline == MonotonicTime::max()) {
    cv.wait(lock);
  } else {
    cv.wait_until(lock, deadline);
  }
}

}  // namespace scaler
