#include "common/cli.h"

#include <algorithm>
#include <exception>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/version.h"

namespace common {
namespace {

namespace po = boost::program_options;

// The payload that marks a usage error (its content is unused).
constexpr char kUsagePayload[] = "augur/common.UsageError";

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("usage"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

FlagSet::FlagSet(const std::string& caption) : desc_(caption) {}

po::options_description_easy_init FlagSet::Add() { return desc_.add_options(); }

bool FlagSet::Given(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && !it->second.defaulted();
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args) {
  // Program_options reports every problem by throwing; this is where that stops.
  try {
    po::store(po::command_line_parser(args).options(desc_).run(), values_);
    po::notify(values_);
  } catch (const po::error& e) {
    return UsageError(e.what());
  }
  return absl::OkStatus();
}

namespace cli_internal {

void PrintToolUsage(std::ostream& out, const ToolInfo& tool, const std::vector<Row>& rows) {
  size_t width = 0;
  for (const Row& r : rows) width = std::max(width, r.name.size());
  out << "Usage: " << tool.name << " <command> [options]\n\n" << tool.summary << "\n\nCommands:\n";
  for (const Row& r : rows) {
    out << "  " << r.name << std::string(width + 4 - r.name.size(), ' ') << r.summary << "\n";
  }
  out << "\nRun '" << tool.name << " <command> --help' for a command's options, '" << tool.name
      << " --version' for the version.\n";
}

int Dispatch(const ToolInfo& tool, const std::vector<Row>& rows, int argc,
             const char* const* argv, std::ostream& out, std::ostream& err, size_t* index) {
  if (argc < 2) {
    PrintToolUsage(err, tool, rows);
    return kExitUsage;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintToolUsage(out, tool, rows);
    return kExitOk;
  }
  if (name == "--version") {
    out << VersionLine(tool.name) << "\n";
    return kExitOk;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].name == name) {
      *index = i;
      return -1;
    }
  }
  err << tool.name << ": unknown command '" << name << "'\n\n";
  PrintToolUsage(err, tool, rows);
  return kExitUsage;
}

int Finish(const ToolInfo& tool, std::string_view command, const absl::Status& status,
           const FlagSet& flags, std::ostream& err) {
  if (status.ok()) return kExitOk;
  err << tool.name << " " << command << ": " << status.message() << "\n";
  if (IsUsageError(status)) {
    err << "\n" << flags.description() << "\n";
    return kExitUsage;
  }
  return kExitFailure;
}

absl::Status Guard(const std::function<absl::Status()>& run) {
  // Commands report failures as Status; an exception here is a bug (or bad_alloc), and
  // the user gets its message and exit 1 rather than an abort.
  try {
    return run();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("internal error: ", e.what()));
  }
}

}  // namespace cli_internal
}  // namespace common
