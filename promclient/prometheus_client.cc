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
#include <optional>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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

using TimePoint = std::chrono::system_clock::time_point;

std::string FormatUtc(TimePoint t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromChrono(t), absl::UTCTimeZone());
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

  std::optional<TimePoint> RetryNotBefore() const {
    std::lock_guard<std::mutex> lock(hold_mu_);
    if (!hold_.has_value() || Now() >= hold_->until) return std::nullopt;
    return hold_->until;
  }

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
        return absl::Status(part.status().code(),
                            absl::StrFormat("request %d of %d of a split range query: %s",
                                            chunk + 1, requests, part.status().message()));
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

    absl::Status held = CheckHold();
    if (!held.ok()) return held;
    const std::string where = redacted_base_ + endpoint;
    absl::StatusOr<HttpResponse> response = transport_->Send(http);
    if (!response.ok()) {
      return absl::Status(response.status().code(),
                          absl::StrCat("Prometheus at ", where, ": ", response.status().message()));
    }
    absl::StatusOr<QueryResult> result = ParseResponse(*response, where);
    if (!result.ok() && (response->status_code == 429 || response->status_code == 503) &&
        !response->retry_after.empty()) {
      return Hold(result.status(), response->retry_after);
    }
    return result;
  }

  TimePoint Now() const {
    return options_.clock ? options_.clock() : std::chrono::system_clock::now();
  }

  // A query while a Retry-After hold is in force fails without reaching the server.
  absl::Status CheckHold() const {
    std::lock_guard<std::mutex> lock(hold_mu_);
    if (!hold_.has_value()) return absl::OkStatus();
    const TimePoint now = Now();
    if (now >= hold_->until) {
      hold_.reset();
      return absl::OkStatus();
    }
    const double left = std::chrono::duration<double>(hold_->until - now).count();
    return absl::Status(
        hold_->code,
        absl::StrFormat("not querying Prometheus at %s until %s (%.0f s from now), as its "
                        "Retry-After asked: %s",
                        redacted_base_, FormatUtc(hold_->until), std::ceil(left), hold_->why));
  }

  // `error` came with a Retry-After header `value`: holds queries back until then
  // (bounded by max_retry_after) and says so in the returned error.
  absl::Status Hold(const absl::Status& error, const std::string& value) const {
    const TimePoint now = Now();
    std::optional<TimePoint> until = ParseRetryAfter(value, now);
    const std::string shown = BodyExcerpt(value.substr(0, 64));
    if (!until.has_value()) {
      return absl::Status(error.code(), absl::StrCat(error.message(), " (Retry-After \"", shown,
                                                     "\" ignored: expected seconds or an "
                                                     "HTTP-date)"));
    }
    const TimePoint limit = now + options_.max_retry_after;
    std::string bounded;
    if (*until > limit) {
      until = limit;
      bounded = absl::StrCat(", capped at ", options_.max_retry_after.count(), " s");
    }
    if (*until <= now) return error;
    const double wait = std::chrono::duration<double>(*until - now).count();
    std::lock_guard<std::mutex> lock(hold_mu_);
    if (!hold_.has_value() || hold_->until < *until) {
      hold_ = HoldState{*until, error.code(), std::string(error.message())};
    }
    return absl::Status(
        error.code(),
        absl::StrFormat("%s (Retry-After: %s: no query to this server until %s, %.0f s%s)",
                        error.message(), shown, FormatUtc(*until), std::ceil(wait), bounded));
  }

  static absl::StatusOr<QueryResult> ParseResponse(const HttpResponse& response,
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

  struct HoldState {
    TimePoint until;
    absl::StatusCode code;  // of the answer that asked (429: kResourceExhausted)
    std::string why;        // its message
  };
  mutable std::mutex hold_mu_;
  mutable std::optional<HoldState> hold_;
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

std::optional<std::chrono::system_clock::time_point> PrometheusClient::RetryNotBefore() const {
  return impl_->RetryNotBefore();
}

std::optional<std::chrono::system_clock::time_point> ParseRetryAfter(
    const std::string& value, std::chrono::system_clock::time_point now) {
  const absl::string_view v = absl::StripAsciiWhitespace(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delay-seconds; anything beyond ~30 years is as good as forever (and fits the clock).
    constexpr int64_t kForever = int64_t{1} << 30;
    int64_t seconds = 0;
    for (char c : v) {
      seconds = std::min(kForever, seconds * 10 + (c - '0'));
    }
    return now + std::chrono::seconds(seconds);
  }
  static constexpr const char* kForms[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate, what servers send
      "%A, %d-%b-%y %H:%M:%S GMT",  // obsolete RFC 850
      "%a %b %e %H:%M:%S %Y",       // obsolete asctime()
  };
  for (const char* form : kForms) {
    absl::Time t;
    std::string error;
    if (absl::ParseTime(form, std::string(v), absl::UTCTimeZone(), &t, &error)) {
      return absl::ToChronoTime(t);
    }
  }
  return std::nullopt;
}

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
