#pragma once
// The answer policy (docs/design.md, "The answer"): from the current value and a forecast to
// the value KEDA gets. Pure functions and a small accuracy tracker, shared by the
// scaler's Tracker and by `augur-loadtest simulate`, so that the simulation runs exactly
// the product's logic.
//
// Thread-safety: the free functions are pure; ForecastErrorTracker is not thread-safe
// (each tracked object owns one and uses it from its refresh only).

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "forecast/forecast.h"
#include "scaler/ring_buffer.h"

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
  kHeadroom,          // budget: the current value plus headroom meets the shortfall budget
                      // more cheaply than the forecast does (on the object's own record)
  kTrend,             // budget: the current value plus its rise over the horizon
                      // meets it more cheaply than the forecast or a headroom does
};
const char* ReasonName(Reason r);

// A shortfall budget: the share of time the user accepts demand above what the ready pods
// serve. Absolute ("2%": that share of time), or relative to what reactive scaling would
// have on the object's own record ("0.5x": half of reactive scaling's share).
struct ShortfallBudget {
  double value = 0.5;     // the share (absolute), or the multiple of reactive's (relative)
  bool relative = true;
};
// The default (docs/design.md, "The answer"; docs/loadtest.md says how it was chosen):
// half the shortfall reactive scaling would have.
inline constexpr ShortfallBudget kDefaultShortfall{0.5, true};
// A relative budget never asks for less than this share of time (a workload that is
// never short under reactive scaling does not buy unbounded headroom).
inline constexpr double kMinRelativeShortfall = 0.0005;

// Parses a shortfall budget as users write it: "2%", "0.5%" or a fraction such as "0.02"
// (absolute, in (0, 50%]); "0.5x" (relative to reactive scaling, in (0, 1]).
// Errors: kInvalidArgument saying what is expected.
absl::StatusOr<ShortfallBudget> ParseShortfall(const std::string& text);
// "2%", "0.5x reactive".
std::string ShortfallName(const ShortfallBudget& b);  // "forecast", "short_history", ... (snake_case)
// kShortHistory, kForecastError, kNoForecast. Not kHeadroom or kTrend: the budget's choice
// of the cheaper policy, which meets the budget, not a failure to forecast.
bool IsFallback(Reason r);

struct PolicyConfig {
  Mode mode = Mode::kPredictive;
  // The shortfall budget: when set, the headroom is chosen from the object's own record
  // to meet it (shortfall.h) and `quantile` is not used. nullopt = scale on `quantile`.
  std::optional<ShortfallBudget> shortfall;
  double quantile = 0.5;              // forecast quantile to scale on (no budget)
  double horizon_seconds = 300;       // peak over (now, now + horizon]
  double min_history_seconds = 3600;  // below: reactive
  // Model MAE / naive MAE above this: reactive. +inf = no point-error gate (the budget's
  // default: its record judges what the forecast delivers instead).
  double max_forecast_error = 1.0;
  double activation_threshold = 0;    // active when value > this
};

struct Decision {
  // False: no current value and no forecast (a gap in the data before a model exists, or
  // shadow mode in a gap): the object has no answer to give, and RPCs fail (UNAVAILABLE)
  // so that KEDA counts a failure instead of scaling on a made-up 0.
  bool has_value = true;
  double value = 0;                  // what GetMetrics returns (0 without a value)
  bool active = false;               // value > activation_threshold
  std::optional<double> current;     // newest sample, if fresh
  std::optional<double> peak;        // max forecast over the horizon at `quantile`
  Reason reason = Reason::kForecast;
  std::string detail;                // human-readable why, e.g. "history 40m < minHistory 1h"
};

// What the shortfall budget chose (budget mode), computed by the caller from its record.
struct BudgetInput {
  // The chosen shape's answer (its current-value floor included), and the forecast part
  // of the best forecast shape (the peak reported; answered when there is no current
  // value). nullopt when missing (no forecast; no current value for headroom).
  std::optional<double> answer;
  std::optional<double> forecast_peak;
  // The current value plus the headroom that meets the budget without a forecast
  // (nullopt: not calibrated yet, or no current value). Fallbacks answer it instead of
  // the bare current value.
  std::optional<double> headroom_value;
  bool use_headroom = false;  // the chosen shape is reactive scaling with headroom (or trend)
  bool use_trend = false;     // ... and it is the trend: current value plus recent rise
  std::string detail;         // e.g. "budget 2%: forecast theta 1.4, record 2% short at it"
};

// Inputs to one decision. `forecast` may be null (no model); when present it holds the
// steps in (now, now + horizon] and the quantile config.quantile (quantile mode).
struct PolicyInput {
  std::optional<double> current;
  double history_seconds = 0;
  const forecast::Forecast* forecast = nullptr;
  std::optional<double> error_ratio;  // ForecastErrorTracker::Ratio(), if known
  std::string no_forecast_detail;     // why forecast is null, for the detail text
  std::optional<BudgetInput> budget;  // budget mode (config.shortfall set)
};

// The policy. Never fails: with no current value and no forecast it has no value
// (Decision::has_value) and the detail says why. Order: short history, no usable forecast (no row for
// config.quantile, or no finite point; budget mode: no forecast_peak), forecast error
// gate, shadow, no current value, the budget's headroom choice, then the mode. The peak
// is reported in every case where a forecast exists (also in shadow mode and in
// fallbacks). Fallbacks answer the current value, or in budget mode the budget's
// headroom value when it has one. The value is never negative nor non-finite (such
// values become 0, as KEDA itself does).
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
  // Bounded FIFOs (ring_buffer.h): pushing past the bound drops the oldest.
  RingBuffer<Pending> pending_;
  RingBuffer<Scored> scored_;
  RingBuffer<double> abs_changes_;
  std::optional<double> last_observed_;
  double last_observed_timestamp_ = 0;
};

}  // namespace scaler
