#pragma once
// MetricSource: where a tracked object's history comes from. The real implementation is
// PrometheusMetricSource (prometheus_metric_source.h); tests use a fake.
//
// Thread-safety: implementations are thread-safe (called from the tracker's workers).

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "forecast/forecast.h"

namespace scaler {

// What to fetch: the PromQL and the per-object request settings from the metadata.
struct MetricQuery {
  std::string server_address;  // base URL; "" = the source's default server
  std::string query;           // PromQL returning exactly one series
  std::string prom_namespace;  // the `namespace` key (Thanos), "" = none
  std::vector<std::pair<std::string, std::string>> headers;  // customHeaders
  std::vector<std::pair<std::string, std::string>> params;   // queryParameters
  std::optional<std::chrono::milliseconds> timeout;
  // No TLS setting: whether Augur verifies a Prometheus server's certificate is the
  // operator's decision (augur's flags), never a ScaledObject's (docs/keda.md §7).
};

class MetricSource {
 public:
  virtual ~MetricSource() = default;

  // Whether `query` may be fetched at all (e.g. its server is allowed).
  // Errors: kPermissionDenied naming the server and how to allow it.
  virtual absl::Status Validate(const MetricQuery& query) const = 0;

  // The samples of the query's single series over [start, end] (unix seconds) at
  // `step_seconds`, in time order. NaN and +-Inf samples are returned as they are; an
  // empty result (no series) is an empty Series.
  // Errors: kInvalidArgument (several series: how many and a hint to aggregate; bad
  // query), kPermissionDenied (server not allowed), kUnavailable / kDeadlineExceeded
  // (server down or slow), or the server's own error.
  virtual absl::StatusOr<forecast::Series> Fetch(const MetricQuery& query, double start,
                                                 double end, double step_seconds) = 0;
};

}  // namespace scaler
