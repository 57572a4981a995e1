#include "scaler/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>

#include "absl/status/status.h"

namespace scaler {
namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // peer gone or timed out: nothing more to do
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void Reply(int fd, const HttpReply& reply, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + StatusText(reply.status) +
                    "\r\nContent-Type: " + reply.content_type +
                    "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                    "\r\nConnection: close\r\n";
  for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  if (!head_only) out += reply.body;
  WriteAll(fd, out);
}

void SetTimeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

}  // namespace

absl::Status ParseListenAddress(std::string_view address, std::string* host, int* port) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError("invalid listen address \"" + std::string(address) +
                                      "\": " + std::string(why) +
                                      "; expected host:port such as 0.0.0.0:8080, "
                                      "127.0.0.1:0 or [::]:8080");
  };
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view h = address.substr(0, colon);
  std::string_view p = address.substr(colon + 1);
  if (!h.empty() && h.front() == '[') {
    if (h.size() < 2 || h.back() != ']') return bad("unbalanced brackets");
    h = h.substr(1, h.size() - 2);
  }
  if (p.empty()) return bad("no port");
  int value = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return bad("the port is not a number");
    value = value * 10 + (c - '0');
    if (value > 65535) return bad("the port is above 65535");
  }
  *host = h.empty() ? "0.0.0.0" : std::string(h);
  *port = value;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(std::string_view address,
                                                              Handler handler,
                                                              HttpServerOptions options) {
  std::string host;
  int port = 0;
  absl::Status parsed = ParseListenAddress(address, &host, &port);
  if (!parsed.ok()) return parsed;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port_text = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found);
  if (rc != 0) {
    return absl::InvalidArgumentError("cannot resolve listen host \"" + host +
                                      "\": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 64) == 0) break;
    last_error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError("cannot listen for HTTP on " + std::string(address) + ": " +
                                  last_error);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port = bound.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::unique_ptr<HttpServer>(new HttpServer(fd, bound_port,
                                                    shown_host + ":" + std::to_string(bound_port),
                                                    std::move(handler), options));
}

HttpServer::HttpServer(int listen_fd, int port, std::string address, Handler handler,
                       HttpServerOptions options)
    : listen_fd_(listen_fd),
      port_(port),
      address_(std::move(address)),
      handler_(std::move(handler)),
      options_(options) {
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  // shutdown() wakes the blocked accept(); the accept thread then closes the socket.
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return active_ == 0 && rejecting_ == 0; });
}

void HttpServer::AcceptLoop() {
  while (!stopping_.load()) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stopping_.load()) break;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: give the connections in flight a chance to finish.
        std::unique_lock<std::mutex> lock(mu_);
        idle_.wait_for(lock, std::chrono::milliseconds(50));
        continue;
      }
      break;
    }
    SetTimeouts(fd, options_.io_timeout);
    bool reject = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (active_ >= options_.max_connections) {
        if (rejecting_ >= options_.max_connections) {
          // Flooded: no thread to spare even for a lingering 503.
          Reply(fd, {503, "text/plain; charset=utf-8", "too many connections\n", {}}, false);
          ::close(fd);
          continue;
        }
        reject = true;
        ++rejecting_;
      } else {
        ++active_;
      }
    }
    std::thread([this, fd, reject] {
      bool replied = true;
      if (reject) {
        Reply(fd, {503, "text/plain; charset=utf-8", "too many connections\n", {}}, false);
      } else {
        replied = Serve(fd);
      }
      if (replied) LingeringClose(fd);
      ::close(fd);
      std::lock_guard<std::mutex> lock(mu_);
      --(reject ? rejecting_ : active_);
      idle_.notify_all();
    }).detach();
  }
  ::close(listen_fd_);
}

void HttpServer::LingeringClose(int fd) {
  ::shutdown(fd, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + options_.linger_timeout;
  size_t discarded = 0;
  char buf[16384];
  while (discarded <= options_.max_discard_bytes && !stopping_.load()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    // Short polls, so that Stop() does not wait for a client that never closes.
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return;
    if (ready == 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return;  // the client closed (or reset): nothing more to protect
    discarded += static_cast<size_t>(n);
  }
}

absl::StatusOr<HttpRequestLine> ParseHttpRequestLine(std::string_view head) {
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    return absl::InvalidArgumentError(
        "malformed request line: expected 'METHOD TARGET HTTP/1.x'");
  }
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  return HttpRequestLine{std::string(line.substr(0, sp1)),
                         std::string(target.substr(0, target.find('?')))};
}

bool HttpServer::Serve(int fd) {
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (request.size() > options_.max_request_bytes) {
      Reply(fd, {413, "text/plain; charset=utf-8", "request headers too large\n", {}}, false);
      return true;
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // closed or timed out before a whole request arrived
    request.append(buf, static_cast<size_t>(n));
  }
  absl::StatusOr<HttpRequestLine> line = ParseHttpRequestLine(request);
  if (!line.ok()) {
    Reply(fd, {400, "text/plain; charset=utf-8", "malformed request line\n", {}}, false);
    return true;
  }
  const bool head = line->method == "HEAD";
  if (line->method != "GET" && !head) {
    Reply(fd, {405, "text/plain; charset=utf-8", "only GET and HEAD are supported\n", {}}, false);
    return true;
  }
  const std::string& path = line->path;
  HttpReply reply;
  try {
    reply = handler_(path);
  } catch (const std::exception& e) {
    reply = {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n", {}};
  } catch (...) {
    reply = {500, "text/plain; charset=utf-8", "internal error\n", {}};
  }
  Reply(fd, reply, head);
  return true;
}

}  // namespace scaler
