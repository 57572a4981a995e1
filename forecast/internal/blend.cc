#include "forecast/internal/blend.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"

namespace forecast::internal {

namespace {

using Errors = std::vector<std::vector<double>>;

// The weights per band of steps ahead from the model's and the last value's errors;
// *first_count: how many errors the first band had.
std::vector<double> BandWeights(const Errors& model, const Errors& naive, size_t H,
                                size_t* first_count) {
  std::vector<double> weight(H, 1.0);
  *first_count = 0;
  double previous = 1.0;
  for (size_t lo = 0; lo < H; lo = 2 * lo + 1) {
    const size_t hi = std::min(H, 2 * lo + 1);  // band [lo, hi): 1, 2-3, 4-7, 8-15 steps ahead
    // Mean |w e_model + (1 - w) e_naive| for each w on the grid.
    double sums[kBlendWeightSteps + 1] = {};
    size_t count = 0;
    for (size_t h = lo; h < hi; ++h) {
      const std::vector<double>& em = model[h];
      const std::vector<double>& en = naive[h];
      for (size_t i = 0; i < em.size() && i < en.size(); ++i, ++count) {
        for (int k = 0; k <= kBlendWeightSteps; ++k) {
          const double wk = static_cast<double>(k) / kBlendWeightSteps;
          sums[k] += std::abs(wk * em[i] + (1 - wk) * en[i]);
        }
      }
    }
    double chosen = previous;
    if (count >= kBlendMinErrors) {
      chosen = 1.0;
      double best = sums[kBlendWeightSteps];
      for (int k = kBlendWeightSteps - 1; k >= 0; --k) {
        if (sums[k] < best) {
          best = sums[k];
          chosen = static_cast<double>(k) / kBlendWeightSteps;
        }
      }
    }
    for (size_t h = lo; h < hi; ++h) weight[h] = chosen;
    previous = chosen;
    if (lo == 0) *first_count = count;
  }
  return weight;
}

}  // namespace

std::vector<double> ChooseBlendWeights(const Candidate& cand) {
  const size_t H = cand.errs.size();
  if (cand.model_errs.size() != H || cand.naive_errs.size() != H) {
    return std::vector<double>(H, 1.0);
  }
  size_t first = 0;
  return BandWeights(cand.model_errs, cand.naive_errs, H, &first);
}

std::vector<double> ChooseJumpWeights(const Candidate& cand) {
  const size_t H = cand.errs.size();
  if (H == 0 || cand.jump_model_errs.size() != H || cand.jump_naive_errs.size() != H) return {};
  size_t first = 0;
  std::vector<double> weight = BandWeights(cand.jump_model_errs, cand.jump_naive_errs, H, &first);
  if (first < kBlendMinErrors) return {};
  return weight;
}

void FitBlend(Candidate& cand, const CorrectionWindow& w, const Scaling& scaling, double step,
              Correction& out, FitInfo& info) {
  std::vector<double> weight = ChooseBlendWeights(cand);
  std::vector<double> jump = ChooseJumpWeights(cand);
  auto blends = [](const std::vector<double>& v) {
    return std::any_of(v.begin(), v.end(), [](double x) { return x < 1.0; });
  };
  const bool any = blends(weight);
  if (!any && !blends(jump)) return;
  const size_t H = cand.errs.size();
  const double last_resid = w.raw.empty() || std::isnan(w.raw.back()) ? 0.0 : w.raw.back();
  out.last_value = (w.fit.empty() ? 0.0 : w.fit.back()) + last_resid;
  auto last_share = [&](const std::vector<double>& v, double seconds) {
    const auto h = static_cast<size_t>(std::max(1.0, std::round(seconds / step)));
    return 1 - v[std::min(h, H) - 1];
  };
  out.last_resid = w.raw.empty() ? 0.0 : w.raw.back();
  out.previous_resid = w.raw.size() < 2 ? 0.0 : w.raw[w.raw.size() - 2];
  if (!jump.empty()) {
    info.notes.push_back(absl::StrFormat(
        "right after a jump beyond %.4g of the model (%d in the history), the last value's "
        "share %.0f%% at 10 min, %.0f%% at 1 h",
        w.clip * scaling.y_scale, cand.jump_model_errs[0].size(), 100 * last_share(jump, 600),
        100 * last_share(jump, kHour)));
    out.jump_weight = std::move(jump);
    out.jump_clip = w.clip;
  }
  if (!any) return;
  const bool with_levels = cand.model_fc.size() == H && cand.levels.size() == H;
  for (size_t h = 0; h < H; ++h) {
    const double wh = weight[h];
    for (size_t i = 0; i < cand.errs[h].size(); ++i) {
      cand.errs[h][i] = wh * cand.model_errs[h][i] + (1 - wh) * cand.naive_errs[h][i];
      if (with_levels) {
        cand.levels[h][i] =
            scaling.ToRaw(wh * cand.model_fc[h][i] + (1 - wh) * cand.naive_fc[h][i]);
      }
    }
  }
  out.model_weight = std::move(weight);
  info.notes.push_back(absl::StrFormat(
      "blended with the last value (chosen by in-sample errors): its share %.0f%% at 10 min, "
      "%.0f%% at 1 h",
      100 * last_share(out.model_weight, 600), 100 * last_share(out.model_weight, kHour)));
}

}  // namespace forecast::internal
