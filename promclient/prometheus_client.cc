#include "promclient/prometheus_client.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "promclient/response_parser.h"

namespace promclient {
namespace {

// Prometheus refuses range queries with more than this many points per series.
constexpr int64_t kMaxPointsPerRequest = 11000;
// A range needing more requests than this is refused rather than hammering the server.
constexpr int64_t kMaxRangeRequests = 100;

// ---------------------------------------------------------------------------------
// URLs and form encoding.

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '~';
}

void AppendEncoded(std::string& out, absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
}

using Params = std::vector<std::pair<std::string, std::string>>;

std::string FormEncode(const Params& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out.push_back('&');
    AppendEncoded(out, key);
    out.push_back('=');
    AppendEncoded(out, value);
  }
  return out;
}

// The base URL as it may appear in messages: any "user:password@" is masked.
std::string RedactUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const size_t authority = scheme_end + 3;
  const size_t authority_end = url.find_first_of("/?#", authority);
  const size_t at = url.rfind('@', authority_end == std::string::npos ? url.size() : authority_end);
  if (at == std::string::npos || at < authority) return url;
  return url.substr(0, authority) + "***@" + url.substr(at + 1);
}

std::string FormatSeconds(double seconds) {
  // Millisecond precision is what Prometheus keeps.
  return absl::StrFormat("%.3f", seconds);
}

// ---------------------------------------------------------------------------------
// Credential files, re-read when their modification time (or size) changes.

class FileSecret {
 public:
  explicit FileSecret(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  // Errors: kInvalidArgument (unreadable or empty file). The message names the file,
  // never its content.
  absl::StatusOr<std::string> Get() {
    struct stat st;
    if (stat(path_.c_str(), &st) != 0) {
      std::lock_guard<std::mutex> lock(mu_);
      // Mid-rotation the file may briefly vanish: keep using what was read last.
      if (loaded_) return value_;
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read credential file \"", path_, "\": ", std::strerror(errno)));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (loaded_ && st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec &&
        st.st_size == size_ && st.st_ino == inode_) {
      return value_;
    }
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      if (loaded_) return value_;
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read credential file \"", path_, "\": ", std::strerror(errno)));
    }
    std::ostringstream content;
    content << in.rdbuf();
    std::string value(absl::StripAsciiWhitespace(content.str()));
    if (value.empty()) {
      if (loaded_) return value_;
      return absl::InvalidArgumentError(
          absl::StrCat("credential file \"", path_, "\" is empty; expected a secret in it"));
    }
    value_ = std::move(value);
    mtime_ = st.st_mtim;
    size_ = st.st_size;
    inode_ = st.st_ino;
    loaded_ = true;
    return value_;
  }

 private:
  const std::string path_;
  std::mutex mu_;
  bool loaded_ = false;
  std::string value_;
  timespec mtime_{};
  off_t size_ = 0;
  ino_t inode_ = 0;
};

// A short, printable excerpt of a non-JSON error body (a proxy's HTML page, ...).
std::string BodyExcerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 200)) {
    out.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : ' ');
  }
  out = std::string(absl::StripAsciiWhitespace(out));
  if (body.size() > 200) out += "...";
  return out;
}

absl::StatusCode CodeForHttpStatus(long http, const std::string& error_type) {
  if (error_type == "timeout") return absl::StatusCode::kDeadlineExceeded;
  if (error_type == "canceled") return absl::StatusCode::kCancelled;
  if (http == 400 || http == 422) return absl::StatusCode::kInvalidArgument;
  if (http == 401) return absl::StatusCode::kUnauthenticated;
  if (http == 403) return absl::StatusCode::kPermissionDenied;
  if (http == 404) return absl::StatusCode::kNotFound;
  if (http == 429) return absl::StatusCode::kResourceExhausted;
  if (http >= 500) return absl::StatusCode::kUnavailable;
  if (http >= 400) return absl::StatusCode::kInvalidArgument;
  if (error_type == "bad_data") return absl::StatusCode::kInvalidArgument;
  if (error_type == "unavailable") return absl::StatusCode::kUnavailable;
  return absl::StatusCode::kInternal;
}

}  // namespace

// -----------------------------------------------------------------------------------

class PrometheusClient::Impl {
 public:
  Impl(ClientOptions options, std::shared_ptr<HttpTransport> transport)
      : options_(std::move(options)), transport_(std::move(transport)) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') {
      options_.base_url.pop_back();
    }
    redacted_base_ = RedactUrl(options_.base_url);
    if (!options_.bearer_token_file.empty()) {
      bearer_ = std::make_unique<FileSecret>(options_.bearer_token_file);
    }
    if (!options_.basic_auth_password_file.empty()) {
      basic_password_ = std::make_unique<FileSecret>(options_.basic_auth_password_file);
    }
  }

  absl::Status Validate() {
    const std::string& url = options_.base_url;
    const bool http = absl::StartsWith(url, "http://");
    const bool https = absl::StartsWith(url, "https://");
    if (!http && !https) {
      return absl::InvalidArgumentError(
          absl::StrCat("Prometheus base URL \"", redacted_base_,
                       "\" is not usable: expected http://host[:port][/prefix] or https://..."));
    }
    const size_t host_start = url.find("://") + 3;
    if (host_start >= url.size() || url[host_start] == '/' ||
        url.find_first_of("?#", host_start) != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Prometheus base URL \"", redacted_base_,
          "\" is not usable: expected a host and an optional path prefix, without '?' or '#'"));
    }
    if (options_.timeout.count() <= 0) {
      return absl::InvalidArgumentError("Prometheus client timeout must be positive");
    }
    if (!options_.basic_auth_user.empty() && basic_password_ == nullptr) {
      return absl::InvalidArgumentError(
          "basic auth needs a password file (basic_auth_password_file) along with the user");
    }
    if (basic_password_ != nullptr && options_.basic_auth_user.empty()) {
      return absl::InvalidArgumentError("basic auth needs a user along with the password file");
    }
    if (bearer_ != nullptr && basic_password_ != nullptr) {
      return absl::InvalidArgumentError(
          "configure either a bearer token file or basic auth, not both");
    }
    if (bearer_ != nullptr) {
      absl::StatusOr<std::string> token = bearer_->Get();
      if (!token.ok()) return token.status();
    }
    if (basic_password_ != nullptr) {
      absl::StatusOr<std::string> password = basic_password_->Get();
      if (!password.ok()) return password.status();
    }
    return absl::OkStatus();
  }

  const ClientOptions& options() const { return options_; }

  absl::StatusOr<QueryResult> Query(const std::string& promql, std::optional<double> time,
                                    const RequestOptions& request) const {
    Params form = {{"query", promql}};
    if (time.has_value()) {
      if (!std::isfinite(*time) || std::fabs(*time) > 9e12) {
        return absl::InvalidArgumentError(
            "query time must be a finite unix time in seconds (within +/-9e12)");
      }
      form.emplace_back("time", FormatSeconds(*time));
    }
    return Call("/api/v1/query", form, request);
  }

  absl::StatusOr<QueryResult> QueryRange(const std::string& promql, double start, double end,
                                         std::optional<double> step_seconds,
                                         const RequestOptions& request) const {
    if (!std::isfinite(start) || !std::isfinite(end) || end < start) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "range query needs finite start <= end (unix seconds), got start=%.3f end=%.3f", start,
          end));
    }
    // Prometheus keeps times as int64 milliseconds; beyond about year 30000 they overflow.
    constexpr double kMaxAbsSeconds = 9e12;
    if (std::fabs(start) > kMaxAbsSeconds || std::fabs(end) > kMaxAbsSeconds) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "range query times must be unix seconds within +/-9e12, got start=%g end=%g", start,
          end));
    }
    double step = step_seconds.has_value() ? *step_seconds : AutoStep(end - start);
    if (step > kMaxAbsSeconds) {
      return absl::InvalidArgumentError(
          absl::StrFormat("range query step must be at most 9e12 seconds, got %g", step));
    }
    if (!std::isfinite(step) || step < 0.001) {
      return absl::InvalidArgumentError(
          absl::StrFormat("range query step must be at least 1ms (0.001 seconds), got %g", step));
    }
    // Work on Prometheus' millisecond grid so that chunk boundaries are exact.
    const int64_t start_ms = std::llround(start * 1000);
    const int64_t end_ms = std::llround(end * 1000);
    const int64_t step_ms = std::llround(step * 1000);
    const int64_t points = (end_ms - start_ms) / step_ms + 1;
    const int64_t requests = (points + kMaxPointsPerRequest - 1) / kMaxPointsPerRequest;
    if (requests > kMaxRangeRequests) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "range query of %d points per series would need %d requests (at most %d allowed, "
          "%d points each); use a larger step",
          points, requests, kMaxRangeRequests, kMaxPointsPerRequest));
    }
    QueryResult merged;
    merged.type = ResultType::kMatrix;
    std::map<Labels, size_t> index;
    for (int64_t chunk = 0; chunk < requests; ++chunk) {
      const int64_t chunk_start = start_ms + chunk * kMaxPointsPerRequest * step_ms;
      const int64_t chunk_end =
          std::min(end_ms, chunk_start + (kMaxPointsPerRequest - 1) * step_ms);
      Params form = {{"query", promql},
                     {"start", FormatSeconds(chunk_start / 1000.0)},
                     {"end", FormatSeconds(chunk_end / 1000.0)},
                     {"step", FormatSeconds(step_ms / 1000.0)}};
      absl::StatusOr<QueryResult> part = Call("/api/v1/query_range", form, request);
      if (!part.ok()) {
        if (requests == 1) return part.status();
        absl::Status status(part.status().code(),
                            absl::StrFormat("request %d of %d of a split range query: %s",
                                            chunk + 1, requests, part.status().message()));
        part.status().ForEachPayload([&status](absl::string_view key, const absl::Cord& value) {
          status.SetPayload(key, value);
        });
        return status;
      }
      if (part->type != ResultType::kMatrix) {
        return absl::InternalError(
            "unexpected response from Prometheus: a range query returned a non-matrix result");
      }
      if (requests == 1) return std::move(part).value();
      for (std::string& w : part->warnings) {
        if (std::find(merged.warnings.begin(), merged.warnings.end(), w) == merged.warnings.end()) {
          merged.warnings.push_back(std::move(w));
        }
      }
      for (Series& s : part->series) {
        auto [it, inserted] = index.try_emplace(s.labels, merged.series.size());
        if (inserted) {
          merged.series.push_back(std::move(s));
          continue;
        }
        std::vector<Sample>& into = merged.series[it->second].samples;
        // Chunks are disjoint on the step grid; the check only guards against a server
        // that answers outside the asked range.
        for (const Sample& sample : s.samples) {
          if (into.empty() || sample.timestamp > into.back().timestamp) into.push_back(sample);
        }
      }
    }
    return merged;
  }

 private:
  absl::StatusOr<QueryResult> Call(const std::string& endpoint, const Params& form,
                                   const RequestOptions& request) const {
    HttpRequest http;
    http.method = "POST";
    http.url = options_.base_url + endpoint;
    Params url_params = options_.params;
    url_params.insert(url_params.end(), request.params.begin(), request.params.end());
    if (!url_params.empty()) http.url += "?" + FormEncode(url_params);
    http.body = FormEncode(form);
    http.timeout = request.timeout.value_or(options_.timeout);
    if (http.timeout.count() <= 0) {
      return absl::InvalidArgumentError("request timeout must be positive");
    }
    http.tls = options_.tls;
    const bool has_credentials = bearer_ != nullptr || basic_password_ != nullptr;
    for (const auto* list : {&options_.headers, &request.headers}) {
      for (const auto& header : *list) {
        // Configured credentials win over a stray Authorization header.
        if (has_credentials && absl::EqualsIgnoreCase(header.first, "Authorization")) continue;
        http.headers.push_back(header);
      }
    }
    if (bearer_ != nullptr) {
      absl::StatusOr<std::string> token = bearer_->Get();
      if (!token.ok()) return token.status();
      http.headers.emplace_back("Authorization", "Bearer " + *token);
    } else if (basic_password_ != nullptr) {
      absl::StatusOr<std::string> password = basic_password_->Get();
      if (!password.ok()) return password.status();
      http.headers.emplace_back(
          "Authorization",
          "Basic " + absl::Base64Escape(options_.basic_auth_user + ":" + *password));
    }
    http.headers.emplace_back("Accept", "application/json");

    const std::string where = redacted_base_ + endpoint;
    absl::StatusOr<HttpResponse> response = transport_->Send(http);
    if (!response.ok()) {
      return absl::Status(response.status().code(),
                          absl::StrCat("Prometheus at ", where, ": ", response.status().message()));
    }
    return ParseResponse(*response, where);
  }

  static absl::StatusOr<QueryResult> ParseResponse(const HttpResponse& response,
                                                   const std::string& where) {
    absl::StatusOr<QueryResult> result = ParseBody(response, where);
    if (!result.ok() && response.retry_after && response.status_code >= 400) {
      absl::Status status = result.status();
      status.SetPayload(kRetryAfterPayload,
                        absl::Cord(std::to_string(response.retry_after->count())));
      return status;
    }
    return result;
  }

  static absl::StatusOr<QueryResult> ParseBody(const HttpResponse& response,
                                               const std::string& where) {
    internal::ParsedResponse parsed = internal::ParseResponseBody(response.body);
    const long http = response.status_code;
    if (!parsed.json_ok) {
      if (http < 200 || http >= 300) {
        return absl::Status(CodeForHttpStatus(http, ""),
                            absl::StrCat("Prometheus at ", where, " answered HTTP ", http, ": ",
                                         BodyExcerpt(response.body)));
      }
      return absl::InternalError(absl::StrCat("malformed JSON from Prometheus at ", where, " (",
                                              response.body.size(),
                                              " bytes): ", parsed.syntax_error.message()));
    }
    if (parsed.status != "success" || http < 200 || http >= 300) {
      std::string error = parsed.error;
      if (error.empty()) {
        error = parsed.status.empty()
                    ? BodyExcerpt(response.body)
                    : absl::StrCat("status \"", parsed.status, "\" without a message");
      }
      return absl::Status(
          CodeForHttpStatus(http, parsed.error_type),
          absl::StrCat("Prometheus at ", where, " answered HTTP ", http,
                       parsed.error_type.empty() ? "" : absl::StrCat(" (", parsed.error_type, ")"),
                       ": ", error));
    }
    if (!parsed.has_data) {
      return absl::InternalError(
          absl::StrCat("unexpected response from Prometheus at ", where, ": no \"data\""));
    }
    if (!parsed.data_error.ok()) {
      return absl::Status(parsed.data_error.code(),
                          absl::StrCat(parsed.data_error.message(), " (", where, ")"));
    }
    parsed.result.warnings = std::move(parsed.warnings);
    return std::move(parsed.result);
  }

  ClientOptions options_;
  std::shared_ptr<HttpTransport> transport_;
  std::string redacted_base_;
  std::unique_ptr<FileSecret> bearer_;
  std::unique_ptr<FileSecret> basic_password_;
};

absl::StatusOr<std::unique_ptr<PrometheusClient>> PrometheusClient::Create(
    ClientOptions options, std::shared_ptr<HttpTransport> transport) {
  if (transport == nullptr) {
    return absl::InvalidArgumentError("PrometheusClient needs an HTTP transport, got null");
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(transport));
  absl::Status s = impl->Validate();
  if (!s.ok()) return s;
  return std::unique_ptr<PrometheusClient>(new PrometheusClient(std::move(impl)));
}

PrometheusClient::PrometheusClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PrometheusClient::~PrometheusClient() = default;

absl::StatusOr<QueryResult> PrometheusClient::Query(const std::string& promql,
                                                    std::optional<double> time,
                                                    const RequestOptions& request) const {
  return impl_->Query(promql, time, request);
}

absl::StatusOr<QueryResult> PrometheusClient::QueryRange(const std::string& promql, double start,
                                                         double end,
                                                         std::optional<double> step_seconds,
                                                         const RequestOptions& request) const {
  return impl_->QueryRange(promql, start, end, step_seconds, request);
}

const ClientOptions& PrometheusClient::options() const { return impl_->options(); }

double AutoStep(double range_seconds, double max_points) {
  static constexpr double kNiceSteps[] = {1,   2,   5,    10,   15,   30,    60,    120,   300,
                                          600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400};
  if (!(range_seconds > 0)) return kNiceSteps[0];
  // points = floor(range / step) + 1 <= max_points
  const double min_step = range_seconds / (std::max(max_points, 2.0) - 1);
  for (double step : kNiceSteps) {
    if (step >= min_step) return step;
  }
  return std::ceil(min_step / 86400) * 86400;  // whole days beyond one day
}

}  // namespace promclient
