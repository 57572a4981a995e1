#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Stage 7 of the fit, the
// intervals (docs/forecast.md, "Intervals"): the chosen correction's in-sample h-step
// errors, measured in units of the width the forecast's level calls for
// ((level + floor) / norm)^power with power and floor chosen by the Laplace likelihood,
// give a scale per step ahead (non-decreasing) and a pooled, standardised error
// distribution (signed for skewed bands, absolute for symmetric ones); trend uncertainty
// is Prophet's generative assumption in closed form. Predict turns them into quantiles.
// Pure functions.

#include <cstddef>
#include <vector>

#include "forecast/forecast.h"
#include "forecast/internal/correction.h"
#include "forecast/internal/model_state.h"

namespace forecast::internal {

// Each step ahead needs at least this many in-sample errors, else normal intervals.
inline constexpr size_t kMinErrorsPerHorizon = 20;
// Candidate powers of the level-following width with interval_level_power -1 (auto),
// and candidate floors as shares of the median level ("0.02, 0.1 or 0.5 of the median
// level"); kDefaultFloorShare is the one kept when the power is 0 (the floor does not
// matter then). The floor is at least kMinFloorOfMean of the mean level.
inline constexpr double kAutoLevelPowers[] = {0.0, 0.5, 1.0};
inline constexpr double kLevelFloorShares[] = {0.02, 0.1, 0.5};
inline constexpr double kDefaultFloorShare = 0.1;
inline constexpr double kMinFloorOfMean = 1e-3;
// Deterministic subsamples: about kMedianLevelSample levels for the median level and
// about kLikelihoodSample errors to score the powers ("about 1000 of the in-sample
// errors"); the pooled errors are thinned to about kPoolTarget once there are more than
// kPoolThinAbove, then kept at kPoolKeep evenly spaced order statistics.
inline constexpr size_t kMedianLevelSample = 2000;
inline constexpr size_t kLikelihoodSample = 1000;
inline constexpr size_t kPoolThinAbove = 1500;
inline constexpr size_t kPoolTarget = 1000;
inline constexpr size_t kPoolKeep = 1000;
// Out-of-time recalibration (Options::interval_recalibration): the in-sample errors of
// each step ahead are split in time at this share (halves), and the central
// kRecalibrationCoverage band of the older part's |standardised errors| is compared
// with the newer part's (the ratio of their quantiles scales the width). Fewer than
// kMinRecalibrationErrors errors on either side: no recalibration.
inline constexpr double kRecalibrationSplit = 0.5;
inline constexpr double kRecalibrationCoverage = 0.8;
inline constexpr size_t kMinRecalibrationErrors = 50;
// It is measured on about this many errors, each step ahead from its own offset so that
// every origin counts (errors from one origin are correlated: the origins, about 200 a
// side, are what bound the factor's precision, not the subsample).
inline constexpr size_t kRecalibrationSample = 2000;

// The variance rate of the trend's uncertainty: future rate changes as frequent as the
// candidates in the history, Laplace with the fitted mean |delta| = b, so that the
// trend's variance dts (scaled time) ahead is rate * dts^3 with rate = n_cp 2 b^2 / 3.
// 0 without changepoints.
double TrendVarianceRate(const std::vector<double>& delta);

// The intervals from the chosen correction's errors (`best.errs`, `best.levels`; with
// options.interval_recalibration and best.window_in_history, recalibrated out of time
// by RecalibrationFactor): fills
// `out` (but sigma and trend_var_rate) and notes the width's choice; without enough
// errors (kMinErrorsPerHorizon at every step ahead, a non-zero scale) the intervals stay
// normal and the note says so. `level_ok`: the width may follow the level (non-negative
// history, not logistic).
void FitIntervals(const Candidate& best, bool level_ok, const Options& options, Intervals& out,
                  FitInfo& info);

// The out-of-time recalibration factor of the width: the kRecalibrationCoverage quantile
// of |errs[h][i]| / (scale[h] * width.LevelWidth(levels[h][i])) (errors in origin order)
// over the newer part of each step ahead's errors (split at kRecalibrationSplit) divided
// by the same over the older part, on every `every`-th error (each step ahead from its
// own offset); 1 when either part has fewer than kMinRecalibrationErrors or a quantile
// is 0.
double RecalibrationFactor(const std::vector<std::vector<double>>& errs,
                           const std::vector<std::vector<double>>& levels,
                           const std::vector<double>& scale, const Intervals& width,
                           size_t every);

// --- Predict ---
// Beyond the measured horizons, the error scale grows as (h / H)^growth with growth the
// log2 of its growth over the last doubling of h, clamped to [0, 1]; kDefaultGrowth
// (random walk-like) when fewer than kMinHorizonsForGrowth steps were measured.
inline constexpr double kDefaultGrowth = 0.5;
inline constexpr size_t kMinHorizonsForGrowth = 4;

// Inverse of the standard normal CDF, by Newton's method on erfc (accurate to ~1e-12).
double NormalQuantile(double p);

// What each quantile level asks of the band.
struct BandShape {
  std::vector<double> z;    // normal quantile of the central interval (trend uncertainty)
  std::vector<double> emp;  // empirical error quantile in units of the h-step scale, signed
  double growth = kDefaultGrowth;
};
BandShape ShapeOf(const Intervals& iv, const std::vector<double>& quantile_levels);

// The error scale `steps` steps after the newest observation (sigma when none were
// measured or steps <= 0), before LevelWidth.
double ErrorScale(const Intervals& iv, const BandShape& shape, long long steps);

// The offset of a quantile from the median: the error quantile e and the trend's
// uncertainty tr add in quadrature on the level's side of the median (sign); an error
// quantile on the other side (a skewed median) is kept as it is.
double BandOffset(double e, double tr, double sign);

}  // namespace forecast::internal
