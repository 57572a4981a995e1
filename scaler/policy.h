#pragma once
// The answer policy (docs/design.md, "The answer"): from the current value and a forecast to
// the value KEDA gets. Pure functions and a small accuracy tracker, shared by the
// scaler's Tracker and by `augur-loadtest simulate`, so that the simulation runs exactly
// the product's logic.
//
// Thread-safety: the free functions are pure; ForecastErrorTracker is not thread-safe
// (each tracked object owns one and uses it from its refresh only).

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "forecast/forecast.h"

namespace scaler {

enum class Mode {
  kPredictive,  // max(current, peak): never less than a reactive scaler asks
  kForecast,    // peak: also scales down ahead of falling load
  kShadow,      // current: dry run; the forecast is computed and exported only
};

// Why the value is what it is; exported as a metric label and shown by the Inspector.
enum class Reason {
  kForecast,          // the policy's value from the forecast (mode predictive/forecast)
  kCurrentAboveForecast,  // predictive: the current value was above the forecast peak
  kShadow,            // shadow mode: the current value
  kShortHistory,      // fallback: history < minHistory
  kForecastError,     // fallback: recent accuracy worse than naive by > maxForecastError
  kNoForecast,        // fallback: the model could not be fitted (see the detail)
  kNoCurrent,         // no current value (newest sample older than 2 steps): forecast only
};
const char* ReasonName(Reason r);  // "forecast", "short_history", ... (snake_case)
bool IsFallback(Reason r);         // kShortHistory, kForecastError, kNoForecast

struct PolicyConfig {
  Mode mode = Mode::kPredictive;
  double quantile = 0.5;              // forecast quantile to scale on
  double horizon_seconds = 300;       // peak over (now, now + horizon]
  double min_history_seconds = 3600;  // below: reactive
  double max_forecast_error = 1.0;    // model MAE / naive MAE above this: reactive
  double activation_threshold = 0;    // active when value > this
};

struct Decision {
  double value = 0;                  // what GetMetrics returns
  bool active = false;               // value > activation_threshold
  std::optional<double> current;     // newest sample, if fresh
  std::optional<double> peak;        // max forecast over the horizon at `quantile`
  Reason reason = Reason::kForecast;
  std::string detail;                // human-readable why, e.g. "history 40m < minHistory 1h"
};

// Inputs to one decision. `forecast` may be null (no model); when present it holds the
// steps in (now, now + horizon] and the quantile config.quantile.
struct PolicyInput {
  std::optional<double> current;
  double history_seconds = 0;
  const forecast::Forecast* forecast = nullptr;
  std::optional<double> error_ratio;  // ForecastErrorTracker::Ratio(), if known
  std::string no_forecast_detail;     // why forecast is null, for the detail text
};

// The policy. Never fails: with no current value and no forecast the value is 0 and
// the reason says why. Order: short history, no usable forecast (no row for
// config.quantile, or no finite point), forecast error gate, shadow, no current value,
// then the mode. The peak is reported in every case where a forecast exists (also in
// shadow mode and in fallbacks). The value is never negative nor non-finite (such values
// become 0, as KEDA itself does).
Decision Decide(const PolicyConfig& config, const PolicyInput& input);

// Measures an object's own recent forecasts against what then happened, relative to the
// naive forecast (the value at forecast time) over the same targets: the
// maxForecastError quality gate.
//
// The unit of scoring is the observed target: each observation that one or more pending
// forecasts predicted is scored once, with the mean absolute error of those forecasts
// (and of their naive forecasts). So a target forecast at ten refreshes weighs as much as
// one forecast once, and a fresh object cannot trip the gate on the errors of two or
// three observations seen through many overlapping forecasts.
class ForecastErrorTracker {
 public:
  // `window` = how many scored targets (observations) to keep.
  explicit ForecastErrorTracker(size_t window = 200);

  // A forecast made at `made_at` (unix seconds) when the newest value was `current`
  // (naive forecast); `timestamps`/`values` are the forecast points (point forecast).
  void RecordForecast(double made_at, std::optional<double> current,
                      const std::vector<double>& timestamps, const std::vector<double>& values);
  // New observations; pending forecast points at these timestamps (within half a step)
  // are scored.
  void Observe(const std::vector<double>& timestamps, const std::vector<double>& values,
               double step_seconds);
  // Model MAE / naive MAE over the scored window; nullopt until enough targets are
  // scored (at least 8 observations) or when the naive error is 0.
  std::optional<double> Ratio() const;
  // Model MAE over the scored window divided by the mean absolute one-step change of the
  // observations (an online MASE), for the augur_model_error metric.
  std::optional<double> Mase() const;

 private:
  struct Pending {
    double timestamp;
    double forecast;
    double naive;
  };
  struct Scored {
    double model_error;
    double naive_error;
  };
  size_t window_;
  std::deque<Pending> pending_;
  std::deque<Scored> scored_;
  std::deque<double> abs_changes_;
  std::optional<double> last_observed_;
  double last_observed_timestamp_ = 0;
};

}  // namespace scaler
