#include "forecast/internal/intervals.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"
#include "forecast/stats.h"

namespace forecast::internal {
namespace {

using Errors = std::vector<std::vector<double>>;

std::vector<double> CandidatePowers(const Options& options, bool level_ok) {
  if (!level_ok || options.interval_level_power == 0) return {0.0};
  if (options.interval_level_power > 0) return {options.interval_level_power};
  return std::vector<double>(std::begin(kAutoLevelPowers), std::end(kAutoLevelPowers));
}

// The floor (kappa) as a share of the median level: how much of the noise at a level
// near 0 does not shrink with it. 1e-12 keeps the norm positive.
void SetFloor(double share, double median_level, double mean_level, Intervals& w) {
  w.level_kappa = std::max({share * median_level, kMinFloorOfMean * mean_level, 1e-12});
  w.level_norm = median_level + w.level_kappa;
}

struct WidthChoice {
  double power = 0, share = kDefaultFloorShare;
};

// The power and floor with the smallest Laplace negative log-likelihood of the errors
// with scale s_h * width(level), s_h at its maximum-likelihood value (the mean of
// |e| / width), up to a constant; on every `every`-th error of each horizon.
// log(width) = power * log(r), so one log per error serves every power.
WidthChoice ChooseWidth(const Errors& errs, const Errors& levels, const std::vector<double>& powers,
                        bool may_follow_level, double median_level, double mean_level,
                        size_t every) {
  const size_t H = errs.size();
  Intervals w;
  double best_nll = std::numeric_limits<double>::infinity();
  WidthChoice chosen;
  std::vector<double> log_r;
  for (double share : kLevelFloorShares) {
    SetFloor(share, median_level, mean_level, w);
    log_r.clear();
    if (may_follow_level) {
      for (size_t h = 0; h < H; ++h) {
        for (size_t i = 0; i < errs[h].size(); i += every) {
          log_r.push_back(std::log((std::max(levels[h][i], 0.0) + w.level_kappa) / w.level_norm));
        }
      }
    }
    for (double power : powers) {
      if (power == 0 && share != kDefaultFloorShare) continue;
      w.level_power = power;
      double nll = 0;
      size_t k = 0;
      for (size_t h = 0; h < H; ++h) {
        double sum = 0, logr = 0, cnt = 0;
        for (size_t i = 0; i < errs[h].size(); i += every, ++k, ++cnt) {
          sum += std::abs(errs[h][i]) / w.LevelWidth(levels[h][i]);
          if (power != 0) logr += log_r[k];
        }
        // 1e-300: all-zero errors have a finite log.
        if (cnt > 0) nll += cnt * std::log(std::max(sum / cnt, 1e-300)) + power * logr;
      }
      if (nll < best_nll) {
        best_nll = nll;
        chosen = {power, share};
      }
    }
  }
  return chosen;
}

// The median and mean of the (non-negative part of the) levels, on a deterministic
// subsample of about kMedianLevelSample.
void LevelStats(const Errors& levels, double* median_level, double* mean_level) {
  std::vector<double> all;
  size_t total_levels = 0;
  for (const auto& lv : levels) total_levels += lv.size();
  const size_t every_level = std::max<size_t>(1, total_levels / kMedianLevelSample);
  for (const auto& lv : levels) {
    for (size_t i = 0; i < lv.size(); i += every_level) all.push_back(std::max(lv[i], 0.0));
  }
  *median_level = stats::Median(all);
  for (double l : all) *mean_level += l / static_cast<double>(all.size());
}

// Mean |error| / width per step ahead, made non-decreasing.
std::vector<double> HorizonScales(const Errors& errs, const Errors& levels, const Intervals& w) {
  const size_t H = errs.size();
  std::vector<double> scale(H, 0.0);
  for (size_t h = 0; h < H; ++h) {
    double sum = 0;
    for (size_t i = 0; i < errs[h].size(); ++i)
      sum += std::abs(errs[h][i]) / w.LevelWidth(levels[h][i]);
    scale[h] = sum / static_cast<double>(errs[h].size());
    if (h > 0) scale[h] = std::max(scale[h], scale[h - 1]);
  }
  return scale;
}

// The standardised errors, signed (skewed) or absolute, sorted: a deterministic thinning
// (every k-th error in (h, origin) order) keeps the sort cheap; ~1000 values pin the
// quantiles of interest (5-95 %) to about a percent.
std::vector<double> PooledErrors(const Errors& errs, const Errors& levels,
                                 const std::vector<double>& scale, const Intervals& w, bool skewed,
                                 size_t total) {
  const size_t pool_every = total > kPoolThinAbove ? total / kPoolTarget : 1;
  std::vector<double> pooled;
  pooled.reserve(total / pool_every + 1);
  size_t index = 0;
  for (size_t h = 0; h < errs.size(); ++h) {
    for (size_t i = 0; i < errs[h].size(); ++i, ++index) {
      if (index % pool_every != 0) continue;
      const double u = errs[h][i] / (scale[h] * w.LevelWidth(levels[h][i]));
      pooled.push_back(skewed ? u : std::abs(u));
    }
  }
  std::sort(pooled.begin(), pooled.end());
  if (pooled.size() > kPoolKeep) {
    std::vector<double> sub(kPoolKeep);
    for (size_t i = 0; i < kPoolKeep; ++i) {
      sub[i] = pooled[(i * (pooled.size() - 1)) / (kPoolKeep - 1)];
    }
    pooled.swap(sub);
  }
  return pooled;
}

// Whether the errors are enough for empirical intervals, then the intervals from them.
bool EmpiricalIntervals(const Candidate& best, bool level_ok, const Options& options,
                        Intervals& out, FitInfo& info) {
  const Errors& errs = best.errs;
  const Errors& levels = best.levels;
  if (errs.empty()) return false;
  for (const auto& e : errs) {
    if (e.size() < kMinErrorsPerHorizon) return false;
  }
  const std::vector<double> powers = CandidatePowers(options, level_ok);
  const bool may_follow_level = powers.size() > 1 || powers[0] != 0;
  double median_level = 0, mean_level = 0;
  if (may_follow_level) LevelStats(levels, &median_level, &mean_level);
  size_t total = 0;
  for (const auto& e : errs) total += e.size();
  const size_t every = std::max<size_t>(1, total / kLikelihoodSample);
  const WidthChoice chosen =
      ChooseWidth(errs, levels, powers, may_follow_level, median_level, mean_level, every);
  out.level_power = chosen.power;
  SetFloor(chosen.share, median_level, mean_level, out);
  if (may_follow_level) {
    info.notes.push_back(absl::StrFormat(
        "interval width follows the level to the power %.1f, floor %.2f of the median "
        "level (chosen %s)",
        chosen.power, chosen.share, powers.size() > 1 ? "by likelihood" : "from the options"));
  }
  std::vector<double> scale = HorizonScales(errs, levels, out);
  if (!(scale[0] > 0)) return false;
  std::vector<double> pooled =
      PooledErrors(errs, levels, scale, out, options.skewed_intervals, total);
  if (options.interval_recalibration && best.window_in_history) {
    const double k = RecalibrationFactor(errs, levels, scale, out,
                                         std::max<size_t>(1, total / kRecalibrationSample));
    if (k != 1.0) {
      for (double& s : scale) s *= k;
      info.notes.push_back(absl::StrFormat(
          "interval width x %.2f: how the band of the older half of the in-sample errors "
          "covered the newer half",
          k));
    }
  }
  out.h_scale = std::move(scale);
  (options.skewed_intervals ? out.std_signed : out.std_abs) = std::move(pooled);
  return true;
}

}  // namespace

double RecalibrationFactor(const Errors& errs, const Errors& levels,
                           const std::vector<double>& scale, const Intervals& width,
                           size_t every) {
  // Each step ahead starts at its own offset, so that a subsample covers the origins.
  auto split_of = [](size_t n) {
    return static_cast<size_t>(kRecalibrationSplit * static_cast<double>(n));
  };
  auto taken = [every](size_t from, size_t to) {
    return to > from ? (to - from + every - 1) / every : 0;
  };
  size_t n_older = 0, n_newer = 0;
  for (size_t h = 0; h < errs.size(); ++h) {
    const size_t n = errs[h].size(), split = split_of(n), first = h % every;
    const size_t in_older = taken(first, split);
    n_older += in_older;
    n_newer += taken(first + in_older * every, n);
  }
  std::vector<double> older(n_older), newer(n_newer);
  double* o = older.data();
  double* w = newer.data();
  for (size_t h = 0; h < errs.size(); ++h) {
    const std::vector<double>& e = errs[h];
    const std::vector<double>& l = levels[h];
    const size_t split = split_of(e.size());
    const double inv = 1 / scale[h];
    size_t i = h % every;
    for (; i < split; i += every) *o++ = std::abs(e[i]) * inv / width.LevelWidth(l[i]);
    for (; i < e.size(); i += every) *w++ = std::abs(e[i]) * inv / width.LevelWidth(l[i]);
  }
  if (older.size() < kMinRecalibrationErrors || newer.size() < kMinRecalibrationErrors) return 1.0;
  auto quantile = [](std::vector<double>& v) {
    const auto k = static_cast<size_t>(kRecalibrationCoverage * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };
  const double q_older = quantile(older), q_newer = quantile(newer);
  if (!(q_older > 0) || !(q_newer > 0) || !std::isfinite(q_older / q_newer)) return 1.0;
  return q_newer / q_older;
}

double TrendVarianceRate(const std::vector<double>& delta) {
  const int n_cp = static_cast<int>(delta.size());
  if (n_cp == 0) return 0;
  double mean_abs = 0;
  for (int j = 0; j < n_cp; ++j) mean_abs += std::abs(delta[j]) / n_cp;
  return static_cast<double>(n_cp) * 2 * mean_abs * mean_abs / 3.0;
}

void FitIntervals(const Candidate& best, bool level_ok, const Options& options, Intervals& out,
                  FitInfo& info) {
  if (!EmpiricalIntervals(best, level_ok, options, out, info)) {
    out.level_power = 0;
    info.notes.push_back("too little history for empirical intervals: normal intervals");
  }
}

double NormalQuantile(double p) {
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return std::numeric_limits<double>::infinity();
  if (p == 0.5) return 0;
  double x = std::sqrt(-2 * std::log(std::min(p, 1 - p)));  // rough tail start
  x = p < 0.5 ? -x : x;
  x = std::clamp(x, -8.0, 8.0);
  for (int i = 0; i < 50; ++i) {
    const double cdf = 0.5 * std::erfc(-x / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * x * x) / std::sqrt(kTwoPi);
    if (pdf < 1e-300) break;
    const double dx = (cdf - p) / pdf;
    x -= std::clamp(dx, -1.0, 1.0);
    if (std::abs(dx) < 1e-13) break;
  }
  return x;
}

BandShape ShapeOf(const Intervals& iv, const std::vector<double>& quantile_levels) {
  BandShape b;
  b.z.resize(quantile_levels.size());
  b.emp.resize(quantile_levels.size());
  for (size_t i = 0; i < quantile_levels.size(); ++i) {
    const double q = quantile_levels[i];
    const double a = std::abs(2 * q - 1);
    b.z[i] = NormalQuantile(0.5 + a / 2);
    const double sign = q < 0.5 ? -1.0 : 1.0;
    if (!iv.std_signed.empty()) {
      b.emp[i] = stats::SortedQuantile(iv.std_signed, q);
    } else {
      b.emp[i] = sign * (iv.std_abs.empty() ? b.z[i] : stats::SortedQuantile(iv.std_abs, a));
    }
  }
  if (iv.h_scale.size() >= kMinHorizonsForGrowth) {
    const double r = iv.h_scale.back() / iv.h_scale[iv.h_scale.size() / 2 - 1];
    b.growth = std::clamp(std::log2(r), 0.0, 1.0);
  }
  return b;
}

double ErrorScale(const Intervals& iv, const BandShape& shape, long long steps) {
  if (steps <= 0 || iv.h_scale.empty()) return iv.sigma;
  const double H = static_cast<double>(iv.h_scale.size());
  const double h = static_cast<double>(steps);
  return h <= H ? iv.h_scale[steps - 1] : iv.h_scale.back() * std::pow(h / H, shape.growth);
}

double BandOffset(double e, double tr, double sign) {
  return e * sign >= 0 ? sign * std::hypot(e, tr) : e + sign * tr;
}

}  // namespace forecast::internal
