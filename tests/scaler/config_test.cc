// augur's configuration: the defaults `augur --help` shows are valid, and every bad value
// names its flag.

#include "scaler/config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace scaler {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing_support::IsOk;
using testing_support::StatusIs;

TEST(Config, DefaultsAreValid) { EXPECT_THAT(Config().Validate(), IsOk()); }

TEST(Config, ThreadCountsOutsideTheirRangeNameTheFlag) {
  Config c;
  c.workers = 0;
  EXPECT_THAT(c.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("--workers 0: expected 1 to 256")));
  c.workers = Config::kMaxWorkers;
  EXPECT_THAT(c.Validate(), IsOk());
  c.rpc_threads = 65;
  EXPECT_THAT(c.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("--rpc-threads 65: expected 1 to 64")));
}

TEST(Config, ResponseLimitHasAFloor) {
  Config c;
  c.prometheus_max_response_bytes = 4095;
  EXPECT_THAT(c.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--prometheus-max-response-bytes 4095: expected at least 4096")));
}

TEST(Config, PrometheusUrlMustBeHttpAndIsRedactedInTheError) {
  Config c;
  c.prometheus_url = "https://user:s3cret@prometheus:9090";
  EXPECT_THAT(c.Validate(), IsOk());
  c.prometheus_url = "ftp://user:s3cret@prometheus:9090";
  const absl::Status s = c.Validate();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--prometheus-url")));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("s3cret")));
}

TEST(Config, InsecureServersMustBeUrls) {
  Config c;
  c.insecure_servers = {"https://thanos.example:9090", "http://vm*"};
  EXPECT_THAT(c.Validate(), IsOk());
  c.insecure_servers.push_back("thanos:9090");
  EXPECT_THAT(c.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("--allow-server-insecure 'thanos:9090': expected")));
}

TEST(Config, LimitsOutsideTheirRangeNameTheFlag) {
  Config c;
  c.max_objects = 0;  // no limit
  EXPECT_THAT(c.Validate(), IsOk());
  c.max_objects = -1;
  EXPECT_THAT(c.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("--max-objects -1: expected 0 (no limit)")));
  c = Config();
  c.max_history_points = 999;
  EXPECT_THAT(c.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--max-history-points 999: expected 1000 to 1100000")));
  c = Config();
  c.prometheus_max_concurrent_queries = 0;
  EXPECT_THAT(c.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--prometheus-max-concurrent-queries 0: expected 1 to 256")));
}

TEST(Config, NegativeDurationsNameTheFlag) {
  Config c;
  c.idle_ttl = std::chrono::milliseconds(-1);
  EXPECT_THAT(c.Validate(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--idle-ttl")));
}

TEST(Config, ShutdownDrainIsZeroToTenMinutesAndFitsKubernetesDefaults) {
  Config c;
  // The default fits k8s/base's readiness probe (5 s x 2 failures) and, with the stop's
  // 2 s grace and 1.5 s refresh wait, Kubernetes' default 30 s termination grace.
  EXPECT_EQ(c.shutdown_drain, std::chrono::seconds(10));
  EXPECT_LE(c.shutdown_drain + std::chrono::milliseconds(3500), std::chrono::seconds(30));
  for (auto ok : {std::chrono::milliseconds(0), std::chrono::milliseconds(1),
                  Config::kMaxShutdownDrain}) {
    c.shutdown_drain = ok;
    EXPECT_THAT(c.Validate(), IsOk()) << ok.count();
  }
  c.shutdown_drain = Config::kMaxShutdownDrain + std::chrono::milliseconds(1);
  EXPECT_THAT(c.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--shutdown-drain 10m1ms: expected 0 (no drain) to 10m")));
  c.shutdown_drain = std::chrono::milliseconds(-1);
  EXPECT_THAT(c.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--shutdown-drain -1ms")));
}

}  // namespace
}  // namespace scaler
