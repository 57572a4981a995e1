// The frontier in one replay (loadtest/frontier.h): its alternatives are exactly what
// `simulate --values` scores for the same series (what ../shared/bench/frontier.py does
// one run at a time), its interpolation, and its reports.

#include "loadtest/frontier.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

constexpr double kT0 = 1763856000;

Trace NoisyDaily(int days, double step) {
  Trace t;
  uint64_t state = 5;
  for (double s = 0; s < days * 86400; s += step) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(state >> 40) / static_cast<double>(1ULL << 24);
    t.timestamps.push_back(kT0 + s);
    t.values.push_back((60 + 40 * std::sin(2 * M_PI * s / 86400)) * (0.7 + 0.6 * u));
  }
  return t;
}

SimulationConfig Config() {
  SimulationConfig c;
  c.capacity = 10;
  c.startup_seconds = 180;
  c.warmup_seconds = 86400;
  c.history_seconds = 86400;
  c.refit_seconds = 3600;
  c.forecast.trend_uncertainty = false;
  c.policy.shortfall = scaler::kDefaultShortfall;
  c.policy.max_forecast_error = std::numeric_limits<double>::infinity();
  return c;
}

TEST(Frontier, AlternativesScoreAsSimulateValuesDoes) {
  const Trace trace = NoisyDaily(3, 300);
  FrontierOptions options;
  options.budgets = {0.02, 0.1};
  options.headroom = {1.2};
  options.peak_hold = {{600, {1.0}}};
  auto f = RunFrontier(trace, Config(), options);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->alternatives.size(), 2u);
  ASSERT_EQ(f->augur.size(), 2u);
  EXPECT_EQ(f->alternatives[0].setting, "headroom 1.2");
  EXPECT_EQ(f->alternatives[1].setting, "peak-hold 10m x 1");
  EXPECT_EQ(f->augur[0].setting, "2%");
  // Each alternative as its own run, through --values.
  const Trace series[] = {Scaled(trace, 1.2), PeakHold(trace, 600, 1.0)};
  for (int i = 0; i < 2; ++i) {
    SimulationConfig c = Config();
    c.values = series[i];
    auto r = RunSimulation(trace, c, 0);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_DOUBLE_EQ(f->alternatives[i].underprovisioned, r->values->underprovisioned_fraction);
    EXPECT_DOUBLE_EQ(f->alternatives[i].replica_hours, r->values->replica_hours);
    EXPECT_DOUBLE_EQ(f->reactive.replica_hours, r->reactive.replica_hours);
  }
  // Each budget as its own run: the same as Augur configured with it.
  SimulationConfig c = Config();
  c.policy.shortfall = scaler::ShortfallBudget{0.1, false};
  auto r = RunSimulation(trace, c, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(f->augur[1].underprovisioned, r->augur.underprovisioned_fraction);
  EXPECT_DOUBLE_EQ(f->augur[1].replica_hours, r->augur.replica_hours);
  // A tighter budget costs more and is short less.
  EXPECT_LT(f->augur[0].underprovisioned, f->augur[1].underprovisioned);
  EXPECT_GT(f->augur[0].replica_hours, f->augur[1].replica_hours);
}

TEST(Frontier, PeakHoldIsTheLargestSampleOfTheWindow) {
  Trace t;
  for (int i = 0; i < 6; ++i) {
    t.timestamps.push_back(kT0 + 60 * i);
    t.values.push_back(i == 1 ? 9 : i);
  }
  const Trace held = PeakHold(t, 180, 2);  // (t - 3 min, t]
  EXPECT_THAT(held.values, testing::ElementsAre(0, 18, 18, 18, 8, 10));
}

TEST(Frontier, CostIsInterpolatedAlongTheLowerEnvelope) {
  std::vector<FrontierPoint> pts(3);
  pts[0].ratio = 0.6, pts[0].extra = 0.10;
  pts[1].ratio = 0.4, pts[1].extra = 0.30;
  pts[2].ratio = 0.45, pts[2].extra = 0.12;  // the better point near 0.5
  // At 0.5 the lowest segment is reactive (1, 0) to (0.45, 0.12): 0.12 * 0.5 / 0.55 (the
  // one from (0.6, 0.1) to it gives 0.113, to (0.4, 0.3) 0.2).
  EXPECT_NEAR(*CostAt(pts, 0.5), 0.12 * 0.5 / 0.55, 1e-12);
  // At 0.42 only segments to (0.4, 0.3) reach: from (0.45, 0.12) is the lowest.
  EXPECT_NEAR(*CostAt(pts, 0.42), 0.12 + (0.3 - 0.12) * (0.42 - 0.45) / (0.4 - 0.45), 1e-12);
  EXPECT_FALSE(CostAt(pts, 0.1).has_value());  // no point reaches it
  EXPECT_NEAR(*CostAt(pts, 1.0), 0, 1e-12);
}

TEST(Frontier, ReportsAsJsonTextAndSvg) {
  const Trace trace = NoisyDaily(3, 300);
  FrontierOptions options;
  options.budgets = {0.01, 0.05, 0.2};
  options.headroom = {1.1, 1.5};
  options.peak_hold = {};
  auto f = RunFrontier(trace, Config(), options);
  ASSERT_TRUE(f.ok()) << f.status();
  auto j = nlohmann::json::parse(FrontierJson(*f));
  for (const char* k : {"reactive", "configured", "augur", "alternatives", "cost_0.5", "cost_0.25"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["configured"]["setting"], "configured (0.5x reactive)");
  std::ostringstream text, svg;
  WriteFrontierText(text, *f);
  EXPECT_THAT(text.str(), testing::HasSubstr("price of safety"));
  EXPECT_THAT(text.str(), testing::HasSubstr("headroom 1.5"));
  WriteFrontierSvg(svg, *f, "a <trace>");
  EXPECT_THAT(svg.str(), testing::HasSubstr("a &lt;trace&gt;"));
  const std::string s = svg.str();
  EXPECT_GT(std::count(s.begin(), s.end(), 'c'), 0);
  size_t circles = 0;
  for (size_t p = s.find("<circle"); p != std::string::npos; p = s.find("<circle", p + 1)) ++circles;
  EXPECT_EQ(circles, 2 /*legend*/ + 3 + 2 + 1 /*configured*/);
}

TEST(Frontier, RejectsBadBudgetsAndValues) {
  const Trace trace = NoisyDaily(2, 300);
  FrontierOptions options;
  options.budgets = {0.7};
  EXPECT_THAT(std::string(RunFrontier(trace, Config(), options).status().message()),
              testing::HasSubstr("(0, 0.5]"));
  SimulationConfig c = Config();
  c.values = trace;
  EXPECT_THAT(std::string(RunFrontier(trace, c, {}).status().message()),
              testing::HasSubstr("--values"));
}

}  // namespace
}  // namespace loadtest
