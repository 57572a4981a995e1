#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Stage 1 of the fit,
// preparation (docs/forecast.md, "Preparation" and "Fit"): cleaning, sorting and merging
// duplicates, scaling, the noise estimate the regression starts from, the regression's
// rows (binned for long histories) and their recency weights. Pure functions.

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "forecast/eigen_types.h"
#include "forecast/forecast.h"
#include "forecast/internal/model_state.h"

namespace forecast::internal {

// A step longer than this many median steps counts as a gap in the notes.
inline constexpr double kGapSteps = 1.5;
// A history whose range is below this share of its largest |value| (at least 1) is
// constant: flat model, zero-width intervals.
inline constexpr double kConstantRelativeRange = 1e-12;
// The point-to-point noise estimate is floored: below kMinPointNoise (scaled units, a
// series smooth to 1e-6 of its MAD) it is taken as kPointNoiseFallback.
inline constexpr double kMinPointNoise = 1e-6;
inline constexpr double kPointNoiseFallback = 1e-3;

struct CleanSeries {
  std::vector<double> t, y;  // sorted, unique timestamps; finite values
  size_t dropped = 0;        // non-finite timestamps or values dropped
};

// Drops non-finite points, sorts by time (stable) and averages duplicate timestamps.
// `series` must have as many values as timestamps.
CleanSeries Clean(const Series& series);

// Whether unix time t lies in one of `periods` ([start, end)).
bool Excluded(const std::vector<ExcludedPeriod>& periods, double t);

// Drops the points of `c` in Options::exclude_periods, before anything is fitted (so that
// the regression, the correction and the in-sample errors never see them). Fills
// info.exclusions (a point in two overlapping periods counts in both) and a note; returns
// the number of points dropped.
size_t DropExcluded(const std::vector<ExcludedPeriod>& periods, CleanSeries& c, FitInfo& info);

// The history as the later stages see it.
struct Prepared {
  std::vector<double> t;     // sorted unique timestamps (unix seconds)
  std::vector<double> ts;    // scaling.ScaledTime(t)
  Vector y;                  // scaled values
  double span = 0;           // t.back() - t.front()
  double step = 0;           // median spacing
  Scaling scaling;           // for a constant history only y_offset (the value) matters
  bool constant = false;     // exactly constant: nothing more to fit
  bool nonnegative = false;  // clamp forecasts at 0 (Options::clamp_nonnegative)
};

// Cleans the history, drops the excluded periods (DropExcluded) and scales it:
// t0 = first timestamp, t_scale = span; values centred
// on their median and scaled by their MAD (logit first for logistic growth). Sets
// info.points_used, history_seconds and step_seconds, and adds a note per adjustment.
// Errors: kFailedPrecondition (fewer than 2 finite points). `options` must be valid and
// `series` of equal lengths (Fit checks both).
absl::StatusOr<Prepared> Prepare(const Series& series, const Options& options, FitInfo& info);

// The noise between consecutive points, as a robust sigma of one point (scaled units):
// the starting point of the regression's residual scale, and the yardstick of the
// level-shift detector.
double PointToPointNoise(const Vector& y);

// The regression's rows: the points themselves or, for long histories, their means over
// time bins of a whole number of steps, weighted by their counts.
struct Rows {
  std::vector<double> t;   // mean timestamp of each row (unix seconds)
  std::vector<double> ts;  // the same, scaled
  Vector y;                // mean scaled value
  Vector count;            // points in each row
  Vector noise_scale;      // sqrt(count): a row's mean has noise sigma / noise_scale
  double step = 0;         // width of a bin (the history's step when not binned)
  size_t size() const { return t.size(); }
};

// With at most max_rows points, one row per point. Otherwise bins of
// k = ceil(n / max_rows) steps, aligned on scaling.t0 (a bin holds the points whose
// floor((t - t0) / (k step)) is equal; gaps give fewer, lighter rows). The Gram matrix
// costs rows x columns^2, so this bounds the fit's cost (docs/forecast.md, "Fit").
Rows BinRows(const std::vector<double>& t, const std::vector<double>& ts, const Vector& y,
             const Scaling& scaling, double step, size_t max_rows);

// The rows' regression weights: counts times recency (a row's weight halves every
// half_life_seconds back from newest_t; 0 = off), normalised to sum to n_points.
Vector RecencyWeights(const Rows& rows, double newest_t, double half_life_seconds, size_t n_points);

}  // namespace forecast::internal
