#pragma once
// The HTTP seam under PrometheusClient: the real CurlHttpTransport, and a fake in
// tests/testing/ keyed by URL, so that parsing and error mapping are tested without a
// server.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace promclient {

struct TlsOptions {
  std::string ca_file;                // PEM bundle to verify the server with ("" = system CAs)
  std::string client_cert_file;       // PEM client certificate for mTLS
  std::string client_key_file;        // PEM key of client_cert_file
  bool insecure_skip_verify = false;  // explicit opt-in; never the default
};

struct HttpRequest {
  std::string url;  // complete, query string included
  // "GET" (default) or "POST". A POST sends `body` with `content_type`
  // (PrometheusClient posts its queries form-encoded, so long PromQL fits).
  std::string method = "GET";
  std::string body;
  std::string content_type = "application/x-www-form-urlencoded";
  std::vector<std::pair<std::string, std::string>> headers;  // may carry secrets
  std::chrono::milliseconds timeout{10000};
  TlsOptions tls;
};

struct HttpResponse {
  long status_code = 0;
  std::string content_type;
  std::string body;
  // The Retry-After header (seconds, or an HTTP date as seconds from now), if any.
  std::optional<std::chrono::seconds> retry_after;
  // Where the time went, as the transport measured it (zero when unknown, e.g. fakes):
  // until the first response byte (the server's work + network), and in total.
  std::chrono::microseconds time_to_first_byte{0};
  std::chrono::microseconds total_time{0};
};

// Thread-safe: Send() may be called from many threads at once.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends `request` (its method: GET or POST) and returns the response. An HTTP error
  // status is a successful transport result (the caller maps it).
  // Errors: kUnavailable (connection refused, DNS failure, TLS handshake failed),
  // kDeadlineExceeded (the request's timeout passed), kInvalidArgument (a request the
  // transport cannot send), kInternal (anything else). Error messages never contain
  // header values.
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace promclient
