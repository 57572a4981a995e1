#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Stage 4 of the fit, the
// detectors that look at the regression's residuals and extend the model: an hourly
// seasonality (docs/forecast.md, "Seasonalities"), one level shift inside the history
// ("Trend"), and a level shift in progress at its end ("Short-term correction"). Pure
// functions.

#include <cstddef>
#include <optional>
#include <vector>

#include "forecast/eigen_types.h"
#include "forecast/forecast.h"
#include "forecast/internal/design.h"
#include "forecast/internal/prepare.h"

namespace forecast::internal {

// --- hourly seasonality (with auto seasonality, unless a 1 h period is listed) ---
// Only on at least 2 days of history, at least 6 rows per hour, and at least
// kHourlyRowsPerColumn rows per column of the design (plus kHourlySpareColumns).
inline constexpr double kHourlyMinHistory = 2 * kDay;
inline constexpr double kHourlyMaxRowStep = 600;
inline constexpr int kHourlyRowsPerColumn = 20;
inline constexpr int kHourlySpareColumns = 8;
// Residuals are clipped at kHourlyClipSigmas sigma; a phase bin needs a weight of at least
// kHourlyMinBinWeight points; the pattern is kept when the energy of the bin means is
// more than kHourlySignalToNoise times their noise's (docs/forecast.md, "Seasonalities":
// "more than 20 times above its noise").
inline constexpr double kHourlyClipSigmas = 3;
inline constexpr double kHourlyMinBinWeight = 2;
inline constexpr double kHourlySignalToNoise = 20;
inline constexpr int kHourlyMaxOrder = 5;

// Whether the hourly detector runs on this fit at all.
bool HourlyDetectorApplies(const Options& options, const Structure& structure, double span,
                           double step, const Rows& rows);

// The residuals' (weighted) mean by phase of the hour, one bin per row step, against its
// noise (sigma^2 / weight per bin). Returns the Fourier order of the hourly seasonality
// to add (min(kHourlyMaxOrder, Nyquist of the row step)), or 0 when there is no pattern.
// `resid` are the rows' residuals, `sigma` one point's residual scale, t0 the phase origin.
int DetectHourly(const Rows& rows, const Vector& resid, double t0, double sigma);

// Whether the hourly seasonality the detector found holds on the newest part of the
// history: on the rows after `since` (unix seconds; Fit passes the start of the
// short-term correction's window, ar_window_seconds back from the newest point), the
// (count-weighted) mean |residual| of the fit with it, each clipped at kHourlyClipSigmas
// sigma, must be below the fit's without it. A pattern that a transient episode taught
// the fit (periodic spikes that stopped days ago) raises the newest errors and is
// dropped; one that still repeats lowers them. `with` and `without` are the two fits'
// row residuals, `sigma` the residual scale of the fit without it. With fewer than
// kHourlyMinHoldRows such rows the pattern is kept (nothing to judge it by).
inline constexpr size_t kHourlyMinHoldRows = 50;
bool HourlyHolds(const Rows& rows, const Vector& with, const Vector& without, double since,
                 double sigma);

// --- one level shift inside the history (Options::detect_level_shifts) ---
// At least kShiftMinRows rows; each side at least max(kShiftMinSegment, rows /
// kShiftSegmentDivisor) rows. The jump (the median of up to kShiftLocalWindow residuals
// after the split minus that of as many before) must exceed kShiftMinJumpPointNoise times
// the point-to-point noise and kShiftMinJumpResidual times the residual scale
// (docs/forecast.md, "Trend").
inline constexpr size_t kShiftMinRows = 50;
inline constexpr size_t kShiftMinSegment = 12;
inline constexpr size_t kShiftSegmentDivisor = 50;
inline constexpr size_t kShiftLocalWindow = 24;
inline constexpr double kShiftMinJumpPointNoise = 6;
inline constexpr double kShiftMinJumpResidual = 2.5;

struct LevelShift {
  size_t row = 0;   // first row after the shift
  double jump = 0;  // scaled units
};

// The split that best separates the residuals' means (the largest two-sample statistic
// |mean_after - mean_before| sqrt(n1 n2 / n)), if its local jump is sharp and large
// enough: a real shift is sharp, drift is not. sigma0 = PointToPointNoise, sigma = the
// residual scale.
std::optional<LevelShift> DetectLevelShift(const Vector& resid, double sigma0, double sigma);

// --- a level shift in progress at the end of the history ---
// The newest residuals (looking back over at most kEndShiftLookback of them) all beyond
// kEndShiftSigmas sigma on the same side, at least kEndShiftMinRun of them, move the
// level to the smallest (in magnitude) of the newest kEndShiftMinRun: the level the run
// has held. A shift holds it (and a ramp's newest steps give it); a spike that is
// falling back does not, and the median would follow the spike. docs/forecast.md,
// "Short-term correction".
inline constexpr size_t kEndShiftLookback = 24;
inline constexpr double kEndShiftSigmas = 3;
inline constexpr size_t kEndShiftMinRun = 3;

// `r` oldest first, NaN = missing (skipped). Returns the shift (scaled units), else 0.
double EndShift(const std::vector<double>& r, double sigma);
// The same on r[0, end): the rule as it would have fired at the slot end - 1.
double EndShiftAt(const std::vector<double>& r, size_t end, double sigma);

// Whether the rule earns its keep on this history: at every slot of `r` where it would
// have fired, the mean |residual| over the next `horizon` slots around the shift it
// proposed against around 0 (no shift). A history where it never fired keeps the rule;
// one where the runs it fired on were spikes that fell back (the shift did worse)
// turns it off. *fired (if given) = how many times it fired.
bool EndShiftEarns(const std::vector<double>& r, double sigma, size_t horizon,
                   size_t* fired = nullptr);

}  // namespace forecast::internal
