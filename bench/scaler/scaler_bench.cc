// scaler_bench: the augur server's performance goals (issue 4), printed as figures.
//
//   rpc:     100 warm objects; GetMetrics through augur-loadtest's bench (gRPC completion-queue
//            client, up to 64 calls in flight over 4 connections) to a real gRPC server on
//            127.0.0.1 in this process: closed loop (as fast as possible) and open loop at
//            20,000/s (latency from each request's scheduled send time), or --rate R.
//            Goal: p99 <= 1 ms, >= 20,000/s.
//   refresh: 1,000 objects refreshing every 30 s with the default settings (7 d history,
//            auto step 1 m = 10,080 points, refit every 10 m), against a fake source
//            serving realistic series (daily + weekly cycle + noise), simulated time:
//            resident memory and the CPU time of the refresh work per wall second.
//            Goal: RSS <= 200 MB, refresh work <= 20 % of one core.
//
//   refresh-prometheus: the same against a real local Prometheus (Debian's, started on
//            127.0.0.1 with a week of one series backfilled; simulated time ends now).
//
// Usage: scaler_bench [rpc|refresh|refresh-prometheus|all] [--seconds S] [--streams K] [--objects N]
//                     [--threads T] [--minutes M]

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "externalscaler.grpc.pb.h"
#include "loadtest/bench.h"
#include "prometheus/registry.h"
#include "promclient/curl_http_transport.h"
#include "scaler/log.h"
#include "scaler/prometheus_metric_source.h"
#include "scaler/server.h"
#include "scaler/tracker.h"
#include "tests/scaler/fakes.h"
#include "tests/testing/prometheus_server.h"

namespace {

using scaler_testing::FakeClock;
using scaler_testing::InlineExecutor;

constexpr double kDay = 86400;
constexpr double kPi = 3.14159265358979323846;

// A per-object load: daily and weekly cycles, a trend and deterministic noise.
class RealisticSource final : public scaler::MetricSource {
 public:
  absl::Status Validate(const scaler::MetricQuery&) const override { return absl::OkStatus(); }
  absl::StatusOr<forecast::Series> Fetch(const scaler::MetricQuery& query, double start,
                                         double end, double step) override {
    const double id = static_cast<double>(std::hash<std::string>()(query.query) % 1000);
    forecast::Series s;
    for (double t = std::ceil(start / step) * step; t <= end + 1e-9; t += step) {
      const double noise = std::sin(t * 12.9898 + id * 78.233) * 43758.5453;
      s.timestamps.push_back(t);
      s.values.push_back(200 + id / 10 + 80 * std::sin(2 * kPi * (t + id * 60) / kDay) +
                         30 * std::sin(2 * kPi * t / (7 * kDay)) + 1e-6 * t / 3600 +
                         10 * (noise - std::floor(noise) - 0.5));
    }
    return s;
  }
};

// Counts finished tasks so that the bench waits for a cycle's refreshes without polling.
class CountingExecutor final : public scaler::Executor {
 public:
  explicit CountingExecutor(int threads) : pool_(threads) {}
  void Submit(std::function<void()> task) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++submitted_;
    }
    pool_.Submit([this, task = std::move(task)] {
      task();
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++done_;
      }
      cv_.notify_all();
    });
  }
  void WaitIdle() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_ == submitted_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  long submitted_ = 0, done_ = 0;
  scaler::ThreadPoolExecutor pool_;  // last: its destructor joins before the counters go
};

double RssMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return -1;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

externalscaler::ScaledObjectRef Ref(int i, const std::string& history, const std::string& step) {
  externalscaler::ScaledObjectRef ref;
  ref.set_name("app-" + std::to_string(i));
  ref.set_namespace_("bench");
  auto& md = *ref.mutable_scalermetadata();
  md["query"] = "sum(rate(http_requests_total{app=\"app-" + std::to_string(i) + "\"}[2m]))";
  md["targetValue"] = "50";
  md["history"] = history;
  if (!step.empty()) md["step"] = step;
  return ref;
}

int RunRpc(double seconds, int streams, double rate) {
  const int kObjects = 100;
  FakeClock clock(std::floor(1.7e9 / 60) * 60);
  RealisticSource source;
  InlineExecutor executor;
  prometheus::Registry registry;
  scaler::ScalerMetrics metrics(registry);
  scaler::TrackerOptions options;
  options.first_answer_timeout = std::chrono::milliseconds(0);
  options.max_staleness_seconds = 1e9;
  scaler::Tracker tracker(options, source, clock, executor, &metrics,
                          scaler::SpecDefaults{"http://prometheus:9090"});
  scaler::ServerOptions so;
  so.listen = "127.0.0.1:0";
  auto server = scaler::Server::Start(so, tracker, clock, &metrics);
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  const std::string address = "127.0.0.1:" + std::to_string((*server)->port());

  // RunBench's warm-up calls GetMetricSpec once per object, which tracks it; the inline
  // executor runs its first refresh (2 d of history at 5 m: a short fit) right there.
  // The load-test tool's own bench (completion-queue client): `streams` calls in flight at most
  // over 4 connections, closed loop (as fast as possible) or open loop at `rate`.
  loadtest::BenchConfig config;
  config.concurrency = streams;
  config.connections = std::min(4, streams);
  config.rate = rate;
  config.duration_seconds = seconds;
  config.warmup_seconds = 1;
  config.objects = kObjects;
  config.name_prefix = "app";
  config.ns = "bench";
  config.metadata = {{"query", "sum(rate(http_requests_total[2m]))"},
                     {"targetValue", "50"},
                     {"history", "2d"},
                     {"step", "5m"}};
  auto channel = [&address](int index) {
    grpc::ChannelArguments args;
    args.SetInt("bench.connection", index);  // distinct channels, distinct connections
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  };
  std::atomic<bool> stop{false};
  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  auto result = loadtest::RunBench(config, channel, stop);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  if (!result.ok()) {
    std::fprintf(stderr, "bench: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  long errors = 0;
  for (const auto& [code, n] : result->errors) errors += static_cast<long>(n);
  std::printf("rpc: objects=%d streams=%d connections=%d load=%s seconds=%.1f requests=%lld "
              "errors=%ld\n",
              kObjects, streams, config.connections,
              rate > 0 ? ("open loop at " + std::to_string(static_cast<long>(rate)) + "/s").c_str()
                       : "closed loop (as fast as possible)",
              result->elapsed_seconds, static_cast<long long>(result->requests), errors);
  std::printf("rpc: throughput=%.0f req/s  latency_ms p50=%.3f p90=%.3f p99=%.3f p99.9=%.3f "
              "max=%.3f%s\n",
              result->rps, result->p50, result->p90, result->p99, result->p999, result->max,
              rate > 0 ? " (from each request's scheduled send time)" : "");
  // Server-side handler latency, from augur's own histogram (bucket upper bounds).
  for (const auto& family : registry.Collect()) {
    if (family.name != "augur_grpc_request_duration_seconds") continue;
    for (const auto& m : family.metric) {
      bool get_metrics = false;
      for (const auto& l : m.label) get_metrics |= l.value == "GetMetrics";
      if (!get_metrics || m.histogram.sample_count == 0) continue;
      auto bound = [&](double p) {
        const double want = p * m.histogram.sample_count;
        for (const auto& b : m.histogram.bucket) {
          if (b.cumulative_count >= want) return 1000 * b.upper_bound;
        }
        return std::numeric_limits<double>::infinity();
      };
      std::printf("rpc: server-side GetMetrics handler latency_ms p50<=%.3f p99<=%.3f "
                  "p99.9<=%.3f (histogram bucket bounds)\n",
                  bound(0.5), bound(0.99), bound(0.999));
    }
  }
  std::printf("rpc: process cpu=%.2f cores (client and server together, %u hardware threads)\n",
              cpu / wall, std::thread::hardware_concurrency());
  (*server)->Shutdown(std::chrono::milliseconds(500));
  return 0;
}

int RunRefresh(int objects, double simulated_minutes, int threads, bool real_prometheus) {
  // With a real Prometheus the simulated window ends now, where its backfill ends.
  const double wall_now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = real_prometheus
                           ? std::floor((wall_now - simulated_minutes * 60 - 60) / 60) * 60
                           : std::floor(1.7e9 / 60) * 60;
  FakeClock clock(start);
  std::unique_ptr<testing_support::PrometheusServer> prom;
  std::unique_ptr<scaler::MetricSource> source_holder;
  if (real_prometheus) {
    testing_support::PrometheusServerOptions po;
    // One week (and the simulated window) of one realistic series at 1 m.
    RealisticSource shape;
    scaler::MetricQuery q;
    q.query = "shape";
    const double from = std::floor((start - 7 * kDay) / 60) * 60;
    auto series = shape.Fetch(q, from, wall_now, 60);
    std::map<double, double> by_time;
    for (size_t i = 0; i < series->timestamps.size(); ++i) {
      by_time[series->timestamps[i]] = series->values[i];
    }
    po.openmetrics = testing_support::OpenMetricsGauge(
        "bench_http_requests", "{job=\"bench\"}", from, wall_now - 1, 60,
        [&by_time](double t) {
          auto it = by_time.lower_bound(t - 0.5);
          return it == by_time.end() ? 0.0 : it->second;
        });
    auto started = testing_support::PrometheusServer::Start(po);
    if (!started.ok()) {
      std::fprintf(stderr, "prometheus: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    prom = std::move(*started);
    scaler::PrometheusSourceOptions so;
    so.default_url = prom->url();
    source_holder = std::make_unique<scaler::PrometheusMetricSource>(
        so, std::make_shared<promclient::CurlHttpTransport>());
  } else {
    source_holder = std::make_unique<RealisticSource>();
  }
  scaler::MetricSource& source = *source_holder;
  CountingExecutor executor(threads);
  prometheus::Registry registry;
  scaler::ScalerMetrics metrics(registry);
  scaler::TrackerOptions options;
  options.first_answer_timeout = std::chrono::milliseconds(60000);
  options.max_staleness_seconds = 1e9;
  options.idle_ttl_seconds = 1e9;
  // Every object's first refresh at once: a refresh waiting for one of the server's
  // query slots starts at a later tick, and the fake clock does not tick while the
  // first answers are awaited (the per-server limit is measured by the flood tests).
  options.max_queries_per_server = std::max(objects, 1);
  scaler::Tracker tracker(options, source, clock, executor, &metrics,
                          scaler::SpecDefaults{prom ? prom->url() : "http://prometheus:9090"});

  const double rss0 = RssMb();
  const double cpu_warm0 = CpuSeconds();
  const auto warm0 = std::chrono::steady_clock::now();
  std::vector<scaler::ObjectRef> refs;
  for (int i = 0; i < objects; ++i) {
    scaler::ObjectRef r;
    auto ref = Ref(i, "7d", "");
    if (real_prometheus) {
      // Distinct queries (distinct objects) over the one backfilled series.
      (*ref.mutable_scalermetadata())["query"] =
          "sum(bench_http_requests{job=\"bench\"}) * " + std::to_string(1 + i / 1000.0);
    }
    r.namespace_ = ref.namespace_();
    r.name = ref.name();
    for (const auto& [k, v] : ref.scalermetadata()) r.metadata.emplace(k, v);
    refs.push_back(r);
    auto spec = tracker.Track(r);
    if (!spec.ok()) {
      std::fprintf(stderr, "track: %s\n", std::string(spec.status().message()).c_str());
      return 1;
    }
  }
  // Wait (bounded) for every first answer: a full 7 d query and a fit each.
  for (const auto& r : refs) {
    auto got = tracker.Get(r);
    if (!got.ok()) {
      std::fprintf(stderr, "first answer: %s\n", std::string(got.status().message()).c_str());
      return 1;
    }
  }
  const double warm_wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - warm0).count();
  const double warm_cpu = CpuSeconds() - cpu_warm0;
  std::printf("refresh: objects=%d history=7d step=1m (10,080 points) refresh=30s refit=10m "
              "workers=%d source=%s\n",
              objects, threads,
              real_prometheus ? "a local Prometheus (promclient + curl, one backfilled series)"
                              : "fake (realistic series; no Prometheus)");
  std::printf("refresh: warm-up (first query + fit of every object): wall=%.1fs cpu=%.1fs "
              "(%.1f ms cpu per object)\n",
              warm_wall, warm_cpu, 1000 * warm_cpu / objects);

  // Steady state: every 30 s of simulated time, every object refreshes; each refits
  // every 10 minutes. Objects were created together, so their refits fall in the same
  // cycle: the average over whole 10-minute windows is what a core sees.
  const int cycles = static_cast<int>(simulated_minutes * 2);
  const double cpu0 = CpuSeconds();
  const auto wall0 = std::chrono::steady_clock::now();
  double worst_cycle = 0;
  for (int c = 0; c < cycles; ++c) {
    clock.Advance(30);
    const double cc = CpuSeconds();
    tracker.Tick();
    executor.WaitIdle();  // the cycle's refreshes are done
    worst_cycle = std::max(worst_cycle, CpuSeconds() - cc);
  }
  const double cpu = CpuSeconds() - cpu0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double simulated = cycles * 30.0;
  std::printf("refresh: %d cycles (%.0f simulated minutes) took wall=%.1fs cpu=%.2fs\n", cycles,
              simulated / 60, wall, cpu);
  std::printf("refresh: refresh work = %.2f%% of one core (cpu / simulated time); "
              "worst 30 s cycle (the refit one) = %.2f cpu-s\n",
              100 * cpu / simulated, worst_cycle);
  {
    auto first = tracker.Get(refs.front());
    if (first.ok()) {
      std::printf("refresh: object 0: %zu points in history, model %s, reason %s, value %.1f\n",
                  first->answer->history.points, first->answer->model.fitted ? "fitted" : "none",
                  scaler::ReasonName(first->answer->decision.reason),
                  first->answer->decision.value);
    }
  }
  std::printf("refresh: resident memory=%.1f MB (%.1f MB before tracking; %.1f kB per object)\n",
              RssMb(), rss0, 1024 * (RssMb() - rss0) / objects);
  tracker.Stop(std::chrono::seconds(30));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string what = "all";
  double seconds = 5;
  int objects = 1000;
  int threads = 2;
  double minutes = 10;
  int streams = 64;
  double rate = -1;  // -1: both a closed-loop run and an open-loop run at 20,000/s
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--objects" && i + 1 < argc) {
      objects = std::atoi(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--rate" && i + 1 < argc) {
      rate = std::atof(argv[++i]);
    } else if (a == "--streams" && i + 1 < argc) {
      streams = std::atoi(argv[++i]);
    } else if (a == "--minutes" && i + 1 < argc) {
      minutes = std::atof(argv[++i]);
    } else if (a == "rpc" || a == "refresh" || a == "refresh-prometheus" || a == "all") {
      what = a;
    } else {
      std::fprintf(stderr,
                   "usage: scaler_bench [rpc|refresh|refresh-prometheus|all] [--seconds S] [--objects N] "
                   "[--threads T] [--minutes M] [--streams K] [--rate R (0 = closed loop)]\n");
      return 2;
    }
  }
  scaler::ConfigureLogging(scaler::LogLevel::kError, scaler::LogFormat::kText);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as augur does
  int rc = 0;
  if (what == "rpc" || what == "all") {
    if (rate < 0) {
      rc |= RunRpc(seconds, streams, 0);
      rc |= RunRpc(seconds, streams, 20000);
    } else {
      rc |= RunRpc(seconds, streams, rate);
    }
  }
  if (what == "refresh" || what == "all") rc |= RunRefresh(objects, minutes, threads, false);
  if (what == "refresh-prometheus") rc |= RunRefresh(objects, minutes, threads, true);
  return rc;
}
