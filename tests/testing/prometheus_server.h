#pragma once
// A real Prometheus server for integration tests (Debian's `prometheus`, `promtool`):
// 127.0.0.1 on a free port, a temporary data dir, history backfilled with
// `promtool tsdb create-blocks-from openmetrics`, ready-checked, stopped cleanly.
//
// Thread-safety: not thread-safe; one test owns one server.
// The binaries are looked up on PATH ($AUGUR_PROMETHEUS / $AUGUR_PROMTOOL override).
// The server runs with a 3650d retention (backfilled history is never dropped) and dies
// with the test process (PR_SET_PDEATHSIG), even when a test aborts. The kernel ties that
// to the thread that forks: call Start() and Restart() from a thread that outlives the
// server (the test's main thread). Backfilling a week at 1-minute resolution takes a few
// seconds (promtool writes one block per 2 hours): share a server per test suite. The
// blocks are cached by content under $TMPDIR/augur-prometheus-blocks-<uid>/ (entries
// unused for a day are pruned), so the same history is backfilled once, not once per
// CTest process.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "promclient/http_transport.h"

namespace testing_support {

struct PrometheusServerOptions {
  // OpenMetrics text (ending in "# EOF\n") to backfill before start; "" = none.
  std::string openmetrics;
  // host:port targets to scrape (loopback only), with this interval, as job "targets".
  // Prometheus 2.42 applies targets ~5 s after start-up: poll (bounded) for the first
  // scraped sample rather than expecting it at once.
  std::vector<std::string> scrape_targets;
  std::string scrape_interval = "1s";
  // Extra flags for the prometheus binary.
  std::vector<std::string> extra_flags;
  // Prometheus' web configuration (--web.config.file YAML, absolute paths inside),
  // e.g. tls_server_config for HTTPS and mTLS; "" = plain HTTP.
  std::string web_config;
  bool https = false;                // url() says https:// (set with a tls_server_config)
  promclient::TlsOptions probe_tls;  // how the readiness probe connects over HTTPS
  // Headers the readiness probe sends, e.g. Authorization when web_config sets
  // basic_auth_users (Prometheus then asks for it on /-/ready too).
  std::vector<std::pair<std::string, std::string>> probe_headers;
};

class PrometheusServer {
 public:
  // Starts Prometheus and waits (bounded) until /-/ready answers.
  // Errors: kFailedPrecondition (prometheus or promtool not installed: the message says
  // to run scripts/setup-deps.sh), kInternal (backfill rejected: promtool's output),
  // kDeadlineExceeded (not ready in time: the server's log tail).
  static absl::StatusOr<std::unique_ptr<PrometheusServer>> Start(PrometheusServerOptions options);
  ~PrometheusServer();  // stops the server and removes the data dir

  std::string url() const;  // "http://127.0.0.1:<port>" (https:// with options.https)
  int port() const;

  void Kill();             // SIGKILL, as a crash; the data dir is kept
  void Stop();             // SIGTERM and wait (bounded: 10 s, then SIGKILL)
  absl::Status Restart();  // start again on the same port and data dir, wait until ready

  class Impl;

 private:
  explicit PrometheusServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// OpenMetrics for one gauge `name` with `labels` (e.g. {job="demo"}) sampled every
// `step_seconds` over [start, end] (unix seconds) from `value_at(t)`, ending with
// "# EOF". NaN values are written as NaN.
std::string OpenMetricsGauge(const std::string& name, const std::string& labels, double start,
                             double end, double step_seconds,
                             const std::function<double(double)>& value_at);

// Joins OpenMetrics documents (e.g. several OpenMetricsGauge calls) into one with a
// single final "# EOF" and each family's "# TYPE" once. Series of one family must be
// passed next to each other (OpenMetrics wants a family's lines together).
std::string ConcatOpenMetrics(const std::vector<std::string>& documents);

}  // namespace testing_support
