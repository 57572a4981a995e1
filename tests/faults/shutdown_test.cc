// SIGTERM under load: 64 StreamIsActive streams, `augur-loadtest bench` (the real
// binary) and a GetMetrics poller run against the real augur when it is told to stop.
// Asserted: augur exits 0 within 5 s; every stream ends cleanly or UNAVAILABLE; every
// call ends OK (with the answer it had: never another value) or UNAVAILABLE, except
// the few caught by gRPC's own transport at the instant the server stops: CANCELLED
// (accepted by gRPC, not yet handed to augur) or DEADLINE_EXCEEDED (sent on a connection
// the exiting server never served), at most one per call slot, with gRPC's message, not
// augur's (docs/reliability.md). Then a restarted augur serves warm answers again
// within 15 s.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_fixture.h"

namespace faults {
namespace {

using ::testing::HasSubstr;

constexpr int kStreams = 64;
constexpr int kObjects = 8;
constexpr double kExitWithinSeconds = 5;
constexpr double kWarmAgainWithinSeconds = 15;

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

TEST_F(ShutdownTest, SigtermUnderLoadThenWarmRestart) {
  const std::vector<std::string> flags = {"--idle-ttl", "10m"};
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
  std::map<std::string, int> stream_ends;  // "CODE: message" -> count
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

  // The bench (real binary), and our own GetMetrics poller that checks every value.
  std::string metadata;
  for (const auto& [k, v] : refs[0].scalermetadata()) {
    if (k == "query") continue;  // has commas and '=' in no place, but keep it simple below
    metadata += (metadata.empty() ? "" : ",") + k + "=" + v;
  }
  metadata += ",query=sum(augur_fault_load)";
  // The bench's objects use this query: warm them too (bench's warm-up needs answers).
  std::vector<externalscaler::ScaledObjectRef> bench_refs;
  for (int k = 0; k < kObjects; ++k) {
    auto ref = Ref("load-" + std::to_string(k), {{"query", "sum(augur_fault_load)"}});
    ref.set_namespace_("default");
    ASSERT_TRUE(Warm(ref).ok());
  }
  BenchProcess bench({AUGUR_LOADTEST_BINARY, "bench", "--target", augur_->grpc_address(),
                      "--concurrency", "16", "--connections", "2", "--duration", "6s",
                      "--warmup", "0s", "--objects", std::to_string(kObjects), "--name", "load",
                      "--namespace", "default", "--metadata", metadata, "--timeout", "2s",
                      "--json"},
                     dir_ + "/bench.json");
  std::atomic<bool> polling{true};
  std::map<std::string, int> poll_results;
  std::map<std::string, std::string> poll_messages;  // code -> first message
  double slowest_poll = 0;
  int wrong_values = 0;
  std::thread poller([&] {
    while (polling.load()) {
      for (const auto& ref : refs) {
        const auto sent = std::chrono::steady_clock::now();
        const Answer a = GetMetrics(ref);
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
        std::lock_guard<std::mutex> lock(mu);
        slowest_poll = std::max(slowest_poll, took);
        if (a.ok()) {
          ++poll_results["OK"];
          if (std::fabs(a.value - warm[ref.name()]) > 0.05 * warm[ref.name()]) ++wrong_values;
        } else {
          const std::string code = std::to_string(a.code);
          if (++poll_results[code] == 1) poll_messages[code] = a.message;
        }
      }
    }
  });
  ASSERT_TRUE(testing_support::PollUntil(20, [&] {
    return MetricValue("augur_grpc_requests_total{code=\"ok\",method=\"GetMetrics\"}") > 2000;
  })) << "the bench did not get going";

  const auto term = std::chrono::steady_clock::now();
  const int exit_status = augur_->Terminate(kExitWithinSeconds + 5);
  const double exit_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - term).count();
  EXPECT_EQ(exit_status, 0) << augur_->log();
  EXPECT_LT(exit_seconds, kExitWithinSeconds);
  for (auto& t : streams) t.join();
  polling.store(false);
  poller.join();
  ASSERT_EQ(bench.Wait(30), 0) << bench.output();

  // What the clients saw.
  int streams_ended = 0;
  for (const auto& [end, count] : stream_ends) {
    streams_ended += count;
    EXPECT_TRUE(end == "OK" || end.rfind("14: ", 0) == 0) << end;  // 14 = UNAVAILABLE
  }
  EXPECT_EQ(streams_ended, kStreams);
  // 1 = CANCELLED, 4 = DEADLINE_EXCEEDED, 14 = UNAVAILABLE.
  int poll_transport = 0;
  for (const auto& [code, count] : poll_results) {
    if (code == "OK" || code == "14") continue;
    EXPECT_TRUE(code == "1" || code == "4") << code << " x" << count << ": " << poll_messages[code];
    EXPECT_THAT(poll_messages[code], ::testing::Not(HasSubstr("augur"))) << "gRPC's own end";
    poll_transport += count;
  }
  EXPECT_LE(poll_transport, 2) << "one poller call in flight at a time";
  EXPECT_EQ(wrong_values, 0);
  const std::string out = bench.output();
  auto count_of = [&out](const std::string& code) {
    std::smatch m;
    return std::regex_search(out, m, std::regex("\"" + code + "\": *([0-9]+)")) ? std::stoi(m[1])
                                                                                : 0;
  };
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("\"errors\": *\\{([^}]*)\\}"))) << out;
  std::string errors = m[1];
  for (const char* code : {"UNAVAILABLE", "CANCELLED", "DEADLINE_EXCEEDED"}) {
    errors = std::regex_replace(errors, std::regex("\"" + std::string(code) + "\": *[0-9]+,? *"), "");
  }
  EXPECT_EQ(errors, "") << "bench saw other errors: " << out;
  const int bench_transport = count_of("CANCELLED") + count_of("DEADLINE_EXCEEDED");
  EXPECT_LE(bench_transport, 2 * 16) << "at most one per call slot and kind: " << out;
  EXPECT_GT(count_of("UNAVAILABLE"), 100 * bench_transport) << out;
  const std::string log = augur_->log();
  EXPECT_THAT(log, HasSubstr("event=shutting_down"));
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
  const double warm_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - restart).count();
  EXPECT_LT(warm_seconds, kWarmAgainWithinSeconds);
  std::map<std::string, int> all = stream_ends;
  std::printf("SHUTDOWN | exit %.2f s (status %d) | streams %s | poller OK %d, UNAVAILABLE %d, "
              "transport %d, slowest call %.2f s | bench %s | restart warm %d objects in %.2f s\n",
              exit_seconds, exit_status,
              [&] {
                std::string s;
                for (const auto& [k, v] : all) s += std::to_string(v) + "x " + k + "; ";
                return s;
              }().c_str(),
              poll_results["OK"], poll_results["14"], poll_transport, slowest_poll, out.c_str(),
              kObjects, warm_seconds);
}

}  // namespace
}  // namespace faults
