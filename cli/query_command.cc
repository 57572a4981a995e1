// augur-forecast query: reads a metric's history from Prometheus exactly as Augur does
// (promclient) and prints it as CSV or JSON.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "common/flags.h"
#include "promclient/curl_http_transport.h"
#include "promclient/prometheus_client.h"

namespace cli {
namespace {

namespace po = boost::program_options;

// The shortest text that reads back as the same double; NaN and infinities as
// Prometheus writes them.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string FormatTimestamp(double t) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), t == std::floor(t) ? "%.0f" : "%.3f", t);
  return buf;
}

// {a="1", b="x\"y"} as PromQL writes a label set.
std::string FormatLabels(const promclient::Labels& labels) {
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ", ";
    out += name + "=\"";
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

const char* TypeName(promclient::ResultType type) {
  switch (type) {
    case promclient::ResultType::kVector:
      return "vector";
    case promclient::ResultType::kMatrix:
      return "matrix";
    case promclient::ResultType::kScalar:
      return "scalar";
    case promclient::ResultType::kString:
      return "string";
  }
  return "unknown";
}

std::string ToCsv(const promclient::QueryResult& result) {
  std::string out;
  if (result.type == promclient::ResultType::kScalar ||
      result.type == promclient::ResultType::kString) {
    out = "timestamp,value\n";
    if (result.scalar.has_value()) {
      out += FormatTimestamp(result.scalar->timestamp) + "," +
             (result.type == promclient::ResultType::kString ? CsvField(result.string_value)
                                                             : FormatValue(result.scalar->value)) +
             "\n";
    }
    return out;
  }
  const bool labelled = result.series.size() > 1;
  out = labelled ? "series,timestamp,value\n" : "timestamp,value\n";
  for (const promclient::Series& s : result.series) {
    const std::string prefix = labelled ? CsvField(FormatLabels(s.labels)) + "," : "";
    for (const promclient::Sample& sample : s.samples) {
      out += prefix + FormatTimestamp(sample.timestamp) + "," + FormatValue(sample.value) + "\n";
    }
  }
  return out;
}

nlohmann::json JsonValue(double v) {
  if (std::isfinite(v)) return v;
  return FormatValue(v);  // JSON has no NaN or Inf: as Prometheus, a string
}

std::string ToJson(const promclient::QueryResult& result) {
  nlohmann::json out = {{"resultType", TypeName(result.type)}};
  if (result.type == promclient::ResultType::kScalar && result.scalar.has_value()) {
    out["scalar"] = {result.scalar->timestamp, JsonValue(result.scalar->value)};
  } else if (result.type == promclient::ResultType::kString && result.scalar.has_value()) {
    out["string"] = {result.scalar->timestamp, result.string_value};
  } else {
    nlohmann::json series = nlohmann::json::array();
    for (const promclient::Series& s : result.series) {
      nlohmann::json samples = nlohmann::json::array();
      for (const promclient::Sample& sample : s.samples) {
        samples.push_back({sample.timestamp, JsonValue(sample.value)});
      }
      series.push_back({{"labels", s.labels}, {"samples", std::move(samples)}});
    }
    out["series"] = std::move(series);
  }
  if (!result.warnings.empty()) out["warnings"] = result.warnings;
  return out.dump() + "\n";
}

class QueryCommand final : public Command {
 public:
  std::string Caption() const override {
    return "Usage: augur-forecast query --server URL --query PROMQL [--range 7d] [options]\n\n"
           "Reads a metric's history from Prometheus (or Thanos, Mimir, VictoriaMetrics) the way\n"
           "Augur does and prints it.\n\n"
           "CSV output: one series prints `timestamp,value` (unix seconds); several series print\n"
           "`series,timestamp,value` where `series` is the label set, e.g. {pod=\"a\"}, quoted as\n"
           "CSV requires. NaN and infinities print as NaN, +Inf, -Inf. A gap in the data is a\n"
           "missing row. JSON output: {\"resultType\", \"series\": [{\"labels\": {...},\n"
           "\"samples\": [[timestamp, value], ...]}], \"warnings\"}, with NaN/Inf as strings.\n"
           "Prometheus' warnings go to stderr.\n\n"
           "Exit status: 0 success, 1 Prometheus or network error (its message on stderr),\n"
           "2 bad usage.\n\nOptions";
  }

  void DefineFlags(common::FlagSet& flags) override {
    // clang-format off
    flags.Add()
        ("server", po::value(&server_),
         "Prometheus base URL, path prefix allowed (http://prometheus:9090, "
         "https://host/prometheus)")
        ("query", po::value(&query_), "PromQL expression")
        ("range", po::value(&range_text_)->default_value(range_text_),
         "how much history to read, ending at --end (e.g. 7d)")
        ("end", po::value(&end_text_),
         "end of the range: unix seconds, now-<duration> or RFC 3339 (default: now)")
        ("step", po::value(&step_text_),
         "resolution (e.g. 1m; default: the smallest of 1s,2s,5s,..,1d keeping <= 11,000 points)")
        ("instant", po::bool_switch(&instant_), "instant query at --end instead of a range")
        ("format", po::value(&format_)->default_value(format_), "csv or json")
        ("timeout", po::value(&timeout_text_)->default_value(timeout_text_),
         "per-request timeout (e.g. 10s)")
        ("header", po::value(&header_items_)->composing(),
         "extra HTTP header NAME=VALUE, repeatable (e.g. X-Scope-OrgID=tenant1)")
        ("param", po::value(&param_items_)->composing(),
         "extra URL query parameter NAME=VALUE, repeatable")
        ("bearer-token-file", po::value(&options_.bearer_token_file),
         "file holding a bearer token (re-read when it changes)")
        ("basic-auth-user", po::value(&options_.basic_auth_user), "basic auth user")
        ("basic-auth-password-file", po::value(&options_.basic_auth_password_file),
         "file holding the basic auth password")
        ("ca-file", po::value(&options_.tls.ca_file), "PEM CA bundle to verify the server")
        ("cert-file", po::value(&options_.tls.client_cert_file), "PEM client certificate (mTLS)")
        ("key-file", po::value(&options_.tls.client_key_file), "PEM key of --cert-file")
        ("insecure-skip-verify", po::bool_switch(&options_.tls.insecure_skip_verify),
         "do not verify the server's certificate (testing only)");
    // clang-format on
  }

  absl::Status Run(const common::FlagSet&, const CommandEnv& env) override;

 private:
  std::string server_, query_, range_text_ = "1h", step_text_, end_text_, format_ = "csv";
  std::string timeout_text_ = "10s";
  std::vector<std::string> header_items_, param_items_;
  promclient::ClientOptions options_;
  bool instant_ = false;
};

absl::Status QueryCommand::Run(const common::FlagSet&, const CommandEnv& env) {
  if (server_.empty()) {
    return common::UsageError("--server is required (e.g. http://prometheus:9090)");
  }
  if (query_.empty()) return common::UsageError("--query is required");
  if (format_ != "csv" && format_ != "json") {
    return common::UsageError("--format must be csv or json, got \"" + format_ + "\"");
  }
  double range = 0, timeout = 0, step = 0;
  absl::Status s = common::ParseDurationFlags(
      {{"range", range_text_, &range}, {"timeout", timeout_text_, &timeout}});
  if (s.ok()) s = common::ParseOptionalDurationFlags({{"step", step_text_, &step}});
  if (!s.ok()) return s;
  if (!(range > 0)) return common::UsageError("--range must be > 0 (e.g. 7d)");
  if (!(timeout >= 0.001)) return common::UsageError("--timeout must be at least 1ms (e.g. 10s)");
  if (!step_text_.empty() && !(step >= 0.001)) {
    return common::UsageError("--step must be at least 1ms (e.g. 1m)");
  }
  const double now = std::floor(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  double end = now;
  if (!end_text_.empty()) {
    absl::StatusOr<double> t = common::TimeFlag("end", end_text_, now);
    if (!t.ok()) return t.status();
    end = *t;
  }
  auto headers = common::KeyValueFlag("header", header_items_, "X-Scope-OrgID=tenant1");
  if (!headers.ok()) return headers.status();
  auto params = common::KeyValueFlag("param", param_items_, "dedup=false");
  if (!params.ok()) return params.status();

  promclient::ClientOptions options = options_;
  options.base_url = server_;
  options.headers = *headers;
  options.params = *params;
  options.timeout = std::chrono::milliseconds(std::llround(timeout * 1000));
  auto client = promclient::PrometheusClient::Create(
      options, std::make_shared<promclient::CurlHttpTransport>());
  if (!client.ok()) return client.status();
  const std::optional<double> step_seconds =
      step_text_.empty() ? std::nullopt : std::optional<double>(step);
  absl::StatusOr<promclient::QueryResult> result =
      instant_ ? (*client)->Query(query_, end)
               : (*client)->QueryRange(query_, end - range, end, step_seconds);
  if (!result.ok()) {
    // The code name first (UNAVAILABLE, DEADLINE_EXCEEDED, ...): scripts match on it.
    return absl::Status(result.status().code(),
                        absl::StrCat(absl::StatusCodeToString(result.status().code()), ": ",
                                     result.status().message()));
  }
  for (const std::string& w : result->warnings) *env.err << "warning: " << w << "\n";
  if ((result->type == promclient::ResultType::kVector ||
       result->type == promclient::ResultType::kMatrix) &&
      result->series.empty()) {
    *env.err << "note: the query matched no series\n";
  }
  *env.out << (format_ == "json" ? ToJson(*result) : ToCsv(*result));
  env.out->flush();
  if (!*env.out) return absl::DataLossError("cannot write the result to stdout");
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Command> NewQueryCommand() { return std::make_unique<QueryCommand>(); }

}  // namespace cli
