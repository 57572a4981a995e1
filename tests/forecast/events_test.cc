// Known events and excluded periods through the public API (forecast/forecast.h): the
// text forms (ParseEvents, ParseExcludePeriods, FormatUtc) and, on synthetic series whose
// event effect or outage is known, what the fit recovers and forecasts. Tolerances are
// stated per test (the noise is seeded, sd 2, on a level of 100).
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "forecast/forecast.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace forecast {
namespace {

using ::testing::HasSubstr;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

constexpr double kPi = 3.14159265358979323846;
constexpr double kDay = 86400;
constexpr double kStep = 300;
constexpr double kJan1 = 1767225600;  // 2026-01-01T00:00:00Z

double Base(double t) { return 100 + 20 * std::sin(2 * kPi * t / kDay); }

// `days` days at 5-minute steps from 2026-01-01, f(t) + N(0, 2^2).
template <typename F>
Series Make(int days, F f, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 2);
  Series s;
  for (double t = kJan1; t < kJan1 + days * kDay; t += kStep) {
    s.timestamps.push_back(t);
    s.values.push_back(f(t) + normal(rng));
  }
  return s;
}

bool OnDay(double t, int day) { return t >= kJan1 + day * kDay && t < kJan1 + (day + 1) * kDay; }

// The whole UTC day `day` (days since 2026-01-01) after the history, at its step.
std::vector<double> Day(int day) {
  std::vector<double> ts;
  for (double t = kJan1 + day * kDay; t < kJan1 + (day + 1) * kDay; t += kStep) ts.push_back(t);
  return ts;
}

double MeanError(const Forecast& f, double (*truth)(double)) {
  double sum = 0;
  for (size_t j = 0; j < f.timestamps.size(); ++j) sum += f.yhat[j] - truth(f.timestamps[j]);
  return sum / static_cast<double>(f.timestamps.size());
}

double MeanAbsError(const Forecast& f, double (*truth)(double)) {
  double sum = 0;
  for (size_t j = 0; j < f.timestamps.size(); ++j) {
    sum += std::abs(f.yhat[j] - truth(f.timestamps[j]));
  }
  return sum / static_cast<double>(f.timestamps.size());
}

const FitInfo::EventEffect* EffectOf(const FitInfo& info, const std::string& name, int day) {
  for (const FitInfo::EventEffect& e : info.event_effects) {
    if (e.name == name && e.day == day) return &e;
  }
  return nullptr;
}

// --- text forms ---

TEST(ParseEventsTest, DatesRangesWindowsAndRepeatedNames) {
  Options o;
  ASSERT_THAT(ParseEvents(" black-friday=2025-11-28|2026-11-27/2026-11-30:-1d:+2d , "
                          "xmas=2026-12-25, xmas=2027-12-25:+1d",
                          o),
              IsOk());
  ASSERT_EQ(o.events.size(), 4u);
  EXPECT_EQ(o.events[0].name, "black-friday");
  EXPECT_EQ(o.events[0].start, 1764288000);  // 2025-11-28T00:00:00Z
  EXPECT_EQ(o.events[0].days, 1);
  EXPECT_EQ(o.events[0].days_before, 1);
  EXPECT_EQ(o.events[0].days_after, 2);
  EXPECT_EQ(o.events[1].start, 1795737600);  // 2026-11-27T00:00:00Z
  EXPECT_EQ(o.events[1].days, 4);
  EXPECT_EQ(o.events[1].days_before, 1);
  EXPECT_EQ(o.events[2].name, "xmas");
  EXPECT_EQ(o.events[2].days_after, 0);
  EXPECT_EQ(o.events[3].days_after, 1);
  EXPECT_EQ(FormatUtc(o.events[3].start, true), "2027-12-25");
  ASSERT_THAT(ParseEvents("none", o), IsOk());
  EXPECT_TRUE(o.events.empty());
}

TEST(ParseEventsTest, ErrorsSayWhatIsWrongAndWhatIsExpected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"xmas", "has no '='"},
      {"xmas=", "has no date"},
      {"xmas=2026-12-32", "not a valid date"},
      {"xmas=2026-02-29", "not a valid date"},
      {"xmas=26-12-25", "expected a date YYYY-MM-DD"},
      {"xmas=2026-12-25T10:00Z", "events are whole UTC days"},
      {"bf=2026-11-30/2026-11-27", "ends before it starts"},
      {"bf=2026-11-27:-1", "expected :-Nd (days before) or :+Nd"},
      {"bf=2026-11-27:1d", "expected :-Nd"},
      {"bf=2026-11-27:-31d", "N in 0..30"},
      {"bf=2026-11-27:-1d:-2d", "twice"},
      {"bf=2026-01-01/2026-12-31", "at most 60"},
      {"xmas=2026-12-25,,a=2026-01-01", "empty element"},
      {"xmas=2026-12-25, xmas=2026-12-25", "listed twice"},
      {"9x=2026-12-25", "expected a letter then"},
      {"trend=2026-12-25", "name of another component"},
  };
  for (const auto& [text, want] : cases) {
    Options o;
    EXPECT_THAT(ParseEvents(text, o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(want)))
        << text;
    EXPECT_TRUE(o.events.empty()) << text;
  }
  std::string many;
  for (int i = 0; i <= kMaxEvents; ++i) {
    many += (i > 0 ? "," : "") + std::string("e=") + FormatUtc(kJan1 + i * kDay, true);
  }
  Options o;
  EXPECT_THAT(ParseEvents(many, o), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("at most 200")));
}

TEST(ParseExcludePeriodsTest, TimesWithZonesAndWholeDays) {
  Options o;
  ASSERT_THAT(ParseExcludePeriods("2026-11-20T10:00Z/2026-11-20T14:00Z, "
                                  "2026-11-21T10:00:30.5+01:00/2026-11-21T12:00:00-00:30,"
                                  "2026-11-22, 2026-11-23/2026-11-24",
                                  o),
              IsOk());
  ASSERT_EQ(o.exclude_periods.size(), 4u);
  const double nov20 = 1795132800;  // 2026-11-20T00:00:00Z
  EXPECT_EQ(o.exclude_periods[0].start, nov20 + 10 * 3600);
  EXPECT_EQ(o.exclude_periods[0].end, nov20 + 14 * 3600);
  EXPECT_EQ(o.exclude_periods[1].start, nov20 + kDay + 9 * 3600 + 30.5);
  EXPECT_EQ(o.exclude_periods[1].end, nov20 + kDay + 12.5 * 3600);
  EXPECT_EQ(o.exclude_periods[2].start, nov20 + 2 * kDay);
  EXPECT_EQ(o.exclude_periods[2].end, nov20 + 3 * kDay);
  EXPECT_EQ(o.exclude_periods[3].end, nov20 + 5 * kDay);  // the end date inclusive
  EXPECT_EQ(FormatUtc(o.exclude_periods[0].start), "2026-11-20T10:00:00Z");
}

TEST(ParseExcludePeriodsTest, ErrorsSayWhatIsWrongAndWhatIsExpected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"2026-11-20T10:00/2026-11-20T14:00Z", "no time zone (add Z for UTC)"},
      {"2026-11-20T10:00Z", "has a start but no end"},
      {"2026-11-20T14:00Z/2026-11-20T10:00Z", "ends at or before it starts"},
      {"2026-11-20 10:00Z/2026-11-20T14:00Z", "no 'T'"},
      {"2026-11-20T25:00Z/2026-11-20T26:00Z", "out of range"},
      {"2026-11-20T10:00+1/2026-11-20T14:00Z", "trailing characters or a bad zone"},
      {"yesterday/today", "expected an RFC 3339 time"},
      {"2026-11-20T10:00Z/2026-11-20T14:00Z,", "empty element"},
  };
  for (const auto& [text, want] : cases) {
    Options o;
    EXPECT_THAT(ParseExcludePeriods(text, o),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(want)))
        << text;
    EXPECT_TRUE(o.exclude_periods.empty()) << text;
  }
}

TEST(OptionsTest, ValidateChecksEventsAndPeriods) {
  Options o;
  o.events.push_back({"sale", kJan1, 0, 0, 0});
  EXPECT_THAT(o.Validate(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("days >= 1")));
  o.events = {{"sale", kJan1, 1, 0, 0}};
  o.event_prior_scale = 0;
  EXPECT_THAT(o.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("event_prior_scale")));
  o.event_prior_scale = 10;
  o.exclude_periods.push_back({kJan1 + 10, kJan1});
  EXPECT_THAT(o.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("start < end")));
}

// --- the fit ---

// A sale adds +40 on 2026-01-06 and 2026-01-14 (8 days apart, so that the weekly cycle
// cannot stand in for it); the history is 20 days and the next listed occurrence is the
// day after it.
double WithSale(double t) { return Base(t) + (OnDay(t, 5) || OnDay(t, 13) ? 40 : 0); }
double SaleDay(double t) { return Base(t) + 40; }

TEST(EventsFitTest, EffectRecoveredAndPredictedOnTheNextOccurrence) {
  const Series s = Make(20, WithSale, 1);
  Options with;
  ASSERT_THAT(ParseEvents("sale=2026-01-06|2026-01-14|2026-01-21", with), IsOk());
  absl::StatusOr<Model> m = Fit(s, with);
  ASSERT_THAT(m.status(), IsOk());
  const FitInfo::EventEffect* e = EffectOf(m->info(), "sale", 0);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->points, 2 * 288u);
  EXPECT_NEAR(e->effect, 40, 4);  // within 10 %
  absl::StatusOr<Forecast> f = m->Predict(Day(20), {0.1, 0.9});
  ASSERT_THAT(f.status(), IsOk());
  EXPECT_NEAR(MeanError(*f, SaleDay), 0, 4);
  bool has_component = false;
  for (const Component& c : f->components) {
    if (c.name != "sale") continue;
    has_component = true;
    EXPECT_NEAR(c.values[0], e->effect, 1e-9);
  }
  EXPECT_TRUE(has_component);
  // The day after the sale is an ordinary day again.
  absl::StatusOr<Forecast> after = m->Predict(Day(21), {0.5});
  ASSERT_THAT(after.status(), IsOk());
  EXPECT_NEAR(MeanError(*after, Base), 0, 4);

  // Without the key the forecast on the sale day misses most of it.
  absl::StatusOr<Model> plain = Fit(s, Options());
  ASSERT_THAT(plain.status(), IsOk());
  absl::StatusOr<Forecast> g = plain->Predict(Day(20), {0.5});
  ASSERT_THAT(g.status(), IsOk());
  EXPECT_LT(MeanError(*g, SaleDay), -30);
}

// A 2-day event with a day before and a day after, each with its own effect.
double Launch(double t) {
  double v = Base(t);
  if (OnDay(t, 4) || OnDay(t, 12)) v += 10;                                   // day -1
  if (OnDay(t, 5) || OnDay(t, 6) || OnDay(t, 13) || OnDay(t, 14)) v += 30;  // days 0, 1
  if (OnDay(t, 7) || OnDay(t, 15)) v -= 15;                                   // day 2
  return v;
}

TEST(EventsFitTest, EachDayOfTheWindowGetsItsOwnEffect) {
  Options o;
  ASSERT_THAT(ParseEvents("launch=2026-01-06/2026-01-07|2026-01-14/2026-01-15:-1d:+1d", o),
              IsOk());
  absl::StatusOr<Model> m = Fit(Make(19, Launch, 2), o);
  ASSERT_THAT(m.status(), IsOk());
  const double want[] = {10, 30, 30, -15};
  for (int day = -1; day <= 2; ++day) {
    const FitInfo::EventEffect* e = EffectOf(m->info(), "launch", day);
    ASSERT_NE(e, nullptr) << day;
    EXPECT_NEAR(e->effect, want[day + 1], 3) << day;
  }
}

TEST(EventsFitTest, MultiplicativeModeScalesTheEffectWithTheTrend) {
  Options o;
  o.seasonality_mode = SeasonalityMode::kMultiplicative;
  ASSERT_THAT(ParseEvents("sale=2026-01-06|2026-01-14|2026-01-21", o), IsOk());
  absl::StatusOr<Model> m = Fit(Make(20, WithSale, 3), o);
  ASSERT_THAT(m.status(), IsOk());
  const FitInfo::EventEffect* e = EffectOf(m->info(), "sale", 0);
  ASSERT_NE(e, nullptr);
  EXPECT_NEAR(e->effect, 40, 4);
  absl::StatusOr<Forecast> f = m->Predict(Day(20), {0.5});
  ASSERT_THAT(f.status(), IsOk());
  EXPECT_NEAR(MeanError(*f, SaleDay), 0, 5);
}

// An outage: the metric reads 0 from 2026-01-12T00:00Z to 2026-01-13T12:00Z, 12 h before
// the end of a 14-day history.
double WithOutage(double t) {
  return t >= kJan1 + 11 * kDay && t < kJan1 + 12.5 * kDay ? 0 : Base(t);
}

TEST(ExcludePeriodsFitTest, AnOutageDoesNotDragTheForecastDown) {
  const Series s = Make(13, WithOutage, 4);
  Options excluded;
  ASSERT_THAT(ParseExcludePeriods("2026-01-12T00:00Z/2026-01-13T12:00Z", excluded), IsOk());
  absl::StatusOr<Model> m = Fit(s, excluded);
  ASSERT_THAT(m.status(), IsOk());
  ASSERT_EQ(m->info().exclusions.size(), 1u);
  EXPECT_EQ(m->info().exclusions[0].points_removed, 36 * 12u);
  EXPECT_EQ(m->info().points_used, s.timestamps.size() - 36 * 12);
  absl::StatusOr<Forecast> f = m->Predict(Day(13), {0.1, 0.9});
  ASSERT_THAT(f.status(), IsOk());
  const double with_exclusion = MeanAbsError(*f, Base);
  EXPECT_LT(with_exclusion, 3);

  absl::StatusOr<Model> plain = Fit(s, Options());
  ASSERT_THAT(plain.status(), IsOk());
  absl::StatusOr<Forecast> g = plain->Predict(Day(13), {0.1, 0.9});
  ASSERT_THAT(g.status(), IsOk());
  EXPECT_GT(MeanAbsError(*g, Base), 3 * with_exclusion);
  // The intervals come from the in-sample errors: the outage widens them when it is fitted.
  EXPECT_LT(f->quantiles[1][100] - f->quantiles[0][100],
            g->quantiles[1][100] - g->quantiles[0][100]);
}

TEST(ExcludePeriodsFitTest, RecentPointsInAnExcludedPeriodAreIgnored) {
  // The history ends at 2026-01-14; an outage (zeros) follows for 2 h: as `recent` it
  // would pull the short-term correction down, excluded it leaves the forecast alone.
  const Series s = Make(14, Base, 5);
  Series recent;
  for (double t = kJan1 + 14 * kDay; t < kJan1 + 14 * kDay + 7200; t += kStep) {
    recent.timestamps.push_back(t);
    recent.values.push_back(0);
  }
  Options o;
  ASSERT_THAT(ParseExcludePeriods("2026-01-15T00:00Z/2026-01-15T02:00Z", o), IsOk());
  absl::StatusOr<Model> m = Fit(s, o);
  ASSERT_THAT(m.status(), IsOk());
  const std::vector<double> ts = {kJan1 + 14 * kDay + 7200 + kStep};
  absl::StatusOr<Forecast> with_recent = m->Predict(ts, {0.5}, recent);
  absl::StatusOr<Forecast> without = m->Predict(ts, {0.5});
  ASSERT_THAT(with_recent.status(), IsOk());
  ASSERT_THAT(without.status(), IsOk());
  EXPECT_EQ(with_recent->yhat[0], without->yhat[0]);

  absl::StatusOr<Model> plain = Fit(s, Options());
  ASSERT_THAT(plain.status(), IsOk());
  absl::StatusOr<Forecast> dragged = plain->Predict(ts, {0.5}, recent);
  ASSERT_THAT(dragged.status(), IsOk());
  EXPECT_LT(dragged->yhat[0], without->yhat[0] - 20);
}

TEST(ExcludePeriodsFitTest, EverythingExcludedIsAClearError) {
  Options o;
  ASSERT_THAT(ParseExcludePeriods("2026-01-01/2026-01-02", o), IsOk());
  EXPECT_THAT(Fit(Make(2, Base, 6), o).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("576 in excluded periods")));
}

// With nothing of them in the history or the forecast, events and excluded periods leave
// every output bit-identical to a fit without them.
TEST(EventsFitTest, NothingInTheHistoryChangesNothing) {
  const Series s = Make(15, Base, 7);
  for (SeasonalityMode mode : {SeasonalityMode::kAdditive, SeasonalityMode::kMultiplicative}) {
    Options plain;
    plain.seasonality_mode = mode;
    Options with = plain;
    ASSERT_THAT(ParseEvents("xmas=2026-12-25:-1d:+1d", with), IsOk());
    ASSERT_THAT(ParseExcludePeriods("2025-12-01/2025-12-02", with), IsOk());
    absl::StatusOr<Model> a = Fit(s, plain);
    absl::StatusOr<Model> b = Fit(s, with);
    ASSERT_THAT(a.status(), IsOk());
    ASSERT_THAT(b.status(), IsOk());
    EXPECT_TRUE(b->info().event_effects.empty());
    const std::vector<double> ts = Day(15);
    absl::StatusOr<Forecast> fa = a->Predict(ts, {0.1, 0.5, 0.9});
    absl::StatusOr<Forecast> fb = b->Predict(ts, {0.1, 0.5, 0.9});
    ASSERT_THAT(fa.status(), IsOk());
    ASSERT_THAT(fb.status(), IsOk());
    EXPECT_EQ(fa->yhat, fb->yhat);
    EXPECT_EQ(fa->quantiles, fb->quantiles);
    ASSERT_EQ(fa->components.size(), fb->components.size());
    for (size_t i = 0; i < fa->components.size(); ++i) {
      EXPECT_EQ(fa->components[i].values, fb->components[i].values);
    }
  }
}

}  // namespace
}  // namespace forecast
