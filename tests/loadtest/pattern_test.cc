// Patterns are pure functions of (t, params, seed); backfill writes exactly what workload
// serves at the same t (through its collectable; tests/loadtest/workload_test.cc serves it
// over loopback); replayed traces; CSV parsing errors.

#include "loadtest/pattern.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loadtest/openmetrics.h"
#include "loadtest/workload.h"

namespace loadtest {
namespace {

using testing::HasSubstr;

PatternParams Params(PatternKind kind) {
  PatternParams p;
  p.kind = kind;
  p.base = 10;
  p.amplitude = 40;
  p.period_seconds = 600;
  p.spike_height = 100;
  p.spike_width_seconds = 60;
  p.noise = 0.1;
  p.noise_step_seconds = 15;
  p.seed = 42;
  return p;
}

constexpr double kT0 = 1763856000;  // 2025-11-23T00:00:00Z, a Sunday

TEST(Pattern, DeterministicForASeedAndDifferentAcrossSeeds) {
  for (PatternKind kind : {PatternKind::kConstant, PatternKind::kSpike, PatternKind::kGradual,
                           PatternKind::kSustained, PatternKind::kDiurnal}) {
    PatternParams a = Params(kind);
    PatternParams b = a;
    PatternParams other = a;
    other.seed = 43;
    int differ = 0;
    for (int i = 0; i < 200; ++i) {
      const double t = kT0 + i * 37.0;
      ASSERT_EQ(PatternValue(a, t), PatternValue(b, t)) << PatternKindName(kind) << " t=" << t;
      ASSERT_GE(PatternValue(a, t), 0);
      differ += PatternValue(a, t) != PatternValue(other, t);
    }
    EXPECT_GT(differ, 150) << PatternKindName(kind);
  }
}

TEST(Pattern, NoiseIsConstantWithinABucketAndHasTheRequestedScale) {
  PatternParams p = Params(PatternKind::kConstant);
  EXPECT_EQ(PatternValue(p, kT0 + 0.5), PatternValue(p, kT0 + 14.9));
  double sum = 0, sum2 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double v = PatternValue(p, kT0 + i * 15.0) - p.base;
    sum += v;
    sum2 += v * v;
  }
  const double mean = sum / n;
  const double sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 0, 0.05);
  EXPECT_NEAR(sd, 1.0, 0.05);  // 10 % of base 10
}

TEST(Pattern, ShapesWithoutNoiseHaveTheirDocumentedValues) {
  PatternParams spike = Params(PatternKind::kSpike);
  spike.noise = 0;
  // period 600 s, width 60 s from each multiple of the period (unix time).
  EXPECT_DOUBLE_EQ(PatternValue(spike, kT0 + 30), 110);
  EXPECT_DOUBLE_EQ(PatternValue(spike, kT0 + 90), 10);
  spike.phase_seconds = 120;  // shifts the spike 120 s earlier
  EXPECT_DOUBLE_EQ(PatternValue(spike, kT0 + 500), 110);

  PatternParams ramp = Params(PatternKind::kGradual);
  ramp.noise = 0;
  EXPECT_DOUBLE_EQ(PatternValue(ramp, kT0), 10);
  EXPECT_DOUBLE_EQ(PatternValue(ramp, kT0 + 150), 30);
  EXPECT_DOUBLE_EQ(PatternValue(ramp, kT0 + 300), 50);
  EXPECT_DOUBLE_EQ(PatternValue(ramp, kT0 + 450), 30);

  PatternParams plateau = Params(PatternKind::kSustained);
  plateau.noise = 0;
  EXPECT_DOUBLE_EQ(PatternValue(plateau, kT0 + 10), 50);
  EXPECT_DOUBLE_EQ(PatternValue(plateau, kT0 + 310), 10);

  PatternParams diurnal = Params(PatternKind::kDiurnal);
  diurnal.noise = 0;
  // kT0 is a Sunday (weekend factor 0.6); Monday kT0 + 1 day at 16:00 is the full peak.
  EXPECT_NEAR(PatternValue(diurnal, kT0 + 86400 + 16 * 3600), 50, 1e-9);
  EXPECT_NEAR(PatternValue(diurnal, kT0 + 16 * 3600), 10 + 40 * 0.6, 1e-9);
  EXPECT_NEAR(PatternValue(diurnal, kT0 + 86400 + 4 * 3600), 10, 1e-9);
}

TEST(Pattern, ValidateAndParseRejectBadValues) {
  EXPECT_THAT(std::string(ParsePatternKind("sine").status().message()),
              HasSubstr("expected one of constant"));
  EXPECT_EQ(*ParsePatternKind("ramp"), PatternKind::kGradual);
  PatternParams p;
  p.period_seconds = 0;
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("period"));
  p = PatternParams();
  p.kind = PatternKind::kSpike;
  p.spike_width_seconds = 7200;
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("longer than the period"));
  p = PatternParams();
  p.base = -1;
  EXPECT_THAT(std::string(p.Validate().message()), HasSubstr("base"));
}

// Parses "name{labels} value timestamp" lines back into (timestamp -> value).
std::map<double, double> ParseOpenMetrics(const std::string& text) {
  std::map<double, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line.substr(line.find(' ') + 1));
    double v = 0, t = 0;
    fields >> v >> t;
    out[t] = v;
  }
  return out;
}

TEST(Backfill, WritesTheSameValuesWorkloadServesAtTheSameTime) {
  LoadSource source;
  source.pattern = Params(PatternKind::kDiurnal);
  BackfillWindow window{kT0, kT0 + 3600, 15};
  std::ostringstream out;
  ASSERT_TRUE(WriteOpenMetrics(out, "augur_demo_load", {{"job", "demo"}}, window,
                               [&](double t) { return source.ValueAt(t); })
                  .ok());
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("# TYPE augur_demo_load gauge\n"));
  EXPECT_THAT(text, HasSubstr("augur_demo_load{job=\"demo\"} "));
  ASSERT_GE(text.size(), 6u);
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
  const std::map<double, double> samples = ParseOpenMetrics(text);
  ASSERT_EQ(samples.size(), 241u);

  double clock = 0;
  LoadCollectable live("augur_demo_load", {{"job", "demo"}}, source, [&clock] { return clock; });
  for (const auto& [t, v] : samples) {
    clock = t;
    auto families = live.Collect();
    ASSERT_EQ(families.size(), 1u);
    ASSERT_EQ(families[0].metric.size(), 1u);
    ASSERT_EQ(families[0].metric[0].gauge.value, v) << "t=" << t;  // exact round trip
    ASSERT_EQ(families[0].metric[0].label.size(), 1u);
    EXPECT_EQ(families[0].metric[0].label[0].name, "job");
  }
  EXPECT_EQ(live.scrapes(), 241);
}

TEST(Backfill, RejectsBadNamesLabelsAndWindows) {
  std::ostringstream out;
  auto f = [](double) { return 1.0; };
  EXPECT_THAT(std::string(WriteOpenMetrics(out, "9bad", {}, {0, 10, 1}, f).message()),
              HasSubstr("metric name"));
  EXPECT_THAT(std::string(WriteOpenMetrics(out, "ok", {}, {10, 0, 1}, f).message()),
              HasSubstr("start < end"));
  EXPECT_THAT(std::string(WriteOpenMetrics(out, "ok", {}, {0, 10, 0}, f).message()),
              HasSubstr("step"));
  EXPECT_THAT(std::string(ParseLabels("a=1,b").status().message()), HasSubstr("expected k=v"));
  EXPECT_THAT(std::string(ParseLabels("1a=x").status().message()), HasSubstr("bad label name"));
  auto md = ParseKeyValues("query=sum by (a\\,b) (x),targetValue=10");
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_EQ(md->at("query"), "sum by (a,b) (x)");
  EXPECT_EQ(md->at("targetValue"), "10");
  auto labels = ParseLabels("job=demo,instance=a:1");
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->at("instance"), "a:1");
}

TEST(Replay, ShiftsTheTraceToTheAnchorSpeedsItUpAndLoops) {
  auto trace = ParseTraceCsv("timestamp,value\n100,1\n160,2\n220,3\n", "mem");
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_DOUBLE_EQ(trace->MedianStep(), 60);
  auto replay = Replay::Make(std::make_shared<Trace>(*trace), 5000, 2.0);
  ASSERT_TRUE(replay.ok());
  EXPECT_DOUBLE_EQ(replay->ValueAt(5000), 1);
  EXPECT_DOUBLE_EQ(replay->ValueAt(5029), 1);
  EXPECT_DOUBLE_EQ(replay->ValueAt(5030), 2);   // 30 s at 2x = the 60 s sample
  EXPECT_DOUBLE_EQ(replay->ValueAt(5060), 3);
  EXPECT_DOUBLE_EQ(replay->ValueAt(5090), 1);   // loop: span 120 + 60 s = 90 s at 2x
  EXPECT_FALSE(Replay::Make(std::make_shared<Trace>(*trace), 0, 0).ok());
}

TEST(TraceCsv, ParsesAveragesDuplicatesAndNamesBadLines) {
  auto t = ParseTraceCsv("timestamp,value\n10,1\n\n5,4\n10,3\n20,NaN\n30,\n", "x.csv");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->timestamps, testing::ElementsAre(5, 10));
  EXPECT_THAT(t->values, testing::ElementsAre(4, 2));
  auto bad = ParseTraceCsv("timestamp,value\n10,1\n11;2\n", "x.csv");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("x.csv:3"));
  auto short_trace = ParseTraceCsv("1,1\n", "y.csv");
  EXPECT_THAT(std::string(short_trace.status().message()), HasSubstr("at least 2"));
  EXPECT_EQ(ReadTraceCsv("/nonexistent/trace.csv").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace loadtest
