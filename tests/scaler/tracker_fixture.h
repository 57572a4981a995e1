#pragma once
// The set-up the tracker's tests share (tracker_test, stress_test; service_test takes
// kT0): the start time, a quick series and object, the default server and options, and
// TrackerTest, a fixture that builds one Tracker on the fake clock and tears it down
// before what it runs on.
//
// Thread-safety: a fixture belongs to its test's thread; the tracker it builds is as
// thread-safe as Tracker.

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "scaler/metrics.h"
#include "scaler/tracker.h"
#include "tests/scaler/fakes.h"

namespace scaler_testing {

constexpr double kT0 = 1700000100;  // a multiple of 300 s

// 100 at the top of each hour, rising by 1 a minute: quick to fit, never flat.
inline double Ramp(double t) { return 100 + std::fmod(t, 3600) / 60; }

// A quick object: 6 h of history at 5 m (an hour needed), no seasonality, a 10 m
// horizon, refreshed every 30 s, on `query`.
inline std::map<std::string, std::string> QuickMetadata(
    const std::string& query = "sum(rate(requests_total[2m]))") {
  return {{"query", query},
          {"targetValue", "10"},
          {"history", "6h"},
          {"step", "5m"},
          {"minHistory", "1h"},
          {"horizon", "10m"},
          {"seasonality", "none"},
          {"refreshInterval", "30s"}};
}

// The default server (objects without serverAddress).
inline scaler::SpecDefaults TestDefaults() {
  scaler::SpecDefaults d;
  d.prometheus_url = "http://prometheus:9090";
  return d;
}

// No first-answer wait (refreshes on an InlineExecutor answer the call that made them)
// and no trend uncertainty (answers do not depend on sampling).
inline scaler::TrackerOptions QuickOptions() {
  scaler::TrackerOptions o;
  o.first_answer_timeout = std::chrono::milliseconds(0);
  o.trend_uncertainty = false;
  return o;
}

// One tracker on clock_ with metrics_. The tracker goes first at the end of the test
// (TearDown), then its executor (which must still run tasks while the tracker stops),
// then the fixture's members: a source the tracker reads must be one of them (source_, or
// a member of a derived fixture), not a local of the test body.
class TrackerTest : public ::testing::Test {
 protected:
  // The executor the tracker will run its refreshes on (an InlineExecutor unless a test
  // asks for another before Build); owned here.
  template <typename E, typename... Args>
  E& UseExecutor(Args&&... args) {
    auto executor = std::make_unique<E>(std::forward<Args>(args)...);
    E& out = *executor;
    executor_ = std::move(executor);
    return out;
  }

  // Builds the tracker (once per test) from `options`, reading `source` (source_ when
  // null), exporting to `metrics` (none when null).
  scaler::Tracker& Build(const scaler::TrackerOptions& options = QuickOptions(),
                         scaler::ScalerMetrics* metrics = nullptr,
                         scaler::MetricSource* source = nullptr,
                         const scaler::SpecDefaults& defaults = TestDefaults()) {
    if (executor_ == nullptr) UseExecutor<InlineExecutor>();
    tracker_ = std::make_unique<scaler::Tracker>(options, source ? *source : source_, clock_,
                                                 *executor_, metrics, defaults);
    return *tracker_;
  }

  void TearDown() override {
    tracker_.reset();  // stops (if the test did not) while the executor still runs
    executor_.reset();
  }

  FakeClock clock_{kT0};
  FakeMetricSource source_{Ramp};
  prometheus::Registry registry_;
  scaler::ScalerMetrics metrics_{registry_};

 private:
  std::unique_ptr<scaler::Executor> executor_;
  std::unique_ptr<scaler::Tracker> tracker_;
};

}  // namespace scaler_testing
