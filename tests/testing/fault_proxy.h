#pragma once
// FaultProxy: an HTTP proxy on 127.0.0.1 between augur and a real Prometheus, for the
// fault-injection tests (tests/faults/). It forwards each request to the upstream as it
// is, or lets the test decide what to answer: a rewritten upstream answer (wrong shape,
// NaN, shifted timestamps, thousands of series), an HTTP error, or a delivery fault
// (connection refused, a reset mid-body, a delay, a stalled body, a huge body streamed
// without holding it in memory).
//
// Why C++ and not a python script: the tests change the fault from the test thread and
// read what the proxy received (counts, headers) directly, without a control protocol,
// and the proxy forwards with the project's own CurlHttpTransport.
//
// Thread-safety: every public method may be called from any thread while the proxy
// serves. One thread per connection; each answer is sent with `Connection: close`.
// Waits inside a fault (delays, stalls) end when the client hangs up, when the
// behaviour is changed, or when the proxy stops: clearing a fault releases them at once.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "promclient/curl_http_transport.h"

namespace testing_support {

struct ProxyRequest {
  std::string method;
  std::string target;  // path and query string, e.g. "/api/v1/query_range"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The value of header `name` (case-insensitive), "" when absent.
  std::string Header(const std::string& name) const;
};

struct ProxyResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type, Retry-After, ...
  std::string body;
  // --- delivery faults ---
  // Wait this long before the status line.
  std::chrono::milliseconds delay{0};
  // Bytes of JSON whitespace streamed before the body's last '}' (a valid body of
  // body.size() + padding bytes; Content-Length says so).
  size_t padding = 0;
  // Send this many bytes of the body, then reset the connection (TCP RST).
  std::optional<size_t> reset_after;
  // Send this many bytes of the body, then nothing more until the client hangs up.
  std::optional<size_t> stall_after;
};

class FaultProxy {
 public:
  // What to answer to a request; the proxy passed in can Forward() it upstream.
  using Behavior = std::function<ProxyResponse(const ProxyRequest&, FaultProxy&)>;

  // Listens on 127.0.0.1 on a free port and forwards to `upstream_url`
  // ("http://127.0.0.1:9090").
  // Errors: kUnavailable (cannot listen).
  static absl::StatusOr<std::unique_ptr<FaultProxy>> Start(std::string upstream_url);
  ~FaultProxy();  // stops listening, ends every wait and joins the connection threads
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string url() const;  // "http://127.0.0.1:<port>"
  int port() const { return port_; }

  // The behaviour for requests from now on; nullptr forwards unchanged. A change ends
  // the delays and stalls of earlier requests.
  void SetBehavior(Behavior behavior);
  void SetUpstream(std::string upstream_url);
  // Stops listening: connections are refused until Listen().
  void Refuse();
  // Listens again on the same port. Errors: kUnavailable (the port was taken meanwhile).
  absl::Status Listen();

  // The request as the upstream answers it (status, Content-Type and body); an upstream
  // that cannot be reached gives a 502 with the transport's error.
  ProxyResponse Forward(const ProxyRequest& request);

  int requests() const { return requests_.load(); }  // requests received so far
  std::vector<ProxyRequest> received() const;       // the last 64 requests

 private:
  explicit FaultProxy(std::string upstream_url);
  absl::Status Bind(int port);
  void AcceptLoop(int listen_fd);
  void Serve(int fd);
  bool Send(int fd, const char* data, size_t size);
  // Waits until `deadline` (nullopt: no bound), the client hangs up, the behaviour
  // changes from `generation`, or the proxy stops; true if the deadline was reached.
  bool WaitWhileConnected(int fd, uint64_t generation,
                          std::optional<std::chrono::steady_clock::time_point> deadline);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string upstream_;
  Behavior behavior_;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  int connections_ = 0;  // connection threads running
  std::vector<ProxyRequest> received_;
  std::atomic<int> requests_{0};
  promclient::CurlHttpTransport transport_;
};

// Ordered key/value pairs -> application/x-www-form-urlencoded (the form augur posts;
// ParseForm in fake_http_transport.h reads it).
std::string EncodeForm(const std::vector<std::pair<std::string, std::string>>& form);

}  // namespace testing_support
