// Tests of the fit's design stage (forecast/internal/design.h): which seasonalities and
// changepoint candidates a history gets, and the design matrix's columns. Exact answers.
#include "forecast/internal/design.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace forecast::internal {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(DesignStructure, AutoSeasonalityFollowsTheHistoryLength) {
  // 3 days at 5 min: daily (order 10) but not weekly; changepoints at most one per 12 h
  // over the first 80 %: floor(0.8 * 3 d / 12 h) = 4, evenly spaced.
  const double step = 300, span = 3 * kDay - step;
  const size_t n = static_cast<size_t>(span / step) + 1;
  FitInfo info;
  const Structure s = ChooseStructure(Options{}, n, span, step, info);
  ASSERT_EQ(s.seasons.size(), 1u);
  EXPECT_EQ(s.seasons[0].name, "daily");
  EXPECT_EQ(s.seasons[0].order, kDailyOrder);
  EXPECT_THAT(info.notes, Contains(HasSubstr("< 2 weeks: no weekly seasonality")));
  ASSERT_EQ(s.changepoints.size(), 4u);
  for (size_t j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(s.changepoints[j], 0.8 * (j + 1) / 5.0);
  EXPECT_EQ(s.n_trend, 2);
  EXPECT_EQ(s.Columns(), 2 + 4 + 2 * kDailyOrder);
}

TEST(DesignStructure, OrdersAreCappedByTheNyquistLimitOfTheStep) {
  // A 1 h period at a 10 min step has room for floor((6 - 1) / 2) = 2 harmonics.
  Options o;
  ASSERT_TRUE(ParseSeasonality("1h,1d:12", o).ok());
  FitInfo info;
  const Structure s = ChooseStructure(o, 1000, 5 * kDay, 600, info);
  ASSERT_EQ(s.seasons.size(), 2u);
  EXPECT_EQ(s.seasons[0].order, 2);
  EXPECT_EQ(s.seasons[1].order, 12);
  EXPECT_THAT(info.notes, Contains(HasSubstr("Fourier order 5 reduced to 2")));
  EXPECT_EQ(DefaultFourierOrder(kWeek), kWeeklyOrder);
  EXPECT_EQ(DefaultFourierOrder(12 * kHour), kSubDailyOrder);
  EXPECT_EQ(DefaultFourierOrder(30 * kDay), kLongOrder);
}

TEST(DesignStructure, FlatGrowthHasALevelOnlyAndTooFewPointsDropSeasons) {
  Options o;
  o.growth = Growth::kFlat;
  FitInfo info;
  const Structure flat = ChooseStructure(o, 3000, 3 * kDay, 300, info);
  EXPECT_EQ(flat.n_trend, 1);
  EXPECT_TRUE(flat.changepoints.empty());
  // At a 4 h step daily keeps 2 harmonics (4 columns) beside the level: 5 columns and
  // kSpareRows need 9 points, so 8 cannot carry it.
  FitInfo few;
  const Structure s = ChooseStructure(o, 8, 3 * kDay, 4 * kHour, few);
  EXPECT_TRUE(s.seasons.empty());
  EXPECT_THAT(few.notes, Contains(HasSubstr("only 8 points: seasonalities dropped")));
}

TEST(DesignMatrix, ColumnsAreTrendChangepointsShiftsAndFourierTerms) {
  Rows rows;
  rows.t = {0, 6 * kHour, 12 * kHour, 18 * kHour, kDay};
  for (double t : rows.t) rows.ts.push_back(t / kDay);
  Scaling sc;
  sc.t0 = 0;
  sc.t_scale = kDay;
  Structure s;
  s.changepoints = {0.5};
  s.wanted = {{"daily", kDay, 1, 3.0}};
  s.seasons = {{"daily", kDay, 1, {0, 0}}};
  const Design d = BuildDesign(rows, sc, s, {0.75}, nullptr, 10.0);
  ASSERT_EQ(d.X.cols(), 2 + 1 + 1 + 2);
  EXPECT_EQ(d.ShiftBegin(), 3);
  EXPECT_EQ(d.SeasonBegin(), 4);
  EXPECT_EQ(d.season_priors, std::vector<double>{3.0});
  for (int i = 0; i < 5; ++i) {
    const double ts = rows.ts[i];
    EXPECT_EQ(d.X(i, 0), 1);
    EXPECT_EQ(d.X(i, 1), ts);
    EXPECT_EQ(d.X(i, 2), std::max(0.0, ts - 0.5));
    EXPECT_EQ(d.X(i, 3), ts >= 0.75 ? 1.0 : 0.0);
    EXPECT_NEAR(d.X(i, 4), std::cos(kTwoPi * ts), 1e-12);
    EXPECT_NEAR(d.X(i, 5), std::sin(kTwoPi * ts), 1e-12);
  }
  Vector beta(6);
  beta << 1, 2, 3, 4, 5, 6;
  Trend trend;
  std::vector<Season> seasons = s.seasons;
  Unpack(beta, d, {0.75}, trend, seasons);
  EXPECT_EQ(trend.m, 1);
  EXPECT_EQ(trend.k, 2);
  EXPECT_EQ(trend.delta, std::vector<double>{3});
  EXPECT_EQ(trend.shift_size, std::vector<double>{4});
  EXPECT_EQ(seasons[0].coef, (std::vector<double>{5, 6}));
}


TEST(DesignEvents, OneTermPerNameAndDayWithPointsInTheHistory) {
  // Hourly points over 10 days from t0; "sale" on day 2 and day 8 with a day before, and
  // on day 12 (after the history); "xmas" on day 30 only: no point, no term, a note.
  const double t0 = 1767225600;  // 2026-01-01T00:00:00Z
  std::vector<double> t;
  for (double x = t0; x < t0 + 10 * kDay; x += 3600) t.push_back(x);
  Options o;
  o.events = {{"sale", t0 + 2 * kDay, 1, 1, 0},
              {"sale", t0 + 8 * kDay, 1, 1, 0},
              {"sale", t0 + 12 * kDay, 1, 1, 0},
              {"xmas", t0 + 30 * kDay, 1, 0, 0}};
  FitInfo info;
  const std::vector<EventTerm> terms = ChooseEvents(o, t, info);
  ASSERT_EQ(terms.size(), 2u);
  EXPECT_EQ(terms[0].name, "sale");
  EXPECT_EQ(terms[0].day, -1);
  EXPECT_EQ(terms[1].day, 0);
  EXPECT_EQ(terms[1].points, 48u);
  ASSERT_EQ(terms[1].from.size(), 3u);  // the future occurrence too
  EXPECT_TRUE(terms[1].Covers(t0 + 12 * kDay + 3600));
  EXPECT_FALSE(terms[1].Covers(t0 + 13 * kDay));
  EXPECT_TRUE(terms[0].Covers(t0 + 11 * kDay));
  EXPECT_THAT(info.notes, Contains(HasSubstr("event xmas: no day of it in the history")));

  // Their columns come last, 1 on the rows of their days, penalised as events.
  Rows rows;
  rows.t = t;
  Scaling sc;
  sc.t0 = t0;
  sc.t_scale = t.back() - t0;
  for (double x : t) rows.ts.push_back(sc.ScaledTime(x));
  rows.y = Vector::Zero(static_cast<Eigen::Index>(t.size()));
  rows.count = Vector::Ones(static_cast<Eigen::Index>(t.size()));
  Structure s;
  s.events = terms;
  s.event_prior_scale = 3;
  const Design d = BuildDesign(rows, sc, s, {}, nullptr, 10);
  ASSERT_EQ(d.X.cols(), 2 + 2);
  EXPECT_EQ(d.n_event, 2);
  EXPECT_EQ(d.EventBegin(), 2);
  EXPECT_EQ(d.event_prior, 3);
  EXPECT_EQ(d.X.col(3).sum(), 48);
  EXPECT_EQ(d.X(2 * 24, 3), 1);
  EXPECT_EQ(d.X(2 * 24 - 1, 3), 0);
  EXPECT_EQ(d.X(2 * 24 - 1, 2), 1);
  Vector beta(4);
  beta << 0, 0, 0.5, 2;
  std::vector<EventTerm> fitted = terms;
  UnpackEvents(beta, d, fitted);
  EXPECT_EQ(fitted[0].coef, 0.5);
  EXPECT_EQ(fitted[1].coef, 2);
}

}  // namespace
}  // namespace forecast::internal
