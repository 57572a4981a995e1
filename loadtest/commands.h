#pragma once
// The five subcommands of `augur-loadtest` behind one entry point, so that main.cc only
// wires the real clock, sleeping and signals, and tests can run whole commands.
//
// Exit codes: 0 success, 1 a runtime failure (bad input file, scaler unreachable, ...),
// 2 bad usage (unknown or malformed flag: the usage is printed to stderr).

#include <atomic>
#include <functional>
#include <ostream>

namespace loadtest {

struct CommandEnv {
  std::ostream* out = nullptr;  // results (text, CSV, JSON, OpenMetrics)
  std::ostream* err = nullptr;  // usage, errors and progress lines
  const std::atomic<bool>* stop = nullptr;  // set by SIGINT/SIGTERM: end cleanly
  std::function<double()> now;                // unix seconds
  // Waits until unix time `t` or until *stop; returns early on stop.
  std::function<void(double t)> sleep_until;
  bool progress = true;  // print progress lines on long runs
};

// argv[0] is the program, argv[1] the subcommand.
int RunLoadtest(int argc, const char* const* argv, const CommandEnv& env);

}  // namespace loadtest
