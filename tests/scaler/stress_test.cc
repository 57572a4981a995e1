// Races and floods (issue 17.3, 17.4): the tracker hammered from many threads (create,
// refresh, idle expiry, ticks, reads, shutdown) on real worker threads, and a flood of
// distinct metadata maps through the gRPC service while tracked objects keep answering.
// Each loop is bounded by real time (the fake clock drives the tracker's own time); the
// whole file is part of the ThreadSanitizer run (scripts/tsan.sh).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "externalscaler.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "scaler/memory.h"
#include "scaler/server.h"
#include "scaler/tracker.h"
#include "tests/scaler/fakes.h"
#include "tests/scaler/tracker_fixture.h"

namespace scaler {
namespace {

using ::scaler_testing::FakeMetricSource;
using ::scaler_testing::kT0;
using ::scaler_testing::MetricValue;
using ::scaler_testing::QuickMetadata;
using ::scaler_testing::QuickOptions;
using ::scaler_testing::Ramp;
using ::scaler_testing::TrackerTest;
using ::testing::HasSubstr;

std::map<std::string, std::string> Metadata(int i) {
  // A distinct query per object: the source sees which objects it was asked about.
  return QuickMetadata("sum(rate(requests_total{shard=\"" + std::to_string(i) + "\"}[2m]))");
}

ObjectRef Ref(int i) {
  ObjectRef ref;
  ref.namespace_ = "stress";
  ref.name = "o" + std::to_string(i);
  ref.metadata = Metadata(i);
  return ref;
}

// Counts queries in flight (and the most ever) around a FakeMetricSource.
class CountingSource final : public MetricSource {
 public:
  explicit CountingSource(std::function<double(double)> f) : inner_(std::move(f)) {}
  absl::Status Validate(const MetricQuery& q) const override { return inner_.Validate(q); }
  absl::StatusOr<forecast::Series> Fetch(const MetricQuery& q, double start, double end,
                                         double step) override {
    const int now = ++in_flight_;
    int seen = max_in_flight_.load();
    while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
    }
    ++fetches_;
    // Some work while the slot is held, so that queries overlap when they may.
    std::this_thread::yield();
    auto got = inner_.Fetch(q, start, end, step);
    --in_flight_;
    return got;
  }
  int max_in_flight() const { return max_in_flight_.load(); }
  int fetches() const { return fetches_.load(); }
  std::set<std::string> queries() const {
    std::set<std::string> out;
    for (const auto& c : inner_.calls()) out.insert(c.query);
    return out;
  }

 private:
  FakeMetricSource inner_;
  std::atomic<int> in_flight_{0}, max_in_flight_{0}, fetches_{0};
};

// A tracker (TrackerTest) reading a CountingSource on Ramp.
class CountingTest : public TrackerTest {
 protected:
  CountingSource counting_{Ramp};
};
using TrackerStress = CountingTest;
using Flood = CountingTest;

// ---------------------------------------------------------------------------------------

// Six client threads create, read and wait for objects drawn from a window that moves
// with the clock_ (so objects idle out and new ones are made), a clock_ thread moves time
// (refreshes fall due, idle objects expire, first-answer waits end), the background
// ticker and a second thread tick; then two threads stop the tracker while the clients
// are still calling. Every call answers OK, UNAVAILABLE or RESOURCE_EXHAUSTED (the
// limit); Stop() finds no refresh left; the tracked set never exceeds the limit.
TEST_F(TrackerStress, CreateRefreshExpireAndStopFromManyThreads) {
  UseExecutor<ThreadPoolExecutor>(4);
  TrackerOptions options = QuickOptions();
  options.first_answer_timeout = std::chrono::milliseconds(500);  // on the fake clock_
  options.idle_ttl_seconds = 60;
  options.max_staleness_seconds = 120;
  options.max_objects = 24;
  options.max_queries_per_server = 2;
  Tracker* const tracker = &Build(options, &metrics_, &counting_);
  tracker->Start();

  const auto run_for = std::chrono::milliseconds(1500);
  const auto deadline = std::chrono::steady_clock::now() + run_for;
  std::atomic<bool> stop_clients{false}, stop_clock{false};
  std::atomic<int> ok{0}, unavailable{0}, exhausted{0}, other{0};
  std::mutex other_mu;
  std::string other_example;
  std::atomic<double> window{0};  // the first object id clients ask about

  auto record = [&](const absl::Status& s) {
    switch (s.code()) {
      case absl::StatusCode::kOk:
        ++ok;
        break;
      case absl::StatusCode::kUnavailable:
        ++unavailable;
        break;
      case absl::StatusCode::kResourceExhausted:
        EXPECT_THAT(std::string(s.message()), HasSubstr("--max-objects"));
        ++exhausted;
        break;
      default: {
        ++other;
        std::lock_guard<std::mutex> lock(other_mu);
        other_example = s.ToString();
      }
    }
  };

  std::atomic<long> ops{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(c);
      while (!stop_clients.load()) {
        ++ops;
        const int id = static_cast<int>(window.load()) + static_cast<int>(rng() % 32);
        const ObjectRef ref = Ref(id);
        switch (rng() % 7) {
          case 0:
            record(tracker->Get(ref).status());
            break;
          case 1: {
            auto got = tracker->TryGet(ref);
            if (got) record(got->status());
            break;
          }
          case 2:
            record(tracker->Track(ref).status());
            break;
          case 3:
            record(tracker->GetBy(ref, clock_.Monotonic()).status());
            break;
          case 4: {
            uint64_t version = 0;
            tracker->WaitForObjectChange(ref, &version, std::chrono::milliseconds(200));
            break;
          }
          case 5:
            for (const auto& s : tracker->List()) EXPECT_EQ(s.spec->namespace_, "stress");
            (void)tracker->Recent("stress", ref.name);
            break;
          default:
            tracker->UpdateAgeMetrics();
            (void)tracker->size();
            (void)tracker->waiting_for_query_slot();
        }
      }
    });
  }
  // Time: 1 s per 20 client calls (paced by the calls, not by real time); every 10 s of
  // it the clients' window moves on by 4 objects, so the older ones idle out.
  std::thread time_mover([&] {
    long last = 0;
    while (!stop_clock.load()) {
      const long now = ops.load();
      if (now - last >= 20) {
        last = now;
        clock_.Advance(1);
        window.store(std::floor((clock_.Now() - kT0) / 10) * 4);
      }
      std::this_thread::yield();
    }
  });
  // A second ticker besides the background one.
  std::thread ticker([&] {
    while (!stop_clients.load()) {
      tracker->Tick();
      std::this_thread::yield();
    }
  });

  while (std::chrono::steady_clock::now() < deadline) {
    EXPECT_LE(tracker->size(), options.max_objects);
    std::this_thread::yield();
  }
  // Shutdown while the clients still call, from two threads at once; its wait is on the
  // clock_, which the clients' calls keep moving.
  std::atomic<int> stopped_clean{0};
  std::thread stop1([&] { stopped_clean += tracker->Stop(std::chrono::hours(1)) ? 1 : 0; });
  std::thread stop2([&] { stopped_clean += tracker->Stop(std::chrono::hours(1)) ? 1 : 0; });
  stop1.join();
  stop2.join();
  const long ops_at_stop = ops.load();
  // The clients go on a little after the stop: new objects are UNAVAILABLE now.
  while (ops.load() < ops_at_stop + 200 && std::chrono::steady_clock::now() < deadline + run_for) {
    std::this_thread::yield();
  }
  stop_clients = true;
  for (auto& t : clients) t.join();
  ticker.join();
  stop_clock = true;
  time_mover.join();

  EXPECT_EQ(stopped_clean.load(), 2);
  EXPECT_EQ(other.load(), 0) << other_example;
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(unavailable.load() + exhausted.load(), 0);
  EXPECT_LE(tracker->size(), options.max_objects);
  EXPECT_LE(counting_.max_in_flight(), options.max_queries_per_server);
  // More distinct objects were queried than the limit allows at once: idle ones expired
  // and new ones took their places.
  EXPECT_GT(counting_.queries().size(), options.max_objects);
  std::printf("stress: %d ok, %d unavailable, %d refused; %d queries for %zu objects, "
              "at most %d in flight\n",
              ok.load(), unavailable.load(), exhausted.load(), counting_.fetches(),
              counting_.queries().size(), counting_.max_in_flight());
}

// ---------------------------------------------------------------------------------------

// A client sends 2,000 distinct metadata maps through the gRPC service (for at most a
// bounded time) while another keeps asking about the objects tracked before the flood:
// those keep their answers (every call OK, the same value); the flood's objects beyond
// --max-objects are refused RESOURCE_EXHAUSTED naming the flag and counted in
// augur_objects_refused_total; the tracked set (memory) stops at the limit; Prometheus
// sees one first query per admitted object and never more than the per-server limit at
// once.
TEST_F(Flood, DistinctMetadataMapsStayBoundedWhileTrackedObjectsKeepTheirAnswers) {
  UseExecutor<ThreadPoolExecutor>(4);
  TrackerOptions options = QuickOptions();
  options.max_objects = 200;
  options.max_queries_per_server = 2;
  Tracker& tracker = Build(options, &metrics_, &counting_);
  tracker.Start();
  ServerOptions so;
  so.listen = "";  // in-process only
  so.stream_poll = std::chrono::milliseconds(50);
  auto server = Server::Start(so, tracker, clock_, &metrics_);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = externalscaler::ExternalScaler::NewStub((*server)->InProcessChannel());

  auto to_ref = [](int i, const std::string& ns) {
    externalscaler::ScaledObjectRef ref;
    ref.set_namespace_(ns);
    ref.set_name("o" + std::to_string(i));
    for (const auto& [k, v] : Metadata(i)) (*ref.mutable_scalermetadata())[k] = v;
    return ref;
  };
  auto get_metrics = [&](const externalscaler::ScaledObjectRef& ref, double* value) {
    grpc::ClientContext ctx;
    externalscaler::GetMetricsRequest req;
    *req.mutable_scaledobjectref() = ref;
    req.set_metricname("augur-" + ref.name());
    externalscaler::GetMetricsResponse resp;
    grpc::Status s = stub->GetMetrics(&ctx, req, &resp);
    if (s.ok() && resp.metricvalues_size() == 1) *value = resp.metricvalues(0).metricvaluefloat();
    return s;
  };

  // Ten objects tracked before the flood, each with its first answer.
  constexpr int kTracked = 10;
  std::vector<double> expected(kTracked, NAN);
  const auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; i < kTracked; ++i) {
    grpc::Status s;
    while ((s = get_metrics(to_ref(i, "tracked"), &expected[i])).error_code() ==
               grpc::StatusCode::UNAVAILABLE &&
           std::chrono::steady_clock::now() < settle) {
      uint64_t version = 0;
      ObjectRef r;
      r.namespace_ = "tracked";
      r.name = "o" + std::to_string(i);
      r.metadata = Metadata(i);
      tracker.WaitForObjectChange(r, &version, std::chrono::hours(1));
    }
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const int fetches_before = counting_.fetches();
  const long rss_before = ResidentKib();

  std::atomic<bool> flooding{true};
  std::atomic<int> sent{0}, refused{0}, admitted_unavailable{0}, bad{0};
  std::atomic<int> tracked_calls{0}, tracked_wrong{0};
  std::string bad_example;
  std::mutex bad_mu;
  // All the maps, or as many as 30 s allow (a release build sends them in about a second;
  // under ThreadSanitizer on a busy machine a call takes ~15 ms).
  const auto flood_for = std::chrono::seconds(30);
  constexpr int kFloodMaps = 2000;
  const auto flood_start = std::chrono::steady_clock::now();
  const auto deadline = flood_start + flood_for;
  std::vector<std::thread> flooders;
  for (int f = 0; f < 3; ++f) {
    flooders.emplace_back([&, f] {
      for (int i = f; i < kFloodMaps && std::chrono::steady_clock::now() < deadline; i += 3) {
        double v = 0;
        grpc::Status s = get_metrics(to_ref(1000 + i, "flood"), &v);
        ++sent;
        if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++refused;
          if (s.error_message().find("--max-objects 200") == std::string::npos) ++bad;
        } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.ok()) {
          ++admitted_unavailable;  // admitted: its first answer comes later
        } else {
          ++bad;
          std::lock_guard<std::mutex> lock(bad_mu);
          bad_example = s.error_message();
        }
      }
    });
  }
  std::thread keeper([&] {
    while (flooding.load()) {
      for (int i = 0; i < kTracked; ++i) {
        double v = NAN;
        grpc::Status s = get_metrics(to_ref(i, "tracked"), &v);
        ++tracked_calls;
        if (!s.ok() || v != expected[i]) ++tracked_wrong;
      }
    }
  });
  for (auto& t : flooders) t.join();
  const double flood_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - flood_start).count();
  flooding = false;
  keeper.join();
  const long rss_after = ResidentKib();

  EXPECT_EQ(bad.load(), 0) << bad_example;
  EXPECT_GT(sent.load(), 2 * static_cast<int>(options.max_objects));
  EXPECT_EQ(tracker.size(), options.max_objects);
  EXPECT_EQ(admitted_unavailable.load(), static_cast<int>(options.max_objects) - kTracked);
  EXPECT_EQ(refused.load(), sent.load() - admitted_unavailable.load());
  EXPECT_EQ(MetricValue(metrics_, "augur_objects_refused_total"), refused.load());
  EXPECT_EQ(MetricValue(metrics_, "augur_tracked_objects"), options.max_objects);
  EXPECT_GT(tracked_calls.load(), 0);
  EXPECT_EQ(tracked_wrong.load(), 0);
  // Prometheus' load: at most one first query per admitted object (the clock_ did not
  // move: no refresh fell due), never more than the per-server limit at once.
  EXPECT_LE(counting_.fetches() - fetches_before,
            static_cast<int>(options.max_objects) - kTracked);
  EXPECT_LE(counting_.max_in_flight(), options.max_queries_per_server);
  std::printf("flood: %d distinct maps in %.1f s: %d admitted, %d refused; %d queries, at "
              "most %d in flight; tracked objects: %d calls, all answered; RSS %ld -> %ld kB\n",
              sent.load(), flood_seconds, admitted_unavailable.load(), refused.load(),
              counting_.fetches() - fetches_before, counting_.max_in_flight(), tracked_calls.load(),
              rss_before, rss_after);

  (*server)->Shutdown(std::chrono::milliseconds(100));
  EXPECT_TRUE(tracker.Stop(std::chrono::seconds(30)));
}

}  // namespace
}  // namespace scaler
