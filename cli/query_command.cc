// augur-forecast query: reads a metric's history from Prometheus exactly as Augur does
// (promclient) and prints it as CSV or JSON.
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/command.h"
#include "common/duration.h"
#include "promclient/curl_http_transport.h"
#include "promclient/prometheus_client.h"

namespace po = boost::program_options;

namespace cli {
namespace {

constexpr char kName[] = "augur-forecast query";

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

// "K=V" flags into pairs. Errors name the flag, never the value (it may be a secret).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParsePairs(
    const std::string& flag, const std::vector<std::string>& items) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          "--" + flag + " expects NAME=VALUE (e.g. --" + flag +
          (flag == "header" ? " X-Scope-OrgID=tenant1)" : " dedup=false)"));
    }
    pairs.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return pairs;
}

absl::StatusOr<double> Seconds(const std::string& flag, const std::string& text) {
  auto d = common::ParseDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError("--" + flag + ": " + std::string(d.status().message()));
  }
  return std::chrono::duration<double>(*d).count();
}

int RunQuery(int argc, char** argv) {
  std::string server, query, range_text = "1h", step_text, end_text, format = "csv";
  std::string timeout_text = "10s";
  std::vector<std::string> header_items, param_items;
  promclient::ClientOptions options;
  bool instant = false;
  po::options_description desc(
      "Usage: augur-forecast query --server URL --query PROMQL [--range 7d] [options]\n\n"
      "Reads a metric's history from Prometheus (or Thanos, Mimir, VictoriaMetrics) the way\n"
      "Augur does and prints it.\n\n"
      "CSV output: one series prints `timestamp,value` (unix seconds); several series print\n"
      "`series,timestamp,value` where `series` is the label set, e.g. {pod=\"a\"}, quoted as\n"
      "CSV requires. NaN and infinities print as NaN, +Inf, -Inf. A gap in the data is a\n"
      "missing row. JSON output: {\"resultType\", \"series\": [{\"labels\": {...},\n"
      "\"samples\": [[timestamp, value], ...]}], \"warnings\"}, with NaN/Inf as strings.\n"
      "Prometheus' warnings go to stderr.\n\n"
      "Exit status: 0 success, 1 Prometheus or network error (its message on stderr),\n"
      "2 bad usage.\n\nOptions");
  desc.add_options()("help,h", "show this help")(
      "server", po::value(&server),
      "Prometheus base URL, path prefix allowed "
      "(http://prometheus:9090, https://host/prometheus)")("query", po::value(&query),
                                                           "PromQL expression")(
      "range", po::value(&range_text)->default_value(range_text),
      "how much history to read, ending at --end (e.g. 7d)")(
      "end", po::value(&end_text), "end of the range, unix seconds (default: now)")(
      "step", po::value(&step_text),
      "resolution (e.g. 1m; default: the smallest of 1s,2s,5s,..,1d keeping <= 11,000 points)")(
      "instant", po::bool_switch(&instant), "instant query at --end instead of a range")(
      "format", po::value(&format)->default_value(format), "csv or json")(
      "timeout", po::value(&timeout_text)->default_value(timeout_text),
      "per-request timeout (e.g. 10s)")(
      "header", po::value(&header_items)->composing(),
      "extra HTTP header NAME=VALUE, repeatable (e.g. X-Scope-OrgID=tenant1)")(
      "param", po::value(&param_items)->composing(),
      "extra URL query parameter NAME=VALUE, repeatable")(
      "bearer-token-file", po::value(&options.bearer_token_file),
      "file holding a bearer token (re-read when it changes)")(
      "basic-auth-user", po::value(&options.basic_auth_user), "basic auth user")(
      "basic-auth-password-file", po::value(&options.basic_auth_password_file),
      "file holding the basic auth password")("ca-file", po::value(&options.tls.ca_file),
                                              "PEM CA bundle to verify the server")(
      "cert-file", po::value(&options.tls.client_cert_file), "PEM client certificate (mTLS)")(
      "key-file", po::value(&options.tls.client_key_file), "PEM key of --cert-file")(
      "insecure-skip-verify", po::bool_switch(&options.tls.insecure_skip_verify),
      "do not verify the server's certificate (testing only)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << kName << ": " << e.what() << "\n\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  auto usage_error = [&](const std::string& msg) {
    std::cerr << kName << ": " << msg << "\n\n" << desc << "\n";
    return 2;
  };
  if (server.empty()) return usage_error("--server is required (e.g. http://prometheus:9090)");
  if (query.empty()) return usage_error("--query is required");
  if (format != "csv" && format != "json") {
    return usage_error("--format must be csv or json, got \"" + format + "\"");
  }
  auto range = Seconds("range", range_text);
  if (!range.ok()) return usage_error(std::string(range.status().message()));
  if (!(*range > 0)) return usage_error("--range must be > 0 (e.g. 7d)");
  auto timeout = Seconds("timeout", timeout_text);
  if (!timeout.ok()) return usage_error(std::string(timeout.status().message()));
  if (!(*timeout >= 0.001)) return usage_error("--timeout must be at least 1ms (e.g. 10s)");
  std::optional<double> step;
  if (!step_text.empty()) {
    auto s = Seconds("step", step_text);
    if (!s.ok()) return usage_error(std::string(s.status().message()));
    if (!(*s >= 0.001)) return usage_error("--step must be at least 1ms (e.g. 1m)");
    step = *s;
  }
  double end;
  if (end_text.empty()) {
    end = std::floor(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  } else {
    try {
      size_t used = 0;
      end = std::stod(end_text, &used);
      if (used != end_text.size() || !std::isfinite(end)) throw std::invalid_argument("");
    } catch (const std::exception&) {
      return usage_error("--end expects unix seconds (e.g. 1700000000), got \"" + end_text + "\"");
    }
  }
  auto headers = ParsePairs("header", header_items);
  if (!headers.ok()) return usage_error(std::string(headers.status().message()));
  auto params = ParsePairs("param", param_items);
  if (!params.ok()) return usage_error(std::string(params.status().message()));

  options.base_url = server;
  options.headers = *headers;
  options.params = *params;
  options.timeout = std::chrono::milliseconds(std::llround(*timeout * 1000));
  auto client = promclient::PrometheusClient::Create(
      options, std::make_shared<promclient::CurlHttpTransport>());
  if (!client.ok()) {
    std::cerr << kName << ": " << client.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<promclient::QueryResult> result =
      instant ? (*client)->Query(query, end)
              : (*client)->QueryRange(query, end - *range, end, step);
  if (!result.ok()) {
    std::cerr << kName << ": " << absl::StatusCodeToString(result.status().code()) << ": "
              << result.status().message() << "\n";
    return 1;
  }
  for (const std::string& w : result->warnings) std::cerr << "warning: " << w << "\n";
  if ((result->type == promclient::ResultType::kVector ||
       result->type == promclient::ResultType::kMatrix) &&
      result->series.empty()) {
    std::cerr << "note: the query matched no series\n";
  }
  std::cout << (format == "json" ? ToJson(*result) : ToCsv(*result));
  std::cout.flush();
  return std::cout ? 0 : 1;
}

const bool kRegistered = RegisterCommand(
    {"query", "read a metric's history from Prometheus and print it as CSV or JSON", RunQuery});

}  // namespace
}  // namespace cli
