// Fuzz target: the request head of augur's own HTTP server (scaler/http_server.h), which
// parses it itself (no civetweb): the request line on its own (ParseHttpRequestLine),
// then the same bytes sent to a real HttpServer on 127.0.0.1 (one server per process;
// each input is one connection, its write side shut so that the server never waits).
// Properties: the reply is a well-formed HTTP/1.1 status line whose code follows from
// the request line (400 malformed, 405 other methods, the handler's for GET/HEAD, 413
// for heads over the limit), or no reply when the bytes end before a complete head.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "scaler/http_server.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr size_t kMaxRequest = 4096;

scaler::HttpServer& Server() {
  static std::unique_ptr<scaler::HttpServer> server = [] {
    scaler::HttpServerOptions options;
    options.max_request_bytes = kMaxRequest;
    options.io_timeout = std::chrono::milliseconds(2000);
    auto s = scaler::HttpServer::Start(
        "127.0.0.1:0",
        [](const std::string& path) {
          scaler::HttpReply reply;
          if (path != "/metrics") reply.status = 404;
          reply.body = path;
          return reply;
        },
        options);
    FUZZ_CHECK(s.ok());
    return std::move(*s);
  }();
  return *server;
}

// The reply to `request`, or nullopt when the harness could not connect at all (after
// thousands of connections a second the loopback stack may refuse one for a moment: a
// harness artifact, not the server's parsing; asked again a few times within 2 s).
std::optional<std::string> Exchange(std::string_view request) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(Server().port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = -1;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int attempt = 0; attempt < 20 && fd < 0 && std::chrono::steady_clock::now() < until;
       ++attempt) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_CHECK(fd >= 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0) return std::nullopt;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server replied early (413) and closed
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  // A reset instead of a FIN: the server's side of the connection leaves TIME_WAIT at
  // once, so thousands of connections a second do not collide with old ones (which
  // reset new connections and lose their replies: a harness artifact, not the server's).
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
  return reply;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<scaler::HttpRequestLine> line = scaler::ParseHttpRequestLine(bytes);
  if (line.ok()) {
    FUZZ_CHECK(line->path.find('?') == std::string::npos);
    FUZZ_CHECK(line->method.find(' ') == std::string::npos);
  } else {
    FUZZ_CHECK(line.status().code() == absl::StatusCode::kInvalidArgument);
  }
  if (size > 3 * kMaxRequest) return 0;

  std::optional<std::string> first = Exchange(bytes);
  if (!first) return 0;  // no connection: nothing was asked of the server
  std::string reply = std::move(*first);
  const size_t head_end = bytes.find("\r\n\r\n");
  // A complete head without a reply happened twice in ~60,000 runs, after ~25,000
  // connections, and never on replay: asked once more, a server bug still shows, a
  // transient one of the loopback harness does not (docs/reliability.md).
  if (reply.empty() && head_end != std::string_view::npos) {
    reply = Exchange(bytes).value_or(std::string());
  }
  if (reply.empty()) {
    // Only when the bytes ended before a complete head (within the limit).
    FUZZ_CHECK(head_end == std::string_view::npos);
    return 0;
  }
  FUZZ_CHECK(reply.rfind("HTTP/1.1 ", 0) == 0 && reply.size() >= 12);
  const int status = std::stoi(reply.substr(9, 3));
  if (head_end == std::string_view::npos || status == 413) {
    FUZZ_CHECK(status == 413);
    return 0;
  }
  if (!line.ok()) {
    FUZZ_CHECK(status == 400);
  } else if (line->method != "GET" && line->method != "HEAD") {
    FUZZ_CHECK(status == 405);
  } else {
    FUZZ_CHECK(status == (line->path == "/metrics" ? 200 : 404));
  }
  return 0;
}
