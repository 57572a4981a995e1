// Tests of the fit's penalised robust regression (forecast/internal/regression.h) on
// synthetic rows with known coefficients and seeded N(0, 0.1^2) noise; tolerances are
// stated per test (a few noise standard errors).
#include "forecast/internal/regression.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace forecast::internal {
namespace {

constexpr int kRows = 500;
constexpr double kNoise = 0.1;

// Rows at ts = i / (kRows - 1), one point each, y = f(ts) + noise.
template <typename F>
Rows MakeRows(F f, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, kNoise);
  Rows r;
  r.y.resize(kRows);
  for (int i = 0; i < kRows; ++i) {
    const double ts = static_cast<double>(i) / (kRows - 1);
    r.t.push_back(ts * kDay);
    r.ts.push_back(ts);
    r.y[i] = f(ts) + normal(rng);
  }
  r.count = Vector::Ones(kRows);
  r.noise_scale = Vector::Ones(kRows);
  r.step = kDay / (kRows - 1);
  return r;
}

Design LineDesign(const Rows& r, const std::vector<double>& changepoints) {
  Structure s;
  s.changepoints = changepoints;
  Scaling sc;
  sc.t_scale = kDay;
  return BuildDesign(r, sc, s, {}, nullptr, 10.0);
}

TEST(RobustRegression, HuberWeightsKeepASpikeFromBendingTheLine) {
  // y = 1 + 2 ts, one row 50 high: least squares moves the level by about 50 / 500
  // (and tilts it); the Huber passes bring both within 0.05 of the truth.
  Rows r = MakeRows([](double ts) { return 1 + 2 * ts; }, 1);
  r.y[kRows / 2] += 50;
  const Vector w = Vector::Ones(kRows);
  Options o;
  Design robust_design = LineDesign(r, {});
  const RobustFit robust = SolveRobust(robust_design, r, w, kNoise, o);
  EXPECT_NEAR(robust.beta[0], 1, 0.05);
  EXPECT_NEAR(robust.beta[1], 2, 0.05);
  EXPECT_NEAR(robust.sigma, kNoise, 0.02);
  o.huber_threshold = 0;
  Design ls_design = LineDesign(r, {});
  const RobustFit ls = SolveRobust(ls_design, r, w, kNoise, o);
  EXPECT_GT(std::abs(ls.beta[0] + ls.beta[1] / 2 - 2), 0.08);  // mean level 2 + 50 / 500
}

TEST(RobustRegression, TheL1PriorKeepsTheRateChangeWhereItHappened) {
  // The slope goes from 2 to -1 at ts = 0.5; candidates at 0.1, 0.2, ..., 0.8. The rate
  // changes add up to -3 (within 0.1), the largest is the one at 0.5, and candidates more
  // than 0.1 away from it stay below 0.1 (the prior keeps them at 0).
  const Rows r = MakeRows([](double ts) { return 2 * ts - 3 * std::max(0.0, ts - 0.5); }, 2);
  std::vector<double> cps;
  for (int j = 1; j <= 8; ++j) cps.push_back(0.1 * j);
  Design d = LineDesign(r, cps);
  const RobustFit fit = SolveRobust(d, r, Vector::Ones(kRows), kNoise, Options{});
  EXPECT_NEAR(fit.beta[1], 2, 0.1);
  double total = 0;
  int largest = 0;
  for (int j = 0; j < 8; ++j) {
    total += fit.beta[2 + j];
    if (std::abs(fit.beta[2 + j]) > std::abs(fit.beta[2 + largest])) largest = j;
    if (j < 3 || j > 5) {
      EXPECT_LT(std::abs(fit.beta[2 + j]), 0.1) << "candidate " << cps[j];
    }
  }
  EXPECT_NEAR(total, -3, 0.1);
  EXPECT_EQ(largest, 4);
}

TEST(RobustRegression, WeightsFavourTheRowsThatWeighMore) {
  // The first half says y = 0, the second y = 1 (a level only): the weighted mean of the
  // two, 0.25 for weights 3 : 1.
  Rows r = MakeRows([](double ts) { return ts < 0.5 ? 0.0 : 1.0; }, 3);
  Vector w(kRows);
  for (int i = 0; i < kRows; ++i) w[i] = r.ts[i] < 0.5 ? 1.5 : 0.5;
  Structure s;
  s.n_trend = 1;
  Scaling sc;
  sc.t_scale = kDay;
  Design d = BuildDesign(r, sc, s, {}, nullptr, 10.0);
  Options o;
  o.huber_threshold = 0;
  const RobustFit fit = SolveRobust(d, r, w, kNoise, o);
  EXPECT_NEAR(fit.beta[0], 0.25, 0.01);
}

}  // namespace
}  // namespace forecast::internal
