#pragma once
// augur's configuration: one field per flag of `augur --help` (each also an AUGUR_*
// environment variable; scaler/main.cc parses them), with the defaults the help shows,
// and its validation. main.cc turns a valid Config into the components' options.
//
// Thread-safety: a plain value.

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "scaler/log.h"

namespace scaler {

struct Config {
  // Where augur listens: gRPC (KEDA, health, reflection, Inspector) and HTTP (/metrics,
  // /healthz, /readyz); host:port, port 0 = any free port.
  std::string listen = "0.0.0.0:6000";
  std::string http_listen = "0.0.0.0:8080";

  // The default Prometheus (objects without serverAddress) and its credentials.
  std::string prometheus_url;  // "" = none: every object must name its serverAddress
  std::string prometheus_bearer_token_file;
  std::string prometheus_basic_auth_user;
  std::string prometheus_basic_auth_password_file;
  std::string prometheus_ca_file;
  std::string prometheus_cert_file;
  std::string prometheus_key_file;
  std::chrono::milliseconds prometheus_timeout{10000};
  // A Prometheus answer larger than this is abandoned (RESOURCE_EXHAUSTED).
  long long prometheus_max_response_bytes = 16LL << 20;
  // Do NOT verify prometheus_url's TLS certificate (only this flag turns it off).
  bool prometheus_insecure_skip_verify = false;
  // Base URLs serverAddress may name besides prometheus_url; a trailing '*' = prefix.
  std::vector<std::string> allowed_servers;
  // The same, whose TLS certificates are not verified (--allow-server-insecure).
  std::vector<std::string> insecure_servers;

  // gRPC over TLS (cert + key), mTLS with client_ca.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;

  std::chrono::milliseconds first_answer_timeout{2000};
  std::chrono::milliseconds max_staleness{120000};
  std::chrono::milliseconds idle_ttl{900000};
  int workers = 4;      // refresh threads
  int rpc_threads = 2;  // threads serving the unary RPCs
  // Limits (docs/reliability.md, "Limits"): objects tracked at most (0 = no limit; a new
  // one beyond is refused with RESOURCE_EXHAUSTED), history points per object (a finer
  // step is coarsened), queries in flight per Prometheus server.
  long long max_objects = 5000;
  long long max_history_points = 50000;
  int prometheus_max_concurrent_queries = 4;
  bool web_ui = true;   // the read-only web view on the HTTP port
  // At SIGTERM/SIGINT, how long augur drains before its gRPC server stops: readiness
  // NOT_SERVING and every new ExternalScaler call UNAVAILABLE "augur is shutting down"
  // (docs/scaler.md, "Shutdown"); 0 = stop at once. A second signal ends the drain.
  // 10 s: the readiness probe of k8s/base (every 5 s, 2 failures) has turned the pod
  // not-ready by then, and drain + the 2 s stop grace + the 1.5 s refresh wait stay well
  // within Kubernetes' default terminationGracePeriodSeconds of 30 s.
  std::chrono::milliseconds shutdown_drain{10000};

  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;

  static constexpr int kMaxWorkers = 256;
  static constexpr long long kMinResponseBytes = 4096;
  static constexpr int kMaxConcurrentQueries = 256;
  static constexpr std::chrono::milliseconds kMaxShutdownDrain{600000};  // 10m

  // Errors: kInvalidArgument naming the flag and what is expected, e.g.
  // "--workers 0: expected 1 to 256". Secrets in URLs never appear in messages.
  absl::Status Validate() const;
};

}  // namespace scaler
