#pragma once
// One pattern for Augur's command-line tools with subcommands (augur-forecast,
// augur-loadtest): an explicit table of subcommands, one Command class per subcommand
// (in its own file), flags declared with Boost.Program_options through FlagSet, and
// errors as absl::Status, never exceptions.
//
// Conventions every tool gets from RunTool:
//   <tool>                  the tool's usage on stderr, exit 2
//   <tool> --help|-h|help   the tool's usage on stdout, exit 0
//   <tool> --version        "<tool> 0.2.0 (revision abc1234)" on stdout, exit 0
//   <tool> frobnicate       "<tool>: unknown command ..." and the usage on stderr, exit 2
//   <tool> <cmd> --help     the command's usage and flags on stdout, exit 0
//   a usage error           "<tool> <cmd>: <message>", a blank line and the command's usage
//                           on stderr, exit 2 (unknown or malformed flag, a bad value, a
//                           missing required flag: anything the user typed wrong)
//   a runtime failure       "<tool> <cmd>: <message>" on stderr, exit 1 (a file that cannot
//                           be read, a server that does not answer, ...)
//
// Thread-safety: RunTool runs one command on the calling thread; what the command does
// with other threads is its own business.

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "boost/program_options.hpp"

namespace common {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a runtime failure
inline constexpr int kExitUsage = 2;    // bad usage

// A usage error: kInvalidArgument with `message`, marked (a Status payload) so that
// RunTool tells it from a runtime failure that happens to be kInvalidArgument (a
// malformed input file). The message says what is wrong and what is expected, e.g.
// "--mode 'fast': expected predictive, forecast or shadow".
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

// One command's flags.
class FlagSet {
 public:
  // `caption` heads the command's --help, above the flags: a usage line and what the
  // command does. RunTool declares --help/-h itself.
  explicit FlagSet(const std::string& caption);

  // Declares flags: Add()("name", po::value(&member)->default_value(...), "help").
  boost::program_options::options_description_easy_init Add();

  // After parsing: whether the user gave the flag (a default does not count).
  bool Given(const std::string& name) const;

  // The usage: caption and flags, as --help prints it.
  const boost::program_options::options_description& description() const { return desc_; }

  // Parses `args` (the arguments after the command's name) into the declared members.
  // Errors: UsageError for an unknown flag, a missing or malformed value, a positional
  // argument (no command takes one).
  absl::Status Parse(const std::vector<std::string>& args);

 private:
  boost::program_options::options_description desc_;
  boost::program_options::variables_map values_;
};

// A subcommand. `Env` is the tool's environment (streams, clock, ...); it must have
// `std::ostream* out` and `std::ostream* err`.
template <typename Env>
class Command {
 public:
  virtual ~Command() = default;
  // The caption of the command's usage (FlagSet's constructor argument).
  virtual std::string Caption() const = 0;
  // Declares the command's flags, bound to members; called once, before Run.
  virtual void DefineFlags(FlagSet& flags) = 0;
  // Runs with the flags parsed into the members. Returns UsageError(...) for a flag
  // value that is wrong, another error for a runtime failure, OK on success (the
  // command has written its results to env.out).
  virtual absl::Status Run(const FlagSet& flags, const Env& env) = 0;
};

// A row of a tool's subcommand table.
template <typename Env>
struct Subcommand {
  std::string_view name;     // "predict"
  std::string_view summary;  // one line for the tool's usage
  std::unique_ptr<Command<Env>> (*make)();
};

struct ToolInfo {
  std::string_view name;     // "augur-forecast"
  std::string_view summary;  // one line under the tool's usage line
};

namespace cli_internal {

struct Row {
  std::string_view name, summary;
};
void PrintToolUsage(std::ostream& out, const ToolInfo& tool, const std::vector<Row>& rows);
// The exit code and message for a command's result (RunTool's conventions).
int Finish(const ToolInfo& tool, std::string_view command, const absl::Status& status,
           const FlagSet& flags, std::ostream& err);
// The tool-level arguments (none, --help, --version, unknown command); -1 when argv
// names a command of `rows`, which `*index` is then set to.
int Dispatch(const ToolInfo& tool, const std::vector<Row>& rows, int argc,
             const char* const* argv, std::ostream& out, std::ostream& err, size_t* index);
// Runs `run`, turning an exception that escapes a command (a bug, or bad_alloc) into
// kInternal instead of a crash.
absl::Status Guard(const std::function<absl::Status()>& run);

}  // namespace cli_internal

// Runs the subcommand argv[1] of `commands` with the arguments argv[2..], following the
// conventions above; returns the exit code. argv[0] is the program.
template <typename Env>
int RunTool(const ToolInfo& tool, absl::Span<const Subcommand<Env>> commands, int argc,
            const char* const* argv, const Env& env) {
  std::vector<cli_internal::Row> rows;
  for (const Subcommand<Env>& c : commands) rows.push_back({c.name, c.summary});
  size_t index = 0;
  const int code = cli_internal::Dispatch(tool, rows, argc, argv, *env.out, *env.err, &index);
  if (code >= 0) return code;
  const Subcommand<Env>& subcommand = commands[index];
  std::unique_ptr<Command<Env>> command = subcommand.make();
  FlagSet flags(command->Caption());
  flags.Add()("help,h", "show this help");
  command->DefineFlags(flags);
  const std::vector<std::string> args(argv + 2, argv + argc);
  absl::Status status = flags.Parse(args);
  if (status.ok() && flags.Given("help")) {
    *env.out << flags.description() << "\n";
    return kExitOk;
  }
  if (status.ok()) {
    status = cli_internal::Guard([&] { return command->Run(flags, env); });
  }
  return cli_internal::Finish(tool, subcommand.name, status, flags, *env.err);
}

}  // namespace common
