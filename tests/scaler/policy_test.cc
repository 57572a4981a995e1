#include "scaler/policy.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scaler {
namespace {

using ::testing::HasSubstr;

// A forecast over 5 steps with a median row and a 0.9 row 20 % above it.
forecast::Forecast MakeForecast(const std::vector<double>& median) {
  forecast::Forecast f;
  for (size_t i = 0; i < median.size(); ++i) f.timestamps.push_back(1000 + 30.0 * (i + 1));
  f.yhat = median;
  f.quantile_levels = {0.5, 0.9};
  std::vector<double> high;
  for (double m : median) high.push_back(m * 1.2);
  f.quantiles = {median, high};
  return f;
}

PolicyInput Input(std::optional<double> current, const forecast::Forecast* f,
                  double history = 7 * 86400) {
  PolicyInput in;
  in.current = current;
  in.forecast = f;
  in.history_seconds = history;
  return in;
}

TEST(Decide, PredictiveAnswersThePeakWhenAboveCurrent) {
  forecast::Forecast f = MakeForecast({10, 14, 30, 20, 12});
  Decision d = Decide(PolicyConfig{}, Input(12.0, &f));
  EXPECT_DOUBLE_EQ(d.value, 30);
  EXPECT_EQ(d.reason, Reason::kForecast);
  EXPECT_EQ(d.peak, 30.0);
  EXPECT_EQ(d.current, 12.0);
  EXPECT_TRUE(d.active);
  EXPECT_THAT(d.detail, HasSubstr("forecast peak 30"));
}

TEST(Decide, PredictiveNeverAnswersLessThanCurrent) {
  forecast::Forecast f = MakeForecast({10, 14, 30, 20, 12});
  Decision d = Decide(PolicyConfig{}, Input(45.0, &f));
  EXPECT_DOUBLE_EQ(d.value, 45);
  EXPECT_EQ(d.reason, Reason::kCurrentAboveForecast);
  EXPECT_EQ(d.peak, 30.0);
}

TEST(Decide, ForecastModeAnswersThePeakEvenBelowCurrent) {
  forecast::Forecast f = MakeForecast({10, 9, 8, 7, 6});
  PolicyConfig c;
  c.mode = Mode::kForecast;
  Decision d = Decide(c, Input(45.0, &f));
  EXPECT_DOUBLE_EQ(d.value, 10);
  EXPECT_EQ(d.reason, Reason::kForecast);
}

TEST(Decide, ShadowAnswersCurrentButReportsThePeak) {
  forecast::Forecast f = MakeForecast({10, 14, 30, 20, 12});
  PolicyConfig c;
  c.mode = Mode::kShadow;
  Decision d = Decide(c, Input(12.0, &f));
  EXPECT_DOUBLE_EQ(d.value, 12);
  EXPECT_EQ(d.reason, Reason::kShadow);
  EXPECT_EQ(d.peak, 30.0);
  EXPECT_FALSE(IsFallback(d.reason));
}

TEST(Decide, QuantileSelectsTheRow) {
  forecast::Forecast f = MakeForecast({10, 14, 30, 20, 12});
  PolicyConfig c;
  c.quantile = 0.9;
  Decision d = Decide(c, Input(12.0, &f));
  EXPECT_DOUBLE_EQ(d.value, 36);
}

TEST(Decide, MissingQuantileRowIsNoForecastFallback) {
  forecast::Forecast f = MakeForecast({10, 14, 30, 20, 12});
  PolicyConfig c;
  c.quantile = 0.75;
  Decision d = Decide(c, Input(12.0, &f));
  EXPECT_DOUBLE_EQ(d.value, 12);
  EXPECT_EQ(d.reason, Reason::kNoForecast);
  EXPECT_THAT(d.detail, HasSubstr("no quantile 0.75"));
  EXPECT_TRUE(IsFallback(d.reason));
}

TEST(Decide, MedianFallsBackToYhatWithoutQuantileRows) {
  forecast::Forecast f;
  f.timestamps = {1, 2};
  f.yhat = {5, 7};
  Decision d = Decide(PolicyConfig{}, Input(1.0, &f));
  EXPECT_DOUBLE_EQ(d.value, 7);
}

TEST(Decide, ShortHistoryAnswersCurrent) {
  forecast::Forecast f = MakeForecast({10, 14, 30, 20, 12});
  Decision d = Decide(PolicyConfig{}, Input(12.0, &f, 2400));
  EXPECT_DOUBLE_EQ(d.value, 12);
  EXPECT_EQ(d.reason, Reason::kShortHistory);
  EXPECT_EQ(d.peak, 30.0);  // still reported
  EXPECT_THAT(d.detail, HasSubstr("history 40m < minHistory 1h"));
}

TEST(Decide, NoForecastAnswersCurrentWithTheGivenDetail) {
  PolicyInput in = Input(12.0, nullptr);
  in.no_forecast_detail = "fit failed: too few points";
  Decision d = Decide(PolicyConfig{}, in);
  EXPECT_DOUBLE_EQ(d.value, 12);
  EXPECT_EQ(d.reason, Reason::kNoForecast);
  EXPECT_THAT(d.detail, HasSubstr("fit failed: too few points"));
  EXPECT_FALSE(d.peak.has_value());
}

TEST(Decide, ForecastErrorGate) {
  forecast::Forecast f = MakeForecast({10, 14, 30, 20, 12});
  PolicyInput in = Input(12.0, &f);
  in.error_ratio = 1.5;
  Decision d = Decide(PolicyConfig{}, in);
  EXPECT_DOUBLE_EQ(d.value, 12);
  EXPECT_EQ(d.reason, Reason::kForecastError);
  EXPECT_THAT(d.detail, HasSubstr("maxForecastError 1"));

  in.error_ratio = 0.8;  // at or below the gate: the forecast is used
  EXPECT_EQ(Decide(PolicyConfig{}, in).reason, Reason::kForecast);
  in.error_ratio = 1.0;
  EXPECT_EQ(Decide(PolicyConfig{}, in).reason, Reason::kForecast);
}

TEST(Decide, NoCurrentAnswersThePeak) {
  forecast::Forecast f = MakeForecast({10, 14, 30, 20, 12});
  Decision d = Decide(PolicyConfig{}, Input(std::nullopt, &f));
  EXPECT_DOUBLE_EQ(d.value, 30);
  EXPECT_EQ(d.reason, Reason::kNoCurrent);
}

// No current value and no forecast: no answer at all (KEDA then counts a failure),
// not a 0 that would scale the workload down.
TEST(Decide, NothingAtAllIsNoAnswer) {
  Decision d = Decide(PolicyConfig{}, Input(std::nullopt, nullptr));
  EXPECT_FALSE(d.has_value);
  EXPECT_DOUBLE_EQ(d.value, 0);
  EXPECT_FALSE(d.active);
  EXPECT_THAT(d.detail, HasSubstr("no current value"));
  EXPECT_THAT(d.detail, HasSubstr("no answer"));
  PolicyConfig shadow;
  shadow.mode = Mode::kShadow;
  forecast::Forecast f = MakeForecast({10, 14, 30});
  EXPECT_FALSE(Decide(shadow, Input(std::nullopt, &f)).has_value);
}

// In a gap a tripped error gate (or a short history) still answers the forecast: the
// naive forecast it is measured against has no value either.
TEST(Decide, FallbacksWithoutACurrentValueAnswerTheForecast) {
  forecast::Forecast f = MakeForecast({10, 14, 30, 20, 12});
  PolicyInput in = Input(std::nullopt, &f);
  in.error_ratio = 5;
  Decision d = Decide(PolicyConfig{}, in);
  EXPECT_TRUE(d.has_value);
  EXPECT_EQ(d.reason, Reason::kForecastError);
  EXPECT_DOUBLE_EQ(d.value, 30);
  EXPECT_THAT(d.detail, HasSubstr("answering the forecast peak 30"));
  d = Decide(PolicyConfig{}, Input(std::nullopt, &f, 600));
  EXPECT_EQ(d.reason, Reason::kShortHistory);
  EXPECT_DOUBLE_EQ(d.value, 30);
}

PolicyConfig Budget() {
  PolicyConfig c;
  c.shortfall = ShortfallBudget{0.02, false};
  c.max_forecast_error = std::numeric_limits<double>::infinity();
  return c;
}

TEST(Decide, BudgetAnswersItsShapesAnswer) {
  PolicyInput in = Input(12.0, nullptr);
  BudgetInput b;
  b.forecast_peak = 30;
  b.answer = 30;
  b.headroom_value = 14;
  b.detail = "budget 2%: forecast theta 1.2";
  in.budget = b;
  Decision d = Decide(Budget(), in);
  EXPECT_DOUBLE_EQ(d.value, 30);
  EXPECT_EQ(d.reason, Reason::kForecast);
  EXPECT_EQ(d.peak, 30.0);
  EXPECT_THAT(d.detail, HasSubstr("[budget 2%: forecast theta 1.2]"));
  // The current value above the forecast: the floor.
  in.current = 40;
  d = Decide(Budget(), in);
  EXPECT_DOUBLE_EQ(d.value, 40);
  EXPECT_EQ(d.reason, Reason::kCurrentAboveForecast);
}

TEST(Decide, BudgetChoosingHeadroomAnswersCurrentPlusHeadroom) {
  PolicyInput in = Input(12.0, nullptr);
  BudgetInput b;
  b.forecast_peak = 30;
  b.answer = 15;
  b.headroom_value = 15;
  b.use_headroom = true;
  in.budget = b;
  Decision d = Decide(Budget(), in);
  EXPECT_DOUBLE_EQ(d.value, 15);
  EXPECT_EQ(d.reason, Reason::kHeadroom);
  EXPECT_FALSE(IsFallback(d.reason));  // the budget's choice, not a failure
  EXPECT_EQ(d.peak, 30.0);
  EXPECT_THAT(d.detail, HasSubstr("plus headroom: 15"));
}

TEST(Decide, BudgetFallbacksAnswerCurrentPlusHeadroom) {
  PolicyInput in = Input(12.0, nullptr, 600);  // short history
  BudgetInput b;
  b.forecast_peak = 30;
  b.answer = 30;
  b.headroom_value = 15;
  in.budget = b;
  Decision d = Decide(Budget(), in);
  EXPECT_EQ(d.reason, Reason::kShortHistory);
  EXPECT_DOUBLE_EQ(d.value, 15);
  // Without a forecast either.
  in = Input(12.0, nullptr);
  b.forecast_peak.reset();
  b.answer.reset();
  in.budget = b;
  d = Decide(Budget(), in);
  EXPECT_EQ(d.reason, Reason::kNoForecast);
  EXPECT_DOUBLE_EQ(d.value, 15);
}

TEST(ParseShortfall, AbsoluteAndRelative) {
  EXPECT_DOUBLE_EQ(ParseShortfall("2%")->value, 0.02);
  EXPECT_FALSE(ParseShortfall("2%")->relative);
  EXPECT_TRUE(ParseShortfall("0.5x")->relative);
  EXPECT_EQ(ShortfallName(*ParseShortfall("0.5x")), "0.5x reactive");
  EXPECT_EQ(ShortfallName(*ParseShortfall("1.5%")), "1.5%");
  EXPECT_FALSE(ParseShortfall("").ok());
  EXPECT_FALSE(ParseShortfall("51%").ok());
}

TEST(Decide, ActivationIsStrictlyGreater) {
  forecast::Forecast f = MakeForecast({5, 5, 5});
  PolicyConfig c;
  c.activation_threshold = 5;
  EXPECT_FALSE(Decide(c, Input(1.0, &f)).active);
  c.activation_threshold = 4.99;
  EXPECT_TRUE(Decide(c, Input(1.0, &f)).active);
}

TEST(Decide, NegativeAndNonFiniteValuesBecomeZero) {
  forecast::Forecast f = MakeForecast({-3, -2, -1});
  PolicyConfig c;
  c.mode = Mode::kForecast;
  EXPECT_DOUBLE_EQ(Decide(c, Input(1.0, &f)).value, 0);

  const double nan = std::numeric_limits<double>::quiet_NaN();
  forecast::Forecast g = MakeForecast({nan, 4, nan});
  Decision d = Decide(PolicyConfig{}, Input(nan, &g));
  EXPECT_FALSE(d.current.has_value());
  EXPECT_DOUBLE_EQ(d.value, 4);
}

TEST(ReasonName, AllNamed) {
  EXPECT_STREQ(ReasonName(Reason::kForecast), "forecast");
  EXPECT_STREQ(ReasonName(Reason::kCurrentAboveForecast), "current_above_forecast");
  EXPECT_STREQ(ReasonName(Reason::kShadow), "shadow");
  EXPECT_STREQ(ReasonName(Reason::kShortHistory), "short_history");
  EXPECT_STREQ(ReasonName(Reason::kForecastError), "forecast_error");
  EXPECT_STREQ(ReasonName(Reason::kNoForecast), "no_forecast");
  EXPECT_STREQ(ReasonName(Reason::kNoCurrent), "no_current");
  EXPECT_STREQ(ReasonName(Reason::kHeadroom), "headroom");
  EXPECT_STREQ(ReasonName(Reason::kTrend), "trend");
}

// Drives the tracker as the scaler does: every 30 s a forecast of the next 5 steps, then
// the new observation.
template <typename Truth, typename Model>
ForecastErrorTracker Drive(Truth truth, Model model, int refreshes) {
  ForecastErrorTracker t;
  const double step = 30;
  for (int i = 0; i < refreshes; ++i) {
    const double now = i * step;
    t.Observe({now}, {truth(now)}, step);
    std::vector<double> ts, vs;
    for (int k = 1; k <= 5; ++k) {
      ts.push_back(now + k * step);
      vs.push_back(model(now + k * step));
    }
    t.RecordForecast(now, truth(now), ts, vs);
  }
  return t;
}

TEST(ForecastErrorTracker, PerfectModelHasRatioZero) {
  auto truth = [](double t) { return 100 + 50 * std::sin(t / 600); };
  ForecastErrorTracker t = Drive(truth, truth, 50);
  ASSERT_TRUE(t.Ratio().has_value());
  EXPECT_NEAR(*t.Ratio(), 0, 1e-9);
  ASSERT_TRUE(t.Mase().has_value());
  EXPECT_NEAR(*t.Mase(), 0, 1e-9);
}

TEST(ForecastErrorTracker, BadModelIsWorseThanNaive) {
  auto truth = [](double t) { return 100 + 50 * std::sin(t / 600); };
  auto bad = [&](double t) { return truth(t) + 200; };
  ForecastErrorTracker t = Drive(truth, bad, 50);
  ASSERT_TRUE(t.Ratio().has_value());
  EXPECT_GT(*t.Ratio(), 2);
}

TEST(ForecastErrorTracker, RatioNeedsTenScoredTargets) {
  ForecastErrorTracker t;
  t.RecordForecast(0, 1.0, {30, 60, 90}, {2, 3, 4});
  t.Observe({30, 60, 90}, {2, 3, 5}, 30);
  EXPECT_FALSE(t.Ratio().has_value());
  t.RecordForecast(90, 5.0, {120, 150, 180, 210, 240, 270, 300}, {6, 7, 8, 9, 10, 11, 12});
  t.Observe({120, 150, 180, 210, 240, 270, 300}, {6, 7, 8, 9, 10, 11, 12}, 30);
  ASSERT_TRUE(t.Ratio().has_value());
  // Model errors: 0,0,1 then zeros -> 1/10; naive errors: 1,2,4 (from 1) and 1..7 (from 5).
  EXPECT_NEAR(*t.Ratio(), 1.0 / (7 + 28), 1e-12);
}

// A fresh object refreshing every 30 s forecasts each upcoming target many times: three
// observations seen through ten forecasts each are still three targets, not enough to
// judge the model (the gate used to trip here on a handful of noisy points).
TEST(ForecastErrorTracker, ManyForecastsOfFewTargetsGiveNoRatio) {
  ForecastErrorTracker t;
  for (int target = 1; target <= 3; ++target) {
    const double at = 300.0 * target;
    for (int r = 0; r < 10; ++r) t.RecordForecast(at - 300 + 30 * r, 10.0, {at}, {20});
    t.Observe({at}, {10}, 300);
  }
  EXPECT_FALSE(t.Ratio().has_value());
}

// Each target weighs the same, however often it was forecast: one target forecast ten
// times with model error 1 (naive 1) and nine targets forecast once with model error 0
// (naive 1) give (1 + 0) / (1 + 9) = 0.1, not (10 + 0) / (10 + 9).
TEST(ForecastErrorTracker, EachTargetWeighsTheSame) {
  ForecastErrorTracker t;
  for (int r = 0; r < 10; ++r) t.RecordForecast(r, 1.0, {300}, {3});
  t.Observe({300}, {2}, 300);
  for (int i = 2; i <= 10; ++i) {
    const double at = 300.0 * i;
    t.RecordForecast(at - 300, 1.0, {at}, {2});
    t.Observe({at}, {2}, 300);
  }
  ASSERT_TRUE(t.Ratio().has_value());
  EXPECT_NEAR(*t.Ratio(), 0.1, 1e-12);
}

TEST(ForecastErrorTracker, ConstantSeriesHasNoRatio) {
  auto flat = [](double) { return 7.0; };
  ForecastErrorTracker t = Drive(flat, flat, 30);
  EXPECT_FALSE(t.Ratio().has_value());  // naive error 0
}

TEST(ForecastErrorTracker, WithoutCurrentNothingIsRecorded) {
  ForecastErrorTracker t;
  for (int i = 0; i < 20; ++i) {
    t.RecordForecast(i * 30, std::nullopt, {i * 30 + 30.0}, {1});
    t.Observe({i * 30 + 30.0}, {2}, 30);
  }
  EXPECT_FALSE(t.Ratio().has_value());
}

TEST(ForecastErrorTracker, GapsDropPendingPoints) {
  ForecastErrorTracker t;
  t.RecordForecast(0, 1.0, {30, 60, 90}, {2, 3, 4});
  t.Observe({600}, {9}, 30);  // far past every pending point: none is scored
  for (int i = 0; i < 20; ++i) {
    const double now = 600 + 30.0 * i;
    t.RecordForecast(now, 9.0, {now + 30}, {9});
    t.Observe({now + 30}, {10}, 30);
  }
  ASSERT_TRUE(t.Ratio().has_value());
  EXPECT_NEAR(*t.Ratio(), 1.0, 1e-12);  // model == naive == 9 vs actual 10
}

TEST(ForecastErrorTracker, WindowKeepsOnlyRecentPairs) {
  ForecastErrorTracker t(10);
  // 10 bad pairs, then 10 perfect ones: the window forgets the bad ones.
  for (int i = 0; i < 20; ++i) {
    const double now = 30.0 * i;
    const double actual = i;  // rising by 1 per step: naive error 1
    const double model = i < 10 ? actual + 100 : actual;
    t.RecordForecast(now - 30, actual - 1, {now}, {model});
    t.Observe({now}, {actual}, 30);
  }
  ASSERT_TRUE(t.Ratio().has_value());
  EXPECT_NEAR(*t.Ratio(), 0, 1e-12);
}

}  // namespace
}  // namespace scaler
