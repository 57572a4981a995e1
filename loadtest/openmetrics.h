#pragma once
// OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`: one gauge sampled
// over a past window, so that a fresh Prometheus holds days of history in seconds.
//
// Thread-safety: pure functions.

#include <functional>
#include <map>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loadtest {

using LabelMap = std::map<std::string, std::string>;

// Parses "k=v,k2=v2" (empty = none). Label names must match [a-zA-Z_][a-zA-Z0-9_]*.
// Errors: kInvalidArgument naming the bad element and what is expected.
absl::StatusOr<LabelMap> ParseLabels(const std::string& text);
// Same form for ScaledObject metadata (any non-empty key); a backslash before a comma
// makes it part of the value (PromQL `sum by (a\,b) (x)`).
absl::StatusOr<std::map<std::string, std::string>> ParseKeyValues(const std::string& text);

// kInvalidArgument unless `name` is a valid metric name [a-zA-Z_:][a-zA-Z0-9_:]*.
absl::Status ValidateMetricName(const std::string& name);

struct BackfillWindow {
  double start = 0;  // unix seconds, inclusive
  double end = 0;    // unix seconds, inclusive (when on the step grid)
  double step = 15;  // seconds

  // kInvalidArgument for end <= start, step <= 0 or more than 50 million samples.
  absl::Status Validate() const;
};

// Writes "# HELP/# TYPE <name> gauge", one sample per step at t = start + k*step (values
// from `value_at`, timestamps in seconds) and "# EOF". `progress` (may be empty) is
// called with the fraction done every ~1 % of samples.
// Errors: those of Validate/ValidateMetricName/ParseLabels, kInternal when the stream fails.
absl::Status WriteOpenMetrics(std::ostream& out, const std::string& name, const LabelMap& labels,
                              const BackfillWindow& window,
                              const std::function<double(double)>& value_at,
                              const std::function<void(double)>& progress = {});

}  // namespace loadtest
