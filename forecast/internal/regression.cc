#include "forecast/internal/regression.h"

#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "forecast/stats.h"

namespace forecast::internal {
namespace {

// Huber pass: only the down-weighted rows change, G -= D^T D (one rank-k update) and b
// loses their share.
void DownweightRows(const Matrix& X, const Vector& yw, const Vector& h, Matrix& G, Vector& b) {
  const auto p = X.cols();
  std::vector<Eigen::Index> rows;
  for (Eigen::Index i = 0; i < h.size(); ++i) {
    if (h[i] < 1) rows.push_back(i);
  }
  if (rows.empty()) return;
  Matrix D(static_cast<Eigen::Index>(rows.size()), p);
  for (size_t r = 0; r < rows.size(); ++r) {
    const double f = 1 - h[rows[r]];
    D.row(static_cast<Eigen::Index>(r)) = std::sqrt(f) * X.row(rows[r]);
    b -= f * yw[rows[r]] * X.row(rows[r]).transpose();
  }
  G.selfadjointView<Eigen::Lower>().rankUpdate(D.transpose(), -1.0);
  G.triangularView<Eigen::StrictlyUpper>() = G.transpose();
}

// The ridge diagonal at residual variance s2, changepoint columns left at 0.
Vector Penalties(const Design& d, double s2) {
  Vector pen = Vector::Zero(d.X.cols());
  pen[0] = kTrendPenalty;
  if (d.n_trend > 1) pen[1] = kTrendPenalty;
  for (int j = 0; j < d.n_shift; ++j) {
    pen[d.ShiftBegin() + j] = s2 / (kShiftPriorScale * kShiftPriorScale);
  }
  int col = d.SeasonBegin();
  for (size_t si = 0; si < d.season_cols.size(); ++si) {
    const double ps = d.season_priors[si];
    for (int k = 0; k < d.season_cols[si]; ++k) pen[col++] = s2 / (ps * ps);
  }
  for (int k = 0; k < d.n_event; ++k) {
    pen[d.EventBegin() + k] = s2 / (d.event_prior * d.event_prior);
  }
  return pen;
}

// Solves (G + diag(pen)) beta = b with the L1 prior on the changepoints as reweighted
// ridge, |d| ~ d^2 / (2 |d_prev|), for at most `passes` reweightings.
Vector SolveL1(const Matrix& G, const Vector& b, const Design& d, Vector pen, double s2, double tau,
               int passes) {
  const int n_cp = d.n_cp;
  Vector beta;
  Vector dprev = Vector::Constant(std::max(n_cp, 1), tau);
  for (int inner = 0; inner < passes; ++inner) {
    for (int j = 0; j < n_cp; ++j) {
      pen[d.n_trend + j] = (s2 / tau) / std::max(std::abs(dprev[j]), kL1Floor * tau);
    }
    Matrix A = G;
    A.diagonal() += pen;
    Eigen::LDLT<Matrix> ldlt(A);
    beta = ldlt.solve(b);
    if (!beta.allFinite()) {
      A.diagonal().array() += kFallbackRidge * (1 + A.diagonal().array().abs());
      beta = A.colPivHouseholderQr().solve(b);
    }
    if (n_cp == 0) break;
    Vector delta = beta.segment(d.n_trend, n_cp);
    const double change = (delta - dprev).cwiseAbs().maxCoeff();
    dprev = delta;
    if (change < kL1Tolerance * tau) break;
  }
  return beta;
}

}  // namespace

RobustFit SolveRobust(Design& design, const Rows& rows, const Vector& weights, double sigma0,
                      const Options& options) {
  Matrix& X = design.X;
  const size_t nr = rows.size();
  const int p = static_cast<int>(X.cols());
  const Vector& rscale = rows.noise_scale;
  Vector h = Vector::Ones(static_cast<Eigen::Index>(nr));  // Huber weights
  RobustFit fit;
  fit.sigma = sigma0;
  const Vector sw = weights.cwiseSqrt();
  if (!(weights.array() == 1.0).all()) {
    for (int col = 0; col < p; ++col) X.col(col).array() *= sw.array();
  }
  Matrix G0 = Matrix::Zero(p, p);
  G0.selfadjointView<Eigen::Lower>().rankUpdate(X.transpose());
  G0.triangularView<Eigen::StrictlyUpper>() = G0.transpose();
  const Vector yw = sw.cwiseProduct(rows.y);
  const Vector b0 = X.transpose() * yw;
  fit.beta = Vector::Zero(p);
  const double tau = options.changepoint_prior_scale;
  for (int outer = 0; outer <= options.robust_iterations; ++outer) {
    Matrix G = G0;
    Vector b = b0;
    if (outer > 0 && options.huber_threshold > 0) DownweightRows(X, yw, h, G, b);
    const double s2 = fit.sigma * fit.sigma;
    const int passes = design.n_cp == 0
                           ? 1
                           : (outer == options.robust_iterations ? kL1PassesLast : kL1PassesEarly);
    fit.beta = SolveL1(G, b, design, Penalties(design, s2), s2, tau, passes);
    fit.resid = (yw - X * fit.beta).cwiseQuotient(sw);
    std::vector<double> ar(nr);
    for (size_t i = 0; i < nr; ++i) ar[i] = std::abs(fit.resid[i]) * rscale[i];
    fit.sigma = std::max(stats::RobustScale(std::move(ar)), kMinResidualScale);
    if (options.huber_threshold > 0) {
      const double cut = options.huber_threshold * fit.sigma;
      for (size_t i = 0; i < nr; ++i) {
        const double a = std::abs(fit.resid[i]) * rscale[i];
        h[i] = a > cut ? cut / a : 1.0;
      }
    }
  }
  return fit;
}

}  // namespace forecast::internal
