#include "scaler/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/time.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace scaler {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

// Sends `request` raw to 127.0.0.1:port and returns everything the server answers.
std::string Exchange(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "connect failed";
  }
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (int i = 0; i < 1000; ++i) {  // bounded: the server closes after one reply
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::unique_ptr<HttpServer> StartEcho(std::atomic<int>* calls = nullptr) {
  auto server = HttpServer::Start("127.0.0.1:0", [calls](const std::string& path) {
    if (calls) ++*calls;
    if (path == "/boom") throw std::runtime_error("handler failed");
    if (path != "/healthz") return HttpReply{404, "text/plain", "not found\n", {}};
    return HttpReply{200, "text/plain", "ok\n", {}};
  });
  EXPECT_THAT(server, IsOk());
  return server.ok() ? std::move(*server) : nullptr;
}

TEST(HttpServer, ServesGetWithContentLengthAndClosesTheConnection) {
  auto server = StartEcho();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  std::string reply = Exchange(server->port(), "GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(reply, HasSubstr("Content-Length: 3\r\n"));
  EXPECT_THAT(reply, HasSubstr("Connection: close\r\n\r\nok\n"));
}

TEST(HttpServer, HeadOmitsTheBody) {
  auto server = StartEcho();
  ASSERT_NE(server, nullptr);
  std::string reply = Exchange(server->port(), "HEAD /healthz HTTP/1.1\r\n\r\n");
  EXPECT_THAT(reply, HasSubstr("Content-Length: 3\r\n"));
  EXPECT_THAT(reply, testing::EndsWith("\r\n\r\n"));
}

TEST(HttpServer, AnswersErrorsForBadRequests) {
  std::atomic<int> calls{0};
  auto server = StartEcho(&calls);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Exchange(server->port(), "GET /nope HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 404"));
  EXPECT_THAT(Exchange(server->port(), "POST /healthz HTTP/1.1\r\n\r\n"),
              StartsWith("HTTP/1.1 405"));
  EXPECT_THAT(Exchange(server->port(), "garbage\r\n\r\n"), StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(Exchange(server->port(), "GET /boom HTTP/1.1\r\n\r\n"),
              StartsWith("HTTP/1.1 500"));
  std::string huge = "GET /healthz HTTP/1.1\r\nX: " + std::string(40000, 'a') + "\r\n\r\n";
  EXPECT_THAT(Exchange(server->port(), huge), StartsWith("HTTP/1.1 413"));
  EXPECT_EQ(calls.load(), 2);  // only the well-formed GETs reached the handler
}

// What a client that sends `head` and then `body_bytes` more bytes sees: whether its
// sends all went through (no reset while sending), and the reply it reads afterwards.
struct Upload {
  bool sent_all = false;
  std::string send_error;
  std::string reply;
  std::string read_error;
};

Upload SendThenRead(int port, const std::string& head, size_t body_bytes) {
  Upload out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};  // bounds every send/recv: a stuck server fails the test, not hangs it
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    out.send_error = "connect failed";
    return out;
  }
  std::string data = head + std::string(body_bytes, 'x');
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out.send_error = std::strerror(errno);
      break;
    }
    off += static_cast<size_t>(n);
  }
  out.sent_all = off == data.size();
  ::shutdown(fd, SHUT_WR);
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) out.read_error = std::strerror(errno);
    if (n <= 0) break;
    out.reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// 16 MiB: more than loopback's socket buffers hold, so a server that closes without
// reading resets the connection while the client is still sending.
constexpr size_t kBigBody = 16 << 20;

TEST(HttpServer, ErrorRepliesReachAClientStillSending) {
  std::atomic<int> calls{0};
  auto server = StartEcho(&calls);
  ASSERT_NE(server, nullptr);
  struct Case {
    std::string head;
    std::string status;
  } cases[] = {
      {"POST /healthz HTTP/1.1\r\nContent-Length: " + std::to_string(kBigBody) + "\r\n\r\n",
       "HTTP/1.1 405"},
      {"garbage\r\n\r\n", "HTTP/1.1 400"},
      {"GET /healthz HTTP/1.1\r\nX-Huge: ", "HTTP/1.1 413"},  // the head never ends
      {"GET /nope HTTP/1.1\r\nContent-Length: " + std::to_string(kBigBody) + "\r\n\r\n",
       "HTTP/1.1 404"},
  };
  for (const Case& c : cases) {
    Upload u = SendThenRead(server->port(), c.head, kBigBody);
    EXPECT_TRUE(u.sent_all) << c.status << ": reset while sending: " << u.send_error;
    EXPECT_THAT(u.reply, StartsWith(c.status)) << "read error: " << u.read_error;
    EXPECT_EQ(u.read_error, "") << c.status;
  }
  EXPECT_EQ(calls.load(), 1);  // only the GET /nope reached the handler
}

TEST(HttpServer, TooManyConnectionsIsAnAnswerNotAReset) {
  HttpServerOptions options;
  options.max_connections = 1;
  auto server = HttpServer::Start(
      "127.0.0.1:0", [](const std::string&) { return HttpReply{200, "text/plain", "ok\n", {}}; },
      options);
  ASSERT_THAT(server, IsOk());
  // The one connection slot: a client that sent half a head and waits.
  int busy = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>((*server)->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(busy, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::send(busy, "GET /", 5, MSG_NOSIGNAL);
  // The server has taken the slot once a second client is turned away.
  Upload u;
  for (int i = 0; i < 100 && u.reply.rfind("HTTP/1.1 503", 0) != 0; ++i) {
    u = SendThenRead((*server)->port(),
                     "GET /x HTTP/1.1\r\nContent-Length: " + std::to_string(kBigBody) +
                         "\r\n\r\n",
                     kBigBody);
    if (u.reply.rfind("HTTP/1.1 200", 0) == 0) continue;  // before the slot was taken
    break;
  }
  EXPECT_TRUE(u.sent_all) << "reset while sending: " << u.send_error;
  EXPECT_THAT(u.reply, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(u.reply, HasSubstr("too many connections"));
  ::close(busy);
}

TEST(HttpServer, StopDoesNotWaitForALingeringClient) {
  HttpServerOptions options;
  options.linger_timeout = std::chrono::seconds(60);
  auto server = HttpServer::Start(
      "127.0.0.1:0", [](const std::string&) { return HttpReply{200, "text/plain", "ok\n", {}}; },
      options);
  ASSERT_THAT(server, IsOk());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>((*server)->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request = "GET / HTTP/1.1\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  // Read the whole reply (the server's FIN ends it) but never close: the server lingers.
  std::string reply;
  char buf[256];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) reply.append(buf, n);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200"));
  const auto start = std::chrono::steady_clock::now();
  (*server)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  ::close(fd);
}

TEST(HttpServer, StopReleasesThePort) {
  auto server = StartEcho();
  ASSERT_NE(server, nullptr);
  int port = server->port();
  server->Stop();
  EXPECT_EQ(Exchange(port, "GET /healthz HTTP/1.1\r\n\r\n"), "connect failed");
}

TEST(HttpServer, RejectsBadAddressesAndBusyPorts) {
  auto handler = [](const std::string&) { return HttpReply{}; };
  EXPECT_THAT(HttpServer::Start("8080", handler), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HttpServer::Start("127.0.0.1:99999", handler),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("65535")));
  auto first = HttpServer::Start("127.0.0.1:0", handler);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(HttpServer::Start("127.0.0.1:" + std::to_string((*first)->port()), handler),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot listen")));
}

TEST(ParseListenAddress, AcceptsTheUsualForms) {
  std::string host;
  int port = -1;
  ASSERT_THAT(ParseListenAddress(":8080", &host, &port), IsOk());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 8080);
  ASSERT_THAT(ParseListenAddress("[::1]:0", &host, &port), IsOk());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
}

}  // namespace
}  // namespace scaler
