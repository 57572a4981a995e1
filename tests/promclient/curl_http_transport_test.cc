// CurlHttpTransport against loopback sockets: what goes on the wire, keep-alive, and
// how connection failures and timeouts map to codes.

#include "promclient/curl_http_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/promclient/loopback_http_server.h"
#include "tests/testing/status_matchers.h"

namespace promclient {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing_http::CannedHttpServer;
using testing_http::Listener;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

TEST(CurlHttpTransport, PostsTheBodyWithHeadersAndReadsTheAnswer) {
  CannedHttpServer server(R"({"ok":true})", 422);
  CurlHttpTransport transport;
  HttpRequest request;
  request.method = "POST";
  request.url = server.url("/prefix/api/v1/query?dedup=true");
  request.body = "query=up&time=1";
  request.headers = {{"X-Scope-OrgID", "tenant"}, {"Authorization", "Bearer t0k"}};
  auto response = transport.Send(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status_code, 422);  // an HTTP error is a transport success
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(response->content_type, "application/json");
  EXPECT_GT(response->total_time.count(), 0);
  const std::vector<std::string> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0], HasSubstr("POST /prefix/api/v1/query?dedup=true HTTP/1.1\r\n"));
  EXPECT_THAT(requests[0], HasSubstr("X-Scope-OrgID: tenant\r\n"));
  EXPECT_THAT(requests[0], HasSubstr("Authorization: Bearer t0k\r\n"));
  EXPECT_THAT(requests[0], HasSubstr("Content-Type: application/x-www-form-urlencoded\r\n"));
  EXPECT_THAT(requests[0], HasSubstr("\r\n\r\nquery=up&time=1"));
}

TEST(CurlHttpTransport, GetsByDefault) {
  CannedHttpServer server("ready");
  CurlHttpTransport transport;
  HttpRequest request;
  request.url = server.url("/-/ready");
  auto response = transport.Send(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status_code, 200);
  EXPECT_EQ(response->body, "ready");
  EXPECT_THAT(server.requests().at(0), HasSubstr("GET /-/ready HTTP/1.1"));
}

TEST(CurlHttpTransport, ReadsRetryAfter) {
  CannedHttpServer server("slow down", 429, "text/plain",
                          "Retry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n");
  CurlHttpTransport transport;
  HttpRequest request;
  request.url = server.url("/api/v1/query");
  auto response = transport.Send(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status_code, 429);
  EXPECT_EQ(response->retry_after, "Wed, 21 Oct 2026 07:28:00 GMT");

  CannedHttpServer plain("{}");
  request.url = plain.url("/api/v1/query");
  response = transport.Send(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->retry_after, "");
}

TEST(CurlHttpTransport, ReusesOneConnectionForSequentialRequests) {
  CannedHttpServer server("{}");
  CurlHttpTransport transport;
  HttpRequest request;
  request.url = server.url();
  for (int i = 0; i < 10; ++i) ASSERT_THAT(transport.Send(request), IsOk());
  EXPECT_EQ(server.requests().size(), 10u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(CurlHttpTransport, ConcurrentCallersAllSucceed) {
  CannedHttpServer server("{}");
  CurlHttpTransport transport;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      HttpRequest request;
      request.url = server.url();
      for (int i = 0; i < 25; ++i) {
        auto r = transport.Send(request);
        if (!r.ok() || r->body != "{}") ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(server.requests().size(), 200u);
  EXPECT_LE(server.connections(), 16);  // pooled, not one per request
}

TEST(CurlHttpTransport, OversizedBodyIsResourceExhausted) {
  CannedHttpServer server(std::string(100000, 'x'));
  CurlTransportOptions options;
  options.max_body_bytes = 50000;
  CurlHttpTransport transport(options);
  HttpRequest request;
  request.url = server.url();
  EXPECT_THAT(transport.Send(request),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("50000 bytes")));
  options.max_body_bytes = 100000;
  CurlHttpTransport roomy(options);
  auto response = roomy.Send(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->body.size(), 100000u);
}

TEST(CurlHttpTransport, ConnectionRefusedIsUnavailable) {
  Listener listener;
  const std::string url = listener.url();
  listener.Close();  // nothing listens there any more
  CurlHttpTransport transport;
  HttpRequest request;
  request.url = url;
  EXPECT_THAT(transport.Send(request), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(CurlHttpTransport, SilentServerIsDeadlineExceeded) {
  Listener listener;  // accepts at the kernel level, never answers
  CurlHttpTransport transport;
  HttpRequest request;
  request.url = listener.url();
  request.timeout = std::chrono::milliseconds(200);
  EXPECT_THAT(transport.Send(request), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(CurlHttpTransport, RejectsBadRequestsWithoutEchoingHeaderValues) {
  CurlHttpTransport transport;
  HttpRequest request;
  request.url = "ftp://127.0.0.1/";
  EXPECT_THAT(transport.Send(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request.url = "http://127.0.0.1:1/";
  request.method = "DELETE";
  EXPECT_THAT(transport.Send(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("GET or POST")));
  request.method = "GET";
  request.headers = {{"Authorization", "Bearer SECRET\r\nX-Injected: 1"}};
  EXPECT_THAT(transport.Send(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("Authorization"), Not(HasSubstr("SECRET")))));
  request.headers = {{"Bad:Name", "x"}};
  EXPECT_THAT(transport.Send(request), StatusIs(absl::StatusCode::kInvalidArgument));
  request.headers.clear();
  request.timeout = std::chrono::milliseconds(0);
  EXPECT_THAT(transport.Send(request), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CurlHttpTransport, MissingCaFileIsInvalidArgument) {
  CurlHttpTransport transport;
  HttpRequest request;
  Listener listener;
  request.url = absl::StrCat("https://127.0.0.1:", listener.port(), "/");
  request.timeout = std::chrono::milliseconds(500);
  request.tls.ca_file = "/nonexistent/augur-ca.pem";
  auto r = transport.Send(request);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r, ::testing::AnyOf(StatusIs(absl::StatusCode::kInvalidArgument),
                                  StatusIs(absl::StatusCode::kDeadlineExceeded)));
}

}  // namespace
}  // namespace promclient
