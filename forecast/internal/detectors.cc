#include "forecast/internal/detectors.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "forecast/stats.h"

namespace forecast::internal {

bool HourlyDetectorApplies(const Options& options, const Structure& structure, double span,
                           double step, const Rows& rows) {
  const bool hourly_listed =
      std::any_of(structure.wanted.begin(), structure.wanted.end(), [](const Seasonality& s) {
        return std::abs(s.period_seconds - kHour) < kPeriodToleranceSeconds;
      });
  return options.auto_seasonality && !hourly_listed && Covers(span, step, kHourlyMinHistory) &&
         rows.step <= kHourlyMaxRowStep &&
         static_cast<int>(rows.size()) >
             kHourlyRowsPerColumn * (structure.Columns() + kHourlySpareColumns);
}

int DetectHourly(const Rows& rows, const Vector& resid, double t0, double sigma) {
  const size_t bins = static_cast<size_t>(std::llround(kHour / rows.step));
  std::vector<double> sum(bins, 0.0), cnt(bins, 0.0);
  const double cut = kHourlyClipSigmas * sigma;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto b = static_cast<long long>(std::llround(std::fmod(rows.t[i] - t0, kHour) / rows.step));
    b %= static_cast<long long>(bins);
    const double k = rows.noise_scale[i] * rows.noise_scale[i];
    sum[static_cast<size_t>(b)] += k * std::clamp(static_cast<double>(resid[i]), -cut, cut);
    cnt[static_cast<size_t>(b)] += k;
  }
  double signal = 0, noise = 0;
  for (size_t b = 0; b < bins; ++b) {
    if (cnt[b] < kHourlyMinBinWeight) continue;
    signal += (sum[b] / cnt[b]) * (sum[b] / cnt[b]);
    noise += sigma * sigma / cnt[b];
  }
  if (!(signal > kHourlySignalToNoise * noise)) return 0;
  const int order =
      std::min(kHourlyMaxOrder, static_cast<int>(std::floor((kHour / rows.step - 1) / 2)));
  return std::max(order, 0);
}

bool HourlyHolds(const Rows& rows, const Vector& with, const Vector& without, double since,
                 double sigma) {
  const double cut = kHourlyClipSigmas * sigma;
  double e_with = 0, e_without = 0;
  size_t n = 0;
  for (size_t i = rows.size(); i-- > 0 && rows.t[i] > since;) {
    const double k = rows.count[i];
    e_with += k * std::min(std::abs(static_cast<double>(with[i])), cut);
    e_without += k * std::min(std::abs(static_cast<double>(without[i])), cut);
    ++n;
  }
  return n < kHourlyMinHoldRows || e_with < e_without;
}

std::optional<LevelShift> DetectLevelShift(const Vector& resid, double sigma0, double sigma) {
  const size_t nr = static_cast<size_t>(resid.size());
  if (nr < kShiftMinRows) return std::nullopt;
  const size_t min_seg = std::max<size_t>(kShiftMinSegment, nr / kShiftSegmentDivisor);
  std::vector<double> cum(nr + 1, 0.0);
  for (size_t i = 0; i < nr; ++i) cum[i + 1] = cum[i] + resid[i];
  double best = 0;
  size_t best_k = 0;
  for (size_t k = min_seg; k + min_seg <= nr; ++k) {
    const double n1 = static_cast<double>(k), n2 = static_cast<double>(nr - k);
    const double diff = (cum[nr] - cum[k]) / n2 - cum[k] / n1;
    const double stat = std::abs(diff) * std::sqrt(n1 * n2 / static_cast<double>(nr));
    if (stat > best) {
      best = stat;
      best_k = k;
    }
  }
  if (best_k == 0) return std::nullopt;
  const size_t wlen = std::min<size_t>(min_seg, kShiftLocalWindow);
  std::vector<double> before(resid.data() + best_k - wlen, resid.data() + best_k);
  std::vector<double> after(resid.data() + best_k, resid.data() + best_k + wlen);
  const double jump = stats::Median(after) - stats::Median(before);
  if (std::abs(jump) > kShiftMinJumpPointNoise * sigma0 &&
      std::abs(jump) > kShiftMinJumpResidual * sigma) {
    return LevelShift{best_k, jump};
  }
  return std::nullopt;
}

double EndShift(const std::vector<double>& r, double sigma) {
  return EndShiftAt(r, r.size(), sigma);
}

double EndShiftAt(const std::vector<double>& r, size_t end, double sigma) {
  // The newest kEndShiftMinRun of the run decide; the rest only has to be counted (no
  // vector: EndShiftEarns calls this at every residual beyond the cut, thousands a fit).
  std::array<double, kEndShiftMinRun> newest{};
  size_t run = 0;
  int sign = 0;
  for (size_t i = std::min(end, r.size()); i-- > 0 && run < kEndShiftLookback;) {
    if (std::isnan(r[i])) continue;
    const double cut = kEndShiftSigmas * sigma;
    const int sg = r[i] > cut ? 1 : (r[i] < -cut ? -1 : 0);
    if (sg == 0 || (sign != 0 && sg != sign)) break;
    sign = sg;
    if (run < kEndShiftMinRun) newest[run] = r[i];
    ++run;
  }
  if (run < kEndShiftMinRun) return 0.0;
  // newest first: of equal magnitudes, the newest
  return *std::min_element(newest.begin(), newest.end(),
                           [](double a, double b) { return std::abs(a) < std::abs(b); });
}

bool EndShiftEarns(const std::vector<double>& r, double sigma, size_t horizon, size_t* fired) {
  const double cut = kEndShiftSigmas * sigma;
  double with_shift = 0, without = 0;
  size_t n = 0;
  for (size_t o = kEndShiftMinRun; o + 1 < r.size(); ++o) {
    if (!(std::abs(r[o]) > cut)) continue;  // the newest residual must be beyond the cut
    const double shift = EndShiftAt(r, o + 1, sigma);
    if (shift == 0) continue;
    ++n;
    for (size_t h = 1; h <= horizon && o + h < r.size(); ++h) {
      if (std::isnan(r[o + h])) continue;
      with_shift += std::abs(r[o + h] - shift);
      without += std::abs(r[o + h]);
    }
  }
  if (fired != nullptr) *fired = n;
  return n == 0 || with_shift < without;
}

}  // namespace forecast::internal
