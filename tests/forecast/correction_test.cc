// Tests of the short-term correction (forecast/internal/correction.h): which candidate
// the in-sample rolling-origin errors choose on synthetic residual processes with a
// known best forecaster (3 days at 1 min, seeded noise), and how Predict moves the
// correction's state forward. Tolerances per test (a few standard errors).
#include "forecast/internal/correction.h"

#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace forecast::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kStep = 60;
constexpr size_t kSlots = 3 * 1440;

ResidualGrid Grid(const std::vector<double>& r) {
  ResidualGrid g;
  g.resid = r;
  g.fit.assign(r.size(), 0.0);
  g.step = kStep;
  g.newest_t = static_cast<double>(r.size() - 1) * kStep;
  return g;
}

// x_t = phi x_{t-1} + N(0, 1).
std::vector<double> Ar1(double phi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> r(kSlots);
  double x = 0;
  for (double& v : r) v = x = phi * x + normal(rng);
  return r;
}

// A local level: x_t = L_t + N(0, 1), L_t = L_{t-1} + N(0, 0.1^2).
std::vector<double> LocalLevel(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> r(kSlots);
  double level = 0;
  for (double& v : r) {
    level += 0.1 * normal(rng);
    v = level + normal(rng);
  }
  return r;
}

// A local linear trend: x_t = L_t + N(0, 0.3^2), L_t = L_{t-1} + B_t, and the slope B_t
// wanders slowly (N(0, 0.003^2) a step): the load drifts up and down for hours.
std::vector<double> LocalTrend(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> r(kSlots);
  double level = 0, slope = 0;
  for (double& v : r) {
    slope += 0.003 * normal(rng);
    level += slope;
    v = level + 0.3 * normal(rng);
  }
  return r;
}

Candidate Choose(const std::vector<double>& r, const Options& o = Options{}) {
  const CorrectionWindow w = MakeWindow(Grid(r), o.ar_window_seconds, 1e9);
  return ChooseCorrection(w, Scaling{}, o, kStep);
}

TEST(CorrectionChoice, WindowAndHorizonsFollowTheStep) {
  const CorrectionWindow w = MakeWindow(Grid(std::vector<double>(kSlots, 0.0)), kDay, 1e9);
  EXPECT_EQ(w.size(), 1440u);  // ar_window 1 d at 1 min
  EXPECT_EQ(w.H, 120u);        // 2 h
  EXPECT_EQ(w.H_score, 60u);   // 1 h
  EXPECT_EQ(w.warmup, 50u);
  EXPECT_EQ(w.select_stride, (1440u - 50u) / kSelectOrigins);
  EXPECT_EQ(w.stride, (1440u - 50u) / kErrorOrigins);
}

TEST(CorrectionChoice, AnArProcessGetsTheArCorrection) {
  // AR(1) with phi 0.7 is its own best forecaster (a smoothed level decays at most to
  // 0.2 per hour, far slower): AR(2) wins, phi near (0.7, 0) (the standard error of each
  // coefficient on 4320 steps is about 0.015, that of their sum about 0.011: tolerances
  // of 4 standard errors); its errors cover every horizon up to 2 h.
  const Candidate c = Choose(Ar1(0.7, 1));
  ASSERT_EQ(c.kind, CorrectionKind::kAr);
  ASSERT_EQ(c.phi.size(), 2u);
  EXPECT_NEAR(c.phi[0], 0.7, 0.06);
  EXPECT_NEAR(c.phi[1], 0.0, 0.06);
  EXPECT_NEAR(c.phi[0] + c.phi[1], 0.7, 0.045);
  ASSERT_EQ(c.errs.size(), 120u);
  ASSERT_EQ(c.levels.size(), 120u);
  EXPECT_GE(c.errs[0].size(), 380u);  // about 400 origins
  EXPECT_EQ(c.errs[0].size(), c.levels[0].size());
}

TEST(CorrectionChoice, ALocalLevelGetsTheSmoothedLevel) {
  // Noise around a slowly wandering level: exponential smoothing with a small alpha (the
  // optimum for this signal-to-noise ratio is about 0.1) and little or no decay beats
  // the stationary AR, which forecasts from a noisy value.
  const Candidate c = Choose(LocalLevel(2));
  ASSERT_EQ(c.kind, CorrectionKind::kSmoothing);
  EXPECT_LE(c.alpha, 0.2);
  EXPECT_GE(std::pow(c.rho, kHour / kStep), 0.7 - 1e-9);  // kept per hour: 1 or 0.7
}

TEST(CorrectionChoice, ADriftingSlopeGetsTheDampedTrend) {
  // A level that drifts with a slope of its own: the smoothed level lags behind a drift
  // by about slope / alpha, the stationary AR pulls it back to 0; Holt's damped trend
  // follows it, and its in-sample score beats the best of the others.
  const std::vector<double> r = LocalTrend(7);
  const Candidate c = Choose(r);
  ASSERT_EQ(c.kind, CorrectionKind::kTrendSmoothing);
  EXPECT_GT(c.beta, 0);
  EXPECT_GT(c.phi_t, 0);
  EXPECT_LT(c.phi_t, 1);
  Options no_trend;
  no_trend.smoothing_correction = false;
  EXPECT_LT(c.score, Choose(r, no_trend).score);
}

TEST(CorrectionChoice, NothingBeatsNoneOnWhiteNoiseAndTiesKeepNone) {
  // On white noise no candidate can do better than none by more than chance (1 %).
  const std::vector<double> noise = Ar1(0.0, 3);
  const CorrectionWindow w = MakeWindow(Grid(noise), Options{}.ar_window_seconds, 1e9);
  Candidate none;
  Evaluate(w, Scaling{}, w.H_score, w.select_stride, false, none);
  const Candidate c = Choose(noise);
  EXPECT_GT(c.score, 0.99 * none.score);
  // Exactly zero residuals: every candidate scores 0 and none, scored first, stays.
  EXPECT_EQ(Choose(std::vector<double>(kSlots, 0.0)).kind, CorrectionKind::kNone);
}

TEST(CorrectionChoice, OnlyAllowedCandidatesCompete) {
  Options ar_only;
  ar_only.smoothing_correction = false;
  EXPECT_EQ(Choose(LocalLevel(4), ar_only).kind, CorrectionKind::kAr);
  Options neither;
  neither.ar_order = 0;
  neither.smoothing_correction = false;
  const Candidate c = Choose(Ar1(0.9, 5), neither);
  EXPECT_EQ(c.kind, CorrectionKind::kNone);
  EXPECT_EQ(c.errs.size(), 120u);  // still measured: the intervals need them
}

TEST(CorrectionChoice, ATooShortWindowGetsNoCorrectionAndSaysSo) {
  // 26 slots: a warm-up of 26 / 4 = 6 leaves 20, not more than kMinScoredSteps; 27 do.
  const std::vector<double> ar = Ar1(0.9, 6);
  Options o;
  o.detect_level_shifts = false;
  FitInfo info;
  Correction out;
  const Candidate c = FitCorrection(Grid(std::vector<double>(ar.begin(), ar.begin() + 26)), o,
                                    Scaling{}, 1.0, 1e9, out, info);
  EXPECT_EQ(c.kind, CorrectionKind::kNone);
  EXPECT_TRUE(c.errs.empty());
  EXPECT_THAT(info.notes, ElementsAre(HasSubstr("only 26 residual steps")));
  EXPECT_FALSE(Choose(std::vector<double>(ar.begin(), ar.begin() + 27)).errs.empty());
}

TEST(CorrectionPath, ArAndSmoothingPathsDecayAsTheyShould) {
  EXPECT_THAT(ArPath({0.5}, {4, 2}, 3), ElementsAre(1, 0.5, 0.25));
  EXPECT_THAT(ArPath({0.5, 0.25}, {4, 2}, 2), ElementsAre(0.5 * 2 + 0.25 * 4, 0.5 * 2 + 0.25 * 2));
  std::vector<double> r = {1, std::nan(""), std::nan("")};
  FillForward({0.5}, r);
  EXPECT_THAT(r, ElementsAre(1, 0.5, 0.25));
  Correction es;
  es.kind = CorrectionKind::kSmoothing;
  es.es_rho = 0.5;
  CorrectionState s;
  s.level = 8;
  EXPECT_THAT(CorrectionPath(es, s, 3), ElementsAre(4, 2, 1));
  s.shift = 10;
  EXPECT_THAT(CorrectionPath(es, s, 2), ElementsAre(14, 12));
  EXPECT_TRUE(CorrectionPath(Correction{}, CorrectionState{}, 5).empty());
}

TEST(CorrectionPath, TheDampedTrendAddsADecayingSlope) {
  // Level 1 and trend 2 with half of the trend kept per step: 1 + 2 (0.5 + 0.25 + ...).
  Correction ht;
  ht.kind = CorrectionKind::kTrendSmoothing;
  ht.es_rho = 1;
  ht.es_phi = 0.5;
  CorrectionState s;
  s.level = 1;
  s.trend = 2;
  EXPECT_THAT(CorrectionPath(ht, s, 3), ElementsAre(2, 2.5, 2.75));
  // One smoothing step on a residual of 4 (alpha 0.5, beta 0.5): the forecast was
  // 1 + 0.5 * 2 = 2, the level moves half-way to 3, the trend to 0.5 * (3 - 1) + 0.5 * 1.
  double level = 1, trend = 2;
  SmoothingStep(0.5, 1, 0.5, 0.5, 4, level, trend);
  EXPECT_DOUBLE_EQ(level, 3);
  EXPECT_DOUBLE_EQ(trend, 1.5);
  // A missing step carries the forecast on.
  SmoothingStep(0.5, 1, 0.5, 0.5, std::nan(""), level, trend);
  EXPECT_DOUBLE_EQ(level, 3.75);
  EXPECT_DOUBLE_EQ(trend, 0.75);
}

// A fitted model whose deterministic part is 0 and whose scaling is the identity, so
// residuals are the values themselves.
Model::State ZeroModel() {
  Model::State st;
  st.step_seconds = kStep;
  st.last_t = 0;
  st.intervals.sigma = 0.1;
  st.correction.kind = CorrectionKind::kAr;
  st.correction.phi = {0.5};
  st.correction.tail = {2};
  return st;
}

TEST(CorrectionAdvance, RecentObservationsExtendTheState) {
  const Model::State st = ZeroModel();
  // The observation 2 steps after the history; the step between is filled by the AR.
  const CorrectionState s = Advance(st, Series{{120, -30}, {0.2, 99}});
  EXPECT_THAT(s.tail, ElementsAre(2, 1, 0.2));  // -30 is before the history: ignored
  EXPECT_EQ(s.origin, 120);
  EXPECT_EQ(s.shift, 0);
  EXPECT_THAT(CorrectionPath(st.correction, s, 2), ElementsAre(0.1, 0.05));
}

TEST(CorrectionAdvance, RecentObservationsMoveTheDampedTrend) {
  // The state (level 0, trend 0) after residuals 1, 2, 3 with alpha 1, beta 1, nothing
  // damped: the level is the newest residual and the trend its last change.
  Model::State st = ZeroModel();
  st.correction.kind = CorrectionKind::kTrendSmoothing;
  st.correction.phi.clear();
  st.correction.es_alpha = 1;
  st.correction.es_rho = 1;
  st.correction.es_beta = 1;
  st.correction.es_phi = 1;
  st.intervals.sigma = 100;  // no shift in progress
  const CorrectionState s = Advance(st, Series{{60, 120, 180}, {1, 2, 3}});
  EXPECT_DOUBLE_EQ(s.level, 3);
  EXPECT_DOUBLE_EQ(s.trend, 1);
  EXPECT_THAT(CorrectionPath(st.correction, s, 2), ElementsAre(4, 5));
}

TEST(CorrectionAdvance, AShiftInTheRecentObservationsMovesTheLevel) {
  // Three steps at 5 (50 sigma) after the tail's 2 (also beyond 3 sigma): a level shift
  // in progress of median(5, 5, 5, 2) = 5; the state restarts at 0 relative to it, so
  // the path is the shift.
  const CorrectionState s = Advance(ZeroModel(), Series{{60, 120, 180}, {5, 5, 5}});
  EXPECT_EQ(s.shift, 5);
  EXPECT_THAT(CorrectionPath(ZeroModel().correction, s, 2), ElementsAre(5, 5));
}

}  // namespace
}  // namespace forecast::internal
