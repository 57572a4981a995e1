// augur-forecast: Augur's forecasting model and Prometheus reader on the command line.
#include <cstring>
#include <iostream>
#include <string>

#include "cli/command.h"
#include "common/version.h"

namespace cli {

namespace {
std::vector<Command>& Registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace

bool RegisterCommand(Command command) {
  Registry().push_back(std::move(command));
  return true;
}

const std::vector<Command>& Commands() { return Registry(); }

}  // namespace cli

namespace {

void PrintUsage(std::ostream& out) {
  out << "Usage: augur-forecast <command> [options]\n\n"
         "Augur's forecasting model and Prometheus reader on the command line.\n\n"
         "Commands:\n";
  for (const cli::Command& c : cli::Commands()) {
    out << "  " << c.name << std::string(c.name.size() < 12 ? 12 - c.name.size() : 1, ' ')
        << c.summary << "\n";
  }
  out << "\nRun 'augur-forecast <command> --help' for a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(std::cerr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(std::cout);
    return 0;
  }
  if (name == "--version") {
    std::cout << common::VersionLine("augur-forecast") << "\n";
    return 0;
  }
  for (const cli::Command& c : cli::Commands()) {
    if (c.name == name) return c.run(argc - 1, argv + 1);
  }
  std::cerr << "augur-forecast: unknown command \"" << name << "\"\n\n";
  PrintUsage(std::cerr);
  return 2;
}
