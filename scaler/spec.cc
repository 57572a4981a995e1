#include "scaler/spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/duration.h"
#include "promclient/prometheus_client.h"

namespace scaler {
namespace {

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

constexpr absl::string_view kFromEnv = "FromEnv";

bool Contains(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string ClosestKey(const std::string& key) {
  // Case-insensitive distance, so that `targetvalue` points at `targetValue`; a
  // `...FromEnv` key is matched on its base (`horiznFromEnv` -> `horizonFromEnv`).
  const std::string lowered = absl::AsciiStrToLower(key);
  if (lowered.size() > kFromEnv.size() && absl::EndsWith(lowered, "fromenv")) {
    return ClosestKey(key.substr(0, key.size() - kFromEnv.size())) + std::string(kFromEnv);
  }
  const std::string lower = lowered;
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& known : KnownMetadataKeys()) {
    const size_t d = EditDistance(lower, absl::AsciiStrToLower(known));
    if (d < best_distance) {
      best_distance = d;
      best = known;
    }
  }
  return best;
}

absl::Status Bad(const std::string& key, const std::string& value, const std::string& expected) {
  return absl::InvalidArgumentError("metadata key '" + key + "' has value '" + value +
                                    "': expected " + expected);
}

std::string Trim(absl::string_view s) { return std::string(absl::StripAsciiWhitespace(s)); }

absl::Status ParseDouble(const std::string& key, const std::string& value, double* out) {
  const std::string t = Trim(value);
  char* end = nullptr;
  const double v = t.empty() ? 0 : std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v)) {
    return Bad(key, value, "a finite number such as 10 or 2.5");
  }
  *out = v;
  return absl::OkStatus();
}

// As Go's strconv.ParseBool, which KEDA uses.
absl::Status ParseBool(const std::string& key, const std::string& value, bool* out) {
  const std::string t = Trim(value);
  if (t == "1" || t == "t" || t == "T" || t == "true" || t == "TRUE" || t == "True") {
    *out = true;
  } else if (t == "0" || t == "f" || t == "F" || t == "false" || t == "FALSE" || t == "False") {
    *out = false;
  } else {
    return Bad(key, value, "true or false");
  }
  return absl::OkStatus();
}

absl::Status ParseSeconds(const std::string& key, const std::string& value, bool allow_zero,
                          double* out) {
  absl::StatusOr<std::chrono::milliseconds> d = common::ParseDuration(Trim(value));
  if (!d.ok()) {
    return Bad(key, value, "a duration such as 30s, 5m, 2h, 7d or 1w (" +
                               std::string(d.status().message()) + ")");
  }
  if (d->count() < 0 || (!allow_zero && d->count() == 0)) {
    return Bad(key, value, allow_zero ? "a duration >= 0" : "a duration > 0");
  }
  *out = d->count() / 1000.0;
  return absl::OkStatus();
}

// "K=V,K2=V2" (customHeaders, queryParameters).
absl::Status ParsePairs(const std::string& key, const std::string& value,
                        std::vector<std::pair<std::string, std::string>>* out) {
  const std::string expected = "comma-separated key=value pairs such as A=1,B=2";
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    const std::string item = Trim(part);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      // The value may be a secret-bearing header: never echo it.
      return absl::InvalidArgumentError("metadata key '" + key + "' has an element without '=' or with an empty name: expected " +
                                        expected);
    }
    out->emplace_back(Trim(item.substr(0, eq)), Trim(item.substr(eq + 1)));
  }
  return absl::OkStatus();
}

bool ValidMetricName(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

}  // namespace

const std::vector<std::string>& AugurMetadataKeys() {
  static const std::vector<std::string>* keys = new std::vector<std::string>{
      "query",         "targetValue",      "serverAddress",    "activationThreshold",
      "metricName",    "horizon",          "history",          "step",
      "seasonality",   "holidays",         "excludePeriods",   "shortfall",
      "podCapacity",   "quantile",
      "mode",          "refreshInterval",  "refitInterval",    "minHistory",
      "maxForecastError", "ignoreNullValues", "namespace",     "customHeaders",
      "queryParameters",  "timeout",
  };
  return *keys;
}

const std::vector<std::string>& KedaMetadataKeys() {
  // scalerAddress, enableTLS and unsafeSsl are KEDA's external-scaler keys; caCert,
  // tlsClientCert and tlsClientKey are TriggerAuthentication parameters that keda.sh also
  // shows in metadata; tlsCertFile was a metadata key up to v2.16 (docs/keda.md §2, §7).
  static const std::vector<std::string>* keys = new std::vector<std::string>{
      "scalerAddress", "enableTLS",    "unsafeSsl",  "caCert",
      "tlsClientCert", "tlsClientKey", "tlsCertFile",
  };
  return *keys;
}

const std::vector<std::string>& KnownMetadataKeys() {
  static const std::vector<std::string>* keys = [] {
    auto* all = new std::vector<std::string>(AugurMetadataKeys());
    all->insert(all->end(), KedaMetadataKeys().begin(), KedaMetadataKeys().end());
    return all;
  }();
  return *keys;
}

std::string TriggerId(const std::map<std::string, std::string>& effective_settings) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator: ("ab","c") and ("a","bc") differ
    h *= 1099511628211ull;
  };
  for (const auto& [key, value] : effective_settings) {
    mix(key);
    mix(key == "customHeaders" || key == "queryParameters" ? std::string("-") : value);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out(8, '0');
  const uint32_t folded = static_cast<uint32_t>(h ^ (h >> 32));
  for (int i = 0; i < 8; ++i) out[i] = kHex[(folded >> (28 - 4 * i)) & 0xf];
  return out;
}

std::string DefaultMetricName(const std::string& scaled_object_name) {
  std::string out = "augur-";
  for (char c : absl::AsciiStrToLower(scaled_object_name)) {
    out.push_back((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ? c : '-');
  }
  while (out.size() > 6 && out.back() == '-') out.pop_back();
  return out;
}

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kPredictive:
      return "predictive";
    case Mode::kForecast:
      return "forecast";
    case Mode::kShadow:
      return "shadow";
  }
  return "unknown";
}

absl::StatusOr<Mode> ParseMode(absl::string_view text) {
  const std::string m = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (m == "predictive") return Mode::kPredictive;
  if (m == "forecast") return Mode::kForecast;
  if (m == "shadow") return Mode::kShadow;
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "': expected predictive, forecast or shadow"));
}

namespace {

// One of Augur's keys as it takes effect: its value and the name it came under (`query`
// or `queryFromEnv`).
struct Setting {
  std::string key;  // as given
  std::string value;
};
using Settings = std::map<std::string, Setting>;

// The setting of `key`, or nullptr.
const Setting* Find(const Settings& settings, const std::string& key) {
  auto it = settings.find(key);
  return it == settings.end() ? nullptr : &it->second;
}

// The whole map's size limits (keys, bytes, the query's length).
absl::Status CheckMetadataSize(const std::map<std::string, std::string>& metadata) {
  if (metadata.size() > kMaxMetadataKeys) {
    return absl::InvalidArgumentError(
        "the metadata has " + std::to_string(metadata.size()) + " keys: expected at most " +
        std::to_string(kMaxMetadataKeys) + " (augur knows " +
        std::to_string(KnownMetadataKeys().size()) + "; see `augur --print-metadata-keys`)");
  }
  size_t metadata_bytes = 0;
  for (const auto& [key, value] : metadata) metadata_bytes += key.size() + value.size();
  if (metadata_bytes > kMaxMetadataBytes) {
    return absl::InvalidArgumentError("the metadata holds " + std::to_string(metadata_bytes) +
                                      " bytes of keys and values: expected at most " +
                                      std::to_string(kMaxMetadataBytes));
  }
  if (auto q = metadata.find("query"); q != metadata.end() && q->second.size() > kMaxQueryBytes) {
    return absl::InvalidArgumentError("metadata key 'query' is " +
                                      std::to_string(q->second.size()) +
                                      " bytes long: expected PromQL of at most " +
                                      std::to_string(kMaxQueryBytes) + " bytes");
  }
  return absl::OkStatus();
}

// Augur's keys with their values: KEDA's keys skipped, unknown keys refused (with the
// nearest known one), empty values unset, <key> and <key>FromEnv not both.
absl::StatusOr<Settings> EffectiveSettings(const std::map<std::string, std::string>& metadata) {
  Settings settings;
  for (const auto& [key, value] : metadata) {
    const bool from_env = absl::EndsWith(key, kFromEnv) && key.size() > kFromEnv.size();
    const std::string base = from_env ? key.substr(0, key.size() - kFromEnv.size()) : key;
    if (Contains(KedaMetadataKeys(), key) || (from_env && Contains(KedaMetadataKeys(), base))) {
      continue;  // KEDA's own: its value is never read
    }
    if (!Contains(AugurMetadataKeys(), base)) {
      // A long key is cut: the message stays short and the distance cheap.
      const std::string shown = key.size() > 64 ? key.substr(0, 64) + "..." : key;
      return absl::InvalidArgumentError(
          "unknown metadata key '" + shown + "': did you mean '" + ClosestKey(key.substr(0, 64)) +
          "'? Known keys: query, targetValue, serverAddress, ... (see `augur "
          "--print-metadata-keys`; each of Augur's keys may also be given as <key>FromEnv)");
    }
    if (Trim(value).empty()) continue;  // as in KEDA: an empty value is no value
    auto [it, inserted] = settings.emplace(base, Setting{key, value});
    if (!inserted) {
      return absl::InvalidArgumentError(
          "metadata keys '" + base + "' and '" + base + std::string(kFromEnv) +
          "' are both set: expected only one of them (" + base + std::string(kFromEnv) +
          " takes its value from the workload's environment)");
    }
  }
  return settings;
}

// query, targetValue, serverAddress, activationThreshold, metricName (the required keys
// first).
absl::Status ParseTargetKeys(const Settings& settings, const std::string& name, const SpecDefaults& defaults, ScalerSpec& spec) {
  absl::Status s;
  const Setting* v;
  v = Find(settings, "query");
  if (v == nullptr) {
    return absl::InvalidArgumentError(
        "metadata key 'query' (or 'queryFromEnv') is required: expected PromQL returning "
        "exactly one series, e.g. sum(rate(http_requests_total{job=\"web\"}[2m]))");
  }
  spec.query.query = v->value;

  v = Find(settings, "targetValue");
  if (v == nullptr) {
    return absl::InvalidArgumentError(
        "metadata key 'targetValue' (or 'targetValueFromEnv') is required: expected the "
        "per-replica target, a number > 0");
  }
  s = ParseDouble(v->key, v->value, &spec.target_value);
  if (!s.ok()) return s;
  if (spec.target_value <= 0) {
    return Bad(v->key, v->value, "a number > 0 (the HPA rejects targets <= 0)");
  }

  v = Find(settings, "serverAddress");
  spec.query.server_address = v != nullptr ? Trim(v->value) : defaults.prometheus_url;
  if (spec.query.server_address.empty()) {
    return absl::InvalidArgumentError(
        "metadata key 'serverAddress' is missing and augur has no --prometheus-url: expected "
        "a Prometheus base URL such as http://prometheus.monitoring:9090");
  }
  {
    const std::string& a = spec.query.server_address;
    if (a.rfind("http://", 0) != 0 && a.rfind("https://", 0) != 0) {
      return Bad(v != nullptr ? v->key : "serverAddress", a, "an http:// or https:// URL");
    }
  }

  if ((v = Find(settings, "activationThreshold"))) {
    s = ParseDouble(v->key, v->value, &spec.policy.activation_threshold);
    if (!s.ok()) return s;
  }

  if ((v = Find(settings, "metricName"))) {
    const std::string metric = Trim(v->value);
    if (!ValidMetricName(metric)) {
      return Bad(v->key, v->value,
                 "lowercase letters, digits and '-', not starting or ending with '-' (the HPA "
                 "lowercases metric names)");
    }
    spec.metric_name = metric;
  } else {
    spec.metric_name = DefaultMetricName(name);
  }
  return absl::OkStatus();
}

// horizon, history, step (auto or given) and the history cap on points.
absl::Status ParseWindowKeys(const Settings& settings, const SpecDefaults& defaults, ScalerSpec& spec) {
  absl::Status s;
  const Setting* v;
  if ((v = Find(settings, "horizon"))) {
    s = ParseSeconds(v->key, v->value, false, &spec.horizon_seconds);
    if (!s.ok()) return s;
  }
  if ((v = Find(settings, "history"))) {
    s = ParseSeconds(v->key, v->value, false, &spec.history_seconds);
    if (!s.ok()) return s;
  }
  if ((v = Find(settings, "step")) && Trim(v->value) != "auto") {
    s = ParseSeconds(v->key, v->value, false, &spec.step_seconds);
    if (!s.ok()) return s;
    if (spec.step_seconds < 1) return Bad(v->key, v->value, "auto or a duration >= 1s");
    spec.step_auto = false;
  } else {
    spec.step_seconds = promclient::AutoStep(spec.history_seconds);
  }
  // The history cap: a finer step is coarsened (the history's span, which seasonality and
  // minHistory need, is kept; docs/reliability.md, "Limits").
  const double max_points = static_cast<double>(
      std::clamp<size_t>(defaults.max_history_points, kMinHistoryPoints, kMaxHistoryPoints));
  if (spec.history_seconds / spec.step_seconds > max_points) {
    spec.step_requested_seconds = spec.step_seconds;
    spec.step_seconds =
        std::max(spec.step_seconds, promclient::AutoStep(spec.history_seconds, max_points));
  }
  return absl::OkStatus();
}

// seasonality, holidays, excludePeriods: the fit's options.
absl::Status ParseModelKeys(const Settings& settings, ScalerSpec& spec) {
  absl::Status s;
  const Setting* v;
  if ((v = Find(settings, "seasonality"))) {
    spec.seasonality = Trim(v->value);
    s = forecast::ParseSeasonality(spec.seasonality, spec.fit_options);
    if (!s.ok()) {
      return Bad(v->key, v->value,
                 "auto, none, or periods such as 1d,1w (" + std::string(s.message()) + ")");
    }
  }

  // Known events and excluded periods: the element at fault is named by the parser; the
  // value itself may be long, so it is not repeated.
  auto list = [&](const Setting* setting, const char* expected, std::string* as_given,
                  absl::Status (*parse)(const std::string&, forecast::Options&)) -> absl::Status {
    if (setting->value.size() > kMaxListBytes) {
      return absl::InvalidArgumentError("metadata key '" + setting->key + "' is " +
                                        std::to_string(setting->value.size()) +
                                        " bytes long: expected at most " +
                                        std::to_string(kMaxListBytes));
    }
    *as_given = Trim(setting->value);
    absl::Status parsed = parse(*as_given, spec.fit_options);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError("metadata key '" + setting->key + "': " +
                                        std::string(parsed.message()) + "; expected " + expected);
    }
    return absl::OkStatus();
  };
  if ((v = Find(settings, "holidays"))) {
    s = list(v,
             "comma-separated events name=YYYY-MM-DD[/YYYY-MM-DD][|YYYY-MM-DD...][:-Nd][:+Nd] "
             "in UTC days, e.g. \"black-friday=2026-11-27/2026-11-30:-1d:+1d, xmas=2026-12-25\"",
             &spec.holidays, &forecast::ParseEvents);
    if (!s.ok()) return s;
  }
  if ((v = Find(settings, "excludePeriods"))) {
    s = list(v,
             "comma-separated start/end RFC 3339 times with a zone (the end excluded) or UTC "
             "dates, e.g. \"2026-11-20T10:00Z/2026-11-20T14:00Z, 2026-11-24\"",
             &spec.exclude_periods, &forecast::ParseExcludePeriods);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// podCapacity, the shortfall budget or a fixed quantile (not both), mode.
absl::Status ParseBudgetKeys(const Settings& settings, ScalerSpec& spec) {
  absl::Status s;
  const Setting* v;
  if ((v = Find(settings, "podCapacity"))) {
    double capacity = 0;
    s = ParseDouble(v->key, v->value, &capacity);
    if (!s.ok()) return s;
    if (capacity < spec.target_value) {
      return Bad(v->key, v->value,
                 "the demand one ready pod serves, a number >= targetValue (" +
                     std::to_string(spec.target_value) + ")");
    }
    spec.pod_capacity = capacity;
  }

  // A shortfall budget (the default) or, when set, a fixed quantile; not both.
  const auto* shortfall = Find(settings, "shortfall");
  if ((v = Find(settings, "quantile"))) {
    if (shortfall != nullptr) {
      return absl::InvalidArgumentError(
          "metadata keys '" + shortfall->key + "' and '" + v->key +
          "' are both set: expected one of them (a shortfall budget that Augur keeps by "
          "itself, or a fixed forecast quantile)");
    }
    s = ParseDouble(v->key, v->value, &spec.policy.quantile);
    if (!s.ok()) return s;
    if (!(spec.policy.quantile > 0 && spec.policy.quantile < 1)) {
      return Bad(v->key, v->value, "a number strictly between 0 and 1, e.g. 0.5 or 0.9");
    }
    spec.policy.shortfall.reset();
  } else {
    spec.policy.shortfall = kDefaultShortfall;
    // The budget's record judges what the forecast delivers; the point-error gate applies
    // only when maxForecastError is set.
    spec.policy.max_forecast_error = std::numeric_limits<double>::infinity();
    if (shortfall != nullptr) {
      absl::StatusOr<ShortfallBudget> b = ParseShortfall(shortfall->value);
      if (!b.ok()) {
        return absl::InvalidArgumentError("metadata key '" + shortfall->key + "': " +
                                          std::string(b.status().message()));
      }
      spec.policy.shortfall = *b;
    }
  }

  if ((v = Find(settings, "mode"))) {
    absl::StatusOr<Mode> mode = ParseMode(v->value);
    if (!mode.ok()) return Bad(v->key, v->value, "predictive, forecast or shadow");
    spec.policy.mode = *mode;
  }
  return absl::OkStatus();
}

// refreshInterval, refitInterval, minHistory, maxForecastError, ignoreNullValues.
absl::Status ParseScheduleKeys(const Settings& settings, ScalerSpec& spec) {
  absl::Status s;
  const Setting* v;
  if ((v = Find(settings, "refreshInterval"))) {
    s = ParseSeconds(v->key, v->value, false, &spec.refresh_interval_seconds);
    if (!s.ok()) return s;
    if (spec.refresh_interval_seconds < 1) return Bad(v->key, v->value, "a duration >= 1s");
  }
  if ((v = Find(settings, "refitInterval"))) {
    s = ParseSeconds(v->key, v->value, false, &spec.refit_interval_seconds);
    if (!s.ok()) return s;
  }
  spec.policy.min_history_seconds = 3600;
  if ((v = Find(settings, "minHistory"))) {
    s = ParseSeconds(v->key, v->value, true, &spec.policy.min_history_seconds);
    if (!s.ok()) return s;
  }
  if ((v = Find(settings, "maxForecastError"))) {
    s = ParseDouble(v->key, v->value, &spec.policy.max_forecast_error);
    if (!s.ok()) return s;
    if (spec.policy.max_forecast_error <= 0) {
      return Bad(v->key, v->value,
                 "a number > 0 (the model's error relative to the naive forecast's, e.g. 1.0)");
    }
  }
  if ((v = Find(settings, "ignoreNullValues"))) {
    s = ParseBool(v->key, v->value, &spec.ignore_null_values);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// namespace, customHeaders, queryParameters, timeout: how the query is sent.
absl::Status ParseQueryKeys(const Settings& settings, ScalerSpec& spec) {
  absl::Status s;
  const Setting* v;
  if ((v = Find(settings, "namespace"))) spec.query.prom_namespace = Trim(v->value);
  if ((v = Find(settings, "customHeaders"))) {
    s = ParsePairs(v->key, v->value, &spec.query.headers);
    if (!s.ok()) return s;
  }
  if ((v = Find(settings, "queryParameters"))) {
    s = ParsePairs(v->key, v->value, &spec.query.params);
    if (!s.ok()) return s;
  }
  if ((v = Find(settings, "timeout"))) {
    // As KEDA: an integer number of milliseconds, or a duration string.
    const std::string t = Trim(v->value);
    const bool digits = std::all_of(t.begin(), t.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    long long ms = 0;
    if (digits && t.size() < 12) {
      ms = std::atoll(t.c_str());
    } else {
      double seconds = 0;
      s = ParseSeconds(v->key, v->value, false, &seconds);
      if (!s.ok()) {
        return Bad(v->key, v->value, "milliseconds (e.g. 3000) or a duration (e.g. 3s)");
      }
      ms = static_cast<long long>(std::llround(seconds * 1000));
    }
    if (ms <= 0) return Bad(v->key, v->value, "a timeout > 0 (milliseconds or a duration)");
    spec.query.timeout = std::chrono::milliseconds(ms);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ScalerSpec> ParseSpec(const std::string& name, const std::string& namespace_,
                                     const std::map<std::string, std::string>& metadata,
                                     const SpecDefaults& defaults) {
  absl::Status s = CheckMetadataSize(metadata);
  if (!s.ok()) return s;
  absl::StatusOr<Settings> settings = EffectiveSettings(metadata);
  if (!settings.ok()) return settings.status();
  ScalerSpec spec;
  spec.name = name;
  spec.namespace_ = namespace_;
  {
    std::map<std::string, std::string> effective;
    for (const auto& [base, setting] : *settings) effective.emplace(base, setting.value);
    spec.trigger_id = TriggerId(effective);
  }
  // In this order: the first error found is the one reported.
  if (s = ParseTargetKeys(*settings, name, defaults, spec); !s.ok()) return s;
  if (s = ParseWindowKeys(*settings, defaults, spec); !s.ok()) return s;
  if (s = ParseModelKeys(*settings, spec); !s.ok()) return s;
  if (s = ParseBudgetKeys(*settings, spec); !s.ok()) return s;
  if (s = ParseScheduleKeys(*settings, spec); !s.ok()) return s;
  if (s = ParseQueryKeys(*settings, spec); !s.ok()) return s;
  spec.policy.horizon_seconds = spec.horizon_seconds;
  return spec;
}

}  // namespace scaler
