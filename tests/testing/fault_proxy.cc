#include "tests/testing/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace testing_support {
namespace {

constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kKeptRequests = 64;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

std::string ProxyRequest::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

std::string EncodeForm(const std::vector<std::pair<std::string, std::string>>& form) {
  std::string out;
  auto encode = [&out](const std::string& s) {
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out.push_back(static_cast<char>(c));
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        out += buf;
      }
    }
  };
  for (const auto& [k, v] : form) {
    if (!out.empty()) out.push_back('&');
    encode(k);
    out.push_back('=');
    encode(v);
  }
  return out;
}

FaultProxy::FaultProxy(std::string upstream_url) : upstream_(std::move(upstream_url)) {}

absl::StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Start(std::string upstream_url) {
  std::unique_ptr<FaultProxy> proxy(new FaultProxy(std::move(upstream_url)));
  absl::Status s = proxy->Bind(0);
  if (!s.ok()) return s;
  return proxy;
}

FaultProxy::~FaultProxy() {
  Refuse();
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  ++generation_;
  cv_.notify_all();
  // Connection threads notice within a poll period (20 ms) and finish.
  cv_.wait(lock, [this] { return connections_ == 0; });
}

std::string FaultProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

absl::Status FaultProxy::Bind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on 127.0.0.1:", port, ": ", why));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::lock_guard<std::mutex> lock(mu_);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  accept_thread_ = std::thread([this, fd] { AcceptLoop(fd); });
  return absl::OkStatus();
}

void FaultProxy::Refuse() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (listen_fd_ < 0) return;
    // Shutting the socket down wakes the accept loop's poll; it closes the socket.
    ::shutdown(listen_fd_, SHUT_RDWR);
    listen_fd_ = -1;
    thread = std::move(accept_thread_);
  }
  if (thread.joinable()) thread.join();
}

absl::Status FaultProxy::Listen() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (listen_fd_ >= 0) return absl::OkStatus();
  }
  return Bind(port_);
}

void FaultProxy::SetBehavior(Behavior behavior) {
  std::lock_guard<std::mutex> lock(mu_);
  behavior_ = std::move(behavior);
  ++generation_;
  cv_.notify_all();
}

void FaultProxy::SetUpstream(std::string upstream_url) {
  std::lock_guard<std::mutex> lock(mu_);
  upstream_ = std::move(upstream_url);
}

std::vector<ProxyRequest> FaultProxy::received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

void FaultProxy::AcceptLoop(int listen_fd) {
  for (;;) {
    pollfd p{listen_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (listen_fd_ != listen_fd || stopping_) break;
    }
    if (ready <= 0) continue;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++connections_;
    }
    std::thread([this, fd] {
      Serve(fd);
      ::close(fd);
      std::lock_guard<std::mutex> lock(mu_);
      --connections_;
      cv_.notify_all();
    }).detach();
  }
  ::close(listen_fd);
}

bool FaultProxy::Send(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool FaultProxy::WaitWhileConnected(int fd, uint64_t generation,
                                    std::optional<std::chrono::steady_clock::time_point> deadline) {
  for (;;) {
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || generation_ != generation) return false;
    }
    pollfd p{fd, POLLRDHUP, 0};
    if (::poll(&p, 1, 20) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return false;
  }
}

ProxyResponse FaultProxy::Forward(const ProxyRequest& request) {
  promclient::HttpRequest out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.url = upstream_ + request.target;
  }
  out.method = request.method;
  out.body = request.body;
  const std::string content_type = request.Header("Content-Type");
  if (!content_type.empty()) out.content_type = content_type;
  for (const auto& [k, v] : request.headers) {
    if (absl::EqualsIgnoreCase(k, "Host") || absl::EqualsIgnoreCase(k, "Content-Length") ||
        absl::EqualsIgnoreCase(k, "Content-Type") || absl::EqualsIgnoreCase(k, "Connection") ||
        absl::EqualsIgnoreCase(k, "Accept-Encoding") || absl::EqualsIgnoreCase(k, "Expect")) {
      continue;
    }
    out.headers.emplace_back(k, v);
  }
  out.timeout = std::chrono::seconds(30);
  ProxyResponse response;
  auto got = transport_.Send(out);
  if (!got.ok()) {
    response.status = 502;
    response.body = std::string(got.status().message());
    return response;
  }
  response.status = static_cast<int>(got->status_code);
  if (!got->content_type.empty()) response.headers.emplace_back("Content-Type", got->content_type);
  response.body = std::move(got->body);
  return response;
}

void FaultProxy::Serve(int fd) {
  // The request head, then Content-Length bytes of body.
  std::string data;
  char buf[16384];
  size_t head_end = std::string::npos;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (data.size() > kMaxHead) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      continue;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    data.append(buf, static_cast<size_t>(n));
  }
  ProxyRequest request;
  {
    const std::string head = data.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    const std::string line = head.substr(0, line_end);
    const size_t sp1 = line.find(' ');
    const size_t sp2 = line.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) return;
    request.method = line.substr(0, sp1);
    request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      const std::string h = head.substr(pos, end - pos);
      const size_t colon = h.find(':');
      if (colon != std::string::npos) {
        size_t v = colon + 1;
        while (v < h.size() && h[v] == ' ') ++v;
        request.headers.emplace_back(h.substr(0, colon), h.substr(v));
      }
      pos = end + 2;
    }
  }
  const size_t length = std::strtoul(request.Header("Content-Length").c_str(), nullptr, 10);
  request.body = data.substr(head_end + 4);
  while (request.body.size() < length) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    request.body.append(buf, static_cast<size_t>(n));
  }
  requests_.fetch_add(1);
  Behavior behavior;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back(request);
    if (received_.size() > kKeptRequests) received_.erase(received_.begin());
    behavior = behavior_;
    generation = generation_;
  }
  ProxyResponse r = behavior ? behavior(request, *this) : Forward(request);

  if (r.delay.count() > 0 &&
      !WaitWhileConnected(fd, generation, std::chrono::steady_clock::now() + r.delay)) {
    return;  // the client gave up, or the fault was cleared: the reply is moot
  }
  std::string head = absl::StrCat("HTTP/1.1 ", r.status, " ", Reason(r.status), "\r\n");
  bool has_type = false;
  for (const auto& [k, v] : r.headers) {
    has_type |= absl::EqualsIgnoreCase(k, "Content-Type");
    absl::StrAppend(&head, k, ": ", v, "\r\n");
  }
  if (!has_type) head += "Content-Type: application/json\r\n";
  absl::StrAppend(&head, "Content-Length: ", r.body.size() + r.padding,
                  "\r\nConnection: close\r\n\r\n");
  if (!Send(fd, head.data(), head.size())) return;

  size_t cut = r.body.size();
  if (r.reset_after) cut = std::min(cut, *r.reset_after);
  if (r.stall_after) cut = std::min(cut, *r.stall_after);
  if (r.padding > 0 && !r.reset_after && !r.stall_after) {
    // Whitespace before the last '}' keeps the body valid JSON of any size.
    const size_t brace = r.body.rfind('}');
    const size_t split = brace == std::string::npos ? r.body.size() : brace;
    if (!Send(fd, r.body.data(), split)) return;
    const std::string spaces(64 * 1024, ' ');
    for (size_t left = r.padding; left > 0;) {
      const size_t n = std::min(left, spaces.size());
      if (!Send(fd, spaces.data(), n)) return;  // the client stopped reading (its limit)
      left -= n;
    }
    Send(fd, r.body.data() + split, r.body.size() - split);
    return;
  }
  if (!Send(fd, r.body.data(), cut)) return;
  if (r.reset_after) {
    linger l{1, 0};  // close() now sends a RST instead of a FIN
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    return;
  }
  if (r.stall_after) {
    WaitWhileConnected(fd, generation, std::nullopt);
    return;
  }
}

}  // namespace testing_support
