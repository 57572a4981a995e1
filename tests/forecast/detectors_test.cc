// Tests of the fit's detectors (forecast/internal/detectors.h) on synthetic residuals with
// seeded N(0, 1) noise and a known pattern, shift or run. The thresholds are the ones
// documented in detectors.h; each case sits well inside or well outside them (margins
// per test).
#include "forecast/internal/detectors.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace forecast::internal {
namespace {

constexpr double kStart = 1700000000;  // an arbitrary unix time

// Unbinned rows every `step` seconds over `span` seconds.
Rows MakeRows(double span, double step) {
  Rows r;
  for (double t = kStart; t < kStart + span; t += step) {
    r.t.push_back(t);
    r.ts.push_back((t - kStart) / span);
  }
  const auto n = static_cast<Eigen::Index>(r.t.size());
  r.y = Vector::Zero(n);
  r.count = Vector::Ones(n);
  r.noise_scale = Vector::Ones(n);
  r.step = step;
  return r;
}

// N(0, 1) noise plus amplitude * sin(2 pi t / 1 h) at the rows' times.
Vector HourlyResiduals(const Rows& r, double amplitude, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  Vector resid(static_cast<Eigen::Index>(r.size()));
  for (size_t i = 0; i < r.size(); ++i) {
    resid[i] = amplitude * std::sin(kTwoPi * (r.t[i] - kStart) / kHour) + normal(rng);
  }
  return resid;
}

TEST(HourlyDetector, FindsAnHourlyWaveWellAboveTheNoise) {
  // 3 days at 1 min: 60 phase bins of 72 points each, noise energy 60 / 72 = 0.83. A
  // wave of amplitude a adds 30 a^2: a = 1 gives 30, about twice the threshold 20 * 0.83.
  const Rows r = MakeRows(3 * kDay, 60);
  EXPECT_EQ(DetectHourly(r, HourlyResiduals(r, 1.0, 1), kStart, 1.0), kHourlyMaxOrder);
}

TEST(HourlyDetector, IgnoresNoiseAndAWaveBelowTheThreshold) {
  // a = 0.5 adds 7.5, half the threshold; noise alone about 0.83 (its sampling spread is
  // about 0.15).
  const Rows r = MakeRows(3 * kDay, 60);
  EXPECT_EQ(DetectHourly(r, HourlyResiduals(r, 0.0, 2), kStart, 1.0), 0);
  EXPECT_EQ(DetectHourly(r, HourlyResiduals(r, 0.5, 3), kStart, 1.0), 0);
}

TEST(HourlyDetector, OrderIsCappedByTheRowStep) {
  // 10 min rows: 6 phase bins, room for floor((6 - 1) / 2) = 2 harmonics.
  const Rows r = MakeRows(10 * kDay, 600);
  EXPECT_EQ(DetectHourly(r, HourlyResiduals(r, 2.0, 4), kStart, 1.0), 2);
}

TEST(HourlyDetector, APatternHoldsOnlyWhereItLowersTheNewestErrors) {
  // 4 days at 1 min; "since" = the newest day. The fit without the pattern leaves a wave
  // of amplitude 2 in the residuals; with it, noise alone: the pattern holds.
  const Rows r = MakeRows(4 * kDay, 60);
  const double since = kStart + 3 * kDay;
  const Vector wave = HourlyResiduals(r, 2.0, 5);
  const Vector noise = HourlyResiduals(r, 0.0, 5);
  EXPECT_TRUE(HourlyHolds(r, noise, wave, since, 1.0));
  // A pattern learnt from an old episode: on the newest day the fit without it leaves
  // noise, the fit with it adds the wave (the episode's shape where nothing repeats).
  EXPECT_FALSE(HourlyHolds(r, wave, noise, since, 1.0));
  // Fewer than kHourlyMinHoldRows rows after `since`: kept, nothing to judge it by.
  EXPECT_TRUE(HourlyHolds(r, wave, noise, kStart + 4 * kDay - 30 * 60, 1.0));
}

TEST(HourlyDetector, RunsOnlyWithAutoSeasonalityEnoughHistoryAndRows) {
  const Rows r = MakeRows(3 * kDay, 60);
  Structure s;
  s.wanted = {{"daily", kDay, 0, 0}};
  s.seasons = {{"daily", kDay, 10, std::vector<double>(20, 0.0)}};
  Options o;
  EXPECT_TRUE(HourlyDetectorApplies(o, s, 3 * kDay, 60, r));
  EXPECT_FALSE(HourlyDetectorApplies(o, s, 1.5 * kDay, 60, r));  // under 2 days
  Structure listed = s;
  listed.wanted.push_back({"1h", kHour, 0, 0});
  EXPECT_FALSE(HourlyDetectorApplies(o, listed, 3 * kDay, 60, r));
  o.auto_seasonality = false;
  EXPECT_FALSE(HourlyDetectorApplies(o, s, 3 * kDay, 60, r));
  // 15 min rows: fewer than 6 per hour.
  const Rows coarse = MakeRows(30 * kDay, 900);
  EXPECT_FALSE(HourlyDetectorApplies(Options{}, s, 30 * kDay, 900, coarse));
}

// 1000 residuals of N(0, 0.1^2) noise plus `f(i)`.
template <typename F>
Vector Residuals(F f, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 0.1);
  Vector r(1000);
  for (int i = 0; i < 1000; ++i) r[i] = f(i) + normal(rng);
  return r;
}

TEST(LevelShiftDetector, FindsASharpStepWhereItIs) {
  // +1 (10 noise sigmas) from row 600: found within 2 rows, its size within 0.1.
  const Vector r = Residuals([](int i) { return i >= 600 ? 1.0 : 0.0; }, 5);
  const auto shift = DetectLevelShift(r, 0.1, 0.1);
  ASSERT_TRUE(shift.has_value());
  EXPECT_NEAR(static_cast<double>(shift->row), 600, 2);
  EXPECT_NEAR(shift->jump, 1.0, 0.1);
}

TEST(LevelShiftDetector, IgnoresDriftSmallStepsAndShortHistories) {
  // A ramp from -1 to 1 separates the halves' means as well, but locally it moves only
  // 0.05 over 24 rows; a step of 0.3 is below 6 point-noise sigmas (0.6).
  EXPECT_FALSE(DetectLevelShift(Residuals([](int i) { return -1 + i / 500.0; }, 6), 0.1, 0.1));
  EXPECT_FALSE(
      DetectLevelShift(Residuals([](int i) { return i >= 600 ? 0.3 : 0.0; }, 7), 0.1, 0.1));
  const Vector r = Residuals([](int i) { return i >= 25 ? 1.0 : 0.0; }, 8);
  EXPECT_FALSE(DetectLevelShift(r.head(kShiftMinRows - 1), 0.1, 0.1));
}

TEST(EndShift, ARunOfLargeResidualsOnOneSideMovesTheLevel) {
  std::vector<double> r(60, 0.0);
  for (size_t i = 56; i < 60; ++i) r[i] = 5 + 0.1 * static_cast<double>(i - 56);  // 4 above 3
  EXPECT_DOUBLE_EQ(EndShift(r, 1.0), 5.1);  // the smallest of the newest 3: 5.1, 5.2, 5.3
  // A run of 8 that ramps: its newest 3 give the level.
  std::vector<double> ramp(60, 0.0);
  for (size_t i = 52; i < 60; ++i) ramp[i] = static_cast<double>(i - 48);  // 4 .. 11
  EXPECT_DOUBLE_EQ(EndShift(ramp, 1.0), 9);                                // 9, 10, 11
  // A spike falling back (8, 20, 6): the level it held is 6, not its median 8.
  EXPECT_DOUBLE_EQ(EndShift({0, 0, 0, 8, 20, 6}, 1.0), 6);
}

TEST(EndShift, NeedsThreeOnTheSameSideAndSkipsGaps) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(EndShift({0, 0, 0, 5, 5}, 1.0), 0);            // only 2
  EXPECT_EQ(EndShift({0, 0, -5, 5, 5}, 1.0), 0);           // signs differ
  EXPECT_EQ(EndShift({0, 0, 5, 2, 5, 5}, 1.0), 0);         // 2 is within 3 sigma
  EXPECT_EQ(EndShift({0, 0, 5, nan, 5, nan, 5}, 1.0), 5);  // gaps are skipped
  EXPECT_EQ(EndShift({-4, -6, -5}, 1.0), -4);  // the smallest in magnitude
}

TEST(EndShiftEarns, KeepsTheRuleWhereRunsOfOutliersHeldAndDropsItWhereTheyFellBack) {
  // Steps that hold: every 100 slots the level moves by 6 sigma and stays there.
  std::vector<double> steps(1000, 0.0);
  for (size_t i = 0; i < steps.size(); ++i) steps[i] = (i / 100) % 2 == 1 ? 6.0 : 0.0;
  size_t fired = 0;
  // Relative to the level before, the residuals after each step are the step: the rule
  // fired there and the shift it proposed was right.
  EXPECT_TRUE(EndShiftEarns(steps, 1.0, 20, &fired));
  EXPECT_GT(fired, 0u);
  // Bursts of 4 outliers that fall back to 0: every shift the rule proposed was wrong.
  std::vector<double> bursts(1000, 0.0);
  for (size_t i = 50; i + 4 < bursts.size(); i += 100) {
    for (size_t j = 0; j < 4; ++j) bursts[i + j] = 10;
  }
  EXPECT_FALSE(EndShiftEarns(bursts, 1.0, 20, &fired));
  EXPECT_GT(fired, 0u);
  // No evidence either way (the rule never fired): it is kept.
  EXPECT_TRUE(EndShiftEarns(std::vector<double>(1000, 0.0), 1.0, 20, &fired));
  EXPECT_EQ(fired, 0u);
}

}  // namespace
}  // namespace forecast::internal
