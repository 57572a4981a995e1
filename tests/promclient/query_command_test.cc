// `augur-forecast query` end to end: the binary against a real Prometheus.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/prometheus_server.h"

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr double kEnd = 1700000040;  // a whole minute

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

// Runs augur-forecast with `args` (already shell-quoted where needed).
CliRun RunCli(const std::string& args) {
  char dir_template[] = "/tmp/augur-cli-XXXXXX";
  CliRun run;
  if (mkdtemp(dir_template) == nullptr) return run;
  const std::string dir = dir_template;
  const std::string command =
      absl::StrCat(AUGUR_FORECAST_BIN, " ", args, " >", dir, "/out 2>", dir, "/err </dev/null");
  const int status = std::system(command.c_str());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  run.out = slurp(dir + "/out");
  run.err = slurp(dir + "/err");
  std::system(absl::StrCat("rm -rf ", dir).c_str());
  return run;
}

class QueryCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    using testing_support::OpenMetricsGauge;
    testing_support::PrometheusServerOptions options;
    options.openmetrics = testing_support::ConcatOpenMetrics({
        OpenMetricsGauge("cli_one", "{job=\"x\"}", kEnd - 600, kEnd, 60,
                         [](double t) { return t == kEnd - 300 ? NAN : (kEnd - t) / 4; }),
        OpenMetricsGauge("cli_two", "{pod=\"a\"}", kEnd - 120, kEnd, 60,
                         [](double) { return 1.0; }),
        OpenMetricsGauge("cli_two", "{pod=\"b\"}", kEnd - 120, kEnd, 60,
                         [](double) { return 2.0; }),
    });
    auto server = testing_support::PrometheusServer::Start(options);
    if (server.ok()) server_ = std::move(server).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << "Prometheus did not start"; }

  static std::string Common() {
    return absl::StrCat("query --server ", server_->url(), " --end ", static_cast<int64_t>(kEnd),
                        " ");
  }

  static testing_support::PrometheusServer* server_;
};

testing_support::PrometheusServer* QueryCommandTest::server_ = nullptr;

TEST_F(QueryCommandTest, PrintsOneSeriesAsTimestampValueCsv) {
  CliRun run = RunCli(Common() + "--query cli_one --range 10m --step 1m");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string expected = "timestamp,value\n";
  for (int i = 0; i <= 10; ++i) {
    const double t = kEnd - 600 + 60 * i;
    absl::StrAppend(&expected, static_cast<int64_t>(t), ",",
                    t == kEnd - 300 ? "NaN" : absl::StrCat((kEnd - t) / 4), "\n");
  }
  EXPECT_EQ(run.out, expected);
}

TEST_F(QueryCommandTest, LabelsEachOfSeveralSeries) {
  CliRun run = RunCli(Common() + "--query cli_two --range 2m --step 1m");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "series,timestamp,value\n"
            "\"{__name__=\"\"cli_two\"\", pod=\"\"a\"\"}\",1699999920,1\n"
            "\"{__name__=\"\"cli_two\"\", pod=\"\"a\"\"}\",1699999980,1\n"
            "\"{__name__=\"\"cli_two\"\", pod=\"\"a\"\"}\",1700000040,1\n"
            "\"{__name__=\"\"cli_two\"\", pod=\"\"b\"\"}\",1699999920,2\n"
            "\"{__name__=\"\"cli_two\"\", pod=\"\"b\"\"}\",1699999980,2\n"
            "\"{__name__=\"\"cli_two\"\", pod=\"\"b\"\"}\",1700000040,2\n");
}

TEST_F(QueryCommandTest, PrintsJsonWithLabels) {
  CliRun run = RunCli(Common() + "--query cli_one --range 10m --step 5m --format json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json j = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << run.out;
  EXPECT_EQ(j["resultType"], "matrix");
  ASSERT_EQ(j["series"].size(), 1u);
  EXPECT_EQ(j["series"][0]["labels"]["job"], "x");
  EXPECT_EQ(j["series"][0]["samples"],
            nlohmann::json::parse("[[1699999440, 150], [1699999740, \"NaN\"], [1700000040, 0]]"));
}

TEST_F(QueryCommandTest, InstantQuery) {
  CliRun run = RunCli(Common() + "--query 'sum(cli_two)' --instant");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "timestamp,value\n1700000040,3\n");
}

TEST_F(QueryCommandTest, BadQueryExitsOneWithPrometheusMessage) {
  CliRun run = RunCli(Common() + "--query 'sum(cli_one' --range 10m");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(run.err, HasSubstr("parse error"));
  EXPECT_EQ(run.out, "");
}

TEST_F(QueryCommandTest, BadFlagPrintsUsageAndExitsTwo) {
  for (const std::string& args :
       {Common() + "--query up --bogus", Common() + "--query up --format xml",
        Common() + "--query up --range soon", Common() + "--query up --header NoEquals",
        std::string("query --query up")}) {
    CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, 2) << args;
    EXPECT_THAT(run.err, HasSubstr("Usage: augur-forecast query")) << args;
  }
  CliRun help = RunCli("query --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("series,timestamp,value"));
}

TEST(QueryCommand, UnreachableServerExitsOneWithCurlsMessage) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);  // nothing listens: connection refused
  CliRun run = RunCli(absl::StrCat("query --server http://127.0.0.1:", port,
                                   " --query up --timeout 2s --bearer-token-file /dev/null"));
  // An empty token file is refused before any request.
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("is empty"));
  run = RunCli(absl::StrCat("query --server http://127.0.0.1:", port, " --query up --timeout 2s"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("127.0.0.1:", port)));
}

TEST(QueryCommand, SilentServerExitsOneWhenTheTimeoutPasses) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  listen(fd, 4);  // accepts at the kernel level, never answers
  CliRun run = RunCli(absl::StrCat("query --server http://127.0.0.1:", ntohs(addr.sin_port),
                                   " --query up --timeout 300ms"));
  close(fd);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("DEADLINE_EXCEEDED"));
  EXPECT_THAT(run.err, HasSubstr("timed out"));
}

}  // namespace
