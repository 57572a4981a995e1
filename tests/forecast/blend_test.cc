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
  EXPECT_THAT(ChooseBlendWeights(Errors(24, 400, 10, 1, 1)), Each(::testing::Le(0.1)));
  EXPECT_THAT(ChooseBlendWeights(Errors(24, 400, 1, 10, 2)), Each(::testing::Ge(0.9)));
  // Equally good and independent: the mean of the two halves the error, w near 0.5.
  for (double w : ChooseBlendWeights(Errors(24, 400, 1, 1, 3))) {
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
  const std::vector<double> w = ChooseBlendWeights(c);
  EXPECT_LE(w[0], 0.1);
  EXPECT_LE(w[1], 0.1);
  for (size_t h = 4; h < 16; ++h) EXPECT_GE(w[h], 0.9) << h;
}

TEST(BlendWeights, WithoutTheLastValuesErrorsTheModelStandsAlone) {
  Candidate c = Errors(8, 100, 10, 1, 5);
  c.naive_errs.clear();
  EXPECT_THAT(ChooseBlendWeights(c), Each(1.0));
  // Too few errors in a band to choose (2 per horizon: 8 in the band of 5-8 steps):
  // the previous band's weight (here none: 1).
  EXPECT_THAT(ChooseBlendWeights(Errors(8, 2, 10, 1, 6)), Each(1.0));
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
