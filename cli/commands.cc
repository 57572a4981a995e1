#include "cli/commands.h"

#include "common/cli.h"

namespace cli {
namespace {

const common::Subcommand<CommandEnv> kCommands[] = {
    {"predict", "fit a timestamp,value CSV and print the forecast as CSV", NewPredictCommand},
    {"backtest", "score the model on your own series (rolling origins, MASE, coverage)",
     NewBacktestCommand},
    {"query", "read a metric's history from Prometheus and print it as CSV or JSON",
     NewQueryCommand},
};

constexpr common::ToolInfo kTool = {
    "augur-forecast", "Augur's forecasting model and Prometheus reader on the command line."};

}  // namespace

int RunForecastCli(int argc, const char* const* argv, const CommandEnv& env) {
  return common::RunTool<CommandEnv>(kTool, kCommands, argc, argv, env);
}

}  // namespace cli
