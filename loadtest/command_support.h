#pragma once
// What augur-loadtest's subcommands (loadtest/*_command.cc) share: their Command type,
// progress lines, the flags of the load source (workload and backfill serve and write the
// same values), and the conversion of a validation error into a usage error.

#include <functional>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/cli.h"
#include "loadtest/commands.h"
#include "loadtest/pattern.h"

namespace loadtest {

using Command = common::Command<CommandEnv>;

// The subcommands, in the table of commands.cc.
std::unique_ptr<Command> NewWorkloadCommand();
std::unique_ptr<Command> NewBackfillCommand();
std::unique_ptr<Command> NewKedaCommand();
std::unique_ptr<Command> NewBenchCommand();
std::unique_ptr<Command> NewSimulateCommand();

// `status` (a config's Validate(), a parser's error) as a usage error: the user's flags
// are what is wrong. "--<flag>: " is prepended when `flag` is given. OK stays OK.
absl::Status AsUsageError(const absl::Status& status, absl::string_view flag = "");

// A progress line on env.err, when env.progress.
void Progress(const CommandEnv& env, const std::string& line);

// Prints "<what>: N %" each time the fraction passed to it crosses a multiple of 10 %.
std::function<void(double)> FractionProgress(const CommandEnv& env, const std::string& what);

// --pattern, --base, ..., --replay, --metric-name, --labels.
struct SourceFlags {
  std::string pattern = "diurnal";
  double base = 10, amplitude = 50, spike_height = 100, noise = 0;
  std::string period = "1h", phase = "0s", spike_width = "5m", noise_step = "1s";
  uint64_t seed = 1;
  std::string replay, anchor;
  double speed = 1;
  std::string metric_name = "augur_demo_load";
  std::string labels = "job=augur-loadtest";

  void Define(common::FlagSet& flags);
  // The source the flags describe; a replayed trace starts at --anchor (default
  // `default_anchor`), `now` being the time "now" and "now-<d>" refer to. Errors:
  // UsageError for a bad flag, the trace file's error (kNotFound, kInvalidArgument) as
  // is.
  absl::StatusOr<LoadSource> Build(double default_anchor, double now) const;
};

}  // namespace loadtest
