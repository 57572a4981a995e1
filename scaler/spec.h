#pragma once
// ScalerSpec: a ScaledObject trigger's metadata (KEDA's scalerMetadata, all strings),
// parsed and validated. docs/design.md, "Metadata keys", is the reference for every key.
//
// Thread-safety: pure functions; a ScalerSpec is a plain value.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "forecast/forecast.h"
#include "scaler/metric_source.h"
#include "scaler/policy.h"

namespace scaler {

struct ScalerSpec {
  std::string name;       // the ScaledObject's name
  std::string namespace_; // the ScaledObject's namespace
  MetricQuery query;      // query, serverAddress, namespace, customHeaders, ...
  std::string metric_name;  // lowercase [a-z0-9-]
  double target_value = 0;  // > 0
  double horizon_seconds = 300;
  double history_seconds = 7 * 86400;
  double step_seconds = 0;  // resolved: the `step` key or the automatic step
  bool step_auto = true;
  std::string seasonality = "auto";
  double refresh_interval_seconds = 30;
  double refit_interval_seconds = 600;
  bool ignore_null_values = true;
  PolicyConfig policy;      // mode, quantile, horizon, minHistory, maxForecastError, activation
  forecast::Options fit_options;  // seasonality applied
};

struct SpecDefaults {
  std::string prometheus_url;  // serverAddress when the metadata has none
};

// Parses and validates `metadata` for the ScaledObject `namespace_`/`name`.
// Errors: kInvalidArgument naming the key, the value and what is expected; for an
// unknown key, naming the closest known key.
absl::StatusOr<ScalerSpec> ParseSpec(const std::string& name, const std::string& namespace_,
                                     const std::map<std::string, std::string>& metadata,
                                     const SpecDefaults& defaults);

// Every metadata key Augur accepts (its own and KEDA's), in the design's order.
const std::vector<std::string>& KnownMetadataKeys();

// The HPA-safe default metric name: "augur-" + name, lowercased, every character outside
// [a-z0-9-] replaced with '-'.
std::string DefaultMetricName(const std::string& scaled_object_name);

// "predictive", "forecast", "shadow".
const char* ModeName(Mode mode);

// The automatic query step for a history: the smallest of 1s, 5s, 10s, 15s, 30s, 1m,
// 2m, 5m, 10m, 15m, 30m, 1h, ... keeping at most 11,000 points.
double AutoStepSeconds(double history_seconds);

}  // namespace scaler
