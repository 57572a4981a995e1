#include "scaler/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
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
