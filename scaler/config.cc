#include "scaler/config.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/duration.h"
#include "scaler/server.h"
#include "scaler/spec.h"

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
  if (shutdown_drain.count() < 0 || shutdown_drain > kMaxShutdownDrain) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shutdown-drain ", common::FormatDuration(shutdown_drain),
        ": expected 0 (no drain) to ", common::FormatDuration(kMaxShutdownDrain),
        ", and shorter than the pod's terminationGracePeriodSeconds by at least 4 s"));
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
  if (max_objects < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-objects ", max_objects, ": expected 0 (no limit) or a positive count"));
  }
  if (max_history_points < static_cast<long long>(kMinHistoryPoints) ||
      max_history_points > static_cast<long long>(kMaxHistoryPoints)) {
    return absl::InvalidArgumentError(absl::StrCat("--max-history-points ", max_history_points,
                                                   ": expected ", kMinHistoryPoints, " to ",
                                                   kMaxHistoryPoints));
  }
  if (prometheus_max_concurrent_queries < 1 ||
      prometheus_max_concurrent_queries > kMaxConcurrentQueries) {
    return absl::InvalidArgumentError(absl::StrCat("--prometheus-max-concurrent-queries ",
                                                   prometheus_max_concurrent_queries,
                                                   ": expected 1 to ", kMaxConcurrentQueries));
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
