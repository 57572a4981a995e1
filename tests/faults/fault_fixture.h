#pragma once
// Shared set-up of the fault-injection tests: a real Prometheus backfilled with two days
// of a daily cycle (one sample a minute, the newest a minute before the test starts), a
// FaultProxy in front of it, and the real `augur` reading Prometheus through the proxy,
// with short --max-staleness and refreshInterval so that each fault plays out in seconds.
// Timing is observed, never assumed: every wait is a bounded poll on augur's answers,
// logs or metrics.

#include <grpcpp/grpcpp.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "externalscaler.grpc.pb.h"
#include "gtest/gtest.h"
#include "inspector.grpc.pb.h"
#include "tests/testing/augur_process.h"
#include "tests/testing/fault_proxy.h"
#include "tests/testing/prometheus_server.h"

namespace faults {

constexpr double kDay = 86400;
constexpr double kMaxStalenessSeconds = 3;

inline double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Between 50 and 150, peaking 3 h after t0.
inline double Load(double t, double t0) {
  return 100 + 50 * std::cos(2 * 3.14159265358979323846 * (t - (t0 + 3 * 3600)) / kDay);
}

// What a GetMetrics call returned.
struct Answer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  double value = 0;
  bool ok() const { return code == grpc::StatusCode::OK; }
};

class FaultFixture : public ::testing::Test {
 public:
  // Prints a fault-table row ("FAULT-TABLE | ...") for docs/reliability.md.
  static void Row(const std::string& fault, const std::string& keda_sees,
                  const std::string& metrics_logs, const std::string& recovery);

 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Backfills `seconds` of history ending a minute before t0 into a new Prometheus.
  static absl::StatusOr<std::unique_ptr<testing_support::PrometheusServer>> StartPrometheus(
      double seconds);

  // Starts augur against the proxy with the fixture's flags plus `extra`.
  std::unique_ptr<testing_support::AugurProcess> StartAugur(std::vector<std::string> extra = {});

  // The object every test asks about (2 days of history at 5 m, a 30 m horizon, a 1 s
  // refresh); `extra` adds or overrides metadata keys.
  static externalscaler::ScaledObjectRef Ref(const std::string& name,
                                             std::map<std::string, std::string> extra = {});

  Answer GetMetrics(const externalscaler::ScaledObjectRef& ref);
  // Polls until GetMetrics answers OK (at most 60 s: the first fit included).
  Answer Warm(const externalscaler::ScaledObjectRef& ref);
  augur::v1::Explanation Explain(const externalscaler::ScaledObjectRef& ref);
  // Inspector/List's entry for the object `name` (works when Explain is UNAVAILABLE).
  augur::v1::ObjectSummary Summary(const std::string& name);
  std::string Metrics();  // augur's /metrics text
  // The value of the first sample in /metrics matching `series` (name{labels} as exposed,
  // trailing labels may be left out), or NaN when absent.
  double MetricValue(const std::string& series);
  // Log lines of augur's log containing `needle`.
  int CountLogLines(const std::string& needle);

  // The common fault cycle (docs/reliability.md, the fault table):
  //  1. warm the object; 2. apply `fault`; 3. until augur logs event=source_error,
  //  and from then on, every OK answer is exactly the last good one (never a new, wrong
  //  value), and it turns UNAVAILABLE naming --max-staleness and `cause` no earlier
  //  than the answer's age allows; 4. the metrics count the error under `code_label`;
  //  5. the fault is cleared (`clear`) and augur answers OK again and logs
  //  event=source_recovered. Records a row for the fault table.
  void RunFaultCycle(const std::string& fault_name, testing_support::FaultProxy::Behavior fault,
                     const std::string& cause, const std::string& code_label,
                     std::map<std::string, std::string> extra_metadata = {},
                     std::function<void()> apply = nullptr, std::function<void()> clear = nullptr);

  static inline std::string dir_;
  static inline double t0_ = 0;
  static inline testing_support::PrometheusServer* prom_ = nullptr;
  static inline std::string start_error_;

  std::unique_ptr<testing_support::FaultProxy> proxy_;
  std::unique_ptr<testing_support::AugurProcess> augur_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace faults
