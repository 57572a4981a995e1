// `keda` and `bench` as whole commands against an in-process scaler on 127.0.0.1:0. The
// keda command runs on a fake clock that jumps to each wake-up time: no real waiting.

#include <atomic>
#include <sstream>
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

// Answers 42 with target 10; counts calls per RPC.
class FortyTwo final : public externalscaler::ExternalScaler::Service {
 public:
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
  std::atomic<int> is_active{0}, specs{0}, metrics{0};
};

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

  int Run(std::vector<std::string> args, std::string& out, std::string& err) {
    args.insert(args.begin(), "augur-loadtest");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream o, e;
    std::atomic<bool> stop{false};
    double clock = 1763856000;
    CommandEnv env;
    env.out = &o;
    env.err = &e;
    env.stop = &stop;
    env.now = [&clock] { return clock; };
    env.sleep_until = [&clock](double t) { clock = std::max(clock, t); };
    env.progress = false;
    const int code = RunLoadtest(static_cast<int>(argv.size()), argv.data(), env);
    out = o.str();
    err = e.str();
    return code;
  }
  std::string Target() const { return "127.0.0.1:" + std::to_string(port_); }

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
