#pragma once
// PrometheusClient: Prometheus' HTTP query API (/api/v1/query, /api/v1/query_range),
// also for Thanos, Mimir and VictoriaMetrics behind a path prefix.
//
// Thread-safety: one client may be used from many threads at once.
// Errors are returned, never thrown, and never contain a secret:
//   kUnavailable        connection refused, DNS failure, HTTP 5xx, HTTP 503 "not ready"
//   kDeadlineExceeded   the request's timeout passed
//   kInvalidArgument    HTTP 400/422 (bad PromQL ...): quotes Prometheus' own message
//   kUnauthenticated / kPermissionDenied   HTTP 401 / 403
//   kNotFound           HTTP 404 (usually a wrong path prefix in the base URL)
//   kResourceExhausted  HTTP 429
// Retry-After: after a 429 or 503 carrying a Retry-After header (seconds or an
// HTTP-date), the client sends nothing to its server until then (at most
// ClientOptions::max_retry_after later); a query asked for meanwhile fails at once with
// the answer's code (kResourceExhausted / kUnavailable), saying until when and why.
//   kDeadlineExceeded / kCancelled   also for Prometheus' errorType "timeout" / "canceled"
//   kInternal           malformed JSON or an unexpected shape, saying where it broke
//                       (byte offset and line/column, or the JSON path)
// Queries are sent as POST application/x-www-form-urlencoded; extra params go in the
// URL's query string. See docs/promclient.md.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "promclient/http_transport.h"

namespace promclient {

using Labels = std::map<std::string, std::string>;

struct Sample {
  double timestamp = 0;  // unix seconds
  double value = 0;      // NaN, +Inf and -Inf are kept as such
};

// One series of a vector (one sample) or matrix (the samples in the range, in time
// order; a gap in the data is simply a missing step).
struct Series {
  Labels labels;
  std::vector<Sample> samples;
};

enum class ResultType { kVector, kMatrix, kScalar, kString };

struct QueryResult {
  ResultType type = ResultType::kVector;
  std::vector<Series> series;    // kVector and kMatrix
  std::optional<Sample> scalar;  // kScalar
  std::string string_value;      // kString (its timestamp is in `scalar->timestamp`)
  std::vector<std::string> warnings;
};

struct ClientOptions {
  // Base URL, path prefix allowed: "http://prometheus:9090",
  // "https://mimir.example/prometheus". "/api/v1/..." is appended.
  std::string base_url;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. X-Scope-OrgID
  std::vector<std::pair<std::string, std::string>> params;   // extra query parameters
  std::chrono::milliseconds timeout{10000};
  TlsOptions tls;
  // Credentials (one kind at most). The token file is re-read when its modification
  // time changes (Kubernetes rotates projected tokens); if it is briefly missing, the
  // last token read is kept. The password file holds the basic-auth password. A
  // configured credential replaces any "Authorization" entry in `headers`.
  std::string bearer_token_file;
  std::string basic_auth_user;
  std::string basic_auth_password_file;
  // The longest a Retry-After is obeyed: a server asking for more is retried after this
  // (a misconfigured proxy must not silence a server for hours).
  std::chrono::seconds max_retry_after{300};
  // The wall clock that Retry-After is measured with (an HTTP-date is wall time);
  // nullptr = std::chrono::system_clock::now. Tests inject one.
  std::function<std::chrono::system_clock::time_point()> clock;
};

// Per-request additions (a ScaledObject's customHeaders, queryParameters, namespace,
// timeout); they are added to the client's own.
struct RequestOptions {
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> params;
  std::optional<std::chrono::milliseconds> timeout;
};

// One client talks to one server; the Retry-After hold applies to all its queries
// (whichever object or endpoint they are for): it is the server that asked.
class PrometheusClient {
 public:
  // Errors: kInvalidArgument for an unusable base URL or unreadable credential files.
  static absl::StatusOr<std::unique_ptr<PrometheusClient>> Create(
      ClientOptions options, std::shared_ptr<HttpTransport> transport);

  // Instant query at `time` (unix seconds; nullopt = the server's now).
  absl::StatusOr<QueryResult> Query(const std::string& promql, std::optional<double> time,
                                    const RequestOptions& request = {}) const;

  // Range query over [start, end] (unix seconds). `step_seconds` nullopt = chosen
  // automatically (the smallest "nice" step keeping <= 11,000 points). Ranges that
  // exceed Prometheus' 11,000 points per series are split and stitched seamlessly
  // (no duplicated or missing boundary sample), at most 100 requests (else
  // kInvalidArgument: use a larger step). Result type kMatrix. The timeout applies to
  // each request.
  absl::StatusOr<QueryResult> QueryRange(const std::string& promql, double start, double end,
                                         std::optional<double> step_seconds,
                                         const RequestOptions& request = {}) const;

  const ClientOptions& options() const;

  // Until when the server asked not to be queried (its last Retry-After, bounded by
  // max_retry_after); nullopt when no hold is in force.
  std::optional<std::chrono::system_clock::time_point> RetryNotBefore() const;

  ~PrometheusClient();
  class Impl;

 private:
  explicit PrometheusClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The time a Retry-After header value names, for an answer received at `now`:
// delay-seconds ("120") or an HTTP-date in any of the three forms HTTP recipients accept
// (RFC 9110 §5.6.7: "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
// "Sun Nov  6 08:49:37 1994"). nullopt for anything else (the header is then ignored).
std::optional<std::chrono::system_clock::time_point> ParseRetryAfter(
    const std::string& value, std::chrono::system_clock::time_point now);

// The step QueryRange picks for a range when none is given (seconds): the smallest of
// 1s, 2s, 5s, 10s, 15s, 30s, 1m, ... giving at most `max_points` points (11,000, one
// request, unless told; at least 2).
double AutoStep(double range_seconds, double max_points = 11000);

}  // namespace promclient
