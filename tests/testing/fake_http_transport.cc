#include "tests/testing/fake_http_transport.h"

#include <utility>

#include "absl/status/status.h"

namespace testing_support {

void FakeHttpTransport::SetResponse(const std::string& url,
                                    absl::StatusOr<promclient::HttpResponse> response) {
  std::lock_guard<std::mutex> lock(mu_);
  responses_.insert_or_assign(url, std::move(response));
}

void FakeHttpTransport::SetJson(const std::string& url, std::string body, long status_code) {
  promclient::HttpResponse response;
  response.status_code = status_code;
  response.content_type = "application/json";
  response.body = std::move(body);
  SetResponse(url, std::move(response));
}

void FakeHttpTransport::SetHandler(Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

std::vector<promclient::HttpRequest> FakeHttpTransport::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

absl::StatusOr<promclient::HttpResponse> FakeHttpTransport::Send(
    const promclient::HttpRequest& request) {
  Handler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    auto it = responses_.find(request.url);
    if (it == responses_.end()) {
      it = responses_.find(request.url.substr(0, request.url.find('?')));
    }
    if (it != responses_.end()) return it->second;
    handler = handler_;
  }
  if (handler) return handler(request);
  return absl::UnimplementedError("FakeHttpTransport has no response for " + request.url);
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() + 0 && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> ParseForm(const std::string& form) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t pos = 0;
  while (pos <= form.size() && !form.empty()) {
    size_t amp = form.find('&', pos);
    if (amp == std::string::npos) amp = form.size();
    const std::string item = form.substr(pos, amp - pos);
    if (!item.empty()) {
      const size_t eq = item.find('=');
      pairs.emplace_back(Decode(item.substr(0, eq)),
                         eq == std::string::npos ? "" : Decode(item.substr(eq + 1)));
    }
    pos = amp + 1;
  }
  return pairs;
}

std::string FormValue(const std::string& form, const std::string& key) {
  for (const auto& [k, v] : ParseForm(form)) {
    if (k == key) return v;
  }
  return "";
}

}  // namespace testing_support
