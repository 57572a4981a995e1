// SIGTERM under load: 64 StreamIsActive streams, `augur-loadtest bench` (the real
// binary) and a GetMetrics poller run against the real augur when it is told to stop,
// with a short drain (--shutdown-drain). Asserted: the streams end cleanly (OK) at once;
// every call the clients make ends OK with the answer it had (never another value) or
// UNAVAILABLE "augur is shutting down" from augur itself (the count augur's metrics give
// equals the count the clients saw): no CANCELLED or DEADLINE_EXCEEDED; augur exits 0
// no earlier than the drain and within the drain + 5 s. Then a restarted augur serves
// warm answers again within 15 s. A second test holds a long drain open: health
// NOT_SERVING (liveness excepted), /readyz 503, every ExternalScaler RPC UNAVAILABLE
// "shutting down", and a second signal ends the drain (docs/reliability.md).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "health.grpc.pb.h"  // generated from scaler/health.proto
#include "nlohmann/json.hpp"
#include "promclient/curl_http_transport.h"
#include "tests/faults/fault_fixture.h"

namespace faults {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kStreams = 64;
constexpr int kObjects = 8;
// The load test's drain: long enough for its clients to see the drain and stop (in
// about 0.1 s; a few times that under a sanitizer) before it ends, so that nothing is
// left for the server's stop.
#ifdef AUGUR_SANITIZED
constexpr int kDrainSeconds = 10;
#else
constexpr int kDrainSeconds = 4;
#endif
// After the drain: the stop's 2 s grace, the 1.5 s wait for refreshes, and slack.
constexpr double kStopWithinSeconds = 5;
constexpr double kWarmAgainWithinSeconds = 15;

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool IsShuttingDown(const Answer& a) {
  return a.code == grpc::StatusCode::UNAVAILABLE &&
         a.message.find("augur is shutting down") != std::string::npos;
}

// Runs `augur-loadtest bench`, capturing its stdout.
class BenchProcess {
 public:
  BenchProcess(const std::vector<std::string>& args, const std::string& out_path)
      : out_path_(out_path) {
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      std::vector<std::string> copy = args;
      std::vector<char*> argv;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~BenchProcess() {
    if (pid_ > 0 && status_ < 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void Interrupt() { kill(pid_, SIGINT); }  // ends the run cleanly (its report printed)
  int Wait(double seconds) {
    testing_support::PollUntil(seconds, [&] {
      int s = 0;
      if (waitpid(pid_, &s, WNOHANG) != pid_) return false;
      status_ = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
      return true;
    });
    return status_;
  }
  std::string output() const { return testing_support::ReadFileOrEmpty(out_path_); }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string out_path_;
};

using ShutdownTest = FaultFixture;
using grpc::health::v1::HealthCheckResponse;

// The health status of `service` as grpc.health.v1.Health/Check gives it.
HealthCheckResponse::ServingStatus HealthOf(const std::shared_ptr<grpc::Channel>& channel,
                                            const std::string& service) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse resp;
  const grpc::Status s = grpc::health::v1::Health::NewStub(channel)->Check(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << service << ": " << s.error_message();
  return resp.status();
}

// The HTTP status of GET `path` on augur's HTTP port (0 when unreachable).
long HttpStatus(const testing_support::AugurProcess& augur, const std::string& path) {
  static promclient::CurlHttpTransport http;
  promclient::HttpRequest r;
  r.url = "http://" + augur.http_address() + path;
  r.timeout = std::chrono::seconds(5);
  auto got = http.Send(r);
  return got.ok() ? got->status_code : 0;
}

TEST_F(ShutdownTest, SigtermUnderLoadDrainsThenWarmRestart) {
  const std::string drain = std::to_string(kDrainSeconds) + "s";
  const std::vector<std::string> flags = {"--idle-ttl", "10m", "--shutdown-drain", drain};
  augur_ = StartAugur(flags);
  std::vector<externalscaler::ScaledObjectRef> refs;
  std::map<std::string, double> warm;
  for (int k = 0; k < kObjects; ++k) {
    refs.push_back(Ref("bench-" + std::to_string(k)));
    const Answer a = Warm(refs.back());
    ASSERT_TRUE(a.ok()) << a.message;
    warm[refs.back().name()] = a.value;
  }

  // 64 streams over 4 connections, each recording how it ended.
  std::mutex mu;
  std::map<std::string, int> stream_ends;  // "OK" or "CODE: message" -> count
  std::atomic<int> streams_open{0};
  std::vector<std::thread> streams;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < 4; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("augur.test.connection", c);
    channels.push_back(grpc::CreateCustomChannel(augur_->grpc_address(),
                                                 grpc::InsecureChannelCredentials(), args));
  }
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    contexts[i] = std::make_unique<grpc::ClientContext>();
    contexts[i]->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    streams.emplace_back([&, i] {
      auto stub = externalscaler::ExternalScaler::NewStub(channels[i % channels.size()]);
      auto reader = stub->StreamIsActive(contexts[i].get(), refs[i % kObjects]);
      externalscaler::IsActiveResponse message;
      bool first = true;
      while (reader->Read(&message)) {
        if (first) streams_open.fetch_add(1);
        first = false;
      }
      grpc::Status s = reader->Finish();
      std::lock_guard<std::mutex> lock(mu);
      ++stream_ends[s.ok() ? "OK" : std::to_string(s.error_code()) + ": " + s.error_message()];
    });
  }
  ASSERT_TRUE(testing_support::PollUntil(20, [&] { return streams_open.load() == kStreams; }))
      << streams_open.load() << " streams open";

  // The bench (real binary; it runs until interrupted), and our own GetMetrics poller that
  // checks every value.
  std::string metadata;
  for (const auto& [k, v] : refs[0].scalermetadata()) {
    if (k == "query") continue;  // has commas and '=' in no place, but keep it simple below
    metadata += (metadata.empty() ? "" : ",") + k + "=" + v;
  }
  metadata += ",query=sum(augur_fault_load)";
  // The bench's objects use this query: warm them too (bench's warm-up needs answers).
  for (int k = 0; k < kObjects; ++k) {
    auto ref = Ref("load-" + std::to_string(k), {{"query", "sum(augur_fault_load)"}});
    ref.set_namespace_("default");
    ASSERT_TRUE(Warm(ref).ok());
  }
  BenchProcess bench({AUGUR_LOADTEST_BINARY, "bench", "--target", augur_->grpc_address(),
                      "--concurrency", "16", "--connections", "2", "--duration", "120s",
                      "--warmup", "0s", "--objects", std::to_string(kObjects), "--name", "load",
                      "--namespace", "default", "--metadata", metadata, "--timeout", "2s",
                      "--json"},
                     dir_ + "/bench.json");
  std::atomic<bool> polling{true};
  std::atomic<int> poll_shutting_down{0};
  int poll_ok = 0;
  std::map<std::string, int> poll_other;  // "CODE: message" -> count
  double slowest_poll = 0;
  int wrong_values = 0;
  std::thread poller([&] {
    while (polling.load()) {
      for (const auto& ref : refs) {
        const auto sent = std::chrono::steady_clock::now();
        const Answer a = GetMetrics(ref);
        const double took = SecondsSince(sent);
        std::lock_guard<std::mutex> lock(mu);
        slowest_poll = std::max(slowest_poll, took);
        if (a.ok()) {
          ++poll_ok;
          if (std::fabs(a.value - warm[ref.name()]) > 0.05 * warm[ref.name()]) ++wrong_values;
        } else if (IsShuttingDown(a)) {
          poll_shutting_down.fetch_add(1);
        } else {
          ++poll_other[std::to_string(a.code) + ": " + a.message];
        }
      }
    }
  });
  const std::string kUnavailable =
      "augur_grpc_requests_total{code=\"unavailable\",method=\"GetMetrics\"}";
  ASSERT_TRUE(testing_support::PollUntil(20, [&] {
    return MetricValue("augur_grpc_requests_total{code=\"ok\",method=\"GetMetrics\"}") > 2000;
  })) << "the bench did not get going";
  const double unavailable_before = std::isnan(MetricValue(kUnavailable)) ? 0 : MetricValue(kUnavailable);

  // SIGTERM: the drain begins. The clients see it (streams end, calls are answered
  // "shutting down") and stop, as clients that move to another replica do, well within
  // the drain; then augur stops with nothing left in flight.
  const auto term = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(augur_->pid(), SIGTERM), 0);
  ASSERT_TRUE(testing_support::PollUntil(kDrainSeconds, [&] {
    return poll_shutting_down.load() >= kObjects;
  })) << "the poller was not answered \"shutting down\"";
  bench.Interrupt();
  const int bench_status = bench.Wait(kDrainSeconds);
  polling.store(false);
  poller.join();
  for (auto& t : streams) t.join();  // ended at the drain's start
  const double clients_stopped = SecondsSince(term);
  const double unavailable_after = MetricValue(kUnavailable);
  ASSERT_EQ(augur_->ExitStatusIfExited(), -1)
      << "the clients took " << clients_stopped << " s to stop, longer than the "
      << kDrainSeconds << " s drain: what they saw is not the drain's alone";
  ASSERT_EQ(bench_status, 0) << bench.output();

  int exit_status = -1;
  ASSERT_TRUE(testing_support::PollUntil(kDrainSeconds + kStopWithinSeconds + 5, [&] {
    exit_status = augur_->ExitStatusIfExited();
    return exit_status >= 0;
  })) << augur_->log();
  const double exit_seconds = SecondsSince(term);
  EXPECT_EQ(exit_status, 0) << augur_->log();
  EXPECT_GE(exit_seconds, kDrainSeconds) << "the drain was cut short";
  EXPECT_LT(exit_seconds, kDrainSeconds + kStopWithinSeconds);

  // What the clients saw: clean stream ends; answers with their values, or augur's own
  // UNAVAILABLE "shutting down"; nothing else (no CANCELLED, no DEADLINE_EXCEEDED).
  EXPECT_EQ(stream_ends, (std::map<std::string, int>{{"OK", kStreams}}));
  EXPECT_TRUE(poll_other.empty()) << poll_other.begin()->second << " x "
                                  << poll_other.begin()->first;
  EXPECT_EQ(wrong_values, 0);
  EXPECT_GT(poll_ok, 0);
  const std::string out = bench.output();
  const nlohmann::json report = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(report.is_object() && report.contains("errors")) << out;
  const nlohmann::json& errors = report["errors"];
  ASSERT_EQ(errors.size(), 1u) << "the bench saw other errors than UNAVAILABLE: " << out;
  ASSERT_TRUE(errors.contains("UNAVAILABLE")) << out;
  const int bench_unavailable = errors["UNAVAILABLE"].get<int>();
  EXPECT_GT(bench_unavailable, 0) << out;
  // Every UNAVAILABLE the clients saw was one of augur's answers (its message checked on
  // the poller's): none came from gRPC's transport.
  EXPECT_EQ(unavailable_after - unavailable_before, bench_unavailable + poll_shutting_down.load());
  const std::string log = augur_->log();
  EXPECT_THAT(log, HasSubstr("event=shutting_down signal=SIGTERM drain=" + drain));
  EXPECT_THAT(log, HasSubstr("event=drained"));
  EXPECT_THAT(log, HasSubstr("event=stopped"));

  // A restart: warm answers again (the first refresh of each object refetches history).
  const auto restart = std::chrono::steady_clock::now();
  augur_ = StartAugur(flags);
  channel_.reset();
  for (const auto& ref : refs) {
    Answer a;
    ASSERT_TRUE(testing_support::PollUntil(kWarmAgainWithinSeconds, [&] {
      a = GetMetrics(ref);
      return a.ok();
    })) << a.message;
    EXPECT_NEAR(a.value, warm[ref.name()], 0.05 * warm[ref.name()]);
  }
  const double warm_seconds = SecondsSince(restart);
  EXPECT_LT(warm_seconds, kWarmAgainWithinSeconds);
  std::printf("SHUTDOWN | exit %.2f s (status %d; drain %.0f s) | clients stopped %.3f s | "
              "streams %d OK of %d | poller OK %d, UNAVAILABLE shutting down %d, other %zu, "
              "slowest call %.3f s | bench %s | augur answered UNAVAILABLE %.0f | restart warm "
              "%d objects in %.2f s\n",
              exit_seconds, exit_status, static_cast<double>(kDrainSeconds), clients_stopped,
              stream_ends.count("OK") ? stream_ends["OK"] : 0, kStreams, poll_ok,
              poll_shutting_down.load(), poll_other.size(), slowest_poll, out.c_str(),
              unavailable_after - unavailable_before, kObjects, warm_seconds);
}

TEST_F(ShutdownTest, DrainIsNotServingAnswersShuttingDownAndASecondSignalEndsIt) {
  augur_ = StartAugur({"--shutdown-drain", "10m"});
  const auto ref = Ref("drain", {{"activationThreshold", "1"}});  // active: Load >= 50
  ASSERT_TRUE(Warm(ref).ok());
  auto channel =
      grpc::CreateChannel(augur_->grpc_address(), grpc::InsecureChannelCredentials());
  auto stub = externalscaler::ExternalScaler::NewStub(channel);
  // Open before the signal: a stream (its first message says the object is active) and a
  // watch of the readiness status.
  grpc::ClientContext stream_ctx;
  stream_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->StreamIsActive(&stream_ctx, ref);
  externalscaler::IsActiveResponse active;
  ASSERT_TRUE(stream->Read(&active));
  EXPECT_TRUE(active.result());
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  grpc::health::v1::HealthCheckRequest readiness;
  readiness.set_service("readiness");
  auto watch = grpc::health::v1::Health::NewStub(channel)->Watch(&watch_ctx, readiness);
  HealthCheckResponse health;
  ASSERT_TRUE(watch->Read(&health));
  EXPECT_EQ(health.status(), HealthCheckResponse::SERVING);
  EXPECT_EQ(HttpStatus(*augur_, "/readyz"), 200);

  ASSERT_EQ(kill(augur_->pid(), SIGTERM), 0);
  // The watch sees NOT_SERVING and stays open; the stream ends cleanly.
  ASSERT_TRUE(watch->Read(&health));
  EXPECT_EQ(health.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(stream->Read(&active));
  const grpc::Status stream_end = stream->Finish();
  EXPECT_TRUE(stream_end.ok()) << stream_end.error_code() << ": " << stream_end.error_message();

  // During the drain: not ready, still alive; every ExternalScaler call is UNAVAILABLE
  // "shutting down", naming its method; the Inspector still answers.
  for (const char* service : {"readiness", "", "externalscaler.ExternalScaler",
                              "augur.v1.Inspector"}) {
    EXPECT_EQ(HealthOf(channel, service), HealthCheckResponse::NOT_SERVING) << service;
  }
  EXPECT_EQ(HealthOf(channel, "liveness"), HealthCheckResponse::SERVING);
  EXPECT_EQ(HttpStatus(*augur_, "/readyz"), 503);
  EXPECT_EQ(HttpStatus(*augur_, "/healthz"), 200);
  const Answer metrics = GetMetrics(ref);
  EXPECT_TRUE(IsShuttingDown(metrics)) << metrics.code << ": " << metrics.message;
  EXPECT_THAT(metrics.message, HasSubstr("GetMetrics"));
  auto expect_shutting_down = [](const grpc::Status& s, const std::string& method) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << method << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(method + ": augur is shutting down"));
  };
  {
    grpc::ClientContext ctx;
    externalscaler::GetMetricSpecResponse spec;
    expect_shutting_down(stub->GetMetricSpec(&ctx, ref, &spec), "GetMetricSpec");
  }
  {
    grpc::ClientContext ctx;
    externalscaler::IsActiveResponse resp;
    expect_shutting_down(stub->IsActive(&ctx, ref, &resp), "IsActive");
  }
  {
    grpc::ClientContext ctx;
    auto late = stub->StreamIsActive(&ctx, ref);
    EXPECT_FALSE(late->Read(&active));
    expect_shutting_down(late->Finish(), "StreamIsActive");
  }
  {
    grpc::ClientContext ctx;
    auto late = stub->StreamMetricSpec(&ctx, ref);
    externalscaler::GetMetricSpecResponse spec;
    EXPECT_FALSE(late->Read(&spec));
    expect_shutting_down(late->Finish(), "StreamMetricSpec");
  }
  EXPECT_EQ(Summary("drain").name(), "drain");
  EXPECT_EQ(augur_->ExitStatusIfExited(), -1) << "still draining (10m)";

  // A second signal ends the drain: the stop follows at once.
  const auto second = std::chrono::steady_clock::now();
  EXPECT_EQ(augur_->Terminate(kStopWithinSeconds + 5, SIGINT), 0) << augur_->log();
  const double stop_seconds = SecondsSince(second);
  EXPECT_LT(stop_seconds, kStopWithinSeconds);
  std::printf("DRAIN-SKIPPED | second signal -> exit %.2f s\n", stop_seconds);
  EXPECT_FALSE(watch->Read(&health));  // the watch ends with the stop
  const grpc::Status watch_end = watch->Finish();
  EXPECT_TRUE(watch_end.ok()) << watch_end.error_code() << ": " << watch_end.error_message();
  const std::string log = augur_->log();
  EXPECT_THAT(log, HasSubstr("event=shutting_down signal=SIGTERM drain=10m"));
  EXPECT_THAT(log, HasSubstr("event=drain_skipped signal=SIGINT"));
  EXPECT_THAT(log, Not(HasSubstr("event=drained")));
  EXPECT_THAT(log, HasSubstr("event=stopped"));
}

}  // namespace
}  // namespace faults
