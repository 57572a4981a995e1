#pragma once
// The five subcommands of `augur-loadtest` behind one entry point, so that main.cc only
// wires the real clock, sleeping and signals, and tests can run whole commands. The table
// is commands.cc, each subcommand one *_command.cc, what they share command_support.h;
// the conventions (usage, --help, --version, exit codes 0 / 1 runtime failure / 2 bad
// usage) are common/cli.h's.

#include <atomic>
#include <functional>
#include <ostream>

namespace loadtest {

struct CommandEnv {
  std::ostream* out = nullptr;  // results (text, CSV, JSON, OpenMetrics)
  std::ostream* err = nullptr;  // usage, errors and progress lines
  const std::atomic<bool>* stop = nullptr;  // set by SIGINT/SIGTERM: end cleanly
  // Unix seconds. Called from two threads at once by `keda --push` (its stream thread
  // and its main loop): must be thread-safe.
  std::function<double()> now;
  // Waits until unix time `t` or until *stop; returns early on stop. Called by one
  // thread only (the command's own); a fake clock may advance itself here.
  std::function<void(double t)> sleep_until;
  // `keda --push` only: its stream thread's wait before a reconnect, concurrent with the
  // main loop's sleep_until. Waits until unix time `t`, *stop or `cancel`, whichever comes
  // first; `cancel` has no notification, so it must be polled (main polls every 100 ms).
  // A fake clock must not advance itself here: it waits for sleep_until to reach `t`.
  // Empty: `keda --push` fails (exit 1).
  std::function<void(double t, const std::atomic<bool>& cancel)> wait_until;
  bool progress = true;  // print progress lines on long runs
};

// argv[0] is the program, argv[1] the subcommand.
int RunLoadtest(int argc, const char* const* argv, const CommandEnv& env);

}  // namespace loadtest
