#pragma once
// PrometheusMetricSource: the real MetricSource, over promclient. One PrometheusClient
// per server, created on first use. Only allowed servers are queried (Augur must not be
// a way to reach arbitrary URLs). Credentials from files are sent to the
// --prometheus-url server (same scheme, host and port) only, never to the other allowed
// servers. TLS certificates are verified unless the operator said otherwise for that
// server (--prometheus-insecure-skip-verify, --allow-server-insecure); no metadata key
// changes it (KEDA's `unsafeSsl` is about KEDA's connection to Augur).
//
// Thread-safety: thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "promclient/http_transport.h"
#include "promclient/prometheus_client.h"
#include "scaler/metric_source.h"

namespace scaler {

struct PrometheusSourceOptions {
  std::string default_url;                   // --prometheus-url ("" = none)
  std::vector<std::string> allowed_servers;  // --allow-server; a trailing '*' = prefix
  // Allowed too, and their certificates are not verified (--allow-server-insecure; same
  // matching as allowed_servers).
  std::vector<std::string> insecure_servers;
  // Do not verify the certificate of the default server (--prometheus-insecure-skip-verify).
  bool insecure_skip_verify = false;
  // Credential files for the default server (--prometheus-*-file).
  std::string bearer_token_file;
  std::string basic_auth_user;               // with basic_auth_password_file
  std::string basic_auth_password_file;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::chrono::milliseconds default_timeout{10000};
};

class PrometheusMetricSource final : public MetricSource {
 public:
  PrometheusMetricSource(PrometheusSourceOptions options,
                         std::shared_ptr<promclient::HttpTransport> transport);

  absl::Status Validate(const MetricQuery& query) const override;
  absl::StatusOr<forecast::Series> Fetch(const MetricQuery& query, double start, double end,
                                         double step_seconds) override;

 private:
  absl::StatusOr<std::shared_ptr<promclient::PrometheusClient>> ClientFor(
      const std::string& url);
  // Whether `url` (normalized) skips certificate verification.
  bool Insecure(const std::string& url) const;

  PrometheusSourceOptions options_;
  std::shared_ptr<promclient::HttpTransport> transport_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<promclient::PrometheusClient>> clients_;
};

// "https://u:p@Host:9090/prom/" -> "https://host:9090/prom" (lowercase scheme and host,
// no user info, no trailing slash): how server addresses are compared.
std::string NormalizeServerUrl(const std::string& url);

}  // namespace scaler
