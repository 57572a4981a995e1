#pragma once
// CurlHttpTransport: the real HttpTransport, over libcurl. The only file of Augur that
// includes <curl/curl.h> is its .cc.
//
// Connections are reused: finished easy handles go back to a pool (curl keeps their
// connections alive), and all handles share one connection cache, DNS cache and TLS
// session cache through a curl share handle.
//
// Thread-safety: Send() may be called from many threads at once; each call borrows its
// own easy handle. Ownership: the transport owns its handles; destroy it only after
// every Send() has returned.

#include <cstddef>
#include <memory>

#include "promclient/http_transport.h"

namespace promclient {

struct CurlTransportOptions {
  // Handles kept for reuse once returned; more concurrent calls create more handles,
  // and surplus ones are closed when returned.
  int max_idle_handles = 16;
  // Ask for gzip/deflate bodies (worth it over a real network, not over loopback).
  bool accept_compressed = false;
  // A response body beyond this many bytes is abandoned (kResourceExhausted), so that a
  // runaway query cannot exhaust memory.
  size_t max_body_bytes = size_t{512} << 20;
};

class CurlHttpTransport final : public HttpTransport {
 public:
  explicit CurlHttpTransport(CurlTransportOptions options = {});
  ~CurlHttpTransport() override;
  CurlHttpTransport(const CurlHttpTransport&) = delete;
  CurlHttpTransport& operator=(const CurlHttpTransport&) = delete;

  // Only http:// and https:// URLs; redirects are not followed.
  // Errors: kUnavailable (connection refused or reset, DNS failure, TLS handshake or
  // certificate failure), kDeadlineExceeded (request.timeout passed), kInvalidArgument
  // (malformed URL, unsupported scheme or method, unreadable CA/cert/key file),
  // kResourceExhausted (body over max_body_bytes), kInternal (anything else). Messages carry curl's
  // own text, never header values.
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace promclient
