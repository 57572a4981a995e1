#pragma once
// augur-forecast subcommands register themselves here (one *_command.cc each), so that
// cli/main.cc stays a thin dispatcher.
//
// Exit codes every command follows: 0 success, 1 a runtime failure (bad input file,
// Prometheus error, ...), 2 bad usage (unknown or malformed flag: usage is printed).

#include <functional>
#include <string>
#include <vector>

namespace cli {

struct Command {
  std::string name;     // "predict"
  std::string summary;  // one line for `augur-forecast --help`
  // argv[0] is the command's name; the rest are its flags.
  std::function<int(int argc, char** argv)> run;
};

// Called from a static initializer in each *_command.cc. Returns true.
bool RegisterCommand(Command command);

const std::vector<Command>& Commands();

}  // namespace cli
