#pragma once
// A small HTTP/1.1 server for augur's own endpoints (/metrics, /healthz, /readyz):
// GET and HEAD only, one request per connection (`Connection: close`), a bounded number
// of connections served at once. Not a general-purpose web server.
//
// Every reply, errors included (400, 405, 413, 503 "too many connections"), is followed
// by a lingering close: the server ends its side (FIN), then reads and discards what the
// client still sends (a body, an oversized head, a pipelined request) until the client
// closes, for at most `linger_timeout` and `max_discard_bytes`. Closing with unread
// bytes would make the kernel reset the connection, and a client still sending would
// see "connection reset" instead of the answer.
//
// Thread-safety: Start() returns a running server; the handler is called from the
// server's connection threads, possibly concurrently, so it must be thread-safe.
// Stop() (also run by the destructor) closes the listener and waits for the
// connections in progress (each bounded by the I/O timeout; lingering ones end at once).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace scaler {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // More response headers (name, value); neither may contain CR or LF.
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpServerOptions {
  size_t max_connections = 32;                        // beyond: 503 at once
  std::chrono::milliseconds io_timeout{5000};         // per read/write
  size_t max_request_bytes = 16 * 1024;               // request line + headers
  // Lingering close (above): how long, and how much, to read after a reply. Connections
  // answered 503 because max_connections are busy linger too, at most max_connections
  // of them at once (beyond that they are closed at once, as a last resort).
  std::chrono::milliseconds linger_timeout{2000};
  size_t max_discard_bytes = 64 * 1024 * 1024;
};

// The request line of an HTTP/1.x request head ("GET /metrics?x=1 HTTP/1.1\r\n...").
struct HttpRequestLine {
  std::string method;  // as sent, e.g. "GET"
  std::string path;    // the request target without its query string
};

// Parses the first line of `head` (up to the first CRLF, or all of it without one).
// Only the request line is read; header lines are not interpreted.
// Errors: kInvalidArgument ("malformed request line: ...").
absl::StatusOr<HttpRequestLine> ParseHttpRequestLine(std::string_view head);

// Parses "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 = any free port.
// Errors: kInvalidArgument saying what is expected.
absl::Status ParseListenAddress(std::string_view address, std::string* host, int* port);

class HttpServer {
 public:
  // `path` excludes the query string; the handler must not throw (an exception becomes
  // a 500 reply).
  using Handler = std::function<HttpReply(const std::string& path)>;

  // Binds `address` ("127.0.0.1:0", "0.0.0.0:8080", "[::]:8080") and starts serving.
  // Errors: kInvalidArgument (bad address), kUnavailable (bind/listen failed, e.g.
  // address in use: the message names the address and the system's reason).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(std::string_view address,
                                                           Handler handler,
                                                           HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }              // the bound port
  const std::string& address() const { return address_; }  // "host:port" as bound
  void Stop();

 private:
  HttpServer(int listen_fd, int port, std::string address, Handler handler,
             HttpServerOptions options);
  void AcceptLoop();
  // Returns whether a reply was sent (not when the client went quiet or away first).
  bool Serve(int fd);
  // Ends our side and reads until the client closes (bounded, see HttpServerOptions);
  // returns early when Stop() is called.
  void LingeringClose(int fd);

  int listen_fd_;
  int port_;
  std::string address_;
  Handler handler_;
  HttpServerOptions options_;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable idle_;
  size_t active_ = 0;     // connections being served
  size_t rejecting_ = 0;  // connections answered 503, lingering
};

}  // namespace scaler
