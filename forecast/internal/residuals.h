#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Between the regression and
// the stages that learn from what it leaves (daily profile, short-term correction,
// intervals): the residuals of every point and their place on the history's step grid.
// Pure functions.

#include <cstddef>
#include <vector>

#include "forecast/eigen_types.h"
#include "forecast/forecast.h"
#include "forecast/internal/model_state.h"
#include "forecast/internal/prepare.h"
#include "forecast/internal/regression.h"

namespace forecast::internal {

// The step grid holds at most this many slots (the newest ones): a bound on memory for
// histories with a tiny step (about 23 days at 1 s).
inline constexpr size_t kMaxGridSlots = 2000000;
// Without Huber loss, the residuals the later stages learn from are clipped at this many
// sigma, i.e. not at all.
inline constexpr double kNoClipSigmas = 1e9;

struct PointResiduals {
  std::vector<double> r;  // one per point (scaled units)
  double sigma = 0;       // their robust scale (the rows' own when not binned)
};

// Residuals of every point under the fitted trend and seasonalities: the regression's
// own when it used the points as rows, else recomputed (the fit used binned rows).
PointResiduals ResidualsOfPoints(const Prepared& p, const Rows& rows, const RobustFit& fit,
                                 const Model::State& st);

// Residuals on the step grid ending at the newest point: slot i is newest_t - (size - 1 - i)
// step; a point goes to its nearest slot (the newest wins a tie); NaN where no point is.
struct ResidualGrid {
  std::vector<double> resid;
  std::vector<double> fit;  // the model's fitted value (scaled) where resid is
  double newest_t = 0, step = 1;

  size_t size() const { return resid.size(); }
  double TimeOf(size_t slot) const {
    return newest_t - static_cast<double>(resid.size() - 1 - slot) * step;
  }
};
ResidualGrid OnStepGrid(const Prepared& p, const std::vector<double>& point_resid);

// The level the later stages clip residuals at: huber_threshold sigma (kNoClipSigmas
// sigma without Huber loss).
double ClipLevel(const Options& options, double sigma);

}  // namespace forecast::internal
