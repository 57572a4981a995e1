// augur: the KEDA external scaler server. Parses flags (each also settable as an AUGUR_*
// environment variable), wires the real implementations together and runs until
// SIGTERM/SIGINT.

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "absl/synchronization/mutex.h"
#include "common/duration.h"
#include "common/version.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "promclient/curl_http_transport.h"
#include "scaler/http_server.h"
#include "scaler/log.h"
#include "scaler/metrics.h"
#include "scaler/prometheus_metric_source.h"
#include "scaler/server.h"
#include "scaler/spec.h"
#include "scaler/tracker.h"
#include "scaler/web_view.h"

namespace po = boost::program_options;

namespace {

constexpr int kUsageError = 2;

struct Flags {
  std::string listen, http_listen, prometheus_url;
  std::vector<std::string> allow_server, allow_server_insecure;
  bool prom_insecure_skip_verify = false;
  std::string bearer_token_file, basic_auth_user, basic_auth_password_file;
  std::string prom_ca_file, prom_cert_file, prom_key_file;
  std::string tls_cert, tls_key, tls_client_ca;
  std::string first_answer_timeout, max_staleness, idle_ttl, prometheus_timeout;
  std::string log_level, log_format;
  int workers = 4;
  int rpc_threads = 2;
  bool web_ui = true;
  long long max_response_bytes = 16LL << 20;
};

po::options_description Options(Flags& f) {
  po::options_description d(
      "augur: a predictive KEDA external scaler.\n"
      "Every flag can also be set as an environment variable: --max-staleness as\n"
      "AUGUR_MAX_STALENESS (a list such as --allow-server as comma-separated values).\n\n"
      "Options");
  d.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("print-metadata-keys",
       "print every ScaledObject metadata key augur accepts, one a line (Augur's own, then "
       "KEDA's, under '#' headings), and exit")
      ("listen", po::value(&f.listen)->default_value("0.0.0.0:6000"),
       "gRPC address host:port (port 0 = any free port)")
      ("http-listen", po::value(&f.http_listen)->default_value("0.0.0.0:8080"),
       "HTTP address for /metrics, /healthz, /readyz and the web view (port 0 = any free port)")
      ("web-ui", po::value(&f.web_ui)->default_value(true)->value_name("true|false"),
       "serve the read-only web view (/, /objects/..., /api/v1/...) on the HTTP port")
      ("prometheus-url", po::value(&f.prometheus_url)->default_value(""),
       "default Prometheus base URL, for objects without serverAddress (always allowed)")
      ("allow-server", po::value(&f.allow_server)->composing(),
       "a Prometheus base URL that serverAddress may name (repeatable; a trailing * allows a prefix)")
      ("allow-server-insecure", po::value(&f.allow_server_insecure)->composing(),
       "as --allow-server, and that server's TLS certificate is NOT verified (repeatable)")
      ("prometheus-bearer-token-file", po::value(&f.bearer_token_file)->default_value(""),
       "file holding a bearer token for --prometheus-url (re-read when it changes)")
      ("prometheus-basic-auth-user", po::value(&f.basic_auth_user)->default_value(""),
       "basic-auth user for --prometheus-url")
      ("prometheus-basic-auth-password-file", po::value(&f.basic_auth_password_file)->default_value(""),
       "file holding the basic-auth password for --prometheus-url")
      ("prometheus-ca-file", po::value(&f.prom_ca_file)->default_value(""),
       "PEM CA bundle to verify --prometheus-url with")
      ("prometheus-insecure-skip-verify",
       po::value(&f.prom_insecure_skip_verify)->default_value(false)->implicit_value(true),
       "do NOT verify the TLS certificate of --prometheus-url (off by default; no metadata key "
       "changes it)")
      ("prometheus-cert-file", po::value(&f.prom_cert_file)->default_value(""),
       "PEM client certificate for --prometheus-url (mTLS)")
      ("prometheus-key-file", po::value(&f.prom_key_file)->default_value(""),
       "PEM key of --prometheus-cert-file")
      ("prometheus-timeout", po::value(&f.prometheus_timeout)->default_value("10s"),
       "default timeout of a Prometheus query (the `timeout` metadata key overrides it)")
      ("prometheus-max-response-bytes", po::value(&f.max_response_bytes)->default_value(16LL << 20),
       "a Prometheus answer larger than this is abandoned (RESOURCE_EXHAUSTED), so that a runaway query cannot exhaust memory; at most --workers answers are read at once")
      ("tls-cert", po::value(&f.tls_cert)->default_value(""),
       "PEM certificate: serve gRPC over TLS (the TLS files are re-read when they change)")
      ("tls-key", po::value(&f.tls_key)->default_value(""), "PEM key of --tls-cert")
      ("tls-client-ca", po::value(&f.tls_client_ca)->default_value(""),
       "PEM CA: require and verify client certificates (mTLS)")
      ("first-answer-timeout", po::value(&f.first_answer_timeout)->default_value("2s"),
       "how long the first call for an object waits for its first answer")
      ("max-staleness", po::value(&f.max_staleness)->default_value("2m"),
       "answers older than this are UNAVAILABLE (KEDA's fallback applies)")
      ("idle-ttl", po::value(&f.idle_ttl)->default_value("15m"),
       "objects not asked about for this long are dropped")
      ("workers", po::value(&f.workers)->default_value(4),
       "refresh worker threads (one refresh in flight per object)")
      ("rpc-threads", po::value(&f.rpc_threads)->default_value(2),
       "threads serving GetMetricSpec, GetMetrics and IsActive (1 is the cheapest per call, 2 has the steadier latency tail)")
      ("log-level", po::value(&f.log_level)->default_value("info"), "debug, info, warn or error")
      ("log-format", po::value(&f.log_format)->default_value("text"), "text (logfmt) or json");
  return d;
}

std::string EnvName(const std::string& env, const po::options_description& d) {
  static const std::string kPrefix = "AUGUR_";
  if (env.compare(0, kPrefix.size(), kPrefix) != 0) return "";
  std::string name;
  for (char c : env.substr(kPrefix.size())) {
    name.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  // Actions, not settings: AUGUR_VERSION in a container's environment must not turn the
  // server into a version printer.
  if (name == "help" || name == "version" || name == "print-metadata-keys") return "";
  return d.find_nothrow(name, false) != nullptr ? name : "";
}

std::vector<std::string> SplitCommas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const std::string& s : in) {
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t comma = s.find(',', pos);
      if (comma == std::string::npos) comma = s.size();
      std::string item = s.substr(pos, comma - pos);
      if (!item.empty()) out.push_back(item);
      pos = comma + 1;
    }
  }
  return out;
}

bool ParseFlagDuration(const std::string& flag, const std::string& value,
                       std::chrono::milliseconds* out) {
  auto d = common::ParseDuration(value);
  if (!d.ok() || d->count() < 0) {
    std::cerr << "augur: --" << flag << " '" << value
              << "': expected a duration such as 500ms, 2s, 2m or 15m"
              << (d.ok() ? "" : " (" + std::string(d.status().message()) + ")") << "\n";
    return false;
  }
  *out = *d;
  return true;
}

// "0.0.0.0:0" with bound port 41234 -> "0.0.0.0:41234".
std::string BoundAddress(const std::string& listen, int port) {
  std::string host;
  int ignored = 0;
  if (!scaler::ParseListenAddress(listen, &host, &ignored).ok()) host = "0.0.0.0";
  if (host.empty()) host = "0.0.0.0";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil is built with absl::Mutex deadlock detection on: a global graph
  // updated on every lock gRPC takes, which costs a third of the throughput of small
  // calls (docs/scaler.md). Deadlocks are not detected at run time in release builds.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Signals are handled by sigwait() below: block them before any thread starts (every
  // thread inherits the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Flags f;
  po::options_description desc = Options(f);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::store(po::parse_environment(desc, [&desc](const std::string& env) {
                return EnvName(env, desc);
              }),
              vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "augur: " << e.what() << "\n\n" << desc << "\n";
    return kUsageError;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (vm.count("version")) {
    std::cout << common::VersionLine("augur") << "\n";
    return 0;
  }
  if (vm.count("print-metadata-keys")) {
    std::cout << "# Augur's keys (each also as <key>FromEnv; an empty value means unset):\n";
    for (const std::string& k : scaler::AugurMetadataKeys()) std::cout << k << "\n";
    std::cout << "# KEDA's own keys (its connection to Augur): accepted and ignored:\n";
    for (const std::string& k : scaler::KedaMetadataKeys()) std::cout << k << "\n";
    return 0;
  }

  auto level = scaler::ParseLogLevel(f.log_level);
  auto format = scaler::ParseLogFormat(f.log_format);
  if (!level.ok() || !format.ok()) {
    std::cerr << "augur: " << (level.ok() ? format.status() : level.status()).message()
              << "\n\n" << desc << "\n";
    return kUsageError;
  }
  scaler::ConfigureLogging(*level, *format);

  scaler::TrackerOptions tracker_options;
  std::chrono::milliseconds staleness, idle, prom_timeout;
  if (!ParseFlagDuration("first-answer-timeout", f.first_answer_timeout,
                         &tracker_options.first_answer_timeout) ||
      !ParseFlagDuration("max-staleness", f.max_staleness, &staleness) ||
      !ParseFlagDuration("idle-ttl", f.idle_ttl, &idle) ||
      !ParseFlagDuration("prometheus-timeout", f.prometheus_timeout, &prom_timeout)) {
    return kUsageError;
  }
  if (f.rpc_threads < 1 || f.rpc_threads > scaler::ServerOptions::kMaxRpcThreads) {
    std::cerr << "augur: --rpc-threads " << f.rpc_threads << ": expected 1 to "
              << scaler::ServerOptions::kMaxRpcThreads << "\n";
    return kUsageError;
  }
  if (f.max_response_bytes < 4096) {
    std::cerr << "augur: --prometheus-max-response-bytes " << f.max_response_bytes
              << ": expected at least 4096 (bytes)\n";
    return kUsageError;
  }
  if (f.workers < 1 || f.workers > 256) {
    std::cerr << "augur: --workers " << f.workers << ": expected 1 to 256\n";
    return kUsageError;
  }
  if (!f.prometheus_url.empty() && f.prometheus_url.rfind("http://", 0) != 0 &&
      f.prometheus_url.rfind("https://", 0) != 0) {
    std::cerr << "augur: --prometheus-url '" << scaler::RedactUrl(f.prometheus_url)
              << "': expected an http:// or https:// URL\n";
    return kUsageError;
  }
  tracker_options.max_staleness_seconds = staleness.count() / 1000.0;
  tracker_options.idle_ttl_seconds = idle.count() / 1000.0;

  scaler::PrometheusSourceOptions source_options;
  source_options.default_url = f.prometheus_url;
  source_options.allowed_servers = SplitCommas(f.allow_server);
  source_options.insecure_servers = SplitCommas(f.allow_server_insecure);
  source_options.insecure_skip_verify = f.prom_insecure_skip_verify;
  for (const std::string& s : source_options.insecure_servers) {
    if (s.rfind("https://", 0) != 0 && s.rfind("http://", 0) != 0) {
      std::cerr << "augur: --allow-server-insecure '" << scaler::RedactUrl(s)
                << "': expected an http:// or https:// URL (a trailing * allows a prefix)\n";
      return kUsageError;
    }
  }
  source_options.bearer_token_file = f.bearer_token_file;
  source_options.basic_auth_user = f.basic_auth_user;
  source_options.basic_auth_password_file = f.basic_auth_password_file;
  source_options.ca_file = f.prom_ca_file;
  source_options.cert_file = f.prom_cert_file;
  source_options.key_file = f.prom_key_file;
  source_options.default_timeout = prom_timeout;

  prometheus::Registry registry;
  scaler::ScalerMetrics metrics(registry);
  scaler::ExportBuildInfo(registry, common::Version(), common::Revision());
  scaler::SystemClock clock;
  promclient::CurlTransportOptions transport_options;
  transport_options.max_body_bytes = static_cast<size_t>(f.max_response_bytes);
  scaler::PrometheusMetricSource source(
      source_options, std::make_shared<promclient::CurlHttpTransport>(transport_options));
  auto executor = std::make_unique<scaler::ThreadPoolExecutor>(f.workers);
  scaler::Tracker tracker(tracker_options, source, clock, *executor, &metrics,
                          scaler::SpecDefaults{f.prometheus_url});

  scaler::ServerOptions server_options;
  server_options.listen = f.listen;
  server_options.tls_cert_file = f.tls_cert;
  server_options.tls_key_file = f.tls_key;
  server_options.tls_client_ca_file = f.tls_client_ca;
  server_options.rpc_threads = f.rpc_threads;
  auto server = scaler::Server::Start(server_options, tracker, clock, &metrics);
  if (!server.ok()) {
    scaler::Log(scaler::LogLevel::kError, "startup_failed",
                {{"error", std::string(server.status().message())}});
    return 1;
  }
  scaler::Server* grpc_server = server->get();
  std::unique_ptr<scaler::WebView> web;
  if (f.web_ui) web = std::make_unique<scaler::WebView>(tracker, clock);

  auto http = scaler::HttpServer::Start(
      f.http_listen, [&](const std::string& path) -> scaler::HttpReply {
        scaler::HttpReply reply;
        if (path == "/metrics") {
          tracker.UpdateAgeMetrics();
          reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
          reply.body = prometheus::TextSerializer().Serialize(metrics.Collect());
        } else if (path == "/healthz") {
          reply.body = "ok\n";
        } else if (path == "/readyz") {
          const bool ready = grpc_server->ready();
          reply.status = ready ? 200 : 503;
          reply.body = ready ? "ready\n" : "not ready\n";
        } else if (auto page = web ? web->Handle(path) : std::nullopt) {
          reply = std::move(*page);
        } else {
          reply.status = 404;
          reply.body = web ? "not found: try /, /metrics, /healthz or /readyz\n"
                           : "not found: try /metrics, /healthz or /readyz (the web view is "
                             "off: --web-ui=false)\n";
        }
        return reply;
      });
  if (!http.ok()) {
    scaler::Log(scaler::LogLevel::kError, "startup_failed",
                {{"error", std::string(http.status().message())}});
    (*server)->Shutdown(std::chrono::milliseconds(0));
    return 1;
  }
  tracker.Start();
  if (f.prom_insecure_skip_verify || !source_options.insecure_servers.empty()) {
    std::string servers = f.prom_insecure_skip_verify ? scaler::RedactUrl(f.prometheus_url) : "";
    for (const std::string& s : source_options.insecure_servers) {
      servers += (servers.empty() ? "" : ",") + scaler::RedactUrl(s);
    }
    scaler::Log(scaler::LogLevel::kWarn, "prometheus_tls_unverified", {{"servers", servers}});
  }
  scaler::Log(scaler::LogLevel::kInfo, "listening",
              {{"grpc", BoundAddress(f.listen, (*server)->port())},
               {"http", BoundAddress(f.http_listen, (*http)->port())},
               {"tls", f.tls_cert.empty() ? "off" : (f.tls_client_ca.empty() ? "tls" : "mtls")},
               {"prometheus", scaler::RedactUrl(f.prometheus_url)},
               {"version", std::string(common::Version())},
               {"revision", std::string(common::Revision())}});

  int received = 0;
  sigwait(&signals, &received);
  scaler::Log(scaler::LogLevel::kInfo, "shutting_down", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // Stop accepting, end streams, let in-flight calls finish (bounded), then stop the
  // background work: all within KEDA's and Kubernetes' patience (< 5 s).
  (*server)->Shutdown(std::chrono::seconds(2));
  (*server)->Wait();
  (*http)->Stop();
  if (!tracker.Stop(std::chrono::milliseconds(1500))) {
    // A refresh is still waiting on a slow Prometheus: it holds nothing worth saving, and
    // waiting for its timeout would break the 5 s shutdown promise.
    scaler::Log(scaler::LogLevel::kWarn, "stopped", {{"abandoned_refreshes", true}});
    std::fflush(nullptr);
    std::_Exit(0);
  }
  executor.reset();
  scaler::Log(scaler::LogLevel::kInfo, "stopped");
  return 0;
}
