// Tests of the fit's daily profile (forecast/internal/profile.h) on synthetic residual
// grids: 10 days at 5 min (288 bins a day), N(0, 0.1^2) seeded noise and a 15-minute
// "batch job" of +1 at a known time of day. Tolerances per test (a few noise standard
// errors of a bin's mean, 0.1 / sqrt(days)).
#include "forecast/internal/profile.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace forecast::internal {
namespace {

constexpr double kStep = 300;
constexpr size_t kBins = 288;
constexpr size_t kDays = 10;
constexpr double kSigma = 0.1;
constexpr double kNoClip = 1e9;

// Residuals on the grid: noise, plus `size` in bins [job, job + 3) on days [from, to).
struct Job {
  size_t bin, from_day, to_day;
  double size = 1;
};
ResidualGrid MakeGrid(const std::vector<Job>& jobs, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, kSigma);
  ResidualGrid g;
  g.step = kStep;
  g.newest_t = static_cast<double>(kDays * kBins - 1) * kStep;  // t0 = 0 at slot 0
  for (size_t slot = 0; slot < kDays * kBins; ++slot) {
    double r = normal(rng);
    for (const Job& j : jobs) {
      const size_t day = slot / kBins, bin = slot % kBins;
      if (day >= j.from_day && day < j.to_day && bin >= j.bin && bin < j.bin + 3) r += j.size;
    }
    g.resid.push_back(r);
    g.fit.push_back(0);
  }
  return g;
}

TEST(DailyProfile, BinsFollowTheTimeOfDay) {
  const ResidualGrid g = MakeGrid({}, 1);
  const std::vector<uint32_t> bin_of = ProfileBinOfSlots(g, 0, kBins);
  for (size_t slot : {0u, 1u, 287u, 288u, 1000u}) EXPECT_EQ(bin_of[slot], slot % kBins);
  EXPECT_EQ(ProfileBinCount(kStep), kBins);
  Options o;
  EXPECT_TRUE(DailyProfileApplies(o, 3 * kDay, kStep));
  EXPECT_TRUE(DailyProfileApplies(o, 3 * kDay, 3 * kHour));   // 8 bins
  EXPECT_FALSE(DailyProfileApplies(o, 3 * kDay, 4 * kHour));  // 6 bins
  EXPECT_FALSE(DailyProfileApplies(o, 1.5 * kDay, kStep));
  o.daily_profile = false;
  EXPECT_FALSE(DailyProfileApplies(o, 3 * kDay, kStep));
}

TEST(DailyProfile, RecoversASharpFeatureThatRepeatsEveryDay) {
  const ResidualGrid g = MakeGrid({{100, 0, kDays}}, 2);
  const std::vector<uint32_t> bin_of = ProfileBinOfSlots(g, 0, kBins);
  const ProfileFit fit = FitDailyProfile(g.resid, bin_of, kBins, kStep, 7, kSigma, kNoClip);
  ASSERT_EQ(fit.bins.size(), kBins);
  EXPECT_GT(fit.half_life_days, 0);
  // The job's bins within 0.15 of 1; the others are shrunk noise: RMS under 0.05 (a
  // bin's mean has a standard error of 0.03-0.06 for 10 to 3 effective days) and none
  // beyond 0.2.
  double ss = 0;
  for (size_t b = 0; b < kBins; ++b) {
    if (b >= 100 && b < 103) {
      EXPECT_NEAR(fit.bins[b], 1.0, 0.15) << "bin " << b;
    } else {
      EXPECT_LT(std::abs(fit.bins[b]), 0.2) << "bin " << b;
      ss += fit.bins[b] * fit.bins[b];
    }
  }
  EXPECT_LT(std::sqrt(ss / (kBins - 3)), 0.05);
}

TEST(DailyProfile, IsLeftOutOnPureNoise) {
  const ResidualGrid g = MakeGrid({}, 3);
  const std::vector<uint32_t> bin_of = ProfileBinOfSlots(g, 0, kBins);
  const ProfileFit fit = FitDailyProfile(g.resid, bin_of, kBins, kStep, 7, kSigma, kNoClip);
  EXPECT_TRUE(fit.bins.empty());
}

TEST(DailyProfile, AdaptsFasterWhenTheFeatureGrows) {
  // The job adds 1 for 7 days, then 4 for the last 3: forecasting each of the last two
  // days from the days before them favours the shortest half-life (7 / 3 days).
  const ResidualGrid g = MakeGrid({{100, 0, 7, 1.0}, {100, 7, kDays, 4.0}}, 4);
  const std::vector<uint32_t> bin_of = ProfileBinOfSlots(g, 0, kBins);
  const ProfileFit fit = FitDailyProfile(g.resid, bin_of, kBins, kStep, 7, kSigma, kNoClip);
  ASSERT_EQ(fit.bins.size(), kBins);
  EXPECT_DOUBLE_EQ(fit.half_life_days, 7 / kProfileHalfLifeFactor);
  // With a 7/3-day half-life the last 3 days hold about 60 % of the weight.
  EXPECT_GT(fit.bins[101], 2.5);
}

TEST(DailyProfile, NoProfileBeatsOneThatForecastsAMovedFeatureWrong) {
  // The job runs at bin 100 for 7 days, then at bin 200 for the last 3: any profile of
  // the days before still expects it at 100 more than at 200, which forecasts the last
  // two days worse than no profile at all.
  const ResidualGrid g = MakeGrid({{100, 0, 7}, {200, 7, kDays}}, 5);
  const std::vector<uint32_t> bin_of = ProfileBinOfSlots(g, 0, kBins);
  EXPECT_TRUE(FitDailyProfile(g.resid, bin_of, kBins, kStep, 7, kSigma, kNoClip).bins.empty());
}

TEST(DailyProfile, ShrinksEachBinByItsNoiseAndClips) {
  // Every day the same residual m = 0.05 in each bin, no decay to speak of (a half-life of
  // 1e6 days): n_eff = 10 days, so each bin is m^3 / (m^2 + sigma^2 / 10) exactly.
  std::vector<double> resid(kDays * kBins, 0.05);
  std::vector<uint32_t> bin_of(resid.size());
  for (size_t i = 0; i < resid.size(); ++i) bin_of[i] = static_cast<uint32_t>(i % kBins);
  bool ok = false;
  const std::vector<double> p =
      BuildProfile(resid, bin_of, kBins, resid.size(), kStep, 1e6, kSigma, kNoClip, &ok);
  const double m = 0.05, v = kSigma * kSigma / 10;
  EXPECT_NEAR(p[17], m * m * m / (m * m + v), 1e-9);
  EXPECT_TRUE(ok);  // energy 288 m^2 = 0.72 > 2 * 288 v = 0.576
  // Clipped at 0.02: the mean is the clip level.
  const std::vector<double> clipped =
      BuildProfile(resid, bin_of, kBins, resid.size(), kStep, 1e6, kSigma, 0.02, &ok);
  EXPECT_NEAR(clipped[17], 0.02 * 0.02 * 0.02 / (0.02 * 0.02 + v), 1e-9);
  EXPECT_FALSE(ok);
}

TEST(DailyProfile, RemovingItMovesItFromTheResidualsToTheFit) {
  ResidualGrid g = MakeGrid({{100, 0, kDays}}, 6);
  const std::vector<uint32_t> bin_of = ProfileBinOfSlots(g, 0, kBins);
  const ResidualGrid before = g;
  std::vector<double> profile(kBins, 0.0);
  profile[100] = 1;
  RemoveProfile(profile, bin_of, g);
  EXPECT_DOUBLE_EQ(g.resid[100], before.resid[100] - 1);
  EXPECT_DOUBLE_EQ(g.fit[100], 1);
  EXPECT_DOUBLE_EQ(g.resid[101], before.resid[101]);
}

}  // namespace
}  // namespace forecast::internal
