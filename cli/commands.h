#pragma once
// augur-forecast's subcommands (one *_command.cc each) behind one entry point, so that
// main.cc only hands over the process's streams. The conventions (usage, --help,
// --version, exit codes 0 / 1 runtime failure / 2 bad usage) are common/cli.h's.

#include <istream>
#include <memory>
#include <ostream>

#include "common/cli.h"

namespace cli {

struct CommandEnv {
  std::istream* in = nullptr;   // `--input -`
  std::ostream* out = nullptr;  // results (CSV, JSON)
  std::ostream* err = nullptr;  // usage, errors, notes and warnings
};

using Command = common::Command<CommandEnv>;

// argv[0] is the program, argv[1] the subcommand. Returns the exit code.
int RunForecastCli(int argc, const char* const* argv, const CommandEnv& env);

// The subcommands, in the table of commands.cc.
std::unique_ptr<Command> NewPredictCommand();
std::unique_ptr<Command> NewBacktestCommand();
std::unique_ptr<Command> NewQueryCommand();

}  // namespace cli
