// Tests of the blend with the last value (forecast/internal/blend.h): the weights the
// in-sample errors choose when the right answer is known, and, through forecast.h, what
// the blend does on series the model alone cannot forecast (seeded noise; tolerances per
// test).
#include "forecast/internal/blend.h"

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace forecast::internal {
namespace {

using ::testing::Contains;
using ::testing::Each;
using ::testing::HasSubstr;

// A candidate with H horizons of n errors each: the model's ~ N(0, sm^2), the last
// value's ~ N(0, sn^2) (independent).
Candidate Errors(size_t H, size_t n, double sm, double sn, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  Candidate c;
  c.errs.assign(H, {});
  c.naive_errs.assign(H, {});
  for (size_t h = 0; h < H; ++h) {
    for (size_t i = 0; i < n; ++i) {
      c.errs[h].push_back(sm * normal(rng));
      c.naive_errs[h].push_back(sn * normal(rng));
    }
  }
  c.model_errs = c.errs;
  return c;
}

TEST(BlendWeights, TheBetterForecastGetsTheWeight) {
  // The model 10 times worse: (nearly) all weight on the last value, and vice versa.
  EXPECT_THAT(ChooseBlendWeights(Errors(24, 400, 10, 1, 1)).model, Each(::testing::Le(0.1)));
  EXPECT_THAT(ChooseBlendWeights(Errors(24, 400, 1, 10, 2)).model, Each(::testing::Ge(0.9)));
  // Equally good and independent: the mean of the two halves the error, w near 0.5.
  for (double w : ChooseBlendWeights(Errors(24, 400, 1, 1, 3)).model) {
    EXPECT_NEAR(w, 0.5, 0.21);
  }
}

TEST(BlendWeights, HorizonBandsChooseTheirOwnWeight) {
  // The last value wins at 1-2 steps ahead, the model from 5 steps on.
  Candidate c = Errors(16, 400, 1, 1, 4);
  for (size_t h = 0; h < 16; ++h) {
    for (size_t i = 0; i < c.errs[h].size(); ++i) {
      if (h < 2) c.model_errs[h][i] *= 10;
      if (h >= 4) c.naive_errs[h][i] *= 10;
    }
  }
  const std::vector<double> w = ChooseBlendWeights(c).model;
  EXPECT_LE(w[0], 0.1);
  EXPECT_LE(w[1], 0.1);
  for (size_t h = 4; h < 16; ++h) EXPECT_GE(w[h], 0.9) << h;
}

TEST(BlendWeights, WithoutTheLastValuesErrorsTheModelStandsAlone) {
  Candidate c = Errors(8, 100, 10, 1, 5);
  c.naive_errs.clear();
  EXPECT_THAT(ChooseBlendWeights(c).model, Each(1.0));
  // Too few errors in a band to choose (2 per horizon: 8 in the band of 5-8 steps):
  // the previous band's weight (here none: 1).
  EXPECT_THAT(ChooseBlendWeights(Errors(8, 2, 10, 1, 6)).model, Each(1.0));
}

TEST(BlendWeights, TheSeasonalNaiveMemberGetsTheWeightWhereItIsBetter) {
  // Its errors 10 times smaller than the other two's: (nearly) all weight on it.
  Candidate c = Errors(24, 400, 10, 10, 11);
  c.season_errs = Errors(24, 400, 1, 1, 12).naive_errs;
  const BlendWeights w = ChooseBlendWeights(c);
  ASSERT_EQ(w.season.size(), 24u);
  for (size_t h = 0; h < 24; ++h) {
    EXPECT_GE(w.season[h], 0.8) << h;
    EXPECT_LE(w.model[h] + w.season[h], 1.0 + 1e-12) << h;
  }
}

TEST(BlendWeights, ASeasonalMemberThatDoesNotHelpLeavesTheTwoMemberWeights) {
  // Its errors the last value's (a period that is the step) or far worse: it gets no
  // share, and the model's weights are those chosen without it.
  for (double scale : {1.0, 10.0}) {
    Candidate c = Errors(24, 400, 1, 1, 13);
    const std::vector<double> without = ChooseBlendWeights(c).model;
    c.season_errs = c.naive_errs;
    for (auto& e : c.season_errs) {
      for (double& v : e) v *= scale;
    }
    const BlendWeights w = ChooseBlendWeights(c);
    EXPECT_EQ(w.model, without) << scale;
    EXPECT_THAT(w.season, Each(0.0)) << scale;
  }
}

// The three-member choice by brute force: every (w, s) of the grid, as blend.h states the
// rule (the two-member best, then a seasonal share only below (1 - kBlendSeasonMinGain)
// of its sum; ties to the larger model weight, then the smaller seasonal one).
BlendWeights WholeGrid(const Candidate& c) {
  constexpr int K = kBlendWeightSteps;
  const size_t H = c.model_errs.size();
  BlendWeights out{std::vector<double>(H, 1.0), std::vector<double>(H, 0.0), {}};
  for (size_t lo = 0; lo < H; lo = 2 * lo + 1) {
    const size_t hi = std::min(H, 2 * lo + 1);
    auto sum = [&](double w, double s) {
      double total = 0;
      for (size_t h = lo; h < hi; ++h) {
        for (size_t i = 0; i < c.model_errs[h].size(); ++i) {
          const double en = c.naive_errs[h][i];
          total += std::abs(en + w * (c.model_errs[h][i] - en) + s * (c.season_errs[h][i] - en));
        }
      }
      return total;
    };
    double w2 = 1, best = sum(1, 0);
    for (int k = K - 1; k >= 0; --k) {
      if (sum(static_cast<double>(k) / K, 0) < best) {
        best = sum(static_cast<double>(k) / K, 0);
        w2 = static_cast<double>(k) / K;
      }
    }
    double w = w2, s = 0, bar = best * (1 - kBlendSeasonMinGain);
    for (int k = K - 1; k >= 0; --k) {
      for (int j = 1; j <= K - k; ++j) {
        const double v = sum(static_cast<double>(k) / K, static_cast<double>(j) / K);
        if (v < bar) {
          bar = v;
          w = static_cast<double>(k) / K;
          s = static_cast<double>(j) / K;
        }
      }
    }
    for (size_t h = lo; h < hi; ++h) {
      out.model[h] = w;
      out.season[h] = s;
    }
  }
  return out;
}

TEST(BlendWeights, TheBoundedSearchChoosesWhatTheWholeGridDoes) {
  // The search skips grid points that a lower bound rules out: on members of every
  // relative skill, correlated with each other, it chooses what evaluating every point
  // chooses (and both choose a seasonal share on some of them).
  std::mt19937 rng(21);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  int with_share = 0, without = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const size_t H = 12, n = 60;
    const double sm = std::exp(3 * uniform(rng) - 1.5), ss = std::exp(3 * uniform(rng) - 1.5);
    const double rho = uniform(rng);
    Candidate c;
    c.errs.assign(H, {});
    c.model_errs.assign(H, {});
    c.naive_errs.assign(H, {});
    c.season_errs.assign(H, {});
    for (size_t h = 0; h < H; ++h) {
      for (size_t i = 0; i < n; ++i) {
        const double common = normal(rng);
        c.naive_errs[h].push_back(common + 0.3 * normal(rng));
        c.model_errs[h].push_back(sm * (rho * common + (1 - rho) * normal(rng)));
        c.season_errs[h].push_back(ss * (rho * common + (1 - rho) * normal(rng)));
        c.errs[h].push_back(c.model_errs[h].back());
      }
    }
    const BlendWeights got = ChooseBlendWeights(c), want = WholeGrid(c);
    ASSERT_EQ(got.season.size(), H);
    for (size_t h = 0; h < H; ++h) {
      EXPECT_NEAR(got.model[h], want.model[h], 1e-12) << trial << " " << h;
      EXPECT_NEAR(got.season[h], want.season[h], 1e-12) << trial << " " << h;
      (want.season[h] > 0 ? with_share : without)++;
    }
  }
  EXPECT_GT(with_share, 100);
  EXPECT_GT(without, 100);
}

TEST(BlendWeights, TheIntervalsAreMadeOfTheBlendWithoutTheSeasonalMember) {
  // The seasonal member wins (its errors a tenth of the others'), so the point forecast
  // is mostly it; the errors the intervals are made of are the model's and the last
  // value's best blend (the seasonal member's in-sample errors, chosen because they were
  // small, would make the band too narrow out of sample: a load of exact zeros with
  // bursts covered half of its 80 % band).
  const size_t H = 6, n = 200, P = 3, window = 20;
  Candidate c = Errors(H, n, 10, 10, 31);
  c.season_errs = Errors(H, n, 1, 1, 32).naive_errs;
  const BlendWeights chosen = ChooseBlendWeights(c);
  ASSERT_GT(chosen.season[0], 0.5);
  ASSERT_EQ(chosen.two.size(), H);
  const Candidate before = c;
  CorrectionWindow w;
  w.raw.assign(window, 0.5);
  w.fit.assign(window, 1.0);
  w.resid.assign(window, 0.0);
  w.period = P;
  w.observed.assign(kSeasonLookback * P + window, 2.0);
  Correction out;
  FitInfo info;
  FitBlend(c, w, Scaling{}, 300, out, info);
  EXPECT_EQ(out.season_weight, chosen.season);
  EXPECT_EQ(out.season_values.size(), kSeasonLookback * P);
  for (size_t h = 0; h < H; ++h) {
    for (size_t i = 0; i < n; ++i) {
      const double two = chosen.two[h];
      EXPECT_DOUBLE_EQ(c.errs[h][i],
                       two * before.model_errs[h][i] + (1 - two) * before.naive_errs[h][i]);
    }
  }
  EXPECT_THAT(info.notes, Contains(HasSubstr("seasonal-naive")));
}

TEST(SeasonalNaive, TheMedianOfTheNewestPeriodsOrTheLastValue) {
  static_assert(kSeasonLookback == 3, "the values below are the median of 3");
  const double nan = std::nan("");
  CorrectionWindow w;
  w.period = 2;
  // observed[3 * 2 + i] is slot i's: 6 values before the window, then slots 0..5.
  w.observed = {1, 2, 3, 4, 5, 6, /* slots */ 100, 8, 7, nan, 9, 10};
  // Slot 1 from origin 0: one period back is the window's index -1 (6), then 4, 2.
  EXPECT_EQ(w.SeasonalNaive(0, 1, -1), 4);
  // Slot 2 from origin 0: slots 0, -2, -4 (100, 5, 3): the median ignores the spike.
  EXPECT_EQ(w.SeasonalNaive(0, 2, -1), 5);
  // Slot 5 from origin 4: slots 3 (missing), 1, -1 (8, 6): the mean of the two left.
  EXPECT_EQ(w.SeasonalNaive(4, 5, -1), 7);
  // Slot 4 from origin 1 (3 ahead): two periods back, slots 0, -2, -4.
  EXPECT_EQ(w.SeasonalNaive(1, 4, -1), 5);
  w.period = 0;
  EXPECT_EQ(w.SeasonalNaive(4, 5, -1), -1);
  // All missing: the fallback.
  EXPECT_EQ(SeasonalValue(std::vector<double>{nan, 1, nan, 2, nan}, 4, 2, -1), -1);
  const float nanf = std::nanf("");  // the model's state keeps floats
  EXPECT_EQ(SeasonalValue(std::vector<float>{nanf, 1, nanf, 2, nanf}, 3, 2, -1), 1.5);
  CorrectionState s;
  s.last_value = 9;
  EXPECT_EQ(s.SeasonalNaive(1), 9);  // no period
  s.period = 2;
  s.season = {1, 5, 2, nanf, 3, 4};  // the newest (4) at the origin
  EXPECT_EQ(s.SeasonalNaive(1), 2);  // 3, 2, 1
  EXPECT_EQ(s.SeasonalNaive(2), 4.5);  // 4, missing, 5: the mean of the two
  EXPECT_EQ(s.SeasonalNaive(3), 2);
  EXPECT_EQ(s.SeasonalNaive(0), 9);
}

TEST(SeasonalNaive, APeriodIsAWholeNumberOfStepsThatTheWindowHoldsAFewTimes) {
  EXPECT_EQ(SeasonPeriodSteps(3600, 300, 1000), 12u);
  EXPECT_EQ(SeasonPeriodSteps(3600, 420, 1000), 0u);           // 8.57 steps
  EXPECT_EQ(SeasonPeriodSteps(86400, 300, 3 * 288), 288u);     // 3 days of 5 min
  EXPECT_EQ(SeasonPeriodSteps(86400, 300, 3 * 288 - 1), 0u);   // fewer than 3 periods
  EXPECT_EQ(SeasonPeriodSteps(300, 300, 1000), 0u);            // the step itself
  EXPECT_EQ(SeasonPeriodSteps(0, 300, 1000), 0u);
}

TEST(Blend, WeighsTheModelTheLastValueAndTheSeasonalNaiveForecast) {
  Correction c;
  c.model_weight = {0.5, 0.2};
  c.season_weight = {0.5, 0.3};
  EXPECT_DOUBLE_EQ(Blend(c, 1, 10, 2, false, 4), 7);
  EXPECT_DOUBLE_EQ(Blend(c, 2, 10, 2, false, 4), 0.2 * 10 + 0.3 * 4 + 0.5 * 2);
  EXPECT_DOUBLE_EQ(Blend(c, 9, 10, 2, false, 4), 0.2 * 10 + 0.3 * 4 + 0.5 * 2);
  EXPECT_EQ(Blend(c, 0, 10, 2, false, 4), 10);
  // Right after a jump the seasonal member keeps its share; the jump weights split the
  // rest.
  c.jump_weight = {1.0};
  EXPECT_DOUBLE_EQ(ModelWeight(c, 1, true), 0.5);
  EXPECT_DOUBLE_EQ(Blend(c, 1, 10, 2, true, 4), 7);
  c.jump_weight = {0.0};
  EXPECT_DOUBLE_EQ(Blend(c, 1, 10, 2, true, 4), 3);
}

TEST(Blend, WeighsTheModelAndTheLastValueAndHoldsBeyondTheLastStep) {
  Correction c;
  EXPECT_EQ(Blend(c, 3, 10, 2), 10);  // no weights: the model
  c.model_weight = {0, 0.5, 1};
  EXPECT_EQ(Blend(c, 1, 10, 2), 2);
  EXPECT_EQ(Blend(c, 2, 10, 2), 6);
  EXPECT_EQ(Blend(c, 3, 10, 2), 10);
  EXPECT_EQ(Blend(c, 50, 10, 2), 10);
  EXPECT_EQ(Blend(c, 0, 10, 2), 10);  // not after the origin: the model
}

TEST(Jumps, AJumpIsAResidualBeyondTheClipAfterOneThatWasNot) {
  const double nan = std::nan("");
  const std::vector<double> r = {0, 5, 6, -7, 1, nan, 9};
  EXPECT_FALSE(IsJump(r, 0, 4));
  EXPECT_TRUE(IsJump(r, 1, 4));   // 0 then 5
  EXPECT_FALSE(IsJump(r, 2, 4));  // 5 then 6: inside a run
  EXPECT_FALSE(IsJump(r, 3, 4));  // 6 then -7: still beyond
  EXPECT_FALSE(IsJump(r, 4, 4));
  EXPECT_FALSE(IsJump(r, 5, 4));  // missing
  EXPECT_TRUE(IsJump(r, 6, 4));   // after a missing one
  EXPECT_TRUE(IsJump({5}, 0, 4));
}

TEST(Jumps, TooFewJumpsChooseNoWeights) {
  Candidate c = Errors(4, 100, 1, 1, 20);
  c.jump_model_errs = Errors(4, kBlendMinErrors - 1, 10, 1, 21).model_errs;
  c.jump_naive_errs = Errors(4, kBlendMinErrors - 1, 10, 1, 21).naive_errs;
  EXPECT_TRUE(ChooseJumpWeights(c).empty());
  c.jump_model_errs = Errors(4, kBlendMinErrors, 10, 1, 22).model_errs;
  c.jump_naive_errs = Errors(4, kBlendMinErrors, 10, 1, 22).naive_errs;
  const std::vector<double> w = ChooseJumpWeights(c);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_LE(w[0], 0.2);  // after a jump the last value was 10 times better
  Correction corr;
  corr.jump_weight = w;
  corr.jump_clip = 4;
  EXPECT_TRUE(AfterJump(corr, 5, 0));
  EXPECT_FALSE(AfterJump(corr, 5, 5));
  EXPECT_FALSE(AfterJump(corr, 3, 0));
  EXPECT_EQ(ModelWeight(corr, 1, true), w[0]);
  EXPECT_EQ(ModelWeight(corr, 1, false), 1.0);  // no blend otherwise
}

// --- through forecast.h ---

constexpr double kStep = 300;
constexpr double kStart = 1700000000;

Series Make(size_t n, const std::vector<double>& values) {
  Series s;
  for (size_t i = 0; i < n; ++i) {
    s.timestamps.push_back(kStart + static_cast<double>(i) * kStep);
    s.values.push_back(values[i]);
  }
  return s;
}

std::vector<double> Ahead(const Model& m, int steps) {
  std::vector<double> ts;
  for (int k = 1; k <= steps; ++k) ts.push_back(m.last_timestamp() + k * kStep);
  return ts;
}

TEST(BlendThroughFit, ALevelThatStepsAtRandomIsFollowedLikeTheLastValue) {
  // 10 days at 5 min of a level that jumps by N(0, 20^2) every ~4 h at random (a random
  // walk in steps), noise 0.5: no seasonality to learn, and the best forecast is the
  // current level. The newest step happens 3 slots before the end.
  std::mt19937 rng(7);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> uni(0, 1);
  const size_t n = 10 * 288;
  std::vector<double> y(n);
  double level = 500;
  for (size_t i = 0; i < n; ++i) {
    if (uni(rng) < 1.0 / 48 || i == n - 3) level += 20 * normal(rng) + (i == n - 3 ? 40 : 0);
    y[i] = level + 0.5 * normal(rng);
  }
  absl::StatusOr<Model> m = Fit(Make(n, y), Options{});
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<Forecast> f = m->Predict(Ahead(*m, 12), {0.1, 0.9});
  ASSERT_TRUE(f.ok()) << f.status();
  for (double v : f->yhat) EXPECT_NEAR(v, level, 5) << "level " << level;
}

TEST(BlendThroughFit, AFlatLoadWithATransientEpisodeOfPeriodicSpikesForecastsItsLevel) {
  // 9 days at 5 min of a level of 1000 with noise 20; during days 3-5 a job spikes the
  // load to 20000 at two fixed minutes of every hour, then stops. Whatever the fit makes
  // of the episode, the forecast for the next hour must stay near the level.
  std::mt19937 rng(8);
  std::normal_distribution<double> normal(0, 1);
  const size_t n = 9 * 288;
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = 1000 + 20 * normal(rng);
    const size_t slot_of_hour = i % 12;
    if (i >= 3 * 288 && i < 6 * 288 && (slot_of_hour == 2 || slot_of_hour == 7)) y[i] = 20000;
  }
  absl::StatusOr<Model> m = Fit(Make(n, y), Options{});
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<Forecast> f = m->Predict(Ahead(*m, 12), {0.1, 0.9});
  ASSERT_TRUE(f.ok()) << f.status();
  std::string notes;
  for (const std::string& s : m->info().notes) notes += s + "; ";
  for (double v : f->yhat) EXPECT_NEAR(v, 1000, 100) << notes;
}

// 10 days at 5 min of a level of 1000 with noise 20 and a one-step spike to 13000 at
// slot 3 of every hour; the history ends `before` steps before a spike.
std::vector<double> HourlySpikes(size_t before, size_t* n_out) {
  std::mt19937 rng(40);
  std::normal_distribution<double> normal(0, 1);
  const size_t n = 10 * 288 + 4 - before;
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = (i % 12 == 3 ? 13000 : 1000) + 20 * normal(rng);
  *n_out = n;
  return y;
}

TEST(BlendThroughFit, SharpHourlySpikesAreForecastByTheSeasonalNaiveMember) {
  size_t n = 0;
  const std::vector<double> y = HourlySpikes(1, &n);  // the next step is a spike
  absl::StatusOr<Model> m = Fit(Make(n, y), Options{});
  ASSERT_TRUE(m.ok()) << m.status();
  std::string notes;
  for (const std::string& s : m->info().notes) notes += s + "; ";
  EXPECT_THAT(notes, HasSubstr("seasonal-naive"));
  absl::StatusOr<Forecast> f = m->Predict(Ahead(*m, 24), {0.1, 0.9});
  ASSERT_TRUE(f.ok()) << f.status();
  // The spikes 1 and 13 steps ahead, the level between them, and bands that hold them
  // (the period is the daily profile's or the hourly seasonality's: the spikes repeat in
  // both; 1 step ahead the model may keep a small share).
  EXPECT_NEAR(f->yhat[0], 13000, 1500) << notes;
  EXPECT_NEAR(f->yhat[12], 13000, 1500) << notes;
  for (int h : {1, 5, 10, 13, 20}) EXPECT_NEAR(f->yhat[h], 1000, 1000) << h << " " << notes;
  EXPECT_LT(f->quantiles[0][0], f->yhat[0]);
  EXPECT_GT(f->quantiles[1][0], f->yhat[0]);
  // Without the seasonal member (no blend at all) the spike is smeared or missed.
  Options off;
  off.naive_blend = false;
  absl::StatusOr<Model> alone = Fit(Make(n, y), off);
  ASSERT_TRUE(alone.ok());
  absl::StatusOr<Forecast> fa = alone->Predict(Ahead(*alone, 24), {0.5});
  ASSERT_TRUE(fa.ok());
  EXPECT_GT(std::abs(fa->yhat[12] - 13000), 2 * std::abs(f->yhat[12] - 13000)) << fa->yhat[12];
  // `recent` moves the seasonal state forward: 5 newer steps (the spike among them),
  // then the next spike is 8 steps ahead.
  Series recent;
  for (int k = 1; k <= 5; ++k) {
    recent.timestamps.push_back(m->last_timestamp() + k * kStep);
    recent.values.push_back(k == 1 ? 13000 : 1000);
  }
  std::vector<double> ts;
  for (int k = 1; k <= 12; ++k) ts.push_back(m->last_timestamp() + (5 + k) * kStep);
  absl::StatusOr<Forecast> fr = m->Predict(ts, {0.5}, recent);
  ASSERT_TRUE(fr.ok()) << fr.status();
  EXPECT_NEAR(fr->yhat[7], 13000, 1500) << notes;
  EXPECT_NEAR(fr->yhat[0], 1000, 1000) << notes;
}

TEST(BlendThroughFit, ASeasonalLoadTheModelForecastsWellIsNotBlended) {
  // A clean daily cycle: the model alone is far better than the last value.
  std::mt19937 rng(9);
  std::normal_distribution<double> normal(0, 1);
  const size_t n = 10 * 288;
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = 100 + 50 * std::sin(6.283185307179586 * static_cast<double>(i) / 288) + normal(rng);
  }
  absl::StatusOr<Model> m = Fit(Make(n, y), Options{});
  ASSERT_TRUE(m.ok()) << m.status();
  for (const std::string& note : m->info().notes) {
    EXPECT_THAT(note, ::testing::Not(HasSubstr("blended with the last value")));
    EXPECT_THAT(note, ::testing::Not(HasSubstr("seasonal-naive")));
  }
  absl::StatusOr<Forecast> f = m->Predict(Ahead(*m, 12), {0.5});
  ASSERT_TRUE(f.ok());
  for (const Component& c : f->components) EXPECT_NE(c.name, "last_value_blend");
}

TEST(BlendThroughFit, TheBlendIsAComponentAndANoteAndCanBeTurnedOff) {
  std::mt19937 rng(10);
  std::normal_distribution<double> normal(0, 1);
  const size_t n = 6 * 288;
  std::vector<double> y(n);
  double level = 50;
  for (size_t i = 0; i < n; ++i) y[i] = (level += normal(rng));  // a random walk
  absl::StatusOr<Model> m = Fit(Make(n, y), Options{});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT(m->info().notes, Contains(HasSubstr("blended with the last value")));
  // A random walk repeats no period: the seasonal-naive member gets no share.
  EXPECT_THAT(m->info().notes, Each(::testing::Not(HasSubstr("seasonal-naive"))));
  absl::StatusOr<Forecast> f = m->Predict(Ahead(*m, 12), {0.5});
  ASSERT_TRUE(f.ok());
  // The components still add up to the forecast.
  for (size_t j = 0; j < f->yhat.size(); ++j) {
    double sum = 0;
    bool has_blend = false;
    for (const Component& c : f->components) {
      sum += c.values[j];
      has_blend = has_blend || c.name == "last_value_blend";
    }
    EXPECT_TRUE(has_blend);
    EXPECT_NEAR(sum, f->yhat[j], 1e-6 * std::abs(f->yhat[j]) + 1e-9);
  }
  Options off;
  off.naive_blend = false;
  absl::StatusOr<Model> alone = Fit(Make(n, y), off);
  ASSERT_TRUE(alone.ok());
  EXPECT_THAT(alone->info().notes,
              Each(::testing::Not(HasSubstr("blended with the last value"))));
}

// 10 days at 5 min of a level of 100 with noise 1 and a jump to +60 every 3-9 h
// (seeded), lasting `length` steps; the history ends at the first step of one.
std::vector<double> Jumpy(size_t length, uint32_t seed, size_t* n_out) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_int_distribution<int> gap(36, 108);
  const size_t n = 10 * 288;
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = 100 + normal(rng);
  size_t start = 30;
  for (size_t next = start; next + 1 < n; next = start + length + static_cast<size_t>(gap(rng))) {
    start = next;
    for (size_t k = 0; k < length && start + k + 1 < n; ++k) y[start + k] += 60;
  }
  // The newest burst is undone but for its first step.
  for (size_t k = 0; k < length && start + k + 1 < n; ++k) y[start + k] -= 60;
  *n_out = start + 1;
  y.resize(*n_out);
  y.back() += 60;
  return y;
}

TEST(BlendThroughFit, RightAfterAJumpTheHistorysJumpsSayWhetherItHolds) {
  // Jumps that hold for 4 steps: right after one, the next 3 steps are near the jump
  // (160), not the level (100), as the history's 40-odd jumps said (the blend's bands
  // of steps ahead are 1, 2-3, 4-7, ...).
  size_t n = 0;
  const std::vector<double> bursts = Jumpy(4, 30, &n);
  absl::StatusOr<Model> m = Fit(Make(n, bursts), Options{});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT(m->info().notes, Contains(HasSubstr("right after a jump")));
  absl::StatusOr<Forecast> f = m->Predict(Ahead(*m, 12), {0.5});
  ASSERT_TRUE(f.ok());
  for (int h = 0; h < 3; ++h) EXPECT_GT(f->yhat[h], 145) << h;
  EXPECT_LT(f->yhat[11], 115);  // by then the jumps were over
  // Without the blend the clipped correction follows a jump only part of the way.
  Options off;
  off.naive_blend = false;
  absl::StatusOr<Model> alone = Fit(Make(n, bursts), off);
  ASSERT_TRUE(alone.ok());
  absl::StatusOr<Forecast> fa = alone->Predict(Ahead(*alone, 3), {0.5});
  ASSERT_TRUE(fa.ok());
  EXPECT_LT(fa->yhat[2], f->yhat[2] - 20);
  // Single-step spikes: right after one, the forecast stays at the level.
  const std::vector<double> spikes = Jumpy(1, 31, &n);
  absl::StatusOr<Model> s = Fit(Make(n, spikes), Options{});
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<Forecast> fs = s->Predict(Ahead(*s, 12), {0.5});
  ASSERT_TRUE(fs.ok());
  for (double v : fs->yhat) EXPECT_NEAR(v, 100, 10);
}

TEST(BlendInPredict, IntervalScaleWidensOnlyTheModelsShare) {
  // A flat model (0 everywhere, unit scale) with sigma 1 and normal intervals: the 80 %
  // band is +-1.2816 times interval_scale where the model has all the weight, and
  // +-1.2816 where the last value has it (its errors are out of sample already).
  auto state = std::make_shared<Model::State>();
  state->step_seconds = kStep;
  state->last_t = kStart;
  state->intervals.sigma = 1;
  state->correction.model_weight = {0.0, 1.0};
  state->correction.last_value = 0;
  Options options;
  options.interval_scale = 1.5;
  const Model m(options, FitInfo{}, state);
  absl::StatusOr<Forecast> f = m.Predict({kStart + kStep, kStart + 2 * kStep}, {0.1, 0.9});
  ASSERT_TRUE(f.ok()) << f.status();
  const double z = 1.2815515655446004;
  EXPECT_NEAR(f->quantiles[1][0], z, 1e-6);        // the last value alone
  EXPECT_NEAR(f->quantiles[1][1], 1.5 * z, 1e-6);  // the model alone
  EXPECT_NEAR(f->quantiles[0][1], -1.5 * z, 1e-6);
}

}  // namespace
}  // namespace forecast::internal
