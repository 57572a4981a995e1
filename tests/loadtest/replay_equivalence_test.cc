// The scaler's Tracker and augur-loadtest simulate's replay drive the same per-object
// model (scaler/object_model.h). Fed one series, they must decide identically at every
// refresh: same value, reason, peak, current value and detail text.

#include <cmath>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "loadtest/object_replay.h"
#include "scaler/spec.h"
#include "scaler/tracker.h"
#include "tests/scaler/fakes.h"

namespace loadtest {
namespace {

constexpr double kT0 = 1763856000;  // midnight UTC
constexpr double kStep = 60;

// A daily cycle with deterministic noise, and a 25-minute gap in the data (no samples,
// as Prometheus returns none) on the second day, so that the no-current rule is crossed.
Trace DailyTraceWithGap(double days) {
  Trace t;
  uint64_t state = 12345;
  for (double s = 0; s < days * 86400; s += kStep) {
    if (s >= 86400 * 2 + 3600 && s < 86400 * 2 + 3600 + 1500) continue;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const double noise = static_cast<double>(state >> 40) / static_cast<double>(1ULL << 24) - 0.5;
    t.timestamps.push_back(kT0 + s);
    t.values.push_back(100 + 60 * std::sin(2 * M_PI * s / 86400) + 15 * noise);
  }
  return t;
}

// Serves the trace's samples as a range query would, from the fetch's start on.
class TraceSource final : public scaler::MetricSource {
 public:
  explicit TraceSource(const Trace& trace) : trace_(trace) {}
  absl::Status Validate(const scaler::MetricQuery&) const override { return absl::OkStatus(); }
  absl::StatusOr<forecast::Series> Fetch(const scaler::MetricQuery&, double start, double end,
                                         double) override {
    forecast::Series s;
    for (size_t i = 0; i < trace_.timestamps.size(); ++i) {
      const double t = trace_.timestamps[i];
      if (t < start - 1e-6 || t > end + 1e-6) continue;
      s.timestamps.push_back(t);
      s.values.push_back(trace_.values[i]);
    }
    return s;
  }

 private:
  const Trace& trace_;
};

TEST(ReplayEquivalence, TrackerAndSimulateReplayDecideIdenticallyAtEveryRefresh) {
  const Trace trace = DailyTraceWithGap(3);
  const std::map<std::string, std::string> metadata = {
      {"query", "sum(rate(requests_total[1m]))"}, {"targetValue", "10"},
      {"serverAddress", "http://127.0.0.1:9090"}, {"step", "1m"},
      {"history", "2d"},       {"refreshInterval", "30s"},
      {"refitInterval", "10m"}, {"horizon", "5m"},
      {"quantile", "0.7"},      {"minHistory", "1h"}};
  // Start 1.5 days in (history still short of `history`), run 20 h of refreshes across
  // the gap.
  const double start = kT0 + 1.5 * 86400;
  const double end = start + 20 * 3600;

  TraceSource source(trace);
  scaler_testing::FakeClock clock(start);
  scaler_testing::InlineExecutor executor;
  scaler::TrackerOptions options;
  options.first_answer_timeout = std::chrono::milliseconds(0);
  options.max_staleness_seconds = 1e9;
  options.idle_ttl_seconds = 1e9;
  scaler::Tracker tracker(options, source, clock, executor);
  const scaler::ObjectRef ref{"default", "checkout", metadata};

  absl::StatusOr<scaler::ScalerSpec> spec = scaler::ParseSpec("checkout", "default", metadata, {});
  ASSERT_TRUE(spec.ok()) << spec.status();
  ObjectReplay replay(trace, scaler::ModelConfigFor(*spec, options.trend_uncertainty));

  std::map<std::string, int> reasons;
  int refreshes = 0;
  for (double now = start; now <= end; now += 30) {
    clock.Set(now);
    if (now == start) {
      ASSERT_TRUE(tracker.Track(ref).ok());  // the first refresh runs inline
    } else {
      tracker.Tick();                        // due every 30 s: runs inline
    }
    absl::StatusOr<scaler::TrackedAnswer> got = tracker.Get(ref);
    ASSERT_TRUE(got.ok()) << got.status();
    const scaler::Answer& a = *got->answer;
    ASSERT_EQ(a.computed_at, now) << "the tracker did not refresh at " << now;

    const ObjectReplay::Refresh r = replay.RefreshAt(now);
    ASSERT_TRUE(r.status.ok()) << r.status;
    const scaler::Decision& d = r.update.answer->decision;
    SCOPED_TRACE("refresh at +" + std::to_string(now - start) + " s");
    EXPECT_EQ(a.decision.value, d.value);
    EXPECT_EQ(a.decision.reason, d.reason);
    EXPECT_EQ(a.decision.peak, d.peak);
    EXPECT_EQ(a.decision.current, d.current);
    EXPECT_EQ(a.decision.detail, d.detail);
    EXPECT_EQ(a.yhat, r.update.answer->yhat);
    EXPECT_EQ(a.error_ratio, r.update.answer->error_ratio);
    ++reasons[scaler::ReasonName(d.reason)];
    ++refreshes;
  }
  EXPECT_EQ(refreshes, 20 * 120 + 1);
  // The run crossed more than one rule (the gap makes the current value missing).
  EXPECT_GT(reasons["no_current"], 0) << "the gap did not reach the no-current rule";
  EXPECT_GT(reasons["forecast"] + reasons["current_above_forecast"], 0);
}

}  // namespace
}  // namespace loadtest
