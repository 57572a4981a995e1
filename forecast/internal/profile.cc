#include "forecast/internal/profile.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"
#include "forecast/internal/design.h"

namespace forecast::internal {

bool DailyProfileApplies(const Options& options, double span, double step) {
  return options.daily_profile && Covers(span, step, kProfileMinHistory) &&
         kDay / step >= kProfileMinBins && kDay / step <= kProfileMaxBins;
}

size_t ProfileBinCount(double step) { return static_cast<size_t>(std::llround(kDay / step)); }

std::vector<uint32_t> ProfileBinOfSlots(const ResidualGrid& grid, double t0, size_t bins) {
  std::vector<uint32_t> bin_of(grid.size());
  for (size_t gi = 0; gi < grid.size(); ++gi) {
    bin_of[gi] = static_cast<uint32_t>(DailyProfile::BinOf(grid.TimeOf(gi), t0, bins));
  }
  return bin_of;
}

std::vector<double> BuildProfile(const std::vector<double>& resid,
                                 const std::vector<uint32_t>& bin_of, size_t bins, size_t end,
                                 double step, double half_life_days, double sigma, double cut,
                                 bool* signal_ok) {
  std::vector<double> sum(bins, 0.0), wsum(bins, 0.0), w2sum(bins, 0.0);
  // Weights halve every half-life back from resid[end - 1], by recurrence.
  const double decay = std::exp2(-step / kDay / half_life_days);
  double wt = 1;
  for (size_t gi = end; gi-- > 0; wt *= decay) {
    const double r = resid[gi];
    if (std::isnan(r)) continue;
    const size_t bin = bin_of[gi];
    sum[bin] += wt * std::clamp(r, -cut, cut);
    wsum[bin] += wt;
    w2sum[bin] += wt * wt;
  }
  std::vector<double> profile(bins, 0.0);
  double signal = 0, noise = 0;
  for (size_t bin = 0; bin < bins; ++bin) {
    if (wsum[bin] <= 0) continue;
    const double mean = sum[bin] / wsum[bin];
    const double n_eff = wsum[bin] * wsum[bin] / w2sum[bin];
    const double v = sigma * sigma / n_eff;
    profile[bin] = mean * mean * mean / (mean * mean + v + 1e-300);  // 1e-300: no 0 / 0
    signal += mean * mean;
    noise += v;
  }
  *signal_ok = signal > kProfileSignalToNoise * noise;
  return profile;
}

ProfileFit FitDailyProfile(const std::vector<double>& resid, const std::vector<uint32_t>& bin_of,
                           size_t bins, double step, double half_life_days, double sigma,
                           double cut) {
  const size_t grid_n = resid.size();
  double half_life = half_life_days;
  if (grid_n >= kProfileMinDaysForChoice * bins) {
    const double candidates[] = {0, half_life / kProfileHalfLifeFactor, half_life,
                                 half_life * kProfileHalfLifeFactor};
    double best_err = std::numeric_limits<double>::infinity();
    for (double hl : candidates) {
      double err = 0;
      for (size_t fold = 1; fold <= kProfileFolds; ++fold) {
        const size_t end = grid_n - fold * bins;
        bool ok = false;
        std::vector<double> prof;
        if (hl > 0) prof = BuildProfile(resid, bin_of, bins, end, step, hl, sigma, cut, &ok);
        for (size_t gi = end; gi < end + bins; ++gi) {
          if (std::isnan(resid[gi])) continue;
          const double pv = ok ? prof[bin_of[gi]] : 0.0;
          err += std::abs(std::clamp(resid[gi], -cut, cut) - pv);
        }
      }
      if (err < best_err * (1 - kProfileTieMargin)) {
        best_err = err;
        half_life = hl;
      }
    }
  }
  ProfileFit fit;
  bool ok = false;
  std::vector<double> profile;
  if (half_life > 0) {
    profile = BuildProfile(resid, bin_of, bins, grid_n, step, half_life, sigma, cut, &ok);
  }
  if (ok) {
    fit.bins = std::move(profile);
    fit.half_life_days = half_life;
  }
  return fit;
}

void RemoveProfile(const std::vector<double>& profile, const std::vector<uint32_t>& bin_of,
                   ResidualGrid& grid) {
  for (size_t gi = 0; gi < grid.size(); ++gi) {
    if (std::isnan(grid.resid[gi])) continue;
    grid.resid[gi] -= profile[bin_of[gi]];
    grid.fit[gi] += profile[bin_of[gi]];
  }
}

void AddDailyProfile(const Options& options, double span, double t0, double sigma, double cut,
                     ResidualGrid& grid, DailyProfile& out, FitInfo& info) {
  const double step = grid.step;
  if (!DailyProfileApplies(options, span, step)) return;
  const size_t bins = ProfileBinCount(step);
  const std::vector<uint32_t> bin_of = ProfileBinOfSlots(grid, t0, bins);
  ProfileFit profile =
      FitDailyProfile(grid.resid, bin_of, bins, step, options.profile_half_life_days, sigma, cut);
  if (profile.bins.empty()) return;
  RemoveProfile(profile.bins, bin_of, grid);
  out.bins = std::move(profile.bins);
  info.notes.push_back(absl::StrFormat(
      "daily profile fitted on the residuals (half-life %.3g days)", profile.half_life_days));
}

}  // namespace forecast::internal
