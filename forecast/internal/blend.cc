#include "forecast/internal/blend.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"

namespace forecast::internal {

std::vector<double> ChooseBlendWeights(const Candidate& cand) {
  const size_t H = cand.errs.size();
  std::vector<double> weight(H, 1.0);
  const std::vector<std::vector<double>>& model = cand.model_errs;
  const std::vector<std::vector<double>>& naive = cand.naive_errs;
  if (model.size() != H || naive.size() != H) return weight;
  double previous = 1.0;
  for (size_t lo = 0; lo < H; lo = 2 * lo + 1) {
    const size_t hi = std::min(H, 2 * lo + 1);  // band [lo, hi): 1, 2, 3-4, 5-8 steps
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
  }
  return weight;
}

void FitBlend(Candidate& cand, const CorrectionWindow& w, const Scaling& scaling, double step,
              Correction& out, FitInfo& info) {
  std::vector<double> weight = ChooseBlendWeights(cand);
  const bool any = std::any_of(weight.begin(), weight.end(), [](double x) { return x < 1.0; });
  if (!any) return;
  const size_t H = cand.errs.size();
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
  const double last_resid = w.raw.empty() || std::isnan(w.raw.back()) ? 0.0 : w.raw.back();
  out.last_value = (w.fit.empty() ? 0.0 : w.fit.back()) + last_resid;
  out.model_weight = std::move(weight);
  auto last_share = [&](double seconds) {
    const auto h = static_cast<size_t>(std::max(1.0, std::round(seconds / step)));
    return 1 - out.model_weight[std::min(h, H) - 1];
  };
  info.notes.push_back(absl::StrFormat(
      "blended with the last value (chosen by in-sample errors): its share %.0f%% at 10 min, "
      "%.0f%% at 1 h",
      100 * last_share(600), 100 * last_share(kHour)));
}

}  // namespace forecast::internal
