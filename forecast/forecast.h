#pragma once
// forecast: Augur's additive trend + seasonality model, in the spirit of Prophet
// (S. J. Taylor and B. Letham, "Forecasting at scale", The American Statistician 72(1),
// 2018), extended with what wins on server load (see docs/forecast.md).
//
// Pure functions of (timestamps, values, options): no I/O, no clock, no logging.
// Timestamps are unix seconds (double); values are in the metric's own unit.
//
// Thread-safety: Fit() is reentrant; a fitted Model is immutable and its const methods
// may be called from any number of threads at once.
// Memory: each thread that has run Fit() keeps the scratch of its largest fit so far
// (thread-local, about 6 x 8 bytes x the error horizon's steps x ~400 origins: ~2 MB at
// 1-minute steps) and reuses it at its next fit, instead of allocating and freeing
// hundreds of vectors every fit; it is freed when the thread exits.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace forecast {

// A metric's history. Timestamps need not be sorted, regular or unique (Fit sorts them,
// averages duplicates and treats missing steps as gaps); NaN and +-Inf values are
// dropped before fitting.
struct Series {
  std::vector<double> timestamps;  // unix seconds
  std::vector<double> values;
};

enum class Growth {
  kLinear,    // piecewise-linear trend with changepoints
  kLogistic,  // saturating between Options::floor and Options::cap (e.g. CPU %)
  kFlat,      // constant level
};

enum class SeasonalityMode { kAdditive, kMultiplicative };

// One Fourier seasonality: sum_{k=1..order} a_k cos(2 pi k t / P) + b_k sin(2 pi k t / P).
struct Seasonality {
  std::string name;             // e.g. "daily", "weekly", "1h"
  double period_seconds = 0;    // P
  int fourier_order = 0;        // 0 = choose from the period (Prophet: 10 daily, 3 weekly)
  double prior_scale = 0;       // 0 = Options::seasonality_prior_scale
};

// A known event (a holiday, a sale, a release) that gets its own effect in the fit, as
// Prophet's `holidays`: one effect per event name and day of its window, each an
// indicator of that day (24 h from `start` + k days) added to the design and penalised
// like the seasonalities. Occurrences that share a name share their effects (a recurring
// event is its occurrences listed one by one), so that an effect fitted on a past
// occurrence is predicted on the next one.
struct Event {
  std::string name;     // [A-Za-z][A-Za-z0-9_-]*, at most 63 characters
  double start = 0;     // unix seconds: the start of the occurrence's first day
                        // (00:00 UTC of the date when parsed by ParseEvents)
  int days = 1;         // how many days the occurrence lasts, >= 1
  int days_before = 0;  // the window: days before `start` with their own effect, >= 0
  int days_after = 0;   // and days after the last day, >= 0
};

// A period [start, end) (unix seconds) the fit ignores: an incident, a load test, an
// outage. Its points are dropped before anything is fitted, so that neither the model,
// the short-term correction nor the in-sample errors behind the intervals learn from it.
struct ExcludedPeriod {
  double start = 0;
  double end = 0;  // > start
};

// Limits on the lists below (and what ParseEvents / ParseExcludePeriods accept), which keep
// the fit's cost bounded: the event effects are columns of the regression.
inline constexpr int kMaxEvents = 200;            // occurrences, all names together
inline constexpr int kMaxEventDays = 60;          // days + days_before + days_after, each
inline constexpr int kMaxEventEffects = 200;      // distinct (name, day) effects
inline constexpr int kMaxExcludedPeriods = 200;

struct Options {
  // --- trend ---
  Growth growth = Growth::kLinear;
  std::optional<double> cap;    // kLogistic only: upper saturation
  std::optional<double> floor;  // kLogistic only: lower saturation
  int n_changepoints = 25;              // candidate changepoints (at most one per 12 h
                                        // of history when a daily cycle is fitted)
  double changepoint_range = 0.8;       // candidates lie in the first 80 % of the history
  double changepoint_prior_scale = 0.05;  // Laplace prior scale on rate changes

  // --- seasonality ---
  // With auto_seasonality, daily (history >= 2 days) and weekly (history >= 2 weeks)
  // are added when the history supports them, on top of `seasonalities`.
  bool auto_seasonality = true;
  std::vector<Seasonality> seasonalities;
  double seasonality_prior_scale = 10.0;
  SeasonalityMode seasonality_mode = SeasonalityMode::kAdditive;

  // --- known events and excluded periods ---
  std::vector<Event> events;
  // Normal prior scale of each event day's effect, in the units seasonalities use (MADs of
  // the history); 10 as Prophet's holidays_prior_scale. The effects follow
  // seasonality_mode (multiplicative: scaled by the trend as the seasonalities are).
  double event_prior_scale = 10.0;
  std::vector<ExcludedPeriod> exclude_periods;

  // --- uncertainty ---
  // Whether the intervals include the trend's uncertainty: future rate changes as Prophet
  // simulates them, computed in closed form (nothing is sampled, so the fit and the
  // intervals are deterministic and need no seed). false = the in-sample errors only.
  bool trend_uncertainty = true;

  // The model's own extensions beyond Prophet (short-term residual correction, recency
  // weighting, trend damping, robust loss, ...) are configured here as well; see
  // docs/forecast.md for what each does and what it was measured to win.

  // --- robustness ---
  // Residuals beyond huber_threshold robust standard deviations are down-weighted
  // (Huber loss, iteratively reweighted); 0 = plain least squares.
  double huber_threshold = 3.0;
  int robust_iterations = 2;       // reweighting passes after the first fit
  // Longer histories are fitted on the means of consecutive time bins (at most this
  // many rows), which bounds the fit's cost; residuals still use every point.
  int max_fit_rows = 3000;
  bool detect_level_shifts = true;  // one step change in level, fitted as a step term
  // Weight of a point halves every recency_half_life_seconds back from the newest one;
  // 0 = all points weigh the same (Prophet).
  double recency_half_life_seconds = 7 * 86400.0;

  // --- short-term correction (beyond Prophet) ---
  // An AR(ar_order) model of the in-sample residuals on the history's step grid, fitted
  // on the last ar_window_seconds (at least 100 steps), extrapolates the current
  // deviation from the model; 0 = no correction (Prophet).
  int ar_order = 2;
  double ar_window_seconds = 3 * 86400.0;
  // Also consider damped exponential smoothing of the residuals (a local level, and a
  // local level with a damped trend as Holt's method) as the correction; the one with
  // the lowest in-sample error up to 1 h ahead is used.
  bool smoothing_correction = true;
  // A daily profile of the residuals (what the smooth daily Fourier terms miss, e.g.
  // hourly batch jobs), recent days weighing more (half-life in days); kept only when
  // it stands out of the noise.
  bool daily_profile = true;
  // Blend the forecast with the newest observation (the naive forecast), with weights per
  // step ahead chosen by the in-sample errors of both from rolling origins on the newest
  // ar_window_seconds: a series the model cannot forecast (rare spikes, steps, noise)
  // falls back towards its last value as far as the history says. false = the model
  // alone.
  bool naive_blend = true;
  double profile_half_life_days = 7;
  // The extrapolated trend slope decays with this time constant after the history;
  // 0 = undamped (Prophet).
  double trend_damping_seconds = 0;
  // When every history value is >= 0, forecasts and quantiles are clamped at 0.
  bool clamp_nonnegative = true;
  // Multiplies the width of the intervals, in proportion to the model's share of the
  // forecast (with the blend, the last value's errors are out of sample already and are
  // not widened). The model's in-sample h-step errors understate out-of-sample errors;
  // 1.2 brought 80 % intervals to 79-81 % coverage under the benchmark protocol
  // (docs/forecast.md). 1 = as estimated in-sample.
  double interval_scale = 1.2;
  // Recalibrate the width out of time on the history itself: the band made of the older
  // half of the in-sample errors is held against the newer half, and the width scaled by
  // how far they fell outside it (errors that grow get a wider band, errors that shrink
  // a narrower one). false = the width of all the in-sample errors as they are.
  bool interval_recalibration = true;
  // How the interval width follows the forecast's level: the in-sample h-step errors are
  // measured in units of (level + floor)^power, the floor 0.02, 0.1 or 0.5 of the median
  // level (chosen by likelihood). 0 = the same width at every level (Prophet),
  // 1 = proportional to the level (noise in percent, as in request counts), 0.5 = in
  // between (Poisson-like). -1 = choose 0, 0.5 or 1 by the Laplace likelihood of the
  // in-sample errors. Only for non-negative histories with linear or flat growth;
  // otherwise 0.
  double interval_level_power = -1;
  // Upper and lower bounds from the quantiles of the signed in-sample errors, so that a
  // load that jumps up more than it falls gets a wider upper band; false = symmetric
  // bands from the absolute errors.
  bool skewed_intervals = true;

  // kInvalidArgument naming the field, the value and what is expected.
  absl::Status Validate() const;
};

// One additive component of the forecast, evaluated at the requested timestamps, in the
// metric's unit (multiplicative seasonalities are reported as their effect on yhat).
struct Component {
  std::string name;  // "trend", "daily", "weekly", "correction", ...
  std::vector<double> values;
};

struct Forecast {
  std::vector<double> timestamps;  // as requested
  std::vector<double> yhat;        // point forecast (the median)
  // quantiles[i][j] = the quantile_levels[i] quantile at timestamps[j].
  std::vector<double> quantile_levels;
  std::vector<std::vector<double>> quantiles;
  std::vector<Component> components;

  // The row for `level` if it was requested, else nullptr.
  const std::vector<double>* Quantile(double level) const;
};

// What the fit saw and decided, for logs and the scaler's Inspector.
struct FitInfo {
  size_t points_used = 0;        // after dropping NaN/Inf and merging duplicates
  double history_seconds = 0;    // span of the history
  double step_seconds = 0;       // median step
  std::vector<std::string> seasonalities;  // the ones fitted, e.g. {"daily", "weekly"}
  std::vector<double> changepoints;        // timestamps of the non-negligible rate changes
  double residual_scale = 0;     // robust scale of the in-sample residuals
  // The fitted effect of each event day that has points in the history (the others, e.g.
  // the days of an occurrence yet to come, have an effect only if an earlier occurrence
  // of the same name covers that day of the window).
  struct EventEffect {
    std::string name;
    int day = 0;        // day of the window: 0 = the occurrence's first day, -1 = the day
                        // before, days = the first day after
    size_t points = 0;  // history points on those days
    double effect = 0;  // in the metric's unit, at the history's median level
  };
  std::vector<EventEffect> event_effects;
  // Each excluded period as configured, with the points it removed from the history.
  struct Exclusion {
    double start = 0, end = 0;
    size_t points_removed = 0;
  };
  std::vector<Exclusion> exclusions;
  // Human-readable notes on every fallback or adjustment made, e.g.
  // "constant series: flat model", "history 20h < 2 days: no daily seasonality".
  std::vector<std::string> notes;
};

class Model {
 public:
  // Forecasts at `timestamps` (any order, any values; usually after the history) with
  // the given quantile levels in (0, 1).
  // `recent` are observations newer than the fit's history (the scaler refits every
  // few minutes but predicts at every refresh): they update the short-term correction
  // and the level without a refit. May be empty.
  // Errors: kInvalidArgument for a level outside (0, 1) or a non-finite timestamp.
  absl::StatusOr<Forecast> Predict(const std::vector<double>& timestamps,
                                   const std::vector<double>& quantile_levels,
                                   const Series& recent = {}) const;

  const FitInfo& info() const { return info_; }
  const Options& options() const { return options_; }
  // Timestamp of the newest observation the fit used (unix seconds).
  double last_timestamp() const;

  // Implementation state (parameters, scaling, design of the seasonal terms), defined in
  // forecast/internal/model_state.h; public only so that forecast/ can build it. Not part
  // of the contract.
  struct State;
  Model(Options options, FitInfo info, std::shared_ptr<const State> state);

 private:
  Options options_;
  FitInfo info_;
  std::shared_ptr<const State> state_;
};

// Fits the model to `series` (MAP estimate, deterministic).
// Errors: kInvalidArgument (bad options; timestamps and values of different lengths),
// kFailedPrecondition (fewer than 2 finite points: nothing to fit).
// Short or constant histories are not errors: they fit a simpler model and say so in
// FitInfo::notes.
absl::StatusOr<Model> Fit(const Series& series, const Options& options);

// Parses a seasonality list as used by `--seasonality` and the `seasonality` metadata
// key: "auto", "none", or comma-separated periods ("1d,1w", "12h", "daily,weekly").
// Errors: kInvalidArgument naming the bad element and what is expected.
// Sets options.auto_seasonality and options.seasonalities accordingly.
absl::Status ParseSeasonality(const std::string& text, Options& options);

// Parses an event list as used by `--holidays` and the `holidays` metadata key:
//   events := event ("," event)*            blanks around elements are ignored
//   event  := name "=" dates ("|" dates)* window*
//   dates  := YYYY-MM-DD | YYYY-MM-DD "/" YYYY-MM-DD   (UTC days, the range inclusive)
//   window := ":-" N "d" | ":+" N "d"                   (days before / after, N in 0..30)
// e.g. "black-friday=2025-11-28|2026-11-27/2026-11-30:-1d:+1d, xmas=2026-12-25". Entries
// sharing a name are occurrences of one event. Errors: kInvalidArgument naming the bad
// element and what is expected (also past the kMax* limits above).
// Sets options.events ("" or "none": no events).
absl::Status ParseEvents(const std::string& text, Options& options);

// Parses excluded periods as used by `--exclude-periods` and the `excludePeriods` key:
// comma-separated "start/end" RFC 3339 times with a zone (Z or +hh:mm), the end
// excluded, e.g. "2026-11-20T10:00Z/2026-11-20T14:00Z"; a date alone (YYYY-MM-DD) is
// the whole UTC day (as an end: up to the end of that day), e.g. "2026-11-20" or
// "2026-11-20/2026-11-22". Errors: kInvalidArgument naming the bad element and what is
// expected. Sets options.exclude_periods ("" or "none": none).
absl::Status ParseExcludePeriods(const std::string& text, Options& options);

// A unix time as RFC 3339 UTC: "2026-11-20T10:00:00Z" ("2026-11-20" for midnight when
// date_only_at_midnight), for notes, the Inspector and errors.
std::string FormatUtc(double unix_seconds, bool date_only_at_midnight = false);

}  // namespace forecast
