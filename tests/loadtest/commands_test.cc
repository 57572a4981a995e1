// The command line: --help, bad flags (exit 2 with usage), backfill end to end with a
// fixed clock, simulate --json from a file.

#include "loadtest/commands.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

using testing::HasSubstr;

struct CmdResult {
  int code = 0;
  std::string out, err;
};

CmdResult RunArgs(std::vector<std::string> args, double now = 1763856000) {
  args.insert(args.begin(), "augur-loadtest");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  std::atomic<bool> stop{false};
  CommandEnv env;
  env.out = &out;
  env.err = &err;
  env.stop = &stop;
  env.now = [now] { return now; };
  env.sleep_until = [](double) {};
  env.progress = false;
  CmdResult r;
  r.code = RunLoadtest(static_cast<int>(argv.size()), argv.data(), env);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(Commands, HelpForEveryCommandAndUsageErrors) {
  for (const char* cmd : {"workload", "backfill", "keda", "bench", "simulate"}) {
    CmdResult r = RunArgs({cmd, "--help"});
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr("--json")) << cmd;
    CmdResult bad = RunArgs({cmd, "--no-such-flag"});
    EXPECT_EQ(bad.code, 2) << cmd;
    EXPECT_THAT(bad.err, HasSubstr("no-such-flag")) << cmd;
    EXPECT_THAT(bad.err, HasSubstr("--help")) << cmd;  // the usage is printed
  }
  EXPECT_EQ(RunArgs({}).code, 2);
  EXPECT_EQ(RunArgs({"frobnicate"}).code, 2);
  EXPECT_EQ(RunArgs({"--help"}).code, 0);
}

TEST(Commands, VersionPrintsTheProjectVersionAndExitsZero) {
  CmdResult r = RunArgs({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, testing::MatchesRegex("augur-loadtest " AUGUR_PROJECT_VERSION
                                           " \\(revision [A-Za-z0-9._+-]+\\)\n"));
  EXPECT_EQ(r.err, "");
}

TEST(Commands, MalformedValuesAreUsageErrorsThatSayWhatIsExpected) {
  CmdResult r = RunArgs({"backfill", "--step", "fast"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--step"));
  r = RunArgs({"backfill", "--pattern", "sine"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("expected one of constant"));
  r = RunArgs({"bench", "--duration", "0s", "--count", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("neither --duration nor --count"));
  r = RunArgs({"keda", "--metric-type", "Utilization"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("expected AverageValue or Value"));
  r = RunArgs({"simulate", "--capacity", "5"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--trace"));
  r = RunArgs({"backfill", "--start", "yesterday"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("RFC 3339"));
}

TEST(Commands, UsageErrorsNameTheCommandThenShowItsUsage) {
  CmdResult r = RunArgs({"simulate", "--trace", "/nonexistent.csv", "--capacity", "10", "--mode",
                         "fast"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, testing::StartsWith("augur-loadtest simulate: --mode 'fast': expected "
                                         "predictive, forecast or shadow\n\naugur-loadtest "
                                         "simulate: replay a demand trace"));
  // Flags are checked before the (long) run, --svg-last included.
  r = RunArgs({"simulate", "--trace", "/nonexistent.csv", "--capacity", "10", "--svg-last", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--svg-last: invalid duration"));
  // An empty value is not the default.
  r = RunArgs({"backfill", "--period", ""});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--period: invalid duration \"\": it is empty"));
  r = RunArgs({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, testing::StartsWith("augur-loadtest: unknown command 'frobnicate'\n\n"
                                         "Usage: augur-loadtest <command> [options]"));
}

TEST(Commands, RuntimeFailuresNameTheCommandAndExitOne) {
  CmdResult r = RunArgs({"simulate", "--trace", "/nonexistent.csv", "--capacity", "10"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "augur-loadtest simulate: cannot open trace file '/nonexistent.csv'\n");
  r = RunArgs({"backfill", "--range", "1h", "--out", "/nonexistent-dir/x.om"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "augur-loadtest backfill: cannot write '/nonexistent-dir/x.om'\n");
}

TEST(Commands, BackfillWritesTheWindowOnTheStepGrid) {
  CmdResult r = RunArgs({"backfill", "--range", "1h", "--step", "60s", "--pattern", "constant", "--base",
                   "7", "--labels", "job=x"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("augur_demo_load{job=\"x\"} 7 1763852400\n"));
  EXPECT_THAT(r.out, HasSubstr("augur_demo_load{job=\"x\"} 7 1763856000\n# EOF\n"));
  // 61 samples.
  size_t lines = 0;
  for (size_t p = r.out.find("augur_demo_load{"); p != std::string::npos;
       p = r.out.find("augur_demo_load{", p + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 61u);
}

TEST(Commands, SimulateJsonFromATraceFile) {
  const std::string path = ::testing::TempDir() + "/loadtest_trace.csv";
  {
    std::ofstream f(path);
    f << "timestamp,value\n";
    for (int i = 0; i < 120; ++i) f << 1763856000 + i * 60 << "," << (i < 60 ? 20 : 100) << "\n";
  }
  CmdResult r = RunArgs({"simulate", "--trace", path, "--capacity", "10", "--target", "10",
                         "--startup", "1m", "--warmup", "0s", "--quantile", "0.5", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["reactive"]["underprovisioned_fraction"].get<double>(), 75.0 / 7200);
  EXPECT_EQ(j["augur"]["scale_events"], 2);
  CmdResult missing = RunArgs({"simulate", "--trace", "/nonexistent.csv", "--capacity", "10"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent.csv"));

  // --values: the trace itself as a third policy scores as reactive; a missing file is
  // named; the text report gets a "values" line.
  r = RunArgs({"simulate", "--trace", path, "--capacity", "10", "--startup", "1m", "--warmup", "0s",
               "--values", path, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["values"], j["reactive"]);
  r = RunArgs({"simulate", "--trace", path, "--capacity", "10", "--warmup", "0s", "--values", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\nvalues "));
  // Augur's horizon by default covers the start-up and one refresh: the capacity an
  // answer governs until the next one's pods are ready.
  EXPECT_THAT(r.out, HasSubstr("\naugur horizon 210 s\n"));
  r = RunArgs({"simulate", "--trace", path, "--capacity", "10", "--warmup", "0s", "--startup", "1m",
               "--refresh", "20s"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\naugur horizon 80 s\n"));
  r = RunArgs({"simulate", "--trace", path, "--capacity", "10", "--warmup", "0s", "--horizon", "5m"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\naugur horizon 300 s\n"));
  missing = RunArgs(
      {"simulate", "--trace", path, "--capacity", "10", "--values", "/nonexistent-values.csv"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("--values: cannot open trace file '/nonexistent-values.csv'"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace loadtest
