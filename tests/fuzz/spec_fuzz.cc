// Fuzz target: a ScaledObject trigger's metadata -> ScalerSpec (scaler/spec.h), what any
// client that reaches augur's gRPC port sends. Input format (readable corpus files):
// line 1 the ScaledObject's name, line 2 its namespace, then one `key=value` per line
// (the value runs to the end of the line; "\n" in it is written as the two characters
// \ and n). Properties: an error is INVALID_ARGUMENT with a message; an accepted spec
// keeps the invariants the tracker relies on; customHeaders values (which may carry
// credentials) never appear in an error message.

#include <cmath>
#include <cstdint>
#include <map>
#include <string>

#include "scaler/spec.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out.push_back('\n');
      ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string name, namespace_;
  std::map<std::string, std::string> metadata;
  size_t pos = 0;
  for (int line_no = 0; pos <= text.size(); ++line_no) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line_no == 0) {
      name = line;
    } else if (line_no == 1) {
      namespace_ = line;
    } else if (!line.empty()) {
      const size_t eq = line.find('=');
      metadata[Unescape(line.substr(0, eq))] =
          eq == std::string::npos ? "" : Unescape(line.substr(eq + 1));
    }
  }

  scaler::SpecDefaults defaults;
  defaults.prometheus_url = "http://prometheus.monitoring:9090";
  absl::StatusOr<scaler::ScalerSpec> spec = scaler::ParseSpec(name, namespace_, metadata, defaults);
  if (!spec.ok()) {
    FUZZ_CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!spec.status().message().empty());
    auto headers = metadata.find("customHeaders");
    if (headers != metadata.end() && headers->second.size() >= 12 &&
        std::string(spec.status().message()).find(headers->second) != std::string::npos) {
      // The header's value is in the message: a leak only if it came from the header.
      // With the header replaced by a harmless one, the same text must be gone (else it
      // came from another key's echoed value or from the message's own words).
      std::map<std::string, std::string> other = metadata;
      other["customHeaders"] = "X-Fuzz=1";
      absl::StatusOr<scaler::ScalerSpec> again =
          scaler::ParseSpec(name, namespace_, other, defaults);
      if (again.ok()) {  // the header itself was the error: compare with a malformed one
        other["customHeaders"] = "X-Fuzz";
        again = scaler::ParseSpec(name, namespace_, other, defaults);
      }
      FUZZ_CHECK(!again.ok() &&
                 std::string(again.status().message()).find(headers->second) != std::string::npos);
    }
    return 0;
  }
  const scaler::ScalerSpec& s = *spec;
  FUZZ_CHECK(s.target_value > 0 && std::isfinite(s.target_value));
  FUZZ_CHECK(s.horizon_seconds > 0 && s.history_seconds > 0);
  FUZZ_CHECK(s.step_seconds >= 1);
  FUZZ_CHECK(s.history_seconds / s.step_seconds <= 11000.0 * 100 + 1);
  FUZZ_CHECK(s.refresh_interval_seconds >= 1);
  FUZZ_CHECK(s.refit_interval_seconds > 0);
  FUZZ_CHECK(s.policy.quantile > 0 && s.policy.quantile < 1);
  FUZZ_CHECK(s.policy.max_forecast_error > 0);
  FUZZ_CHECK(!s.metric_name.empty());
  FUZZ_CHECK(!s.query.query.empty());
  FUZZ_CHECK(s.query.server_address.rfind("http://", 0) == 0 ||
             s.query.server_address.rfind("https://", 0) == 0);
  if (s.query.timeout) FUZZ_CHECK(s.query.timeout->count() > 0);
  return 0;
}
