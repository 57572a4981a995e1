#pragma once
// Loopback HTTP helpers for promclient's tests: a listening socket on 127.0.0.1:0, and
// a tiny HTTP/1.1 server answering every request with one canned response.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace promclient::testing_http {

// A listening socket on 127.0.0.1:0. Closed on destruction.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 16);
  }
  ~Listener() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Serves every request on every connection with one canned HTTP/1.1 answer and records
// the raw requests, until destroyed. All waits are bounded by poll() timeouts.
class CannedHttpServer {
 public:
  // `extra_headers`: more header lines, each ending in CRLF ("Retry-After: 5\r\n").
  explicit CannedHttpServer(std::string body, int status = 200,
                            std::string content_type = "application/json",
                            std::string extra_headers = "")
      : body_(std::move(body)),
        content_type_(std::move(content_type)),
        extra_headers_(std::move(extra_headers)) {
    status_ = status;
    thread_ = std::thread([this] { Run(); });
  }
  ~CannedHttpServer() {
    stop_ = true;
    thread_.join();
  }
  std::string url(const std::string& path = "/") const { return listener_.url(path); }
  int connections() const { return connections_; }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Run() {
    std::vector<int> clients;
    std::vector<std::string> buffers;
    while (!stop_) {
      std::vector<pollfd> fds = {{listener_.fd(), POLLIN, 0}};
      for (int c : clients) fds.push_back({c, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int c = accept(listener_.fd(), nullptr, nullptr);
        if (c >= 0) {
          clients.push_back(c);
          buffers.emplace_back();
          ++connections_;
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        char chunk[4096];
        const ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
        if (n <= 0) {
          close(fds[i].fd);
          clients[i - 1] = -1;
          continue;
        }
        buffers[i - 1].append(chunk, static_cast<size_t>(n));
        ServeComplete(fds[i].fd, buffers[i - 1]);
      }
      for (size_t i = clients.size(); i-- > 0;) {
        if (clients[i] < 0) {
          clients.erase(clients.begin() + static_cast<long>(i));
          buffers.erase(buffers.begin() + static_cast<long>(i));
        }
      }
    }
    for (int c : clients) close(c);
  }

  // Answers each complete request (headers + Content-Length body) in `buffer`.
  void ServeComplete(int fd, std::string& buffer) {
    while (true) {
      const size_t end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) return;
      size_t length = 0;
      const size_t cl = buffer.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) length = std::stoul(buffer.substr(cl + 16));
      if (buffer.size() < end + 4 + length) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(buffer.substr(0, end + 4 + length));
      }
      buffer.erase(0, end + 4 + length);
      const std::string reply =
          absl::StrCat("HTTP/1.1 ", status_, " X\r\nContent-Type: ", content_type_, "\r\n",
                       extra_headers_, "Content-Length: ", body_.size(), "\r\n\r\n", body_);
      if (write(fd, reply.data(), reply.size()) < 0) return;
    }
  }

  Listener listener_;
  const std::string body_;
  const std::string content_type_;
  const std::string extra_headers_;
  int status_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace promclient::testing_http
