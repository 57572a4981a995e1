#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Stage 7 of the fit, the
// blend with the last value (docs/forecast.md, "Blend with the last value"): from the
// same rolling origins as the intervals' errors (correction.h), the model's forecast
// (trend, seasonalities, profile and correction) and the newest observation's are
// compared step ahead by step ahead, and each horizon band gets the weight between the
// two with the smallest in-sample mean absolute error. A series the model cannot
// forecast (a transient pattern the seasonal terms learnt, rare spikes, noise around a
// level that steps) falls back towards its last value as far as its own history says,
// and the blend's errors are what the intervals are made of. Pure functions.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "forecast/forecast.h"
#include "forecast/internal/correction.h"
#include "forecast/internal/model_state.h"

namespace forecast::internal {

// The model's weight is chosen on a grid of kBlendWeightSteps + 1 values in [0, 1] (a
// tie keeps the larger weight: the model alone unless the last value helps).
inline constexpr int kBlendWeightSteps = 10;
// Horizons share a weight in bands that double in length (1, 2-3, 4-7, 8-15, ... steps):
// each band pools enough errors for a stable choice, and the weight is a step function
// of the horizon's logarithm, where the two forecasts' relative skill changes.
// A band with fewer than kBlendMinErrors errors takes the previous band's weight.
inline constexpr size_t kBlendMinErrors = 20;

// The model's weight for each step ahead 1..H (H = cand.errs.size()); all 1 when the
// candidate has no naive errors (Evaluate without with_naive).
std::vector<double> ChooseBlendWeights(const Candidate& cand);

// The model's weight for each step ahead 1..H right after a jump (correction.h, IsJump),
// from the history's jumps (EvaluateJumps) as ChooseBlendWeights does from all origins;
// empty when the first band has fewer than kBlendMinErrors of them. A jump is what the
// correction's clipped state cannot follow: where the history's jumps held for a while
// (bursts), the last value is the better forecast after one; where they fell back at
// once (spikes), the model is.
std::vector<double> ChooseJumpWeights(const Candidate& cand);

// Stage 7 as Fit runs it: chooses the weights, and when the last value gets any share,
// rewrites cand.errs and cand.levels as the blend's (for the intervals), sets
// out.model_weight and out.last_value (the newest observation), and notes the last
// value's share at 10 min and 1 h; sets out.jump_weight and out.jump_clip when the
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

// The blended forecast h >= 1 steps ahead (scaled units) of the model's `model_value`
// and the last value (right after a jump with the weights for one); the weight of the
// last step holds beyond it.
// The model's weight h steps ahead (1 without a blend or for h <= 0).
inline double ModelWeight(const Correction& c, long long h, bool after_jump = false) {
  const std::vector<double>& weight = after_jump ? c.jump_weight : c.model_weight;
  if (weight.empty() || h <= 0) return 1.0;
  return weight[std::min<size_t>(static_cast<size_t>(h), weight.size()) - 1];
}
inline double Blend(const Correction& c, long long h, double model_value, double last_value,
                    bool after_jump = false) {
  const double w = ModelWeight(c, h, after_jump);
  return w == 1.0 ? model_value : w * model_value + (1 - w) * last_value;
}

}  // namespace forecast::internal
