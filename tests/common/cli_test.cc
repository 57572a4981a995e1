// The conventions of common/cli.h, on a tool made for the test: help, version, unknown
// commands, usage errors (exit 2 with the command's usage) and runtime failures (exit 1)
// reported as Status, an exception from a command turned into exit 1.

#include "common/cli.h"

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/version.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace common {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct TestEnv {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

namespace po = boost::program_options;

// Prints --word N times; fails as --fail says.
class EchoCommand final : public Command<TestEnv> {
 public:
  std::string Caption() const override { return "Usage: tool echo --word W [--times N]"; }
  void DefineFlags(FlagSet& flags) override {
    flags.Add()("word", po::value(&word_), "what to print")(
        "times", po::value(&times_)->default_value(1), "how often")(
        "fail", po::value(&fail_), "usage, runtime or throw");
  }
  absl::Status Run(const FlagSet& flags, const TestEnv& env) override {
    if (word_.empty()) return UsageError("--word is required");
    if (fail_ == "usage") return UsageError("--fail usage: as asked");
    if (fail_ == "runtime") return absl::InvalidArgumentError("the input file is malformed");
    if (fail_ == "throw") throw std::runtime_error("a bug");
    for (int i = 0; i < times_; ++i) *env.out << word_ << "\n";
    if (flags.Given("times")) *env.out << "times was given\n";
    return absl::OkStatus();
  }

 private:
  std::string word_, fail_;
  int times_ = 1;
};

class NoopCommand final : public Command<TestEnv> {
 public:
  std::string Caption() const override { return "Usage: tool noop"; }
  void DefineFlags(FlagSet&) override {}
  absl::Status Run(const FlagSet&, const TestEnv&) override { return absl::OkStatus(); }
};

const Subcommand<TestEnv> kCommands[] = {
    {"echo", "print a word", [] { return std::unique_ptr<Command<TestEnv>>(new EchoCommand); }},
    {"noop", "do nothing", [] { return std::unique_ptr<Command<TestEnv>>(new NoopCommand); }},
};
constexpr ToolInfo kTool = {"tool", "A tool for the test."};

struct Result {
  int code;
  std::string out, err;
};

Result Invoke(std::vector<std::string> args) {
  args.insert(args.begin(), "tool");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  TestEnv env{&out, &err};
  const int code = RunTool<TestEnv>(kTool, kCommands, static_cast<int>(argv.size()), argv.data(), env);
  return {code, out.str(), err.str()};
}

TEST(RunTool, RunsTheNamedCommandWithItsFlags) {
  Result r = Invoke({"echo", "--word", "hi", "--times", "2"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "hi\nhi\ntimes was given\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(Invoke({"echo", "--word", "hi"}).out, "hi\n");  // a default is not "given"
}

TEST(RunTool, ToolUsageListsTheCommandsInTableOrder) {
  Result help = Invoke({"--help"});
  EXPECT_EQ(help.code, kExitOk);
  EXPECT_EQ(help.out,
            "Usage: tool <command> [options]\n\nA tool for the test.\n\nCommands:\n"
            "  echo    print a word\n  noop    do nothing\n\n"
            "Run 'tool <command> --help' for a command's options, 'tool --version' for the "
            "version.\n");
  EXPECT_EQ(Invoke({"-h"}).out, help.out);
  EXPECT_EQ(Invoke({"help"}).out, help.out);
  Result none = Invoke({});
  EXPECT_EQ(none.code, kExitUsage);
  EXPECT_EQ(none.err, help.out);
  EXPECT_EQ(none.out, "");
}

TEST(RunTool, VersionPrintsTheVersionLine) {
  Result r = Invoke({"--version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, VersionLine("tool") + "\n");
}

TEST(RunTool, UnknownCommandIsAUsageError) {
  Result r = Invoke({"frobnicate"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("tool: unknown command 'frobnicate'\n\nUsage: tool <command>"));
}

TEST(RunTool, CommandHelpPrintsItsCaptionAndFlags) {
  Result r = Invoke({"echo", "--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, StartsWith("Usage: tool echo --word W [--times N]:\n"));
  EXPECT_THAT(r.out, HasSubstr("-h [ --help ]"));
  EXPECT_THAT(r.out, HasSubstr("--times arg (=1)"));
  EXPECT_EQ(r.err, "");
}

TEST(RunTool, BadFlagsAreUsageErrorsWithTheCommandsUsage) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"echo", "--no-such-flag"},
                                             {"echo", "--times", "many", "--word", "x"},
                                             {"echo", "--word"},
                                             {"echo", "positional"}}) {
    Result r = Invoke(args);
    EXPECT_EQ(r.code, kExitUsage) << args[1];
    EXPECT_THAT(r.err, StartsWith("tool echo: ")) << args[1];
    EXPECT_THAT(r.err, HasSubstr("\n\nUsage: tool echo --word W")) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_THAT(Invoke({"echo", "--no-such-flag"}).err, HasSubstr("no-such-flag"));
}

TEST(RunTool, UsageErrorFromTheCommandExitsTwoWithItsMessageFirst) {
  Result r = Invoke({"echo"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("tool echo: --word is required\n\nUsage: tool echo"));
}

TEST(RunTool, RuntimeFailureExitsOneWithoutTheUsage) {
  // kInvalidArgument, but not marked as a usage error: a runtime failure.
  Result r = Invoke({"echo", "--word", "x", "--fail", "runtime"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err, "tool echo: the input file is malformed\n");
}

TEST(RunTool, AnExceptionFromACommandIsExitOneNotACrash) {
  Result r = Invoke({"echo", "--word", "x", "--fail", "throw"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err, "tool echo: internal error: a bug\n");
}

TEST(UsageError, IsMarkedAndKeepsItsMessage) {
  const absl::Status s = UsageError("--x: bad");
  EXPECT_TRUE(IsUsageError(s));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "--x: bad");
  EXPECT_FALSE(IsUsageError(absl::InvalidArgumentError("--x: bad")));
  EXPECT_FALSE(IsUsageError(absl::OkStatus()));
}

}  // namespace
}  // namespace common
