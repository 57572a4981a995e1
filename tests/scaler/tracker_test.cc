// The tracker's clock, limits and scheduling (scaler/tracker.h): first-answer waits on
// the fake clock, --max-objects, the memory release after idle expiries, the history
// cap, per-server query slots and their order, Retry-After. Refreshes run inline, on a ManualExecutor, or on real worker
// threads against a source whose queries block until the test lets them go.

#include "scaler/tracker.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "promclient/prometheus_client.h"
#include "tests/scaler/fakes.h"
#include "tests/scaler/tracker_fixture.h"

namespace scaler {
namespace {

using ::scaler_testing::kT0;
using ::scaler_testing::ManualExecutor;
using ::scaler_testing::MetricValue;
using ::scaler_testing::QuickMetadata;
using ::scaler_testing::QuickOptions;
using ::scaler_testing::Ramp;
using ::scaler_testing::TrackerTest;
using ::testing::AllOf;
using ::testing::HasSubstr;

ObjectRef Ref(const std::string& name, std::map<std::string, std::string> extra = {}) {
  ObjectRef ref;
  ref.namespace_ = "shop";
  ref.name = name;
  ref.metadata = QuickMetadata();
  for (auto& [k, v] : extra) ref.metadata[k] = v;
  return ref;
}

using TrackerClock = TrackerTest;
using TrackerLimits = TrackerTest;
using TrackerMemory = TrackerTest;

// ---------------------------------------------------------------------------------------
// Time: every wait is on the clock.

TEST_F(TrackerClock, GetWaitsTheFirstAnswerTimeoutOnTheClockThenUnavailable) {
  ManualExecutor& executor = UseExecutor<ManualExecutor>();
  TrackerOptions options = QuickOptions();
  options.first_answer_timeout = TrackerOptions().first_answer_timeout;  // the default, 2 s
  Tracker& tracker = Build(options);
  std::atomic<bool> returned{false};
  absl::Status status;
  std::thread caller([&] {
    status = tracker.Get(Ref("cold")).status();
    returned = true;
  });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(1.5);
  EXPECT_EQ(clock_.waiters(), 1u);
  EXPECT_FALSE(returned);
  clock_.Advance(0.5);
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("after 2s (--first-answer-timeout)"));
  executor.RunAll();
  EXPECT_TRUE(tracker.Get(Ref("cold")).ok());
}

TEST_F(TrackerClock, AWaitReceivedEarlierEndsEarlierAndAPassedOneDoesNotWait) {
  ManualExecutor& executor = UseExecutor<ManualExecutor>();
  TrackerOptions options = QuickOptions();
  options.first_answer_timeout = std::chrono::seconds(2);
  Tracker& tracker = Build(options);
  const MonotonicTime received = clock_.Monotonic();
  clock_.Advance(1.25);
  std::atomic<bool> returned{false};
  std::thread caller([&] {
    EXPECT_EQ(tracker.GetBy(Ref("cold"), received).status().code(),
              absl::StatusCode::kUnavailable);
    returned = true;
  });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(0.5);
  EXPECT_FALSE(returned);
  clock_.Advance(0.25);  // 2 s after `received`
  caller.join();
  // A call received more than the timeout ago does not wait at all.
  clock_.Advance(5);
  EXPECT_EQ(tracker.GetBy(Ref("cold"), received).status().code(), absl::StatusCode::kUnavailable);
  executor.RunAll();
}

TEST_F(TrackerClock, StreamWaitsEndOnTheClockOrWithTheObjectsNextAnswer) {
  Tracker& tracker = Build();
  ASSERT_TRUE(tracker.Get(Ref("web")).ok());
  uint64_t version = 0;
  tracker.WaitForObjectChange(Ref("web"), &version, std::chrono::seconds(1));  // at once
  EXPECT_GT(version, 0u);
  const uint64_t seen = version;
  std::thread waiter([&] { tracker.WaitForObjectChange(Ref("web"), &version, std::chrono::seconds(5)); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(5);  // the wait's bound, no new answer
  waiter.join();
  EXPECT_EQ(version, seen);
  std::thread second([&] { tracker.WaitForObjectChange(Ref("web"), &version, std::chrono::hours(1)); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Set(kT0 + 31);  // wall time only: the refresh is due, the wait's bound is not
  tracker.Tick();       // the next answer ends the wait
  second.join();
  EXPECT_GT(version, seen);
}

TEST_F(TrackerClock, BackgroundTicksFollowTheClocksMonotonicTime) {
  TrackerOptions options = QuickOptions();
  options.tick_period = std::chrono::seconds(10);
  Tracker& tracker = Build(options);
  ASSERT_TRUE(tracker.Get(Ref("web")).ok());
  uint64_t version = 0;
  tracker.WaitForObjectChange(Ref("web"), &version, std::chrono::hours(1));  // at once
  const size_t fetches = source_.calls().size();
  tracker.Start();
  ASSERT_TRUE(clock_.AwaitWaiters(1));  // the tick thread, between two ticks
  clock_.Set(kT0 + 31);                 // due, but the tick period has not passed
  EXPECT_EQ(source_.calls().size(), fetches);
  clock_.Advance(10);  // the tick period: a Tick() refreshes the object
  tracker.WaitForObjectChange(Ref("web"), &version, std::chrono::hours(1));
  ASSERT_TRUE(tracker.Stop());
  EXPECT_EQ(source_.calls().size(), fetches + 1);
}

TEST_F(TrackerClock, FitAndQueryDurationsAreTheClocks) {
  Tracker& tracker = Build(QuickOptions(), &metrics_);
  auto got = tracker.Get(Ref("web"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->answer->model.fitted);
  EXPECT_EQ(got->answer->model.fit_seconds, 0);  // the fake clock_ did not move
}

// ---------------------------------------------------------------------------------------
// --max-objects

TEST_F(TrackerLimits, NewObjectsBeyondMaxObjectsAreRefusedWhileTrackedOnesAnswer) {
  TrackerOptions options = QuickOptions();
  options.max_objects = 3;
  Tracker& tracker = Build(options, &metrics_);
  std::vector<double> values;
  for (const char* name : {"a", "b", "c"}) {
    auto got = tracker.Get(Ref(name));
    ASSERT_TRUE(got.ok()) << got.status();
    values.push_back(got->answer->decision.value);
  }
  for (int i = 0; i < 5; ++i) {
    auto refused = tracker.Get(Ref("flood-" + std::to_string(i)));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(std::string(refused.status().message()),
                AllOf(HasSubstr("shop/flood-" + std::to_string(i) + " is not tracked"),
                      HasSubstr("augur tracks 3 objects, its limit (--max-objects 3)"),
                      HasSubstr("--idle-ttl 15m")));
    // Track() and a different trigger of a tracked object are refused the same way.
    EXPECT_EQ(tracker.Track(Ref("a", {{"quantile", "0.9"}})).status().code(),
              absl::StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(tracker.size(), 3u);
  EXPECT_EQ(MetricValue(metrics_, "augur_objects_refused_total"), 10);
  EXPECT_EQ(MetricValue(metrics_, "augur_tracked_objects"), 3);
  const size_t fetches = source_.calls().size();
  EXPECT_EQ(fetches, 3u);  // nothing refused was queried
  int i = 0;
  for (const char* name : {"a", "b", "c"}) {
    auto got = tracker.Get(Ref(name));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->answer->decision.value, values[i++]);
  }
  // An object dropped for idleness makes room.
  clock_.Advance(600);
  (void)tracker.Track(Ref("a"));  // an access (the answers are stale by now)
  (void)tracker.Track(Ref("b"));
  clock_.Advance(301);  // c idle for 901 s > --idle-ttl
  tracker.Tick();
  EXPECT_EQ(tracker.size(), 2u);
  EXPECT_TRUE(tracker.Get(Ref("new")).ok());
}

// ---------------------------------------------------------------------------------------
// Memory: a wave of idle expiries releases the freed memory at once.

TEST_F(TrackerMemory, IdleSweepsReleaseMemoryOnceEnoughObjectsAreDroppedAndFreed) {
  TrackerOptions options = QuickOptions();
  options.release_after_dropped = 5;
  struct Call {
    size_t dropped;
    bool freed;  // whether the dropped objects were gone when it was called
  };
  std::vector<Call> calls;
  std::vector<std::weak_ptr<const ScalerSpec>> watched;
  options.release_memory = [&](size_t dropped) {
    bool freed = true;
    for (const auto& w : watched) freed = freed && w.expired();
    calls.push_back({dropped, freed});
  };
  Tracker& tracker = Build(options);
  auto track = [&](const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(tracker.Track(Ref(prefix + std::to_string(i))).ok());
  };
  auto watch = [&](const std::string& prefix, int n) {
    watched.clear();
    for (int i = 0; i < n; ++i) {
      watched.push_back(tracker.SpecOf(Ref(prefix + std::to_string(i))));
      ASSERT_FALSE(watched.back().expired());
    }
  };
  track("a", 3);
  clock_.Advance(100);
  track("b", 3);
  clock_.Advance(100);
  track("c", 7);
  clock_.Advance(701);  // a idle for 901 s > --idle-ttl 900 s
  tracker.Tick();
  EXPECT_EQ(tracker.size(), 10u);
  EXPECT_TRUE(calls.empty());  // 3 dropped: fewer than 5
  watch("b", 3);
  clock_.Advance(100);
  tracker.Tick();  // 3 more: 6 since the last release
  EXPECT_EQ(tracker.size(), 7u);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].dropped, 6u);
  EXPECT_TRUE(calls[0].freed);
  tracker.Tick();  // nothing dropped
  EXPECT_EQ(calls.size(), 1u);
  watch("c", 7);
  clock_.Advance(100);
  tracker.Tick();
  EXPECT_EQ(tracker.size(), 0u);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].dropped, 7u);
  EXPECT_TRUE(calls[1].freed);
}

TEST_F(TrackerLimits, ZeroMaxObjectsIsNoLimit) {
  ManualExecutor& executor = UseExecutor<ManualExecutor>();
  TrackerOptions options = QuickOptions();
  options.max_objects = 0;
  Tracker& tracker = Build(options);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(tracker.Track(Ref("o" + std::to_string(i))).ok());
  EXPECT_EQ(tracker.size(), 50u);
  executor.RunAll();
}

// ---------------------------------------------------------------------------------------
// The history cap (SpecDefaults::max_history_points): the step is coarsened.

TEST_F(TrackerLimits, AStepFinerThanTheHistoryCapIsCoarsenedInTheQuery) {
  SpecDefaults defaults;
  defaults.prometheus_url = "http://prometheus:9090";
  defaults.max_history_points = 2000;
  Tracker& tracker = Build(QuickOptions(), nullptr, nullptr, defaults);
  // 1 day at 10 s is 8,640 points: coarsened to 60 s (1,440), the ladder's first fit.
  auto got = tracker.Get(Ref("fine", {{"history", "1d"}, {"step", "10s"}}));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->spec->step_seconds, 60);
  EXPECT_EQ(got->spec->step_requested_seconds, 10);
  ASSERT_EQ(source_.calls().size(), 1u);
  EXPECT_EQ(source_.calls()[0].step, 60);
  EXPECT_LE(got->answer->history.points, 2000u);
  // Within the cap nothing changes.
  auto coarse = tracker.Get(Ref("coarse", {{"history", "1d"}, {"step", "1m"}}));
  ASSERT_TRUE(coarse.ok());
  EXPECT_EQ(coarse->spec->step_seconds, 60);
  EXPECT_EQ(coarse->spec->step_requested_seconds, 0);
}

// ---------------------------------------------------------------------------------------
// Per-server query slots.

// A source whose queries block until the test releases them, counting per server how many
// are in flight (and the most ever), and in which order queries started.
class GatedSource final : public MetricSource {
 public:
  absl::Status Validate(const MetricQuery&) const override { return absl::OkStatus(); }

  absl::StatusOr<forecast::Series> Fetch(const MetricQuery& query, double start, double end,
                                         double step) override {
    std::unique_lock<std::mutex> lock(mu_);
    const std::string& server = query.server_address;
    int& n = in_flight_[server];
    ++n;
    max_in_flight_[server] = std::max(max_in_flight_[server], n);
    ++started_[server];
    order_.push_back(query.query);
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_ || releases_[server] > 0; });
    if (!open_) --releases_[server];
    --n;
    changed_.notify_all();
    forecast::Series s;
    for (double t = std::ceil(start / step) * step; t <= end; t += step) {
      s.timestamps.push_back(t);
      s.values.push_back(Ramp(t));
    }
    return s;
  }

  // Lets `n` blocked (or future) queries to `server` return.
  void Release(const std::string& server, int n) {
    std::lock_guard<std::mutex> lock(mu_);
    releases_[server] += n;
    changed_.notify_all();
  }
  // Every query returns at once from now on.
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // Waits (real time, bounded: a hang fails the test) until `n` queries to `server` have
  // started.
  bool AwaitStarted(const std::string& server, int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return started_[server] >= n; });
  }
  int in_flight(const std::string& server) {
    std::lock_guard<std::mutex> lock(mu_);
    return in_flight_[server];
  }
  int max_in_flight(const std::string& server) {
    std::lock_guard<std::mutex> lock(mu_);
    return max_in_flight_[server];
  }
  int started(const std::string& server) {
    std::lock_guard<std::mutex> lock(mu_);
    return started_[server];
  }
  std::vector<std::string> order() {
    std::lock_guard<std::mutex> lock(mu_);
    return order_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = false;
  std::map<std::string, int> in_flight_, max_in_flight_, started_, releases_;
  std::vector<std::string> order_;
};

constexpr char kServerA[] = "http://a:9090";
constexpr char kServerB[] = "http://b:9090";

class TrackerSlots : public TrackerTest {
 protected:
  // A started tracker reading gated_ with one query slot per server, on 4 workers.
  Tracker& StartOneSlotTracker() {
    TrackerOptions options = QuickOptions();
    options.max_queries_per_server = 1;
    UseExecutor<ThreadPoolExecutor>(4);
    Tracker& tracker = Build(options, nullptr, &gated_);
    tracker.Start();
    return tracker;
  }

  GatedSource gated_;
};

TEST_F(TrackerSlots, AtMostNQueriesPerServerInFlightOthersWaitInTheScheduler) {
  TrackerOptions options = QuickOptions();
  options.max_queries_per_server = 2;
  options.first_answer_timeout = std::chrono::seconds(2);
  UseExecutor<ThreadPoolExecutor>(8);  // more workers than slots: the slots are the limit
  Tracker& tracker = Build(options, &metrics_, &gated_);
  tracker.Start();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(tracker.Track(Ref("a" + std::to_string(i), {{"serverAddress", kServerA}})).ok());
  }
  ASSERT_TRUE(tracker.Track(Ref("b0", {{"serverAddress", kServerB}})).ok());
  ASSERT_TRUE(gated_.AwaitStarted(kServerA, 2));
  // Server B is not held up by A's full slots.
  ASSERT_TRUE(gated_.AwaitStarted(kServerB, 1));
  tracker.Tick();  // (the background thread ticks too: either finds the same)
  EXPECT_EQ(gated_.in_flight(kServerA), 2);
  EXPECT_EQ(tracker.waiting_for_query_slot(), 3u);
  EXPECT_EQ(MetricValue(metrics_, "augur_refreshes_waiting"), 3);
  // A waiting object holds no thread: TryGet says at once that Get would wait.
  EXPECT_FALSE(tracker.TryGet(Ref("a4", {{"serverAddress", kServerA}})).has_value());
  // Each query that returns frees a slot for the next one.
  for (int done = 1; done <= 3; ++done) {
    gated_.Release(kServerA, 1);
    ASSERT_TRUE(gated_.AwaitStarted(kServerA, 2 + done)) << done;
    EXPECT_LE(gated_.in_flight(kServerA), 2);
  }
  gated_.Open();
  ASSERT_TRUE(gated_.AwaitStarted(kServerA, 5));
  ASSERT_TRUE(tracker.Stop());
  EXPECT_EQ(gated_.max_in_flight(kServerA), 2);
  EXPECT_EQ(gated_.max_in_flight(kServerB), 1);
  EXPECT_EQ(tracker.waiting_for_query_slot(), 0u);
}

TEST_F(TrackerSlots, WaitingFirstRefreshesStartInTheOrderTheObjectsCame) {
  Tracker& tracker = StartOneSlotTracker();
  std::vector<std::string> queries;
  for (int i = 0; i < 5; ++i) {
    const std::string query = "sum(up{i=\"" + std::to_string(i) + "\"})";
    queries.push_back(query);
    ASSERT_TRUE(tracker.Track(Ref("o" + std::to_string(i), {{"query", query},
                                                             {"serverAddress", kServerA}}))
                    .ok());
    clock_.Set(kT0 + i + 1);  // each new object a second after the previous one
  }
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(gated_.AwaitStarted(kServerA, i));
    gated_.Release(kServerA, 1);
  }
  ASSERT_TRUE(tracker.Stop());
  EXPECT_EQ(gated_.order(), queries);
  EXPECT_EQ(gated_.max_in_flight(kServerA), 1);
}

TEST_F(TrackerSlots, TrackedObjectsRefreshBeforeWaitingNewObjects) {
  Tracker& tracker = StartOneSlotTracker();
  auto ref = [](const std::string& name) {
    return Ref(name, {{"query", name}, {"serverAddress", kServerA}});
  };
  // Two tracked objects with answers (due again at kT0 + 30 and kT0 + 31).
  // (Each refresh reads the clock_ when it runs: the clock_ moves only between answers.)
  gated_.Release(kServerA, 2);
  ASSERT_TRUE(tracker.Track(ref("old1")).ok());
  uint64_t v1 = 0, v2 = 0;
  tracker.WaitForObjectChange(ref("old1"), &v1, std::chrono::hours(1));
  clock_.Advance(1);
  ASSERT_TRUE(tracker.Track(ref("old2")).ok());
  tracker.WaitForObjectChange(ref("old2"), &v2, std::chrono::hours(1));
  ASSERT_EQ(gated_.started(kServerA), 2);
  // A flood of new objects: new0 (at kT0 + 2) takes the slot, new1 and new2 queue (due
  // at kT0 + 3 and + 4).
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(1);
    ASSERT_TRUE(tracker.Track(ref("new" + std::to_string(i))).ok());
    if (i == 0) {
      ASSERT_TRUE(gated_.AwaitStarted(kServerA, 3));
    }
  }
  // The tracked ones fall due after the new ones came, yet refresh first; so does new0
  // once it has its answer (due again at kT0 + 32).
  clock_.Advance(30);
  tracker.Tick();
  EXPECT_EQ(tracker.waiting_for_query_slot(), 4u);
  uint64_t v0 = 0;
  for (int i = 4; i <= 8; ++i) {
    gated_.Release(kServerA, 1);
    // (new0's answer ends its refresh: only then is it due again.)
    if (i == 4) tracker.WaitForObjectChange(ref("new0"), &v0, std::chrono::hours(1));
    ASSERT_TRUE(gated_.AwaitStarted(kServerA, i));
  }
  gated_.Open();
  ASSERT_TRUE(tracker.Stop());
  const std::vector<std::string> order = gated_.order();
  ASSERT_EQ(order.size(), 8u);
  EXPECT_EQ(std::vector<std::string>(order.begin() + 2, order.end()),
            (std::vector<std::string>{"new0", "old1", "old2", "new0", "new1", "new2"}));
}

// A first call for an object that waits for a slot says so when its wait ends.
TEST_F(TrackerSlots, AFirstCallStillWaitingForASlotSaysSo) {
  TrackerOptions options = QuickOptions();
  options.max_queries_per_server = 1;
  options.first_answer_timeout = std::chrono::seconds(2);
  UseExecutor<ThreadPoolExecutor>(2);
  Tracker& tracker = Build(options, nullptr, &gated_);
  ASSERT_TRUE(tracker.Track(Ref("busy", {{"serverAddress", kServerA}})).ok());
  ASSERT_TRUE(gated_.AwaitStarted(kServerA, 1));
  tracker.Tick();
  absl::Status status;
  std::thread caller([&] {
    status = tracker.Get(Ref("late", {{"serverAddress", kServerA}})).status();
  });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(2);
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("still waiting after 2s (--first-answer-timeout)"),
                    HasSubstr("query slots of http://a:9090"),
                    HasSubstr("--prometheus-max-concurrent-queries")));
  gated_.Open();
  ASSERT_TRUE(tracker.Stop());
}

}  // namespace
}  // namespace scaler
