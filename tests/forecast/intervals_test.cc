// Tests of the intervals stage (forecast/internal/intervals.h): the choice of the
// level-following width on synthetic in-sample errors whose width is known (relative or
// constant noise, seeded), skewed pools, the fallback to normal intervals, and the
// pieces Predict uses. Tolerances per test.
#include "forecast/internal/intervals.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace forecast::internal {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

// H = 8 steps ahead, 400 origins; levels spread log-uniformly over 10..1000; the error
// is N(0, 1) * width(level) * (1 + h / 8), width = level / 100 (relative noise) or 1.
Candidate Errors(bool relative, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> log_level(std::log(10.0), std::log(1000.0));
  Candidate c;
  c.errs.assign(8, {});
  c.levels.assign(8, {});
  for (size_t h = 0; h < 8; ++h) {
    for (int o = 0; o < 400; ++o) {
      const double level = std::exp(log_level(rng));
      const double width = relative ? level / 100 : 1.0;
      c.errs[h].push_back(normal(rng) * width * (1 + static_cast<double>(h) / 8));
      c.levels[h].push_back(level);
    }
  }
  return c;
}

TEST(IntervalWidth, FollowsTheLevelWhenTheNoiseIsRelative) {
  Intervals iv;
  FitInfo info;
  FitIntervals(Errors(true, 1), true, Options{}, iv, info);
  EXPECT_EQ(iv.level_power, 1.0);
  EXPECT_THAT(info.notes, Contains(HasSubstr("to the power 1.0")));
  // Scales in units of the width: non-decreasing, growing as 1 + h / 8 (each is a mean
  // of 400 |errors|, 4 % standard error: within 20 % of 15 / 8).
  ASSERT_EQ(iv.h_scale.size(), 8u);
  EXPECT_TRUE(std::is_sorted(iv.h_scale.begin(), iv.h_scale.end()));
  EXPECT_NEAR(iv.h_scale[7] / iv.h_scale[0], 15.0 / 8, 0.2 * 15 / 8);
  EXPECT_FALSE(iv.std_signed.empty());  // skewed intervals by default
  EXPECT_TRUE(iv.std_abs.empty());
  EXPECT_LE(iv.std_signed.size(), kPoolKeep);
}

TEST(IntervalWidth, StaysFlatWhenTheNoiseIsNotAndWhenTheLevelMayNotCount) {
  Intervals iv;
  FitInfo info;
  FitIntervals(Errors(false, 2), true, Options{}, iv, info);
  EXPECT_EQ(iv.level_power, 0.0);
  // Logistic or signed histories: power 0 whatever the errors, and no note about it.
  Intervals fixed;
  FitInfo quiet;
  FitIntervals(Errors(true, 3), false, Options{}, fixed, quiet);
  EXPECT_EQ(fixed.level_power, 0.0);
  EXPECT_THAT(quiet.notes, testing::Each(testing::Not(HasSubstr("follows the level"))));
  // A power from the options is kept as it is.
  Options half;
  half.interval_level_power = 0.5;
  Intervals given;
  FitIntervals(Errors(false, 4), true, half, given, info);
  EXPECT_EQ(given.level_power, 0.5);
}

TEST(IntervalWidth, SkewedErrorsGiveAWiderUpperBand) {
  // Errors that jump up more than they fall: exponential(1) - 1 (mean 0, skewed right).
  std::mt19937 rng(5);
  std::exponential_distribution<double> jump(1.0);
  Candidate c;
  c.errs.assign(4, {});
  c.levels.assign(4, std::vector<double>(500, 100.0));
  for (auto& e : c.errs) {
    for (int o = 0; o < 500; ++o) e.push_back(jump(rng) - 1);
  }
  Intervals iv;
  FitInfo info;
  FitIntervals(c, true, Options{}, iv, info);
  const BandShape shape = ShapeOf(iv, {0.1, 0.9});
  // Exponential: q90 - 1 = 1.30 against 1 - q10 = 0.89, a ratio of 1.46 (its sampling
  // error on 2000 draws is about 0.07).
  EXPECT_GT(shape.emp[1], 1.25 * -shape.emp[0]);
  Options symmetric;
  symmetric.skewed_intervals = false;
  Intervals sym;
  FitIntervals(c, true, symmetric, sym, info);
  const BandShape s2 = ShapeOf(sym, {0.1, 0.9});
  EXPECT_DOUBLE_EQ(s2.emp[1], -s2.emp[0]);
}

// H steps ahead, n origins in time order: N(0, 1) errors, times `later` from the origin
// at share `from` of the window on (level 100 everywhere).
Candidate Drifting(size_t H, size_t n, double from, double later, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  Candidate c;
  c.window_in_history = true;
  c.errs.assign(H, {});
  c.levels.assign(H, std::vector<double>(n, 100.0));
  for (size_t h = 0; h < H; ++h) {
    for (size_t o = 0; o < n; ++o) {
      const bool newer = static_cast<double>(o) >= from * static_cast<double>(n);
      c.errs[h].push_back(normal(rng) * (newer ? later : 1.0));
    }
  }
  return c;
}

// RecalibrationFactor of c's errors with unit scales and one width at every level.
double Factor(const Candidate& c) {
  return RecalibrationFactor(c.errs, c.levels, std::vector<double>(c.errs.size(), 1.0),
                             Intervals{}, 1);
}

TEST(IntervalRecalibration, ErrorsThatDoubledInTheNewerHalfDoubleTheWidth) {
  // The newer half's errors are twice the older half's: the older half's band covers
  // them as a band half as wide would, so the width doubles (2000 errors a side: the
  // 80 % quantiles are within a few percent).
  const Candidate c = Drifting(4, 500, 0.5, 2.0, 11);
  const double k = Factor(c);
  EXPECT_NEAR(k, 2.0, 0.15);
  // Every 7th error, each step ahead from its own offset: about the same.
  EXPECT_NEAR(RecalibrationFactor(c.errs, c.levels, std::vector<double>(4, 1.0), Intervals{}, 7),
              k, 0.15);
  // Through FitIntervals: the scales are k times those without the recalibration, and a
  // note says so.
  Intervals on, off;
  FitInfo info, quiet;
  Options no;
  no.interval_recalibration = false;
  FitIntervals(c, true, Options{}, on, info);
  FitIntervals(c, true, no, off, quiet);
  ASSERT_EQ(on.h_scale.size(), 4u);
  // (k there is computed with the fitted scales, not unit ones: the same within noise.)
  for (size_t h = 0; h < 4; ++h) EXPECT_NEAR(on.h_scale[h] / off.h_scale[h], 2.0, 0.15);
  for (size_t h = 1; h < 4; ++h) {
    EXPECT_NEAR(on.h_scale[h] / off.h_scale[h], on.h_scale[0] / off.h_scale[0], 1e-9);
  }
  EXPECT_THAT(info.notes, Contains(HasSubstr("older half of the in-sample errors")));
  EXPECT_THAT(quiet.notes, testing::Each(testing::Not(HasSubstr("older half"))));
  // A window that is more than half of the history: its older half holds the history's
  // start, where the fit is poorest, and the width is left as it is.
  Candidate young = c;
  young.window_in_history = false;
  Intervals as_is;
  FitIntervals(young, true, Options{}, as_is, quiet);
  for (size_t h = 0; h < 4; ++h) EXPECT_DOUBLE_EQ(as_is.h_scale[h], off.h_scale[h]);
  // Errors that shrank to half: a narrower band.
  const Candidate calmer = Drifting(4, 500, 0.5, 0.5, 12);
  EXPECT_NEAR(Factor(calmer), 0.5, 0.05);
}

TEST(IntervalRecalibration, StationaryOrTooFewErrorsLeaveTheWidth) {
  const Candidate same = Drifting(4, 500, 0.5, 1.0, 13);
  EXPECT_NEAR(Factor(same), 1.0, 0.1);
  // 4 x 20 errors: fewer than kMinRecalibrationErrors on each side.
  const Candidate few = Drifting(4, 20, 0.5, 3.0, 14);
  EXPECT_EQ(Factor(few), 1.0);
  // All-zero older errors: no ratio to take.
  Candidate zero = Drifting(4, 500, 0.5, 1.0, 15);
  for (auto& e : zero.errs) std::fill(e.begin(), e.begin() + 250, 0.0);
  EXPECT_EQ(Factor(zero), 1.0);
}

TEST(IntervalWidth, TooFewErrorsGiveNormalIntervals) {
  Candidate c = Errors(true, 6);
  c.errs[3].resize(kMinErrorsPerHorizon - 1);
  Intervals iv;
  FitInfo info;
  FitIntervals(c, true, Options{}, iv, info);
  EXPECT_TRUE(iv.h_scale.empty());
  EXPECT_EQ(iv.level_power, 0.0);
  EXPECT_THAT(info.notes, Contains(HasSubstr("normal intervals")));
  // Predict then uses sigma and normal quantiles.
  iv.sigma = 2;
  const BandShape shape = ShapeOf(iv, {0.1, 0.9});
  EXPECT_NEAR(shape.emp[1], 1.2815515655, 1e-9);
  EXPECT_EQ(ErrorScale(iv, shape, 5), 2);
}

TEST(IntervalPieces, NormalQuantileTrendVarianceAndBandOffsets) {
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540, 1e-10);
  EXPECT_NEAR(NormalQuantile(0.1), -1.281551565545, 1e-10);
  EXPECT_EQ(NormalQuantile(0.5), 0);
  // n_cp 2 b^2 / 3 with b = mean |delta| = 0.2.
  EXPECT_NEAR(TrendVarianceRate({0.1, -0.3}), 2 * 2 * 0.04 / 3, 1e-15);
  EXPECT_EQ(TrendVarianceRate({}), 0);
  EXPECT_DOUBLE_EQ(BandOffset(3, 4, 1), 5);     // quadrature on the upper side
  EXPECT_DOUBLE_EQ(BandOffset(-3, 4, -1), -5);  // and on the lower one
  EXPECT_DOUBLE_EQ(BandOffset(-1, 4, 1), 3);    // a skewed median: added as it is
}

TEST(IntervalPieces, ErrorScaleGrowsBeyondTheMeasuredHorizons) {
  Intervals iv;
  iv.sigma = 0.5;
  iv.h_scale = {1, 1, 2, 2};  // doubled over the last doubling of h: growth 1
  const BandShape shape = ShapeOf(iv, {0.9});
  EXPECT_DOUBLE_EQ(shape.growth, 1);
  EXPECT_EQ(ErrorScale(iv, shape, 0), 0.5);
  EXPECT_EQ(ErrorScale(iv, shape, 3), 2);
  EXPECT_DOUBLE_EQ(ErrorScale(iv, shape, 8), 4);
}

}  // namespace
}  // namespace forecast::internal
