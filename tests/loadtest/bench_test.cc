// bench against an in-process ExternalScaler served on 127.0.0.1:0.

#include "loadtest/bench.h"

#include <atomic>
#include <mutex>
#include <set>

#include "externalscaler.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

// A tiny scaler: answers 42 for every object, fails GetMetrics for objects whose name
// ends in "-1" (to count errors by code), and records which objects it saw.
class TestScaler final : public externalscaler::ExternalScaler::Service {
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
    if (ref->scalermetadata().count("targetValue") == 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "targetValue is required");
    }
    auto* s = r->add_metricspecs();
    s->set_metricname("m-" + ref->name());
    s->set_targetsizefloat(10);
    return grpc::Status::OK;
  }
  grpc::Status GetMetrics(grpc::ServerContext*, const externalscaler::GetMetricsRequest* req,
                          externalscaler::GetMetricsResponse* r) override {
    ++metrics;
    {
      std::lock_guard<std::mutex> lock(mu);
      names.insert(req->scaledobjectref().name());
      metric_names.insert(req->metricname());
    }
    const std::string& name = req->scaledobjectref().name();
    if (name.size() >= 2 && name.substr(name.size() - 2) == "-1") {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no answer yet");
    }
    auto* v = r->add_metricvalues();
    v->set_metricname(req->metricname());
    v->set_metricvaluefloat(42);
    return grpc::Status::OK;
  }

  std::atomic<int64_t> is_active{0}, specs{0}, metrics{0};
  std::mutex mu;
  std::set<std::string> names, metric_names;
};

class BenchTest : public testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  ChannelFactory Channels() {
    const std::string target = "127.0.0.1:" + std::to_string(port_);
    return [target](int index) {
      grpc::ChannelArguments args;
      args.SetInt("augur.loadtest.connection", index);
      return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    };
  }
  TestScaler service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(BenchTest, CountBoundRunReportsEveryRequestAndErrorsByCode) {
  BenchConfig config;
  config.concurrency = 4;
  config.connections = 2;
  config.count = 400;
  config.duration_seconds = 0;
  config.warmup_seconds = 0;
  config.objects = 4;
  config.metadata = {{"targetValue", "10"}};
  std::atomic<bool> stop{false};
  auto result = RunBench(config, Channels(), stop);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requests, 400);
  EXPECT_EQ(service_.metrics.load(), 400);
  EXPECT_EQ(service_.specs.load(), 4);  // one warm-up GetMetricSpec per object
  // Objects 0..3 round robin: a quarter of the requests go to bench-1, which fails.
  EXPECT_EQ(result->ok, 300);
  ASSERT_EQ(result->errors.size(), 1u);
  EXPECT_EQ(result->errors.at("UNAVAILABLE"), 100);
  EXPECT_THAT(service_.names, testing::ElementsAre("bench-0", "bench-1", "bench-2", "bench-3"));
  EXPECT_THAT(service_.metric_names, testing::Contains("m-bench-2"));
  EXPECT_GT(result->rps, 0);
  EXPECT_LE(result->p50, result->p90);
  EXPECT_LE(result->p90, result->p99);
  EXPECT_LE(result->p99, result->p999);
  EXPECT_LE(result->p999, result->max);
  EXPECT_GT(result->max, 0);

  // --json has exactly the three documented keys.
  nlohmann::json j = nlohmann::json::parse(BenchJson(*result));
  EXPECT_EQ(j.size(), 3u);
  EXPECT_TRUE(j.contains("rps"));
  EXPECT_EQ(j["latency_ms"].size(), 5u);
  for (const char* k : {"p50", "p90", "p99", "p999", "max"}) EXPECT_TRUE(j["latency_ms"].contains(k)) << k;
  EXPECT_EQ(j["errors"]["UNAVAILABLE"], 100);
}

TEST_F(BenchTest, OtherRpcsAndAStopRequest) {
  BenchConfig config;
  config.concurrency = 2;
  config.count = 50;
  config.duration_seconds = 0;
  config.warmup_seconds = 0;
  config.rpc = BenchRpc::kIsActive;
  config.metadata = {{"targetValue", "10"}};
  std::atomic<bool> stop{false};
  auto result = RunBench(config, Channels(), stop);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(service_.is_active.load(), 50);
  EXPECT_TRUE(result->errors.empty());

  // Already stopped: the run ends at once with nothing recorded.
  stop.store(true);
  config.count = 1000000;
  result = RunBench(config, Channels(), stop);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->requests, 0);
}

TEST_F(BenchTest, PacedRunSendsOnScheduleAndNeverAhead) {
  BenchConfig config;
  config.concurrency = 8;
  config.connections = 2;
  config.rate = 2000;  // one request every 0.5 ms
  config.count = 60;
  config.duration_seconds = 0;
  config.warmup_seconds = 0;
  config.objects = 1;
  config.metadata = {{"targetValue", "10"}};
  std::atomic<bool> stop{false};
  auto result = RunBench(config, Channels(), stop);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requests, 60);
  EXPECT_EQ(result->ok, 60);
  EXPECT_EQ(service_.metrics.load(), 60);
  // Request k is not sent before start + k / rate: the last one goes out at 29.5 ms.
  EXPECT_GE(result->elapsed_seconds, 59.0 / 2000);
  EXPECT_GT(result->p50, 0);
  EXPECT_LE(result->p99, result->max);
}

TEST_F(BenchTest, WarmUpFailureNamesTheObjectAndTheCause) {
  BenchConfig config;
  config.count = 10;
  config.duration_seconds = 0;
  std::atomic<bool> stop{false};
  auto result = RunBench(config, Channels(), stop);  // no targetValue
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), testing::HasSubstr("bench-0"));
  EXPECT_THAT(std::string(result.status().message()), testing::HasSubstr("INVALID_ARGUMENT"));
}

TEST(BenchConfig, RejectsUnboundedRunsAndBadCounts) {
  BenchConfig c;
  c.duration_seconds = 0;
  c.count = 0;
  EXPECT_THAT(std::string(c.Validate().message()), testing::HasSubstr("neither --duration nor --count"));
  c.count = 5;
  c.connections = 20;
  EXPECT_THAT(std::string(c.Validate().message()), testing::HasSubstr("connections"));
  EXPECT_FALSE(ParseBenchRpc("GetMetric").ok());
}

TEST(Percentile, NearestRank) {
  std::vector<double> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(i);
  EXPECT_EQ(Percentile(v, 50), 500);
  EXPECT_EQ(Percentile(v, 99.9), 999);
  EXPECT_EQ(Percentile(v, 100), 1000);
  EXPECT_EQ(Percentile({}, 50), 0);
}

}  // namespace
}  // namespace loadtest
