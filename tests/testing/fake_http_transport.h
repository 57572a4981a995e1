#pragma once
// FakeHttpTransport: an HttpTransport with canned answers keyed by URL, recording every
// request, so that PrometheusClient's parsing and error mapping are tested without a
// server.
//
// Thread-safety: all methods may be called from many threads at once.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "promclient/http_transport.h"

namespace testing_support {

class FakeHttpTransport final : public promclient::HttpTransport {
 public:
  using Handler =
      std::function<absl::StatusOr<promclient::HttpResponse>(const promclient::HttpRequest&)>;

  // Answers requests to `url` with `response` (a transport error, or an HTTP answer).
  // `url` is matched first in full, then without its query string.
  void SetResponse(const std::string& url, absl::StatusOr<promclient::HttpResponse> response);
  // Shorthand: an HTTP answer with `body` and content type application/json.
  void SetJson(const std::string& url, std::string body, long status_code = 200);
  // Answers every request without a canned response (e.g. to compute a range's reply).
  void SetHandler(Handler handler);

  // Every request seen, in order.
  std::vector<promclient::HttpRequest> requests() const;

  // Errors: the canned ones; kUnimplemented when nothing answers `request.url`.
  absl::StatusOr<promclient::HttpResponse> Send(const promclient::HttpRequest& request) override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, absl::StatusOr<promclient::HttpResponse>> responses_;
  Handler handler_;
  std::vector<promclient::HttpRequest> requests_;
};

// Decodes an application/x-www-form-urlencoded string ("a=1&b=x%20y") into its pairs,
// in order. Malformed escapes are kept literally.
std::vector<std::pair<std::string, std::string>> ParseForm(const std::string& form);
// The value of `key` in a form ("" when absent).
std::string FormValue(const std::string& form, const std::string& key);

}  // namespace testing_support
