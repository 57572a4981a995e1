#include "forecast/internal/blend.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"

namespace forecast::internal {

namespace {

using Errors = std::vector<std::vector<double>>;

// One band's errors for the three-member grid, kept per thread and reused (a fit's blend
// fills them once per band; no allocation once they have grown): the last value's error
// e_n and the differences e_model - e_n and e_season - e_n.
struct SeasonScratch {
  std::vector<double> en, dm, ds;
};

// Sum over i of |en[i] + w dm[i] + s ds[i]| in four interleaved partial sums (independent
// additions, about one error per cycle).
double SumAbs(const SeasonScratch& b, double w, double s) {
  const size_t n = b.en.size();
  const double* en = b.en.data();
  const double* dm = b.dm.data();
  const double* ds = b.ds.data();
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 += std::abs(en[i] + w * dm[i] + s * ds[i]);
    a1 += std::abs(en[i + 1] + w * dm[i + 1] + s * ds[i + 1]);
    a2 += std::abs(en[i + 2] + w * dm[i + 2] + s * ds[i + 2]);
    a3 += std::abs(en[i + 3] + w * dm[i + 3] + s * ds[i + 3]);
  }
  for (; i < n; ++i) a0 += std::abs(en[i] + w * dm[i] + s * ds[i]);
  return (a0 + a1) + (a2 + a3);
}

// The three-member choice for the band [lo, hi) of steps ahead, given the two-member one
// (*chosen, its sum of |errors| `best`): the sum f(w, s) of |w e_model + s e_season +
// (1 - w - s) e_naive| for each (w, s > 0) on the grid, better than the two-member choice
// by more than kBlendSeasonMinGain of it (and more than rounding: a member equal to the
// last value is a tie); among equals the larger model weight, then the smaller seasonal
// one. Sets *chosen and *chosen_season when such a point exists.
//
// f is convex (a sum of absolute values of affine functions), so the plane through
// (w0, 0) along its gradient bounds it from below everywhere: f(w, s) >= best + g_w (w -
// w0) + g_s s. A grid point whose bound is not below the bar cannot be chosen and is not
// evaluated; where the seasonal member does not help, that is every point, and the
// search costs one pass over the errors instead of one per point (forecast_bench: a fit
// of 2,016 points spent a sixth of its time here before). Along each w the sum is convex
// in s too: s grows until it stops falling.
void SeasonBand(const Errors& model, const Errors& naive, const Errors& season, size_t lo,
                size_t hi, double best, double* chosen, double* chosen_season) {
  constexpr int K = kBlendWeightSteps;
  const double w0 = *chosen;
  double gw = 0, gs = 0;
  for (size_t h = lo; h < hi; ++h) {
    const std::vector<double>& em = model[h];
    const std::vector<double>& en = naive[h];
    const std::vector<double>& es = season[h];
    for (size_t i = 0; i < em.size() && i < en.size(); ++i) {
      const double dm = em[i] - en[i], ds = es[i] - en[i], r = en[i] + w0 * dm;
      const double sign = static_cast<double>((r > 0) - (r < 0));
      gw += sign * dm;
      gs += sign * ds;
    }
  }
  double bar = best * (1 - kBlendSeasonMinGain) - kBlendTieTolerance * best;
  // The two-member sums and SumAbs round differently: a bound within this of the bar is
  // evaluated.
  const double slack = 2 * kBlendTieTolerance * best;
  auto bound = [&](double w, double s) { return best + gw * (w - w0) + gs * s; };
  bool any = false;
  for (int k = 0; k < K && !any; ++k) {
    for (int j = 1; j <= K - k && !any; ++j) {
      any = bound(static_cast<double>(k) / K, static_cast<double>(j) / K) < bar + slack;
    }
  }
  if (!any) return;
  thread_local SeasonScratch band;
  band.en.clear();
  band.dm.clear();
  band.ds.clear();
  for (size_t h = lo; h < hi; ++h) {
    const std::vector<double>& em = model[h];
    const std::vector<double>& en = naive[h];
    for (size_t i = 0; i < em.size() && i < en.size(); ++i) {
      band.en.push_back(en[i]);
      band.dm.push_back(em[i] - en[i]);
      band.ds.push_back(season[h][i] - en[i]);
    }
  }
  const double inf = std::numeric_limits<double>::infinity();
  for (int k = K - 1; k >= 0; --k) {
    const double wk = static_cast<double>(k) / K;
    double previous_sum = inf;  // the last evaluated point's sum along this w
    for (int j = 1; j <= K - k; ++j) {
      const double sj = static_cast<double>(j) / K;
      if (!(bound(wk, sj) < bar + slack)) {
        previous_sum = inf;
        continue;
      }
      const double sum = SumAbs(band, wk, sj);
      if (!(sum < previous_sum) && j > 1) break;
      previous_sum = sum;
      if (sum < bar) {
        bar = sum;
        *chosen = wk;
        *chosen_season = sj;
      }
    }
  }
}

// The model's weights per band of steps ahead from the model's and the last value's
// errors, and with `season` (the seasonal-naive member's, or null) its weights into
// *season_weight; *first_count: how many errors the first band had.
std::vector<double> BandWeights(const Errors& model, const Errors& naive, const Errors* season,
                                size_t H, size_t* first_count,
                                std::vector<double>* season_weight = nullptr,
                                std::vector<double>* two_weight = nullptr) {
  constexpr int K = kBlendWeightSteps;
  std::vector<double> weight(H, 1.0);
  if (season_weight != nullptr) season_weight->assign(H, 0.0);
  if (two_weight != nullptr) two_weight->assign(H, 1.0);
  *first_count = 0;
  double previous = 1.0, previous_season = 0.0, previous_two = 1.0;
  for (size_t lo = 0; lo < H; lo = 2 * lo + 1) {
    const size_t hi = std::min(H, 2 * lo + 1);  // band [lo, hi): 1, 2-3, 4-7, 8-15 steps ahead
    // Sum |w e_model + (1 - w) e_naive| for each w on the grid: sums[k] for w = k / K.
    double sums[K + 1] = {};
    size_t count = 0;
    for (size_t h = lo; h < hi; ++h) {
      const std::vector<double>& em = model[h];
      const std::vector<double>& en = naive[h];
      for (size_t i = 0; i < em.size() && i < en.size(); ++i, ++count) {
        for (int k = 0; k <= K; ++k) {
          const double wk = static_cast<double>(k) / K;
          sums[k] += std::abs(wk * em[i] + (1 - wk) * en[i]);
        }
      }
    }
    double chosen = previous, chosen_season = previous_season, chosen_two = previous_two;
    if (count >= kBlendMinErrors) {
      chosen = 1.0;
      chosen_season = 0.0;
      double best = sums[K];
      for (int k = K - 1; k >= 0; --k) {
        if (sums[k] < best) {
          best = sums[k];
          chosen = static_cast<double>(k) / K;
        }
      }
      chosen_two = chosen;
      if (season != nullptr) {
        SeasonBand(model, naive, *season, lo, hi, best, &chosen, &chosen_season);
      }
    }
    for (size_t h = lo; h < hi; ++h) {
      weight[h] = chosen;
      if (season_weight != nullptr) (*season_weight)[h] = chosen_season;
      if (two_weight != nullptr) (*two_weight)[h] = chosen_two;
    }
    previous = chosen;
    previous_season = chosen_season;
    previous_two = chosen_two;
    if (lo == 0) *first_count = count;
  }
  return weight;
}

}  // namespace

BlendWeights ChooseBlendWeights(const Candidate& cand) {
  const size_t H = cand.errs.size();
  BlendWeights out;
  if (cand.model_errs.size() != H || cand.naive_errs.size() != H) {
    out.model.assign(H, 1.0);
    return out;
  }
  size_t first = 0;
  bool season = H > 0 && cand.season_errs.size() == H;
  for (size_t h = 0; season && h < H; ++h) {
    season = cand.season_errs[h].size() == cand.model_errs[h].size() &&
             cand.season_errs[h].size() == cand.naive_errs[h].size();
  }
  out.model = BandWeights(cand.model_errs, cand.naive_errs, season ? &cand.season_errs : nullptr,
                          H, &first, season ? &out.season : nullptr,
                          season ? &out.two : nullptr);
  return out;
}

std::vector<double> ChooseJumpWeights(const Candidate& cand) {
  const size_t H = cand.errs.size();
  if (H == 0 || cand.jump_model_errs.size() != H || cand.jump_naive_errs.size() != H) return {};
  size_t first = 0;
  std::vector<double> weight =
      BandWeights(cand.jump_model_errs, cand.jump_naive_errs, nullptr, H, &first);
  if (first < kBlendMinErrors) return {};
  return weight;
}

void FitBlend(Candidate& cand, const CorrectionWindow& w, const Scaling& scaling, double step,
              Correction& out, FitInfo& info) {
  BlendWeights chosen = ChooseBlendWeights(cand);
  std::vector<double>& weight = chosen.model;
  std::vector<double> jump = ChooseJumpWeights(cand);
  auto blends = [](const std::vector<double>& v) {
    return std::any_of(v.begin(), v.end(), [](double x) { return x < 1.0; });
  };
  const bool any = blends(weight);
  if (!any && !blends(jump)) return;
  const size_t H = cand.errs.size();
  const bool season = std::any_of(chosen.season.begin(), chosen.season.end(),
                                   [](double x) { return x > 0.0; });
  if (!season) chosen.season.assign(H, 0.0);
  const double last_resid = w.raw.empty() || std::isnan(w.raw.back()) ? 0.0 : w.raw.back();
  out.last_value = (w.fit.empty() ? 0.0 : w.fit.back()) + last_resid;
  auto at = [&](const std::vector<double>& v, double seconds) {
    const auto h = static_cast<size_t>(std::max(1.0, std::round(seconds / step)));
    return v[std::min(h, H) - 1];
  };
  auto last_share = [&](const std::vector<double>& v, double seconds) {
    return 1 - at(v, seconds);
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
    const double wh = season ? chosen.two[h] : weight[h];
    for (size_t i = 0; i < cand.errs[h].size(); ++i) {
      cand.errs[h][i] = wh * cand.model_errs[h][i] + (1 - wh) * cand.naive_errs[h][i];
      if (with_levels) {
        cand.levels[h][i] =
            scaling.ToRaw(wh * cand.model_fc[h][i] + (1 - wh) * cand.naive_fc[h][i]);
      }
    }
  }
  // The last value's share: 1 - model - season.
  std::vector<double> rest(H);
  for (size_t h = 0; h < H; ++h) rest[h] = weight[h] + chosen.season[h];
  const bool last_share_any = blends(rest);
  if (last_share_any || !season) {
    info.notes.push_back(absl::StrFormat(
        "blended with the last value (chosen by in-sample errors): its share %.0f%% at 10 min, "
        "%.0f%% at 1 h",
        100 * last_share(rest, 600), 100 * last_share(rest, kHour)));
  }
  if (season) {
    info.notes.push_back(absl::StrFormat(
        "blended with the seasonal-naive forecast (the median of the newest %d values whole "
        "%.4g s periods back, chosen by in-sample errors): its share %.0f%% at 10 min, %.0f%% "
        "at 1 h",
        kSeasonLookback, static_cast<double>(w.period) * step, 100 * at(chosen.season, 600),
        100 * at(chosen.season, kHour)));
    out.season_weight = std::move(chosen.season);
    out.season_period = w.period;
    out.season_values.assign(
        w.observed.end() - static_cast<std::ptrdiff_t>(kSeasonLookback * w.period),
        w.observed.end());
  }
  out.model_weight = std::move(weight);
}

}  // namespace forecast::internal
