// backfill's OpenMetrics is accepted by the real promtool, and a real Prometheus loaded
// with it answers exactly the pattern's values (tests/testing/prometheus_server.h).

#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loadtest/openmetrics.h"
#include "loadtest/pattern.h"
#include "promclient/curl_http_transport.h"
#include "promclient/prometheus_client.h"
#include "tests/testing/prometheus_server.h"

namespace loadtest {
namespace {

namespace fs = std::filesystem;

// A recent window: Prometheus only serves data inside its retention, relative to its
// own clock, so the window is placed before the current hour (an input, not a timing).
BackfillWindow RecentWindow(double hours) {
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  const double end = std::floor(now / 3600) * 3600 - 3600;
  return BackfillWindow{end - hours * 3600, end, 60};
}

LoadSource Source() {
  LoadSource s;
  s.pattern.kind = PatternKind::kDiurnal;
  s.pattern.base = 20;
  s.pattern.amplitude = 400;
  s.pattern.noise = 0.05;
  s.pattern.noise_step_seconds = 60;
  s.pattern.seed = 9;
  return s;
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "loadtest-XXXXXX").string();
    path_ = ::mkdtemp(templ.data()) ? templ : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(BackfillPromtool, CreatesTsdbBlocksFromTheOutput) {
  if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is not installed: run scripts/setup-deps.sh";
  }
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string file = dir.path() + "/history.om";
  {
    std::ofstream out(file);
    LoadSource source = Source();
    ASSERT_TRUE(WriteOpenMetrics(out, "augur_demo_load", {{"job", "demo"}, {"instance", "w:1"}},
                                 RecentWindow(30), [&](double t) { return source.ValueAt(t); })
                    .ok());
  }
  const std::string data = dir.path() + "/data";
  const std::string cmd = "promtool tsdb create-blocks-from openmetrics '" + file + "' '" + data +
                          "' > '" + dir.path() + "/promtool.log' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream log_file(dir.path() + "/promtool.log");
  std::stringstream log;
  log << log_file.rdbuf();
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << "promtool failed:\n" << log.str();
  int blocks = 0;
  for (const auto& entry : fs::directory_iterator(data)) {
    if (entry.is_directory() && fs::exists(entry.path() / "meta.json")) ++blocks;
  }
  // 30 h of data spans at least two 2 h-aligned blocks.
  EXPECT_GE(blocks, 2) << log.str();
}

TEST(BackfillPromtool, RealPrometheusAnswersThePatternValues) {
  LoadSource source = Source();
  const BackfillWindow window = RecentWindow(6);
  std::ostringstream om;
  ASSERT_TRUE(WriteOpenMetrics(om, "augur_demo_load", {{"job", "demo"}}, window,
                               [&](double t) { return source.ValueAt(t); })
                  .ok());
  testing_support::PrometheusServerOptions options;
  options.openmetrics = om.str();
  auto server = testing_support::PrometheusServer::Start(options);
  if (!server.ok() && server.status().code() == absl::StatusCode::kFailedPrecondition) {
    GTEST_SKIP() << server.status();
  }
  ASSERT_TRUE(server.ok()) << server.status();

  promclient::ClientOptions client_options;
  client_options.base_url = (*server)->url();
  auto client = promclient::PrometheusClient::Create(
      client_options, std::make_shared<promclient::CurlHttpTransport>());
  ASSERT_TRUE(client.ok()) << client.status();
  auto result = (*client)->QueryRange("augur_demo_load{job=\"demo\"}", window.start, window.end, 60.0);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->series.size(), 1u);
  const auto& samples = result->series[0].samples;
  ASSERT_EQ(samples.size(), 361u);
  for (const auto& s : samples) {
    ASSERT_NEAR(s.value, source.ValueAt(s.timestamp), 1e-9 * std::fabs(s.value)) << "t=" << s.timestamp;
  }
}

}  // namespace
}  // namespace loadtest
