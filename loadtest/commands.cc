#include "loadtest/commands.h"

#include "common/cli.h"
#include "loadtest/command_support.h"

namespace loadtest {
namespace {

const common::Subcommand<CommandEnv> kCommands[] = {
    {"workload", "serve a synthetic load metric on /metrics for Prometheus", NewWorkloadCommand},
    {"backfill", "write the same load over a past window as OpenMetrics for promtool",
     NewBackfillCommand},
    {"keda", "drive a running scaler exactly as KEDA + the HPA do", NewKedaCommand},
    {"bench", "load the scaler's gRPC API and report rps, latency percentiles, errors",
     NewBenchCommand},
    {"simulate", "replay a demand trace: reactive vs Augur, offline", NewSimulateCommand},
};

constexpr common::ToolInfo kTool = {
    "augur-loadtest",
    "Augur's load-test tool: load for Prometheus, KEDA's calls, a gRPC benchmark, replays."};

}  // namespace

int RunLoadtest(int argc, const char* const* argv, const CommandEnv& env) {
  return common::RunTool<CommandEnv>(kTool, kCommands, argc, argv, env);
}

}  // namespace loadtest
