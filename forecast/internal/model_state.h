#pragma once
// INTERNAL to forecast/ (not part of the contract, which is forecast/forecast.h): what a
// fitted model keeps, one part per stage of the fit that fills it. Fit (forecast.cc)
// assembles it; Predict (predict.cc) reads it. docs/forecast.md, "Code map: the stages".
//
// All values are plain data; a State is immutable once Fit returns it. The evaluators
// are inline: Fit and Predict call them per point and per in-sample error.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "forecast/forecast.h"

namespace forecast::internal {

inline constexpr double kHour = 3600.0;
inline constexpr double kDay = 86400.0;
inline constexpr double kWeek = 7 * kDay;
inline constexpr double kTwoPi = 6.283185307179586476925286766559;

// Logistic growth: (y - floor) / (cap - floor) is clipped to [kLogitClip, 1 - kLogitClip]
// before the logit, so values at or beyond the bounds stay finite (docs/forecast.md,
// "Trend"; a numerical guard, not tuned).
inline constexpr double kLogitClip = 1e-4;

// How the model's units map to the metric's: the model works on scaled time
// ts = (t - t0) / t_scale and scaled values ys = (g(y) - y_offset) / y_scale, with g the
// identity or, for logistic growth, the logit of (y - floor) / (cap - floor).
struct Scaling {
  double t0 = 0, t_scale = 1;
  double y_offset = 0, y_scale = 1;
  bool logistic = false;
  double cap = 0, floor = 0;

  double ScaledTime(double t) const { return (t - t0) / t_scale; }
  // g(y) (not yet centred or scaled); the logit's argument is clipped to
  // [kLogitClip, 1 - kLogitClip].
  double Transform(double y) const {
    if (!logistic) return y;
    const double u = std::clamp((y - floor) / (cap - floor), kLogitClip, 1 - kLogitClip);
    return std::log(u / (1 - u));
  }
  // Scaled value -> the metric's unit.
  double ToRaw(double ys) const {
    const double g = y_offset + y_scale * ys;
    if (!logistic) return g;
    return floor + (cap - floor) / (1 + std::exp(-g));
  }
};

// Piecewise-linear trend in scaled units: m + k ts + sum_j delta_j (ts - cp_j)_+ plus the
// level-shift steps, its slope decaying with time constant `damping` after ts_end.
struct Trend {
  double k = 0, m = 0;
  std::vector<double> cp, delta;
  std::vector<double> shift_at, shift_size;
  double ts_end = 1;   // scaled time of the newest observation
  double damping = 0;  // scaled time constant; 0 = undamped

  double At(double ts) const {
    if (ts <= ts_end || damping <= 0) return Undamped(ts);
    double slope = k;
    for (size_t j = 0; j < cp.size(); ++j) {
      if (ts_end > cp[j]) slope += delta[j];
    }
    const double d = ts - ts_end;
    return Undamped(ts_end) + slope * damping * (1 - std::exp(-d / damping));
  }

 private:
  double Undamped(double x) const {
    double v = m + k * x;
    for (size_t j = 0; j < cp.size(); ++j) {
      if (x > cp[j]) v += delta[j] * (x - cp[j]);
    }
    for (size_t j = 0; j < shift_at.size(); ++j) {
      if (x >= shift_at[j]) v += shift_size[j];
    }
    return v;
  }
};

// One fitted Fourier seasonality (design.h chooses the order).
struct Season {
  std::string name;
  double period_seconds = 0;
  int order = 0;
  std::vector<double> coef;  // cos_1, sin_1, cos_2, sin_2, ...

  // Its value at unix time t, the phase counted from t0; cos/sin of k theta by the
  // angle-addition recurrence (two trigonometric calls per point).
  double At(double t, double t0) const {
    const double theta = kTwoPi * std::fmod(t - t0, period_seconds) / period_seconds;
    const double c1 = std::cos(theta), s1 = std::sin(theta);
    double c = c1, sn = s1, v = 0;
    for (int i = 0; i < order; ++i) {
      v += coef[2 * i] * c + coef[2 * i + 1] * sn;
      const double nc = c * c1 - sn * s1;
      sn = sn * c1 + c * s1;
      c = nc;
    }
    return v;
  }
};

// One event effect (design.h, ChooseEvents): an event name's day of the window, an
// indicator of the days [from_i, to_i) of every occurrence (past and future) that has it.
struct EventTerm {
  std::string name;
  int day = 0;                   // day of the window (0 = the occurrence's first day)
  std::vector<double> from, to;  // unix seconds, one pair per occurrence
  size_t points = 0;             // history points it covers
  double coef = 0;               // scaled units

  bool Covers(double t) const {
    for (size_t i = 0; i < from.size(); ++i) {
      if (t >= from[i] && t < to[i]) return true;
    }
    return false;
  }
};

// The daily profile of the residuals (profile.h), one bin per step of the day; empty = none.
struct DailyProfile {
  std::vector<double> bins;  // scaled units

  double At(double t, double t0) const {
    return bins.empty() ? 0.0 : bins[BinOf(t, t0, bins.size())];
  }
  // The bin of the day that unix time t falls in, the day counted from t0.
  static size_t BinOf(double t, double t0, size_t n_bins) {
    const double phase = std::fmod(t - t0, kDay);
    auto b = static_cast<long long>(std::llround(phase / kDay * static_cast<double>(n_bins)));
    b %= static_cast<long long>(n_bins);
    if (b < 0) b += static_cast<long long>(n_bins);
    return static_cast<size_t>(b);
  }
};

enum class CorrectionKind { kNone = 0, kAr = 1, kSmoothing = 2, kTrendSmoothing = 3 };

// The short-term correction (correction.h) and its state at the end of the history.
struct Correction {
  CorrectionKind kind = CorrectionKind::kNone;
  std::vector<double> phi;   // AR coefficients, phi[0] multiplies the newest residual
  std::vector<double> tail;  // newest residuals (scaled), oldest first, gaps filled
  double es_alpha = 0, es_rho = 1, es_level = 0;  // damped exponential smoothing
  // kTrendSmoothing (Holt's damped trend on the residuals, the level as kSmoothing's):
  // the trend's smoothing weight, its damping per step, its state at the end.
  double es_beta = 0, es_phi = 0, es_trend = 0;
  double end_shift = 0;  // level shift in progress at the end (detectors.h, EndShift)
  // Whether the shift-in-progress rule is used (in Fit and by Predict's `recent`): off
  // when, on this history, the runs it fired on fell back (detectors.h, EndShiftEarns).
  bool end_shift_rule = true;
  // The blend with the last value (blend.h): model_weight[h - 1] is the model's weight h
  // steps ahead (the last value has the rest; the last one holds beyond); empty = the
  // model alone. last_value is the newest observation (scaled).
  std::vector<double> model_weight;
  double last_value = 0;
  // Right after a jump (a residual beyond jump_clip, scaled, after one that was not:
  // correction.h, IsJump), jump_weight replaces model_weight: the weights the history's
  // own jumps chose (blend.h, ChooseJumpWeights); empty = too few of them, model_weight
  // holds after a jump too. last_resid and previous_resid: the newest two residuals of
  // the history (scaled, NaN = missing), to tell a jump at its end.
  std::vector<double> jump_weight;
  double jump_clip = 0;
  double last_resid = 0, previous_resid = 0;
  // The blend's third member, the seasonal-naive forecast (blend.h): season_weight[h - 1]
  // is its weight h steps ahead (empty = none; the last value has 1 - model - season);
  // season_period is the period in steps, season_values the newest kSeasonLookback
  // (correction.h) periods of observations of the history (scaled, oldest first, NaN =
  // missing; float: up to 3 days of a 15-s step, 17,280 values, are kept per object, and
  // a forecast member needs no more than float's 7 digits).
  std::vector<double> season_weight;
  size_t season_period = 0;
  std::vector<float> season_values;
};

// What the intervals are made of (intervals.h), in scaled units.
struct Intervals {
  double sigma = 0;             // robust residual scale
  std::vector<double> h_scale;  // mean |h-step error| for h = 1..H, in units of LevelWidth
  // Sorted pooled errors / (h_scale[h] * LevelWidth(level)): signed for skewed bands, else
  // absolute (symmetric bands); at most one of the two is filled.
  std::vector<double> std_abs;
  std::vector<double> std_signed;
  // Width of the errors at a raw level L: ((max(L, 0) + level_kappa) / level_norm)^level_power.
  double level_power = 0, level_kappa = 1, level_norm = 1;
  double trend_var_rate = 0;  // var of the trend at dts (scaled) ahead = rate * dts^3

  double LevelWidth(double raw_level) const {
    if (level_power == 0) return 1.0;
    const double r = (std::max(raw_level, 0.0) + level_kappa) / level_norm;
    if (level_power == 1) return r;
    if (level_power == 0.5) return std::sqrt(r);
    return std::pow(r, level_power);
  }
};

}  // namespace forecast::internal

namespace forecast {

struct Model::State {
  internal::Scaling scaling;
  bool constant = false;  // exact constant history: yhat = scaling.y_offset
  internal::Trend trend;
  std::vector<internal::Season> seasons;
  std::vector<internal::EventTerm> events;  // the fitted event effects
  std::vector<ExcludedPeriod> excluded;     // Options::exclude_periods (recent skips them)
  bool multiplicative = false;
  double mult_norm = 1;  // mean raw trend in the history
  double step_seconds = 1;
  double last_t = 0;  // newest observation (unix seconds)
  internal::DailyProfile profile;
  internal::Correction correction;
  internal::Intervals intervals;
  bool nonnegative = false;  // clamp forecasts and quantiles at 0

  // The factor multiplicative seasonalities are scaled by at trend value `tr`; 1 if additive.
  double SeasonFactor(double tr) const {
    return multiplicative ? (scaling.y_offset + scaling.y_scale * tr) / mult_norm : 1.0;
  }
  // The event effects at unix time t before the seasonal factor (scaled units).
  double EventsAt(double t) const {
    double v = 0;
    for (const internal::EventTerm& e : events) {
      if (e.Covers(t)) v += e.coef;
    }
    return v;
  }
  // Trend + daily profile + seasonalities + events at unix time t (scaled units, no
  // correction); the trend alone into *trend_out if given.
  double Deterministic(double t, double* trend_out = nullptr) const {
    const double tr = trend.At(scaling.ScaledTime(t));
    const double mult = SeasonFactor(tr);
    double v = tr + profile.At(t, scaling.t0);
    for (const internal::Season& s : seasons) v += mult * s.At(t, scaling.t0);
    if (!events.empty()) v += mult * EventsAt(t);
    if (trend_out != nullptr) *trend_out = tr;
    return v;
  }
};

}  // namespace forecast
