#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Stage 6 of the fit, the
// short-term correction (docs/forecast.md, "Short-term correction (beyond Prophet)"):
// on the newest residuals of the step grid, the candidates none (Prophet), AR(p) by
// least squares and damped exponential smoothing (a local level) are compared by the
// in-sample error of their forecasts up to 1 h ahead from rolling origins; the chosen
// one's errors up to 2 h ahead are what the intervals are made of. Predict moves the
// correction's state forward with observations newer than the fit. Pure functions.

#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "forecast/forecast.h"
#include "forecast/internal/model_state.h"
#include "forecast/internal/residuals.h"

namespace forecast::internal {

// The window is the newest ar_window_seconds of the grid, at least kMinWindowSteps
// steps; its residuals are clipped at kWindowClipFactor times the clip level.
inline constexpr double kMinWindowSteps = 100;
inline constexpr double kWindowClipFactor = 4;
// Horizons: the candidates are scored up to kScoreHorizonSeconds ahead; the chosen one's
// errors are measured up to kErrorHorizonSeconds (at most kMaxErrorSteps steps) for the
// intervals (docs/forecast.md, "Intervals": "up to 2 h").
inline constexpr double kScoreHorizonSeconds = kHour;
inline constexpr double kErrorHorizonSeconds = 2 * kHour;
inline constexpr size_t kMaxErrorSteps = 256;
// The first min(window / kWarmupDivisor, kMaxWarmupSteps) steps of the window only warm
// the state up; origins then are spaced to give about kSelectOrigins (scoring) and
// kErrorOrigins (the intervals' errors).
inline constexpr size_t kWarmupDivisor = 4;
inline constexpr size_t kMaxWarmupSteps = 50;
inline constexpr size_t kSelectOrigins = 150;
inline constexpr size_t kErrorOrigins = 400;
// No correction when the window has no more than this many steps after the warm-up.
inline constexpr size_t kMinScoredSteps = 20;
// AR(p) needs kArRowsPerCoefficient p + kArMinRows complete rows; its normal equations
// get a relative ridge of kArRidge; it is made stationary by scaling sum |phi| down to
// kArMaxAbsSum (docs/forecast.md: "bounding sum |phi| < 1").
inline constexpr int kArRowsPerCoefficient = 10;
inline constexpr int kArMinRows = 10;
inline constexpr double kArRidge = 1e-6;
inline constexpr double kArMaxAbsSum = 0.999;
// The smoothing candidates' grid (docs/forecast.md: alpha in {0.05, 0.2, 0.5, 1}, kept
// per hour in {1, 0.7, 0.2}).
inline constexpr double kSmoothingAlphas[] = {0.05, 0.2, 0.5, 1.0};
inline constexpr double kSmoothingKeptPerHour[] = {1.0, 0.7, 0.2};
// The damped-trend candidates (Holt's linear method with a damped trend, as in
// Holt-Winters, on the residuals): level weight alpha, trend weight beta, the trend's
// share kept per hour (docs/forecast.md, "Short-term correction").
inline constexpr double kTrendAlphas[] = {0.2, 0.5, 1.0};
inline constexpr double kTrendBetas[] = {0.1, 0.3};
inline constexpr double kTrendKeptPerHour[] = {0.05, 0.5};
// The state kept at the end of the history: the newest kTailSlots residuals; a level
// shift in progress is looked for among as many.
inline constexpr size_t kTailSlots = 64;

// The newest part of the residual grid the correction is chosen on, and its horizons.
struct CorrectionWindow {
  std::vector<double> resid;  // clipped at `clip`; NaN = missing
  std::vector<double> raw;    // the same, not clipped
  double clip = 0;
  std::vector<double> fit;    // the model's fitted value (scaled) at each slot
  size_t H = 1;               // error horizon (steps)
  size_t H_score = 1;         // scoring horizon (steps), <= H
  size_t warmup = 0;
  size_t select_stride = 1;  // origin spacing when scoring candidates
  size_t stride = 1;         // origin spacing when measuring the chosen one's errors
  // The seasonal-naive member of the blend (blend.h): the period in steps (0 = none) and
  // the observed values (scaled, NaN = missing) of the window's slots with the
  // kSeasonLookback periods before it in front: observed[kSeasonLookback *
  // period + i] is slot i's.
  size_t period = 0;
  std::vector<double> observed;
  size_t size() const { return resid.size(); }
  // The seasonal-naive forecast of slot j from origin o < j (SeasonalValue): from the
  // observations a whole number of periods before j, at or before o.
  double SeasonalNaive(size_t o, size_t j, double fallback) const;
};
// The window is at least kSeasonMinPeriods periods long for the seasonal-naive member.
inline constexpr size_t kSeasonMinPeriods = 3;
// The seasonal-naive forecast is the median of the newest kSeasonLookback observations
// of its phase (whole periods back; the missing ones left out), `fallback` (the last
// value) when all are missing: one period back would repeat any one-off spike of the
// last period, the median of three repeats what recurs.
inline constexpr size_t kSeasonLookback = 3;
// The median of values[newest], values[newest - period], ... (kSeasonLookback of them,
// those at an index >= 0 and not missing); `fallback` when there is none. T: double for
// the fit's window, float for the model's state (Correction::season_values).
template <typename T>
double SeasonalValue(const std::vector<T>& values, long long newest, size_t period,
                     double fallback) {
  double v[kSeasonLookback];
  size_t n = 0;
  for (size_t m = 0; m < kSeasonLookback; ++m) {
    const long long i = newest - static_cast<long long>(m * period);
    if (i < 0) break;
    const double x = values[static_cast<size_t>(i)];
    if (!std::isnan(x)) v[n++] = x;
  }
  if (n == 0) return fallback;
  for (size_t i = 1; i < n; ++i) {  // insertion sort of at most kSeasonLookback values
    for (size_t k = i; k > 0 && v[k - 1] > v[k]; --k) std::swap(v[k - 1], v[k]);
  }
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
// The seasonal-naive member's period in steps: period_seconds / step when that is a whole
// number (within kSeasonWholeTolerance steps) of at least 2 steps and the window holds
// kSeasonMinPeriods of them; else 0.
inline constexpr double kSeasonWholeTolerance = 1e-6;
size_t SeasonPeriodSteps(double period_seconds, double step, size_t window);
// `period_seconds` (0 = none): the shortest seasonality the model fitted, for the blend's
// seasonal-naive member (SeasonPeriodSteps).
CorrectionWindow MakeWindow(const ResidualGrid& grid, double ar_window_seconds, double cut,
                            double period_seconds = 0);

// One candidate correction and what its in-sample forecasts got wrong.
struct Candidate {
  CorrectionKind kind = CorrectionKind::kNone;
  std::vector<double> phi;    // kAr
  double alpha = 0, rho = 1;  // kSmoothing: weight of a new residual; decay per step
  double beta = 0, phi_t = 0;  // kTrendSmoothing: the trend's weight and damping per step
  double score = std::numeric_limits<double>::infinity();  // mean |error| up to H_score
  // errs[h - 1]: errors h steps ahead (scaled), in (origin) order; levels[h - 1]: the raw
  // value of the in-sample forecast each error belongs to (only when asked for).
  std::vector<std::vector<double>> errs;
  std::vector<std::vector<double>> levels;
  // With Evaluate's with_naive, aligned with errs, for blend.h: the model's errors and
  // the last value's from the same origins against the observed
  // (not clipped) values, each error clipped at the window's clip (a bounded loss: a
  // spike in the target costs both the same, a model that is wrong for many steps pays
  // for each), and (with_levels) both forecasts in scaled units.
  std::vector<std::vector<double>> model_errs;
  std::vector<std::vector<double>> naive_errs;
  std::vector<std::vector<double>> model_fc;
  std::vector<std::vector<double>> naive_fc;
  // The seasonal-naive forecast's errors (CorrectionWindow::SeasonalNaive), when the
  // window has a period (else empty): they choose its weight, but the intervals are made
  // of the blend without it (FitBlend), so its forecasts are not kept.
  std::vector<std::vector<double>> season_errs;
  // EvaluateJumps: from every jump of the history (IsJump), the model's and the last
  // value's errors, each bounded by the jump's own |residual| (blend.h, ChooseJumpWeights).
  std::vector<std::vector<double>> jump_model_errs;
  std::vector<std::vector<double>> jump_naive_errs;
  // Whether the window is at most half of the history (FitCorrection), so that the older
  // half of its errors is as far from the history's start, where the fit is poorest, as
  // the newer half (intervals.h: the out-of-time recalibration needs it).
  bool window_in_history = false;
};

// Forecasts from every `stride`-th origin of the window up to max_h steps: fills
// cand.errs (and with with_levels cand.levels, raw through `scaling`) and cand.score;
// with with_naive also cand.naive_errs (and with with_levels cand.model_fc, naive_fc).
// With score_only, only cand.score (the error vectors are left as they are): candidates
// are compared by their score alone. The error vectors are filled in place: a Candidate
// reused from an earlier fit keeps their storage (no allocation when they fit in it).
void Evaluate(const CorrectionWindow& w, const Scaling& scaling, size_t max_h, size_t stride,
              bool with_levels, Candidate& cand, bool with_naive = false,
              bool score_only = false);

// Whether slot i of `raw` is a jump: a residual beyond `clip` (what the correction's
// clipped state cannot take in) after one that was not (or a missing one).
bool IsJump(const std::vector<double>& raw, size_t i, double clip);

// From every jump of the whole grid (IsJump at `clip`, the correction window's), the
// candidate's forecast (its state on the residuals clipped at `clip`, as the window's)
// and the last value's up to H steps: fills cand.jump_model_errs and
// cand.jump_naive_errs against the observed values, each error bounded by the jump's
// |residual|, so that whether the jump held or fell back is what they measure.
void EvaluateJumps(const ResidualGrid& grid, double clip, size_t H, Candidate& cand);

// AR(order) by least squares on the window's complete rows, or kind kNone when there
// are too few of them or the solution is not finite.
Candidate FitAr(const CorrectionWindow& w, int order);

// The chosen candidate with its errors up to H (for the intervals); kind kNone with no
// errors when the window is too short to choose. `step` sets the smoothing decays.
// With options.naive_blend, the chosen one's errors also carry the last value's.
Candidate ChooseCorrection(const CorrectionWindow& w, const Scaling& scaling,
                           const Options& options, double step);
// The same into `best`, whatever it held before (every field is set again; the storage of
// its error vectors is reused, so that a caller that keeps one Candidate per thread
// across fits allocates little here).
void ChooseCorrection(const CorrectionWindow& w, const Scaling& scaling, const Options& options,
                      double step, Candidate& best);

// Stage 6 as Fit runs it: chooses the correction on the grid, sets `out` (kind,
// parameters, the state at the end of the history relative to a level shift in
// progress) and notes what it chose; returns the chosen candidate (its errs/levels feed
// the intervals). `period_seconds`: the shortest seasonality the model fitted (0 = none),
// for the blend's seasonal-naive member.
Candidate FitCorrection(const ResidualGrid& grid, const Options& options, const Scaling& scaling,
                        double sigma, double cut, Correction& out, FitInfo& info,
                        double period_seconds = 0);
// The same into `best` (as ChooseCorrection's: every field set again, storage reused).
void FitCorrection(const ResidualGrid& grid, const Options& options, const Scaling& scaling,
                   double sigma, double cut, Correction& out, FitInfo& info, Candidate& best,
                   double period_seconds = 0);

// AR forecast of the next `steps` values from `state` (oldest first).
std::vector<double> ArPath(const std::vector<double>& phi, std::vector<double> state, size_t steps);

// Fills missing (NaN) values of r[begin, end) with the AR prediction from the values
// before them, anything before r[0] counting as 0 (the model's mean).
void FillForward(const std::vector<double>& phi, std::vector<double>& r, size_t begin = 0);

// --- Predict ---
// Observations more than this many steps after the history are ignored by Predict.
inline constexpr size_t kMaxRecentSteps = 1000000;
// Forecast steps are capped at kMaxForecastSteps; the correction's path is computed for
// at most kMaxPathSteps and holds its last value after (it has converged by then).
inline constexpr long long kMaxForecastSteps = 10000000;
inline constexpr long long kMaxPathSteps = 100000;

// The correction's state at the newest observation Predict knows of.
// One step of the smoothing state (kSmoothing: trend stays 0) with residual r (NaN =
// missing: the state's own forecast carries on).
inline void SmoothingStep(double alpha, double rho, double beta, double phi, double r,
                          double& level, double& trend) {
  const double prev = level;
  const double ahead = rho * level + phi * trend;
  if (std::isnan(r)) {
    level = ahead;
    trend = phi * trend;
    return;
  }
  level = (1 - alpha) * ahead + alpha * r;
  trend = beta * (level - prev) + (1 - beta) * phi * trend;
}

struct CorrectionState {
  std::vector<double> tail;  // newest residuals, oldest first, gaps filled
  double level = 0;          // smoothed level
  double trend = 0;          // smoothed trend (kTrendSmoothing)
  double shift = 0;          // level shift in progress
  double origin = 0;         // time of the newest step (unix seconds)
  double last_value = 0;     // newest observation (scaled)
  // The newest two residuals (scaled, not clipped, NaN = missing; blend.h, AfterJump).
  double last_resid = 0, previous_resid = 0;
  // The newest observations (Correction::season_values: kSeasonLookback periods of
  // Correction::season_period steps; scaled, oldest first, NaN = missing), the newest at
  // `origin`; period: Correction::season_period.
  std::vector<float> season;
  size_t period = 0;

  // The seasonal-naive forecast h >= 1 steps after the origin (scaled units, SeasonalValue
  // of the observations a whole number of periods before it); the last value without a
  // period or for h <= 0.
  double SeasonalNaive(long long h) const {
    if (period == 0 || season.empty() || h <= 0) return last_value;
    const auto P = static_cast<long long>(period);
    const long long back = (h + P - 1) / P * P;
    return SeasonalValue(season, static_cast<long long>(season.size()) - 1 + h - back, period,
                         last_value);
  }
};

// The state at the end of the history brought forward by `recent` (any order; points
// not after the history are ignored) without a refit.
CorrectionState Advance(const Model::State& st, const Series& recent);

// The correction at 1..max_steps steps after the state's origin (scaled units), the
// level shift included; empty when there is no correction and no shift.
std::vector<double> CorrectionPath(const Correction& c, const CorrectionState& s, size_t max_steps);

}  // namespace forecast::internal
