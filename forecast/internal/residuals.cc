#include "forecast/internal/residuals.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "forecast/stats.h"

namespace forecast::internal {

PointResiduals ResidualsOfPoints(const Prepared& p, const Rows& rows, const RobustFit& fit,
                                 const Model::State& st) {
  const size_t n = p.t.size();
  PointResiduals out;
  out.r.resize(n);
  if (rows.size() == n) {
    out.r.assign(fit.resid.data(), fit.resid.data() + n);
    out.sigma = fit.sigma;
    return out;
  }
  std::vector<double> absr(n);
  for (size_t i = 0; i < n; ++i) {
    const double tr = st.trend.At(p.ts[i]);
    const double mult = st.SeasonFactor(tr);
    double v = tr;
    for (const Season& season : st.seasons) v += mult * season.At(p.t[i], st.scaling.t0);
    if (!st.events.empty()) v += mult * st.EventsAt(p.t[i]);
    out.r[i] = p.y[i] - v;
    absr[i] = std::abs(out.r[i]);
  }
  out.sigma = std::max(stats::RobustScale(std::move(absr)), kMinResidualScale);
  return out;
}

ResidualGrid OnStepGrid(const Prepared& p, const std::vector<double>& point_resid) {
  const size_t n = p.t.size();
  const double step = p.step;
  const size_t grid_n =
      std::min<size_t>(static_cast<size_t>(std::llround(p.span / step)) + 1, kMaxGridSlots);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ResidualGrid g;
  g.newest_t = p.t.back();
  g.step = step;
  g.resid.assign(grid_n, nan);
  g.fit.assign(grid_n, nan);
  for (size_t i = n; i-- > 0;) {
    const auto idx = static_cast<long long>(std::llround((g.newest_t - p.t[i]) / step));
    if (idx >= static_cast<long long>(grid_n)) break;
    const size_t gi = grid_n - 1 - static_cast<size_t>(idx);
    if (std::isnan(g.resid[gi])) {
      g.resid[gi] = point_resid[i];
      g.fit[gi] = p.y[i] - point_resid[i];
    }
  }
  return g;
}

double ClipLevel(const Options& options, double sigma) {
  return (options.huber_threshold > 0 ? options.huber_threshold : kNoClipSigmas) * sigma;
}

}  // namespace forecast::internal
