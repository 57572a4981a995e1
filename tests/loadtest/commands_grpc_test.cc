// `keda` and `bench` as whole commands against an in-process scaler on 127.0.0.1:0. The
// keda command runs on a fake clock that jumps to each wake-up time: no real waiting.
// `keda --push` adds a thread (StreamIsActive): the fake clock is thread-safe, only the
// main loop moves it, and a test can hold the main loop at a wake-up time (bounded) until
// the stream thread has printed or started waiting, which makes every run the same.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "externalscaler.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "loadtest/commands.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

// How long a test waits for another thread before it gives up (and fails): never
// reached in a passing run, it only bounds a broken one.
constexpr std::chrono::seconds kPatience{30};

class FortyTwo;

// One StreamIsActive call (callback API: no polling for the client's cancel). Sends
// `state` at once, as Augur's scaler sends the current state first, then ends with `end`;
// without `end` it stays open until the client cancels. Without `state` it ends with
// `end` before any message.
class StreamReactor final : public grpc::ServerWriteReactor<externalscaler::IsActiveResponse> {
 public:
  StreamReactor(FortyTwo& service, std::optional<bool> state, std::optional<grpc::Status> end);
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override { delete this; }

 private:
  void FinishOnce(const grpc::Status& status);

  FortyTwo& service_;
  std::optional<grpc::Status> end_;
  externalscaler::IsActiveResponse message_;
  std::mutex mu_;
  bool finished_ = false;
};

// Answers 42 with target 10; counts calls per RPC. StreamIsActive: the first
// `fail_streams` calls fail UNAVAILABLE before any message, the next `end_streams` send
// `stream_state` and end (OK), later ones send `stream_state` and stay open. Set the
// knobs before the run.
class FortyTwo final
    : public externalscaler::ExternalScaler::WithCallbackMethod_StreamIsActive<
          externalscaler::ExternalScaler::Service> {
 public:
  grpc::ServerWriteReactor<externalscaler::IsActiveResponse>* StreamIsActive(
      grpc::CallbackServerContext*, const externalscaler::ScaledObjectRef*) override {
    const int call = streams++;
    if (call < fail_streams) {
      return new StreamReactor(*this, std::nullopt,
                               grpc::Status(grpc::StatusCode::UNAVAILABLE, "warming up"));
    }
    if (call < fail_streams + end_streams) {
      return new StreamReactor(*this, stream_state.load(), grpc::Status::OK);
    }
    return new StreamReactor(*this, stream_state.load(), std::nullopt);
  }
  // Waits (bounded) until the client has cancelled `n` open streams.
  bool AwaitCancelled(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return cancelled_ >= n; });
  }
  void OnStreamCancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    ++cancelled_;
    cv_.notify_all();
  }

  grpc::Status IsActive(grpc::ServerContext*, const externalscaler::ScaledObjectRef*,
                        externalscaler::IsActiveResponse* r) override {
    ++is_active;
    r->set_result(true);
    return grpc::Status::OK;
  }
  grpc::Status GetMetricSpec(grpc::ServerContext*, const externalscaler::ScaledObjectRef* ref,
                             externalscaler::GetMetricSpecResponse* r) override {
    ++specs;
    auto* s = r->add_metricspecs();
    s->set_metricname("m-" + ref->name());
    s->set_targetsizefloat(10);
    return grpc::Status::OK;
  }
  grpc::Status GetMetrics(grpc::ServerContext*, const externalscaler::GetMetricsRequest* req,
                          externalscaler::GetMetricsResponse* r) override {
    ++metrics;
    auto* v = r->add_metricvalues();
    v->set_metricname(req->metricname());
    v->set_metricvaluefloat(42);
    return grpc::Status::OK;
  }
  std::atomic<int> is_active{0}, specs{0}, metrics{0}, streams{0};
  // Atomic: the test sets them on its thread and gRPC's reads them on its own; the
  // ordering between the two is inside gRPC, which ThreadSanitizer cannot see.
  std::atomic<int> fail_streams{0}, end_streams{0};
  std::atomic<bool> stream_state{true};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int cancelled_ = 0;
};

StreamReactor::StreamReactor(FortyTwo& service, std::optional<bool> state,
                             std::optional<grpc::Status> end)
    : service_(service), end_(std::move(end)) {
  if (!state) {
    FinishOnce(*end_);
    return;
  }
  message_.set_result(*state);
  StartWrite(&message_);
}

void StreamReactor::OnWriteDone(bool ok) {
  if (!ok) {
    FinishOnce(grpc::Status::CANCELLED);
  } else if (end_) {
    FinishOnce(*end_);
  }
}

void StreamReactor::OnCancel() {
  service_.OnStreamCancelled();
  FinishOnce(grpc::Status::CANCELLED);
}

void StreamReactor::FinishOnce(const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  Finish(status);
}

// What the command printed and how the stream thread waited, as seen so far.
struct Captured {
  std::string out, err;
  std::vector<double> waits;  // the `t` of each wait_until call (reconnect times)
};

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

constexpr char kStreamEvent[] = "\"event\":\"stream\"";

// The command's environment: a fake clock that only sleep_until (the main loop) moves,
// and out/err captured as they are written. Thread-safe: the stream thread calls now(),
// wait_until() and writes while the main loop runs.
class FakeEnv {
 public:
  explicit FakeEnv(double t0) : now_(t0), out_(&out_buf_), err_(&err_buf_) {}

  CommandEnv Env(bool progress, bool with_wait_until) {
    CommandEnv env;
    env.out = &out_;
    env.err = &err_;
    env.stop = &stop_;
    env.now = [this] {
      std::lock_guard<std::mutex> lock(mu_);
      return now_;
    };
    env.sleep_until = [this](double t) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        now_ = std::max(now_, t);
      }
      cv_.notify_all();
      if (gate) gate(*this, t);
    };
    if (with_wait_until) {
      env.wait_until = [this](double t, const std::atomic<bool>& cancel) { WaitUntil(t, cancel); };
    }
    env.progress = progress;
    return env;
  }

  // Called on the main loop after each sleep_until(t) moved the clock: a test holds the
  // loop here (Await) until the stream thread has done what it should by time t.
  std::function<void(FakeEnv&, double t)> gate;

  // Waits until `done` (called under the lock) holds; fails the test after kPatience,
  // and then no longer waits (a broken run costs one kPatience, not one per wake-up).
  void Await(const std::function<bool(const Captured&)>& done) {
    std::unique_lock<std::mutex> lock(mu_);
    if (gave_up_) return;
    if (!cv_.wait_for(lock, kPatience, [&] { return done(captured_); })) {
      gave_up_ = true;
      ADD_FAILURE() << "timed out waiting for the stream thread; out so far:\n"
                    << captured_.out << "err so far:\n" << captured_.err;
    }
  }

  Captured Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return captured_;
  }

 private:
  // Appends what is written to one Captured string; wakes Await at each line's end.
  class CaptureBuf final : public std::streambuf {
   public:
    CaptureBuf(FakeEnv& env, std::string Captured::*text) : env_(env), text_(text) {}

   protected:
    int_type overflow(int_type c) override {
      if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
      {
        std::lock_guard<std::mutex> lock(env_.mu_);
        (env_.captured_.*text_).push_back(traits_type::to_char_type(c));
      }
      if (c == '\n') env_.cv_.notify_all();
      return c;
    }

   private:
    FakeEnv& env_;
    std::string Captured::*text_;
  };

  // wait_until: the clock is moved by the main loop only, so this waits for it to reach
  // `t`. `cancel` has no notification: it is re-checked every 5 ms (that only bounds how
  // late the thread notices the command's end, never what it prints). Bounded.
  void WaitUntil(double t, const std::atomic<bool>& cancel) {
    std::unique_lock<std::mutex> lock(mu_);
    captured_.waits.push_back(t);
    cv_.notify_all();
    const auto give_up = std::chrono::steady_clock::now() + kPatience;
    while (now_ < t && !cancel.load() && !stop_.load() &&
           std::chrono::steady_clock::now() < give_up) {
      cv_.wait_for(lock, std::chrono::milliseconds(5));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  double now_;
  Captured captured_;
  bool gave_up_ = false;
  std::atomic<bool> stop_{false};
  CaptureBuf out_buf_{*this, &Captured::out};
  CaptureBuf err_buf_{*this, &Captured::err};
  std::ostream out_;
  std::ostream err_;
};

constexpr double kT0 = 1763856000;

class CommandsGrpc : public testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  // Runs one command on fake_ (one Run per test).
  int Run(std::vector<std::string> args, std::string& out, std::string& err,
          bool progress = false, bool with_wait_until = true) {
    args.insert(args.begin(), "augur-loadtest");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    const int code =
        RunLoadtest(static_cast<int>(argv.size()), argv.data(), fake_.Env(progress, with_wait_until));
    const Captured c = fake_.Snapshot();
    out = c.out;
    err = c.err;
    return code;
  }
  std::string Target() const { return "127.0.0.1:" + std::to_string(port_); }

  // `keda --push --json` for 60 s: polls at 0, 30, 60 and HPA syncs at 15, 30, 45, 60.
  std::vector<std::string> PushArgs() const {
    return {"keda", "--target", Target(), "--name", "checkout", "--metadata",
            "query=sum(x),targetValue=10", "--duration", "60s", "--json", "--push"};
  }

  FakeEnv fake_{kT0};
  FortyTwo service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(CommandsGrpc, KedaPrintsOneJsonLinePerDecisionOnAFakeClock) {
  std::string out, err;
  ASSERT_EQ(Run({"keda", "--target", Target(), "--name", "checkout", "--metadata",
                 "query=sum(x),targetValue=10", "--duration", "60s", "--json"},
                out, err),
            0)
      << err;
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  // start; polls at 0, 30, 60; HPA syncs at 15, 30, 45, 60.
  ASSERT_EQ(lines.size(), 8u) << out;
  EXPECT_EQ(lines[0]["event"], "start");
  int polls = 0, syncs = 0;
  for (const auto& j : lines) {
    polls += j["event"] == "poll";
    syncs += j["event"] == "hpa";
  }
  EXPECT_EQ(polls, 3);
  EXPECT_EQ(syncs, 4);
  // 42 / 10 -> 5 replicas at the first sync; the value is KEDA's (float) value.
  EXPECT_EQ(lines[2]["event"], "hpa");
  EXPECT_EQ(lines[2]["replicas"], 5);
  EXPECT_DOUBLE_EQ(lines[2]["value"].get<double>(), 42);
  EXPECT_EQ(service_.specs.load(), 1 + 7);
  EXPECT_EQ(service_.metrics.load(), 7);
  EXPECT_EQ(service_.is_active.load(), 7);
}

TEST_F(CommandsGrpc, KedaFailsClearlyWhenTheScalerIsDown) {
  std::string out, err;
  server_->Shutdown();
  EXPECT_EQ(Run({"keda", "--target", Target(), "--timeout", "1s", "--duration", "10s"}, out, err), 1);
  EXPECT_THAT(err, testing::HasSubstr("GetMetricSpec"));
}

std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::vector<std::string> Events(const std::vector<nlohmann::json>& lines) {
  std::vector<std::string> events;
  for (const auto& j : lines) events.push_back(j["event"].get<std::string>());
  return events;
}

TEST_F(CommandsGrpc, KedaPushPrintsTheStreamsFirstMessageAsAStreamEvent) {
  service_.stream_state = false;  // IsActive answers true: this can only come from the stream
  // Hold the main loop at its first wake-up until the stream line is out.
  fake_.gate = [](FakeEnv& f, double) {
    f.Await([](const Captured& c) { return Count(c.out, kStreamEvent) >= 1; });
  };
  std::string out, err;
  // Returning at all means the stream thread was stopped and joined.
  ASSERT_EQ(Run(PushArgs(), out, err), 0) << err;
  const std::vector<nlohmann::json> lines = JsonLines(out);
  EXPECT_THAT(Events(lines), testing::ElementsAre("start", "stream", "poll", "hpa", "poll", "hpa",
                                                  "hpa", "poll", "hpa"))
      << out;
  ASSERT_GE(lines.size(), 2u);
  const nlohmann::json& stream = lines[1];
  EXPECT_DOUBLE_EQ(stream["time"].get<double>(), kT0);
  EXPECT_EQ(stream["active"], false);
  EXPECT_EQ(stream["replicas"], 1);  // --initial-replicas, before any HPA sync
  EXPECT_EQ(stream["error"], false);
  EXPECT_TRUE(stream["value"].is_null());
  EXPECT_THAT(stream["reason"].get<std::string>(), testing::HasSubstr("StreamIsActive: inactive"));
  // The decisions are those of a run without --push.
  EXPECT_EQ(lines[3]["event"], "hpa");
  EXPECT_EQ(lines[3]["replicas"], 5);
  EXPECT_EQ(service_.streams.load(), 1);
  EXPECT_TRUE(fake_.Snapshot().waits.empty());  // no reconnect
  // The open stream was cancelled when the command ended.
  EXPECT_TRUE(service_.AwaitCancelled(1));
}

TEST_F(CommandsGrpc, KedaPushReconnectsAfterTheBackoffWhenTheServerEndsTheStream) {
  service_.end_streams = 1;  // the first stream: one message, then a clean end
  fake_.gate = [](FakeEnv& f, double t) {
    f.Await([t](const Captured& c) {
      // By t0 the thread has printed the first message and waits to reconnect; by the
      // first wake-up after the 2 s backoff (t0 + 15) it has reconnected and printed again.
      return t < kT0 + 2 ? Count(c.out, kStreamEvent) == 1 && c.waits.size() == 1
                         : Count(c.out, kStreamEvent) == 2;
    });
  };
  std::string out, err;
  ASSERT_EQ(Run(PushArgs(), out, err, /*progress=*/true), 0) << err;
  const std::vector<nlohmann::json> lines = JsonLines(out);
  EXPECT_THAT(Events(lines), testing::ElementsAre("start", "stream", "poll", "stream", "hpa",
                                                  "poll", "hpa", "hpa", "poll", "hpa"))
      << out;
  ASSERT_GE(lines.size(), 4u);
  EXPECT_DOUBLE_EQ(lines[1]["time"].get<double>(), kT0);
  EXPECT_DOUBLE_EQ(lines[3]["time"].get<double>(), kT0 + 15);
  EXPECT_EQ(lines[3]["active"], true);
  EXPECT_THAT(lines[3]["reason"].get<std::string>(), testing::HasSubstr("StreamIsActive: active"));
  // KEDA's backoff after a clean end: 2 s, once.
  EXPECT_THAT(fake_.Snapshot().waits, testing::ElementsAre(kT0 + 2));
  EXPECT_EQ(service_.streams.load(), 2);
  // The reconnect note is a progress line on err, never on out.
  EXPECT_EQ(Count(err, "keda: StreamIsActive ended (OK); reconnecting in 2s\n"), 1) << err;
  EXPECT_EQ(Count(out, "reconnecting"), 0);
  EXPECT_THAT(err, testing::HasSubstr("keda: 7 decisions, final replicas 5"));
  EXPECT_TRUE(service_.AwaitCancelled(1));  // the second stream, at the command's end
}

TEST_F(CommandsGrpc, KedaPushBacksOffLongerWhileTheStreamIsUnavailable) {
  service_.fail_streams = 2;  // two calls fail before any message, the third stays open
  fake_.gate = [](FakeEnv& f, double t) {
    f.Await([t](const Captured& c) {
      if (t < kT0 + 2) return c.waits.size() == 1;         // failed once, waits 2 s
      if (t < kT0 + 15 + 4) return c.waits.size() == 2;    // failed again at t0+15, waits 4 s
      return Count(c.out, kStreamEvent) == 1;              // connected at t0+30
    });
  };
  std::string out, err;
  ASSERT_EQ(Run(PushArgs(), out, err, /*progress=*/true), 0) << err;
  const std::vector<nlohmann::json> lines = JsonLines(out);
  EXPECT_THAT(Events(lines), testing::ElementsAre("start", "poll", "hpa", "stream", "poll", "hpa",
                                                  "hpa", "poll", "hpa"))
      << out;
  ASSERT_GE(lines.size(), 4u);
  EXPECT_DOUBLE_EQ(lines[3]["time"].get<double>(), kT0 + 30);
  EXPECT_EQ(lines[3]["active"], true);
  EXPECT_THAT(fake_.Snapshot().waits, testing::ElementsAre(kT0 + 2, kT0 + 15 + 4));
  EXPECT_EQ(service_.streams.load(), 3);
  EXPECT_EQ(Count(err, "keda: StreamIsActive ended (UNAVAILABLE: warming up); reconnecting in 2s\n"), 1)
      << err;
  EXPECT_EQ(Count(err, "keda: StreamIsActive ended (UNAVAILABLE: warming up); reconnecting in 4s\n"), 1)
      << err;
  EXPECT_TRUE(service_.AwaitCancelled(1));
}

TEST_F(CommandsGrpc, KedaPushNeedsAWaitUntilHook) {
  std::string out, err;
  EXPECT_EQ(Run(PushArgs(), out, err, /*progress=*/false, /*with_wait_until=*/false), 1);
  EXPECT_THAT(err, testing::HasSubstr("--push needs a wait_until hook"));
  EXPECT_EQ(service_.streams.load(), 0);
}

TEST_F(CommandsGrpc, BenchJsonHasExactlyTheDocumentedShape) {
  std::string out, err;
  ASSERT_EQ(Run({"bench", "--target", Target(), "--count", "200", "--duration", "0s", "--warmup",
                 "0s", "--concurrency", "4", "--connections", "2", "--objects", "3", "--json"},
                out, err),
            0)
      << err;
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j.size(), 3u);
  EXPECT_GT(j["rps"].get<double>(), 0);
  EXPECT_TRUE(j["errors"].empty());
  EXPECT_EQ(service_.metrics.load(), 200);
  EXPECT_EQ(service_.specs.load(), 3);
}

}  // namespace
}  // namespace loadtest
