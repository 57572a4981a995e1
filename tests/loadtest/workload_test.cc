// The workload server over loopback: it serves the load source's value at the clock's
// time on any free port (integration: binds 127.0.0.1:0).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loadtest/pattern.h"
#include "loadtest/workload.h"

namespace loadtest {
namespace {

using testing::HasSubstr;

// A minimal HTTP/1.0 GET over loopback.
std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), 0) < 0) {
    ::close(fd);
    return "";
  }
  std::string response;
  char buf[4096];
  for (int i = 0; i < 10000; ++i) {  // bounded: the server closes after the response
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

TEST(Workload, ServesThePatternValueAtTheClockTimeOnAnyFreePort) {
  LoadSource source;
  source.pattern.kind = PatternKind::kSpike;
  source.pattern.base = 10;
  source.pattern.period_seconds = 600;
  source.pattern.spike_height = 100;
  source.pattern.spike_width_seconds = 60;
  const double t = 1763856000 + 30;  // inside a spike
  auto collectable = std::make_shared<LoadCollectable>(
      "augur_demo_load", LabelMap{{"job", "w"}}, source, [t] { return t; });
  auto server = WorkloadServer::Start("127.0.0.1:0", collectable);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  const std::string body = HttpGet((*server)->port(), "/metrics");
  ASSERT_THAT(body, HasSubstr("augur_demo_load{job=\"w\"} "));
  const size_t at = body.find("augur_demo_load{job=\"w\"} ");
  const double served = std::strtod(body.c_str() + at + 25, nullptr);
  EXPECT_NEAR(served, PatternValue(source.pattern, t), 1e-9 * served);
  EXPECT_EQ(collectable->scrapes(), 1);
}

TEST(Workload, RejectsAListenAddressWithoutAPort) {
  auto collectable = std::make_shared<LoadCollectable>("m", LabelMap{}, LoadSource{}, [] { return 0.0; });
  EXPECT_EQ(WorkloadServer::Start("127.0.0.1", collectable).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loadtest
