#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Stage 7 of the fit, the
// blend with the last value (docs/forecast.md, "Blend with the last value"): from the
// same rolling origins as the intervals' errors (correction.h), the model's forecast
// (trend, seasonalities, profile and correction) and the newest observation's are
// compared step ahead by step ahead, and each horizon band gets the weight between the
// two with the smallest in-sample mean absolute error. A series the model cannot
// forecast (a transient pattern the seasonal terms learnt, rare spikes, noise around a
// level that steps) falls back towards its last value as far as its own history says,
// and the blend's errors are what the intervals are made of. A third member, the
// seasonal-naive forecast (the median of the newest kSeasonLookback observations whole
// shortest fitted periods back: CorrectionWindow::SeasonalNaive), is weighed the same way
// where the window has a period: sharp periodic features (one-step spikes every hour) that
// the Fourier terms smear and the correction cannot keep up with beyond a step or two are
// what it forecasts. Its errors choose its weight but are not in the intervals: the
// intervals are made of the best blend of the other two (a member chosen because its
// in-sample errors were small makes a band too narrow out of sample). Pure functions.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "forecast/forecast.h"
#include "forecast/internal/correction.h"
#include "forecast/internal/model_state.h"

namespace forecast::internal {

// The model's weight is chosen on a grid of kBlendWeightSteps + 1 values in [0, 1] (a
// tie keeps the larger weight: the model alone unless the last value helps). With the
// seasonal-naive member, the three weights are chosen on the grid of multiples of
// 1 / kBlendWeightSteps that sum to 1, and the seasonal member gets a share only where
// that beats the best of the two others by more than kBlendSeasonMinGain of its mean
// |error| (so that a series where it does not clearly help keeps the two-member weights:
// with no margin, or 5-10 %, it took shares on the accuracy protocol's CPU series by
// in-sample chance and lost out of sample; docs/forecast.md, Results, the seasonal-naive
// member).
inline constexpr int kBlendWeightSteps = 10;
inline constexpr double kBlendSeasonMinGain = 0.2;
// Relative differences below this are rounding (a tie).
inline constexpr double kBlendTieTolerance = 1e-9;
// Horizons share a weight in bands that double in length (1, 2-3, 4-7, 8-15, ... steps):
// each band pools enough errors for a stable choice, and the weight is a step function
// of the horizon's logarithm, where the two forecasts' relative skill changes.
// A band with fewer than kBlendMinErrors errors takes the previous band's weight.
inline constexpr size_t kBlendMinErrors = 20;

// The members' weights for each step ahead 1..H (H = cand.errs.size()): the model's, and
// the seasonal-naive forecast's (empty when the candidate has no seasonal errors); the
// last value has the rest. The model's are all 1 when the candidate has no naive errors
// (Evaluate without with_naive).
struct BlendWeights {
  std::vector<double> model;
  std::vector<double> season;
  // With a seasonal member, the model's weight of the best blend without it (the model
  // and the last value alone): what the intervals are made of (FitBlend).
  std::vector<double> two;
};
BlendWeights ChooseBlendWeights(const Candidate& cand);

// The model's weight for each step ahead 1..H right after a jump (correction.h, IsJump),
// from the history's jumps (EvaluateJumps) as ChooseBlendWeights does from all origins;
// empty when the first band has fewer than kBlendMinErrors of them. A jump is what the
// correction's clipped state cannot follow: where the history's jumps held for a while
// (bursts), the last value is the better forecast after one; where they fell back at
// once (spikes), the model is.
std::vector<double> ChooseJumpWeights(const Candidate& cand);

// Stage 7 as Fit runs it: chooses the weights, and when the last value or the seasonal
// member gets any share, rewrites cand.errs and cand.levels as the blend's for the
// intervals (without the seasonal member: BlendWeights::two), sets out.model_weight and out.last_value (the newest observation), and
// notes the last value's share at 10 min and 1 h; with a seasonal share, also
// out.season_weight, out.season_period and out.season_values (the window's newest
// period) and a note of its share; sets out.jump_weight and out.jump_clip when the
// history's jumps chose weights.
void FitBlend(Candidate& cand, const CorrectionWindow& w, const Scaling& scaling, double step,
              Correction& out, FitInfo& info);

// Whether the newest two residuals (scaled, NaN = missing) are a jump that calls for
// the weights after one.
inline bool AfterJump(const Correction& c, double last_resid, double previous_resid) {
  if (c.jump_weight.empty()) return false;
  const std::vector<double> newest = {previous_resid, last_resid};
  return IsJump(newest, 1, c.jump_clip);
}

// The seasonal-naive member's weight h steps ahead (0 without one or for h <= 0); right
// after a jump it keeps its share (the jump weights split the rest between the model and
// the last value): a periodic spike is a jump, and the next one is what it forecasts.
inline double SeasonWeight(const Correction& c, long long h) {
  const std::vector<double>& weight = c.season_weight;
  if (weight.empty() || h <= 0) return 0.0;
  return weight[std::min<size_t>(static_cast<size_t>(h), weight.size()) - 1];
}
// The model's weight h steps ahead (1 without a blend or for h <= 0).
inline double ModelWeight(const Correction& c, long long h, bool after_jump = false) {
  if (after_jump) {
    if (c.jump_weight.empty() || h <= 0) return 1.0 - SeasonWeight(c, h);
    return (1.0 - SeasonWeight(c, h)) *
           c.jump_weight[std::min<size_t>(static_cast<size_t>(h), c.jump_weight.size()) - 1];
  }
  const std::vector<double>& weight = c.model_weight;
  if (weight.empty() || h <= 0) return 1.0;
  return weight[std::min<size_t>(static_cast<size_t>(h), weight.size()) - 1];
}
// The blended forecast h >= 1 steps ahead (scaled units) of the model's `model_value`,
// the last value and the seasonal-naive forecast `seasonal_value` (right after a jump
// with the weights for one); the weights of the last step hold beyond it.
inline double Blend(const Correction& c, long long h, double model_value, double last_value,
                    bool after_jump = false, double seasonal_value = 0) {
  const double w = ModelWeight(c, h, after_jump);
  const double s = SeasonWeight(c, h);
  if (s == 0) return w == 1.0 ? model_value : w * model_value + (1 - w) * last_value;
  return w * model_value + s * seasonal_value + (1 - w - s) * last_value;
}

}  // namespace forecast::internal
