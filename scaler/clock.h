#pragma once
// The scaler's clock seam: unix time as the answers, metrics and queries see it. Library
// code never reads the system clock directly; tests inject a fake one.
//
// Thread-safety: implementations are thread-safe.

namespace scaler {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix seconds (fractional).
  virtual double Now() const = 0;
};

// The system's wall clock.
class SystemClock final : public Clock {
 public:
  double Now() const override;
};

}  // namespace scaler
