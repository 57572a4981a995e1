#pragma once
// ScalerSpec: a ScaledObject trigger's metadata (KEDA's scalerMetadata, all strings),
// parsed and validated. docs/design.md, "Metadata keys", is the reference for every key.
//
// Thread-safety: pure functions; a ScalerSpec is a plain value.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "forecast/forecast.h"
#include "scaler/metric_source.h"
#include "scaler/policy.h"

namespace scaler {

struct ScalerSpec {
  std::string name;       // the ScaledObject's name
  std::string namespace_; // the ScaledObject's namespace
  MetricQuery query;      // query, serverAddress, namespace, customHeaders, ...
  std::string metric_name;  // lowercase [a-z0-9-]
  // Tells apart the triggers of one ScaledObject in Augur's own metrics (the `trigger`
  // label): KEDA sends every trigger of a ScaledObject under the same name, with that
  // trigger's metadata. See TriggerId().
  std::string trigger_id;
  double target_value = 0;  // > 0
  // What one ready pod serves (podCapacity), for the shortfall budget; nullopt =
  // targetValue x 1.1 (the top of the HPA's tolerance band).
  std::optional<double> pod_capacity;
  double horizon_seconds = 300;
  double history_seconds = 7 * 86400;
  double step_seconds = 0;  // resolved: the `step` key or the automatic step, capped
  bool step_auto = true;
  // The step before the history cap (SpecDefaults::max_history_points) coarsened it;
  // 0 when it did not.
  double step_requested_seconds = 0;
  std::string seasonality = "auto";
  // The `holidays` and `excludePeriods` keys as given (trimmed; "" = unset), parsed into
  // fit_options.events and fit_options.exclude_periods.
  std::string holidays;
  std::string exclude_periods;
  double refresh_interval_seconds = 30;
  double refit_interval_seconds = 600;
  bool ignore_null_values = true;
  PolicyConfig policy;      // mode, quantile, horizon, minHistory, maxForecastError, activation
  forecast::Options fit_options;  // seasonality applied
};

// The history cap's bounds (--max-history-points).
inline constexpr size_t kMinHistoryPoints = 1000;
inline constexpr size_t kMaxHistoryPoints = 1100000;

struct SpecDefaults {
  std::string prometheus_url;  // serverAddress when the metadata has none
  // At most this many points of history per object (history / step), clamped to
  // [kMinHistoryPoints, kMaxHistoryPoints]: a step giving more is coarsened to the
  // smallest step of the automatic ladder (promclient::AutoStep) that keeps within it.
  size_t max_history_points = 50000;
};

// Input-size limits, checked before anything else (any client that reaches the gRPC
// port can send metadata; KEDA's own triggers are far below them).
inline constexpr size_t kMaxMetadataKeys = 64;
inline constexpr size_t kMaxMetadataBytes = 64 * 1024;  // keys and values together
inline constexpr size_t kMaxQueryBytes = 16 * 1024;     // the `query` value
// The `holidays` and `excludePeriods` values, each (their element counts are bounded by
// forecast::kMaxEvents and forecast::kMaxExcludedPeriods as well).
inline constexpr size_t kMaxListBytes = 16 * 1024;

// Parses and validates `metadata` for the ScaledObject `namespace_`/`name`, as KEDA
// sends it (docs/keda.md §2, §7):
//  - each of Augur's keys may also come as `<key>FromEnv` (KEDA puts the target
//    container's environment variable there); it is validated as `<key>`, and giving both
//    is an error;
//  - an empty (or blank) value means the key is unset, as in KEDA;
//  - KEDA's own client keys (KedaMetadataKeys(), also as `<key>FromEnv`) configure KEDA's
//    connection to Augur: accepted and ignored, their values never read.
// Errors: kInvalidArgument naming the key (as given), the value and what is expected; for
// an unknown key, naming the closest known key (a long key cut to 64 characters); for a
// key given both ways, naming both; for metadata over the limits above, which limit.
// A step giving more than defaults.max_history_points over the history is coarsened
// (ScalerSpec::step_requested_seconds says so), not refused.
absl::StatusOr<ScalerSpec> ParseSpec(const std::string& name, const std::string& namespace_,
                                     const std::map<std::string, std::string>& metadata,
                                     const SpecDefaults& defaults);

// Augur's own metadata keys, in the design's order (each also accepted as <key>FromEnv).
const std::vector<std::string>& AugurMetadataKeys();
// KEDA's client keys that KEDA forwards with the metadata: accepted and ignored.
const std::vector<std::string>& KedaMetadataKeys();
// Both lists: every key Augur accepts besides the <key>FromEnv forms.
const std::vector<std::string>& KnownMetadataKeys();

// The trigger's id in Augur's metrics: 8 hex digits of a 64-bit FNV-1a hash of the
// effective settings (Augur's keys after FromEnv and empty values are resolved, KEDA's
// keys left out, the values of customHeaders and queryParameters left out because they
// may carry credentials). Stable across restarts and replicas; two triggers of one
// ScaledObject differ in their settings, hence in their id.
std::string TriggerId(const std::map<std::string, std::string>& effective_settings);

// The HPA-safe default metric name: "augur-" + name, lowercased, every character outside
// [a-z0-9-] replaced with '-'.
std::string DefaultMetricName(const std::string& scaled_object_name);

// "predictive", "forecast", "shadow".
const char* ModeName(Mode mode);

// The mode named by `text` (case-insensitive, surrounding blanks ignored): the one parser
// of the `mode` key and of `augur-loadtest simulate --mode`.
// Errors: kInvalidArgument "'<text>': expected predictive, forecast or shadow".
absl::StatusOr<Mode> ParseMode(absl::string_view text);

// The `step` key's "auto" is promclient::AutoStep(history): the smallest of 1s, 2s, 5s,
// 10s, 15s, 30s, 1m, ... keeping a range query at most 11,000 points (design.md).

}  // namespace scaler
