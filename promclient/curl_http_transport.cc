#include "promclient/curl_http_transport.h"

#include <curl/curl.h>

#include <array>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace promclient {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct BodySink {
  std::string* body;
  size_t limit;
  bool overflowed = false;
};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  if (sink->body->size() + size * count > sink->limit) {
    sink->overflowed = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  sink->body->append(data, size * count);
  return size * count;
}

absl::Status MapCurlError(CURLcode code, const char* error_buffer) {
  std::string message = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(message);
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return absl::UnavailableError(message);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

// RAII for a request's header list.
struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  bool Add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) return false;
    list = next;
    return true;
  }
};

constexpr int kMaxCachedConnections = 64;

bool HasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

}  // namespace

class CurlHttpTransport::Impl {
 public:
  explicit Impl(CurlTransportOptions options) : options_(options) {
    GlobalInitOnce();
    share_ = curl_share_init();
    if (share_ != nullptr) {
      curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &Impl::Lock);
      curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &Impl::Unlock);
      curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
      curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
      curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
      curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    }
  }

  ~Impl() {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  absl::StatusOr<HttpResponse> Perform(const HttpRequest& request) {
    if (request.timeout.count() <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("request timeout must be positive, got ", request.timeout.count(), "ms"));
    }
    const bool post = request.method == "POST";
    if (!post && request.method != "GET") {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported HTTP method \"", request.method, "\": expected GET or POST"));
    }
    HeaderList headers;
    bool has_content_type = false;
    for (const auto& [name, value] : request.headers) {
      // Never echo a header's value: it may be a credential.
      if (name.empty() || HasLineBreak(name) || name.find(':') != std::string::npos) {
        return absl::InvalidArgumentError(
            "invalid HTTP header name: expected a non-empty token without ':' or line breaks");
      }
      if (HasLineBreak(value)) {
        return absl::InvalidArgumentError(absl::StrCat("the value of HTTP header \"", name,
                                                       "\" contains a line break; it must not"));
      }
      if (absl::EqualsIgnoreCase(name, "Content-Type")) has_content_type = true;
      // "Name;" is curl's way to send a header with an empty value.
      if (!headers.Add(value.empty() ? name + ";" : absl::StrCat(name, ": ", value))) {
        return absl::ResourceExhaustedError("out of memory building HTTP headers");
      }
    }
    if (post) {
      if (!has_content_type && !headers.Add("Content-Type: " + request.content_type)) {
        return absl::ResourceExhaustedError("out of memory building HTTP headers");
      }
      // No "Expect: 100-continue" round trip for larger bodies.
      headers.Add("Expect:");
    }

    CURL* handle = Borrow();
    if (handle == nullptr) return absl::InternalError("curl_easy_init failed");
    HttpResponse response;
    char error_buffer[CURL_ERROR_SIZE];
    error_buffer[0] = '\0';

    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    // The shared connection cache keeps this many idle connections (curl's default, 5,
    // would close connections as soon as more callers run at once).
    curl_easy_setopt(handle, CURLOPT_MAXCONNECTS, static_cast<long>(kMaxCachedConnections));
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
    if (share_ != nullptr) curl_easy_setopt(handle, CURLOPT_SHARE, share_);
    if (options_.accept_compressed) curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.list);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &AppendBody);
    BodySink sink{&response.body, options_.max_body_bytes};
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
    if (post) {
      curl_easy_setopt(handle, CURLOPT_POST, 1L);
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
    } else {
      curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    }
    const TlsOptions& tls = request.tls;
    if (!tls.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, tls.ca_file.c_str());
    if (!tls.client_cert_file.empty()) {
      curl_easy_setopt(handle, CURLOPT_SSLCERT, tls.client_cert_file.c_str());
    }
    if (!tls.client_key_file.empty()) {
      curl_easy_setopt(handle, CURLOPT_SSLKEY, tls.client_key_file.c_str());
    }
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, tls.insecure_skip_verify ? 0L : 1L);
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, tls.insecure_skip_verify ? 0L : 2L);

    CURLcode code = curl_easy_perform(handle);
    absl::Status status;
    if (code != CURLE_OK && sink.overflowed) {
      status = absl::ResourceExhaustedError(
          absl::StrCat("the response is larger than ", options_.max_body_bytes,
                       " bytes; narrow the query or use a larger step"));
    } else if (code != CURLE_OK) {
      status = MapCurlError(code, error_buffer);
      // curl says "Couldn't connect to server"; the system's reason says why.
      long os_errno = 0;
      if (curl_easy_getinfo(handle, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0) {
        const std::string reason = std::strerror(static_cast<int>(os_errno));
        if (!absl::StrContains(status.message(), reason)) {
          status = absl::Status(status.code(), absl::StrCat(status.message(), " (", reason, ")"));
        }
      }
    } else {
      curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status_code);
      char* content_type = nullptr;
      if (curl_easy_getinfo(handle, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
          content_type != nullptr) {
        response.content_type = content_type;
      }
      curl_off_t retry_after = 0;
      if (curl_easy_getinfo(handle, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
          retry_after > 0) {
        response.retry_after = std::chrono::seconds(retry_after);
      }
      curl_off_t first_byte = 0, total = 0;
      curl_easy_getinfo(handle, CURLINFO_STARTTRANSFER_TIME_T, &first_byte);
      curl_easy_getinfo(handle, CURLINFO_TOTAL_TIME_T, &total);
      response.time_to_first_byte = std::chrono::microseconds(first_byte);
      response.total_time = std::chrono::microseconds(total);
    }
    Return(handle);
    if (!status.ok()) return status;
    return response;
  }

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->locks_[static_cast<size_t>(data) % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Impl*>(user)->locks_[static_cast<size_t>(data) % kLocks].unlock();
  }

  CURL* Borrow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  // curl_easy_reset clears the options (and with them any pointer to this request's
  // headers and body) but keeps the handle's live connections.
  void Return(CURL* handle) {
    curl_easy_reset(handle);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (static_cast<int>(idle_.size()) < options_.max_idle_handles) {
        idle_.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle);
  }

  static constexpr size_t kLocks = CURL_LOCK_DATA_LAST;
  const CurlTransportOptions options_;
  CURLSH* share_ = nullptr;
  std::array<std::mutex, kLocks> locks_;
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

CurlHttpTransport::CurlHttpTransport(CurlTransportOptions options)
    : impl_(std::make_unique<Impl>(options)) {}

CurlHttpTransport::~CurlHttpTransport() = default;

absl::StatusOr<HttpResponse> CurlHttpTransport::Send(const HttpRequest& request) {
  return impl_->Perform(request);
}

}  // namespace promclient
