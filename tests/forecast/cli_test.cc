// augur-forecast predict / backtest, run as a process (the built binary's path comes
// from the AUGUR_FORECAST_BIN compile definition). Inputs are written to temporary files.
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;

struct Result {
  int code = -1;
  std::string out, err;
};

class ForecastCli : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("augur_cli_test_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // Daily sine + seeded noise, 5-minute steps.
  std::string Synthetic(const std::string& name, double days, bool shuffle = false) {
    std::mt19937 rng(42);
    std::normal_distribution<double> noise(0, 1);
    std::vector<std::string> rows;
    for (double t = 0; t < days * 86400; t += 300) {
      const double v = 100 + 20 * std::sin(2 * M_PI * t / 86400) + noise(rng);
      rows.push_back(std::to_string(static_cast<long long>(1700000000 + t)) + "," +
                     std::to_string(v));
    }
    if (shuffle) std::shuffle(rows.begin(), rows.end(), rng);
    std::string text = "timestamp,value\n";
    for (const auto& r : rows) text += r + "\n";
    return Write(name, text);
  }

  Result Run(const std::string& args) {
    const std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    const std::string cmd = std::string(AUGUR_FORECAST_BIN) + " " + args + " >" + out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::stringstream o, e;
    o << std::ifstream(out).rdbuf();
    e << std::ifstream(err).rdbuf();
    r.out = o.str();
    r.err = e.str();
    return r;
  }

  std::filesystem::path dir_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

TEST_F(ForecastCli, PredictPrintsOneRowPerStepUpToTheHorizon) {
  const std::string in = Synthetic("h.csv", 3);
  Result r = Run("predict --input " + in + " --horizon 1h --interval 0.8");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 13u) << r.out;
  EXPECT_EQ(lines[0], "timestamp,yhat,yhat_lower,yhat_upper");
  const long long last = 1700000000LL + 3 * 86400 - 300;
  EXPECT_EQ(lines[1].substr(0, lines[1].find(',')), std::to_string(last + 300));
  EXPECT_EQ(lines[12].substr(0, lines[12].find(',')), std::to_string(last + 3600));
  double t, y, lo, hi;
  ASSERT_EQ(std::sscanf(lines[1].c_str(), "%lf,%lf,%lf,%lf", &t, &y, &lo, &hi), 4);
  EXPECT_LT(lo, y);
  EXPECT_LT(y, hi);
  EXPECT_NEAR(y, 100 + 20 * std::sin(2 * M_PI * (t - 1700000000) / 86400), 3.0);
}

TEST_F(ForecastCli, PredictHandlesUnsortedInput) {
  const std::string sorted = Synthetic("s.csv", 3);
  const std::string shuffled = Synthetic("u.csv", 3, /*shuffle=*/true);
  Result a = Run("predict --input " + sorted + " --horizon 30m");
  Result b = Run("predict --input " + shuffled + " --horizon 30m");
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
}

TEST_F(ForecastCli, PredictPrintsComponentsOnRequest) {
  const std::string in = Synthetic("h.csv", 3);
  Result r = Run("predict --input " + in + " --horizon 10m --components");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(Lines(r.out)[0], HasSubstr("timestamp,yhat,yhat_lower,yhat_upper,trend,daily"));
}

TEST_F(ForecastCli, BadUsageExitsWithTwoAndPrintsUsage) {
  const std::string in = Synthetic("h.csv", 1);
  Result r = Run("predict --horizon 1h");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--input is required"));
  EXPECT_THAT(r.err, HasSubstr("Usage: augur-forecast predict"));
  r = Run("predict --input " + in + " --horizon 1h --no-such-flag");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("no-such-flag"));
  r = Run("predict --input " + in + " --horizon soon");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--horizon"));
  r = Run("predict --input " + in + " --horizon 1h --interval 1.5");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--interval must be in (0, 1)"));
  r = Run("predict --input " + in + " --horizon 1h --seasonality monthly");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("monthly"));
  r = Run("predict --input " + in + " --horizon 1h --growth logistic");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("cap"));
  r = Run("backtest --horizon 1h");
  EXPECT_EQ(r.code, 2);
}

TEST_F(ForecastCli, RuntimeFailuresExitWithOneAndSayWhy) {
  Result r = Run("predict --input " + (dir_ / "missing.csv").string() + " --horizon 1h");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot open --input"));
  const std::string bad = Write("bad.csv", "timestamp,value\n1,2\n2,3\n3,x\n");
  r = Run("predict --input " + bad + " --horizon 1h");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("line 4: value \"x\" is not a number"));
  const std::string one = Write("one.csv", "timestamp,value\n1,2\n");
  r = Run("predict --input " + one + " --horizon 1h");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("at least 2"));
}

TEST_F(ForecastCli, BacktestScoresTheModelBesideTheNaiveForecast) {
  const std::string in = Synthetic("b.csv", 5);
  Result r = Run("backtest --input " + in + " --origins 6");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0],
            "method,horizon,origins,mae,mase,coverage80,peak_under,peak_over,median_fit_ms");
  // On a clean daily sine, the model beats the last-value forecast at 60 minutes.
  double augur_mase = NAN, naive_mase = NAN;
  for (const std::string& l : lines) {
    char method[32], horizon[16];
    int origins;
    double mae, mase;
    if (std::sscanf(l.c_str(), "%31[^,],%15[^,],%d,%lf,%lf", method, horizon, &origins, &mae,
                    &mase) == 5 &&
        std::string(horizon) == "60m") {
      if (std::string(method) == "augur") augur_mase = mase;
      if (std::string(method) == "naive") naive_mase = mase;
    }
  }
  ASSERT_FALSE(std::isnan(augur_mase)) << r.out;
  ASSERT_FALSE(std::isnan(naive_mase)) << r.out;
  EXPECT_LT(augur_mase, naive_mase) << r.out;
}

TEST_F(ForecastCli, PredictTakesHolidaysAndExcludedPeriods) {
  // The history runs from 2023-11-14T22:13:20Z for 3 days.
  const std::string in = Synthetic("e.csv", 3);
  Result r = Run("predict --input " + in +
                 " --horizon 10m --components --holidays 'sale=2023-11-16:-1d'"
                 " --exclude-periods 2023-11-15T00:00Z/2023-11-15T06:00Z");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(Lines(r.out)[0], HasSubstr(",daily,sale"));
  EXPECT_THAT(r.err, HasSubstr("event: sale day -1: effect "));
  EXPECT_THAT(r.err, HasSubstr("event: sale day 0: effect "));
  EXPECT_THAT(r.err, HasSubstr("(216 points)"));  // 2023-11-15 minus its 6 excluded hours
  EXPECT_THAT(r.err, HasSubstr("excluded: 2023-11-15T00:00:00Z/2023-11-15T06:00:00Z: 72 points "
                               "removed"));

  Result bad = Run("predict --input " + in + " --horizon 10m --holidays sale=2023-13-01");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--holidays: event 'sale=2023-13-01': '2023-13-01' is not a "
                                 "valid date"));
  bad = Run("predict --input " + in + " --horizon 10m --exclude-periods 2023-11-15T00:00/x");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--exclude-periods: excluded period"));
  EXPECT_THAT(bad.err, HasSubstr("add Z for UTC"));
}

TEST_F(ForecastCli, BacktestNeitherFitsNorScoresExcludedPeriods) {
  // 5 days from 2023-11-14T22:13:20Z; the origins lie in the last 30 %, from ~2023-11-18.
  const std::string in = Synthetic("b.csv", 5);
  auto origins = [](const Result& r) {
    for (const std::string& l : Lines(r.out)) {
      int n = 0;
      if (std::sscanf(l.c_str(), "augur,60m,%d,", &n) == 1) return n;
    }
    return -1;
  };
  Result all = Run("backtest --input " + in + " --origins 6");
  Result some = Run("backtest --input " + in +
                    " --origins 6 --exclude-periods 2023-11-18T00:00Z/2023-11-19T12:00Z");
  ASSERT_EQ(all.code, 0) << all.err;
  ASSERT_EQ(some.code, 0) << some.err;
  EXPECT_EQ(origins(all), 6) << all.out;
  EXPECT_GT(origins(some), 0) << some.out;
  EXPECT_LT(origins(some), 6) << some.out;
}

TEST_F(ForecastCli, VersionPrintsTheProjectVersionAndExitsZero) {
  Result r = Run("--version");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, testing::MatchesRegex("augur-forecast " AUGUR_PROJECT_VERSION
                                           " \\(revision [A-Za-z0-9._+-]+\\)\n"));
  EXPECT_EQ(r.err, "");
}

TEST_F(ForecastCli, ToolUsageHelpAndUnknownCommandsFollowTheCommonConventions) {
  Result help = Run("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("Usage: augur-forecast <command> [options]"));
  EXPECT_THAT(help.out, HasSubstr("  predict "));
  EXPECT_THAT(help.out, HasSubstr("  backtest "));
  EXPECT_THAT(help.out, HasSubstr("  query "));
  Result none = Run("");
  EXPECT_EQ(none.code, 2);
  EXPECT_EQ(none.err, help.out);
  Result unknown = Run("forecast");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("augur-forecast: unknown command 'forecast'"));
  // A usage error names the command, says what is wrong, then shows the usage.
  Result bad = Run("backtest --input x.csv --horizon 10m,soon");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, testing::StartsWith("augur-forecast backtest: --horizon \"soon\": "
                                           "expected durations such as 10m,60m\n\nUsage:"));
}

TEST_F(ForecastCli, QueryEndTakesTimesAndNamesABadOne) {
  // Rejected before any request: nothing listens on port 1.
  Result r = Run("query --server http://127.0.0.1:1 --query up --end yesterday");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--end 'yesterday': expected unix seconds, now, now-<duration> "
                               "or RFC 3339"));
  r = Run("query --server http://127.0.0.1:1 --query up --step 0s");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--step must be at least 1ms"));
}

TEST_F(ForecastCli, BacktestNeedsEnoughHistory) {
  const std::string in = Synthetic("short.csv", 1);
  Result r = Run("backtest --input " + in);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("origin"));
}

}  // namespace
