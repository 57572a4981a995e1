// augur-loadtest bench: load on a scaler's gRPC API (as ghz would); reports requests/s,
// latency percentiles and errors by status code.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "grpcpp/grpcpp.h"
#include "loadtest/bench.h"
#include "loadtest/command_support.h"
#include "loadtest/openmetrics.h"

namespace loadtest {
namespace {

namespace po = boost::program_options;

class BenchCommand final : public Command {
 public:
  std::string Caption() const override {
    return "augur-loadtest bench: load on a scaler's gRPC API (as ghz would); reports requests/s,\n"
           "latency percentiles and errors by status code";
  }

  void DefineFlags(common::FlagSet& flags) override {
    // clang-format off
    flags.Add()
        ("target", po::value(&target_)->default_value(target_), "scaler address host:port")
        ("concurrency,c", po::value(&config_.concurrency)->default_value(config_.concurrency),
         "requests in flight")
        ("connections", po::value(&config_.connections)->default_value(config_.connections),
         "gRPC connections (channels)")
        ("rate,r", po::value(&config_.rate)->default_value(0),
         "requests/s overall (0 = as fast as possible)")
        ("duration,z", po::value(&duration_)->default_value(duration_),
         "run this long (0 = until --count)")
        ("count,n", po::value(&config_.count)->default_value(0),
         "stop after this many requests (0 = until --duration)")
        ("warmup", po::value(&warmup_)->default_value(warmup_), "unrecorded warm-up")
        ("objects", po::value(&config_.objects)->default_value(config_.objects),
         "distinct ScaledObjects")
        ("name", po::value(&config_.name_prefix)->default_value(config_.name_prefix),
         "ScaledObject name prefix")
        ("namespace", po::value(&config_.ns)->default_value(config_.ns), "ScaledObject namespace")
        ("metadata", po::value(&metadata_), "shared trigger metadata k=v,k2=v2")
        ("rpc", po::value(&rpc_)->default_value(rpc_), "GetMetrics | IsActive | GetMetricSpec")
        ("timeout", po::value(&timeout_)->default_value(timeout_), "deadline per request")
        ("json", po::bool_switch(&json_), "print exactly {\"rps\",\"latency_ms\",\"errors\"}");
    // clang-format on
  }

  absl::Status Run(const common::FlagSet&, const CommandEnv& env) override;

 private:
  std::string target_ = "127.0.0.1:6000", duration_ = "10s", warmup_ = "1s", timeout_ = "3s";
  std::string metadata_, rpc_ = "GetMetrics";
  BenchConfig config_;
  bool json_ = false;
};

absl::Status BenchCommand::Run(const common::FlagSet&, const CommandEnv& env) {
  BenchConfig config = config_;
  auto md = ParseKeyValues(metadata_);
  if (!md.ok()) return AsUsageError(md.status(), "metadata");
  config.metadata = *md;
  auto rpc = ParseBenchRpc(rpc_);
  if (!rpc.ok()) return AsUsageError(rpc.status(), "rpc");
  config.rpc = *rpc;
  double timeout_seconds = 0;
  absl::Status s = common::ParseDurationFlags({{"duration", duration_, &config.duration_seconds},
                                               {"warmup", warmup_, &config.warmup_seconds},
                                               {"timeout", timeout_, &timeout_seconds}});
  if (!s.ok()) return s;
  config.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  s = config.Validate();
  if (!s.ok()) return AsUsageError(s);
  auto channels = [this](int index) {
    grpc::ChannelArguments args;
    // A distinct argument per connection keeps gRPC from sharing one subchannel.
    args.SetInt("augur.loadtest.connection", index);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // Tiny calls: no bandwidth-delay probing (it costs CPU per call at high rates).
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    // No retries: a bench reports failures rather than hiding them, and the retry
    // filter buffers every call (CPU the client shares with the scaler).
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    return grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), args);
  };
  auto result = RunBench(config, channels, *env.stop, [&env](const BenchResult& p) {
    Progress(env, absl::StrCat("bench: ", p.requests, " requests in ",
                               static_cast<int>(p.elapsed_seconds), "s (",
                               static_cast<int64_t>(p.rps), "/s)"));
  });
  if (!result.ok()) return result.status();
  *env.out << (json_ ? BenchJson(*result) + "\n" : BenchText(*result));
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Command> NewBenchCommand() { return std::make_unique<BenchCommand>(); }

}  // namespace loadtest
