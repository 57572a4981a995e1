#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Stage 3 of the fit, the
// penalised robust regression (docs/forecast.md, "Trend" and "Fit"): weighted least
// squares on the normal equations with a ridge prior on the Fourier and shift terms, a
// Laplace (L1) prior on the changepoint rate changes solved by iteratively reweighted
// ridge, and Huber weights on the rows (IRLS). Deterministic; a pure function.

#include "forecast/eigen_types.h"
#include "forecast/forecast.h"
#include "forecast/internal/design.h"
#include "forecast/internal/prepare.h"

namespace forecast::internal {

// Ridge on the level and the slope: they are not meant to be shrunk, this only keeps the
// system positive definite (a numerical guard).
inline constexpr double kTrendPenalty = 1e-8;
// Normal prior scale of a level shift's size, in scaled units (MADs of the history): a
// shift is found by detectors.h and then only refined.
inline constexpr double kShiftPriorScale = 2.0;
// Inner L1 reweighting passes: full convergence only in the last Huber pass; earlier
// passes need residuals just good enough for the Huber weights.
inline constexpr int kL1PassesLast = 8;
inline constexpr int kL1PassesEarly = 3;
// |delta_prev| is floored at kL1Floor * tau (tau = changepoint_prior_scale); the passes
// stop once no rate change moves by more than kL1Tolerance * tau.
inline constexpr double kL1Floor = 1e-4;
inline constexpr double kL1Tolerance = 1e-4;
// If LDLT fails (not finite), the diagonal is raised by this share and QR solves it.
inline constexpr double kFallbackRidge = 1e-6;
// Floor of the robust residual scale (scaled units), so that no division by 0 follows.
inline constexpr double kMinResidualScale = 1e-9;

struct RobustFit {
  Vector beta;   // coefficients, in the design's column order
  Vector resid;  // residual of each row (scaled units; a row's mean, not a point)
  double sigma;  // robust scale of one point's residual: MAD of resid * sqrt(count)
};

// Fits `design` to rows.y with the row weights `weights` (prepare.h, RecencyWeights):
// robust_iterations Huber passes at huber_threshold (0 = least squares), the residual
// scale starting at sigma0 (PointToPointNoise). design.X is scaled in place by the
// square roots of the weights (consumed), which saves a copy of the fit's largest matrix.
RobustFit SolveRobust(Design& design, const Rows& rows, const Vector& weights, double sigma0,
                      const Options& options);

}  // namespace forecast::internal
