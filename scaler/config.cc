#include "scaler/config.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "scaler/server.h"

namespace scaler {
namespace {

absl::Status NonNegative(const char* flag, std::chrono::milliseconds d) {
  if (d.count() >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": expected a duration >= 0 such as 500ms, 2s, 2m or 15m"));
}

}  // namespace

absl::Status Config::Validate() const {
  for (const auto& [flag, d] : {std::pair{"first-answer-timeout", first_answer_timeout},
                                std::pair{"max-staleness", max_staleness},
                                std::pair{"idle-ttl", idle_ttl},
                                std::pair{"prometheus-timeout", prometheus_timeout}}) {
    absl::Status s = NonNegative(flag, d);
    if (!s.ok()) return s;
  }
  if (rpc_threads < 1 || rpc_threads > ServerOptions::kMaxRpcThreads) {
    return absl::InvalidArgumentError(absl::StrCat("--rpc-threads ", rpc_threads,
                                                   ": expected 1 to ",
                                                   ServerOptions::kMaxRpcThreads));
  }
  if (prometheus_max_response_bytes < kMinResponseBytes) {
    return absl::InvalidArgumentError(absl::StrCat("--prometheus-max-response-bytes ",
                                                   prometheus_max_response_bytes,
                                                   ": expected at least ", kMinResponseBytes,
                                                   " (bytes)"));
  }
  if (workers < 1 || workers > kMaxWorkers) {
    return absl::InvalidArgumentError(
        absl::StrCat("--workers ", workers, ": expected 1 to ", kMaxWorkers));
  }
  if (!prometheus_url.empty() && !absl::StartsWith(prometheus_url, "http://") &&
      !absl::StartsWith(prometheus_url, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat("--prometheus-url '", RedactUrl(prometheus_url),
                                                   "': expected an http:// or https:// URL"));
  }
  for (const std::string& s : insecure_servers) {
    if (!absl::StartsWith(s, "https://") && !absl::StartsWith(s, "http://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("--allow-server-insecure '", RedactUrl(s),
                       "': expected an http:// or https:// URL (a trailing * allows a prefix)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace scaler
