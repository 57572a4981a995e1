// augur: the KEDA external scaler server. Parses its flags (each also settable as an
// AUGUR_* environment variable) into a scaler::Config, wires the real implementations
// together (Serve) and runs until SIGTERM/SIGINT.

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/program_options.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/duration.h"
#include "common/version.h"
#include "prometheus/registry.h"
#include "promclient/curl_http_transport.h"
#include "scaler/config.h"
#include "scaler/http_server.h"
#include "scaler/log.h"
#include "scaler/memory.h"
#include "scaler/metrics.h"
#include "scaler/prometheus_metric_source.h"
#include "scaler/server.h"
#include "scaler/spec.h"
#include "scaler/tracker.h"
#include "scaler/web_view.h"

namespace po = boost::program_options;

namespace {

constexpr int kUsageError = 2;

// The flags as typed; ToConfig() turns them into a scaler::Config.
struct Flags {
  std::string listen, http_listen, prometheus_url;
  std::vector<std::string> allow_server, allow_server_insecure;
  bool prom_insecure_skip_verify = false;
  std::string bearer_token_file, basic_auth_user, basic_auth_password_file;
  std::string prom_ca_file, prom_cert_file, prom_key_file;
  std::string tls_cert, tls_key, tls_client_ca;
  std::string first_answer_timeout, max_staleness, idle_ttl, prometheus_timeout;
  std::string shutdown_drain;
  std::string log_level, log_format;
  int workers = 0;
  int rpc_threads = 0;
  long long max_objects = 0;
  long long max_history_points = 0;
  int max_concurrent_queries = 0;
  bool web_ui = true;
  long long max_response_bytes = 0;
};

std::string Default(std::chrono::milliseconds d) { return common::FormatDuration(d); }

// The defaults shown (and applied) are scaler::Config's.
po::options_description Options(Flags& f) {
  const scaler::Config d;
  po::options_description o(
      "augur: a predictive KEDA external scaler.\n"
      "Every flag can also be set as an environment variable: --max-staleness as\n"
      "AUGUR_MAX_STALENESS (a list such as --allow-server as comma-separated values).\n\n"
      "Options");
  // clang-format off
  o.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("print-metadata-keys",
       "print every ScaledObject metadata key augur accepts, one a line (Augur's own, then "
       "KEDA's, under '#' headings), and exit")
      ("listen", po::value(&f.listen)->default_value(d.listen),
       "gRPC address host:port (port 0 = any free port)")
      ("http-listen", po::value(&f.http_listen)->default_value(d.http_listen),
       "HTTP address for /metrics, /healthz, /readyz and the web view (port 0 = any free port)")
      ("web-ui", po::value(&f.web_ui)->default_value(d.web_ui)->value_name("true|false"),
       "serve the read-only web view (/, /objects/..., /api/v1/...) on the HTTP port")
      ("prometheus-url", po::value(&f.prometheus_url)->default_value(d.prometheus_url),
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
       po::value(&f.prom_insecure_skip_verify)->default_value(d.prometheus_insecure_skip_verify)->implicit_value(true),
       "do NOT verify the TLS certificate of --prometheus-url (off by default; no metadata key "
       "changes it)")
      ("prometheus-cert-file", po::value(&f.prom_cert_file)->default_value(""),
       "PEM client certificate for --prometheus-url (mTLS)")
      ("prometheus-key-file", po::value(&f.prom_key_file)->default_value(""),
       "PEM key of --prometheus-cert-file")
      ("prometheus-timeout", po::value(&f.prometheus_timeout)->default_value(Default(d.prometheus_timeout)),
       "default timeout of a Prometheus query (the `timeout` metadata key overrides it)")
      ("prometheus-max-response-bytes",
       po::value(&f.max_response_bytes)->default_value(d.prometheus_max_response_bytes),
       "a Prometheus answer larger than this is abandoned (RESOURCE_EXHAUSTED), so that a runaway query cannot exhaust memory; at most --workers answers are read at once")
      ("tls-cert", po::value(&f.tls_cert)->default_value(""),
       "PEM certificate: serve gRPC over TLS (the TLS files are re-read when they change)")
      ("tls-key", po::value(&f.tls_key)->default_value(""), "PEM key of --tls-cert")
      ("tls-client-ca", po::value(&f.tls_client_ca)->default_value(""),
       "PEM CA: require and verify client certificates (mTLS)")
      ("first-answer-timeout", po::value(&f.first_answer_timeout)->default_value(Default(d.first_answer_timeout)),
       "how long the first call for an object waits for its first answer")
      ("max-staleness", po::value(&f.max_staleness)->default_value(Default(d.max_staleness)),
       "answers older than this are UNAVAILABLE (KEDA's fallback applies)")
      ("idle-ttl", po::value(&f.idle_ttl)->default_value(Default(d.idle_ttl)),
       "objects not asked about for this long are dropped")
      ("workers", po::value(&f.workers)->default_value(d.workers),
       "refresh worker threads (one refresh in flight per object)")
      ("max-objects", po::value(&f.max_objects)->default_value(d.max_objects),
       "objects (ScaledObject triggers) tracked at most; a new one beyond is refused with RESOURCE_EXHAUSTED while the tracked ones keep answering (0 = no limit)")
      ("max-history-points", po::value(&f.max_history_points)->default_value(d.max_history_points),
       "history points per object at most (history / step): a finer step is coarsened to keep within it (1000 to 1100000)")
      ("prometheus-max-concurrent-queries", po::value(&f.max_concurrent_queries)->default_value(d.prometheus_max_concurrent_queries),
       "queries in flight per Prometheus server at most; further due refreshes wait their turn, tracked objects' before new ones' (1 to 256)")
      ("shutdown-drain", po::value(&f.shutdown_drain)->default_value(Default(d.shutdown_drain)),
       "at SIGTERM/SIGINT, answer every new KEDA call UNAVAILABLE \"shutting down\" with readiness NOT_SERVING for this long before the gRPC server stops (0 = stop at once; a second signal ends the drain); keep it below the pod's terminationGracePeriodSeconds minus 4 s")
      ("rpc-threads", po::value(&f.rpc_threads)->default_value(d.rpc_threads),
       "threads serving GetMetricSpec, GetMetrics and IsActive (1 is the cheapest per call, 2 has the steadier latency tail)")
      ("log-level", po::value(&f.log_level)->default_value(scaler::LogLevelName(d.log_level)),
       "debug, info, warn or error")
      ("log-format", po::value(&f.log_format)->default_value("text"), "text (logfmt) or json");
  // clang-format on
  return o;
}

// AUGUR_MAX_STALENESS -> "max-staleness" if that is a flag; "" otherwise.
std::string EnvName(const std::string& env, const po::options_description& d) {
  constexpr absl::string_view kPrefix = "AUGUR_";
  if (!absl::StartsWith(env, kPrefix)) return "";
  const std::string name =
      absl::StrReplaceAll(absl::AsciiStrToLower(env.substr(kPrefix.size())), {{"_", "-"}});
  // Actions, not settings: AUGUR_VERSION in a container's environment must not turn the
  // server into a version printer.
  if (name == "help" || name == "version" || name == "print-metadata-keys") return "";
  return d.find_nothrow(name, false) != nullptr ? name : "";
}

absl::Status ParseFlagDuration(const std::string& flag, const std::string& value,
                               std::chrono::milliseconds* out) {
  auto d = common::ParseDuration(value);
  if (!d.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " '", value,
                                                   "': expected a duration such as 500ms, 2s, "
                                                   "2m or 15m (",
                                                   d.status().message(), ")"));
  }
  *out = *d;
  return absl::OkStatus();
}

// The typed, validated configuration. Errors: kInvalidArgument naming the flag.
absl::StatusOr<scaler::Config> ToConfig(const Flags& f) {
  scaler::Config c;
  c.listen = f.listen;
  c.http_listen = f.http_listen;
  c.prometheus_url = f.prometheus_url;
  c.prometheus_bearer_token_file = f.bearer_token_file;
  c.prometheus_basic_auth_user = f.basic_auth_user;
  c.prometheus_basic_auth_password_file = f.basic_auth_password_file;
  c.prometheus_ca_file = f.prom_ca_file;
  c.prometheus_cert_file = f.prom_cert_file;
  c.prometheus_key_file = f.prom_key_file;
  // Repeated flags and comma-separated lists (one environment variable) alike.
  for (const auto& [flag, out] : {std::pair{&f.allow_server, &c.allowed_servers},
                                  std::pair{&f.allow_server_insecure, &c.insecure_servers}}) {
    for (const std::string& s : *flag) {
      for (absl::string_view item : absl::StrSplit(s, ',', absl::SkipEmpty())) {
        out->emplace_back(item);
      }
    }
  }
  c.prometheus_insecure_skip_verify = f.prom_insecure_skip_verify;
  c.tls_cert_file = f.tls_cert;
  c.tls_key_file = f.tls_key;
  c.tls_client_ca_file = f.tls_client_ca;
  for (const auto& [flag, text, out] :
       {std::tuple{"first-answer-timeout", &f.first_answer_timeout, &c.first_answer_timeout},
        std::tuple{"max-staleness", &f.max_staleness, &c.max_staleness},
        std::tuple{"idle-ttl", &f.idle_ttl, &c.idle_ttl},
        std::tuple{"prometheus-timeout", &f.prometheus_timeout, &c.prometheus_timeout},
        std::tuple{"shutdown-drain", &f.shutdown_drain, &c.shutdown_drain}}) {
    absl::Status s = ParseFlagDuration(flag, *text, out);
    if (!s.ok()) return s;
  }
  c.workers = f.workers;
  c.rpc_threads = f.rpc_threads;
  c.max_objects = f.max_objects;
  c.max_history_points = f.max_history_points;
  c.prometheus_max_concurrent_queries = f.max_concurrent_queries;
  c.web_ui = f.web_ui;
  c.prometheus_max_response_bytes = f.max_response_bytes;
  absl::StatusOr<scaler::LogLevel> level = scaler::ParseLogLevel(f.log_level);
  if (!level.ok()) return level.status();
  absl::StatusOr<scaler::LogFormat> format = scaler::ParseLogFormat(f.log_format);
  if (!format.ok()) return format.status();
  c.log_level = *level;
  c.log_format = *format;
  absl::Status s = c.Validate();
  if (!s.ok()) return s;
  return c;
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

const char* SignalName(int signal) { return signal == SIGTERM ? "SIGTERM" : "SIGINT"; }

// Waits for one of `signals` (blocked in every thread) at most `max_wait` of `clock`'s
// monotonic time (signals cannot be waited for through the Clock: sigtimedwait has its
// own timeout). Returns the signal, or 0 once `max_wait` has passed.
int WaitForSignal(const sigset_t& signals, std::chrono::milliseconds max_wait,
                  const scaler::Clock& clock) {
  const scaler::MonotonicTime start = clock.Monotonic();
  for (;;) {
    const double left = max_wait.count() / 1000.0 - clock.SecondsSince(start);
    if (left <= 0) return 0;
    timespec timeout;
    timeout.tv_sec = static_cast<time_t>(left);
    timeout.tv_nsec = static_cast<long>((left - static_cast<double>(timeout.tv_sec)) * 1e9);
    const int received = sigtimedwait(&signals, nullptr, &timeout);
    if (received > 0) return received;
    // EAGAIN: the time is up (checked above, against the clock); EINTR: another signal.
  }
}

// Builds the real components from `config`, serves until a signal of `signals`, drains
// (--shutdown-drain) and shuts down within KEDA's and Kubernetes' patience. Returns the
// exit code.
int Serve(const scaler::Config& config, const sigset_t& signals) {
  scaler::ConfigureLogging(config.log_level, config.log_format);
  // Fewer arenas fragment less, large short-lived buffers stay out of them, and freed
  // pages go back to the kernel every kReleaseInterval, so that resident memory follows
  // the objects tracked instead of creeping up with every expiry and re-creation
  // (scaler/memory.h; the soak in docs/reliability.md). Half the workers' arenas: a fit
  // is mostly arithmetic, not malloc.
  const int arenas = scaler::LimitMallocArenas(std::max(2, static_cast<int>(config.workers) / 2));
  // glibc's initial threshold, kept from growing: a fit's buffers are mmapped.
  constexpr size_t kMmapThreshold = 128 * 1024;
  const size_t mmap_threshold = scaler::FixMmapThreshold(kMmapThreshold);
  constexpr std::chrono::seconds kReleaseInterval{30};
  scaler::MemoryReleaser releaser(kReleaseInterval);
  scaler::Log(scaler::LogLevel::kDebug, "memory",
              {{"malloc_arenas", arenas}, {"mmap_threshold", mmap_threshold}});

  scaler::TrackerOptions tracker_options;
  tracker_options.first_answer_timeout = config.first_answer_timeout;
  tracker_options.max_staleness_seconds = config.max_staleness.count() / 1000.0;
  tracker_options.idle_ttl_seconds = config.idle_ttl.count() / 1000.0;
  tracker_options.max_objects = static_cast<size_t>(config.max_objects);
  tracker_options.max_queries_per_server = config.prometheus_max_concurrent_queries;
  // A wave of idle expiries gives its pages back at once (the releaser's period is 30 s).
  tracker_options.release_memory = [](size_t dropped) {
    scaler::ReleaseFreeMemoryLogged(scaler::LogLevel::kInfo, "idle_expiry", dropped);
  };

  scaler::PrometheusSourceOptions source_options;
  source_options.default_url = config.prometheus_url;
  source_options.allowed_servers = config.allowed_servers;
  source_options.insecure_servers = config.insecure_servers;
  source_options.insecure_skip_verify = config.prometheus_insecure_skip_verify;
  source_options.bearer_token_file = config.prometheus_bearer_token_file;
  source_options.basic_auth_user = config.prometheus_basic_auth_user;
  source_options.basic_auth_password_file = config.prometheus_basic_auth_password_file;
  source_options.ca_file = config.prometheus_ca_file;
  source_options.cert_file = config.prometheus_cert_file;
  source_options.key_file = config.prometheus_key_file;
  source_options.default_timeout = config.prometheus_timeout;

  prometheus::Registry registry;
  scaler::ScalerMetrics metrics(registry);
  scaler::ExportBuildInfo(registry, common::Version(), common::Revision());
  scaler::SystemClock clock;
  promclient::CurlTransportOptions transport_options;
  transport_options.max_body_bytes = static_cast<size_t>(config.prometheus_max_response_bytes);
  scaler::PrometheusMetricSource source(
      source_options, std::make_shared<promclient::CurlHttpTransport>(transport_options));
  auto executor = std::make_unique<scaler::ThreadPoolExecutor>(config.workers);
  scaler::SpecDefaults spec_defaults;
  spec_defaults.prometheus_url = config.prometheus_url;
  spec_defaults.max_history_points = static_cast<size_t>(config.max_history_points);
  scaler::Tracker tracker(tracker_options, source, clock, *executor, &metrics, spec_defaults);

  scaler::ServerOptions server_options;
  server_options.listen = config.listen;
  server_options.tls_cert_file = config.tls_cert_file;
  server_options.tls_key_file = config.tls_key_file;
  server_options.tls_client_ca_file = config.tls_client_ca_file;
  server_options.rpc_threads = config.rpc_threads;
  auto server = scaler::Server::Start(server_options, tracker, clock, &metrics);
  if (!server.ok()) {
    scaler::Log(scaler::LogLevel::kError, "startup_failed",
                {{"error", std::string(server.status().message())}});
    return 1;
  }
  scaler::Server* grpc_server = server->get();
  std::unique_ptr<scaler::WebView> web;
  if (config.web_ui) web = std::make_unique<scaler::WebView>(tracker, clock);

  auto http = scaler::HttpServer::Start(
      config.http_listen, [&](const std::string& path) -> scaler::HttpReply {
        scaler::HttpReply reply;
        if (path == "/metrics") {
          tracker.UpdateAgeMetrics();
          reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
          reply.body = metrics.SerializeText();
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
  if (config.prometheus_insecure_skip_verify || !config.insecure_servers.empty()) {
    std::string servers =
        config.prometheus_insecure_skip_verify ? scaler::RedactUrl(config.prometheus_url) : "";
    for (const std::string& s : config.insecure_servers) {
      servers += (servers.empty() ? "" : ",") + scaler::RedactUrl(s);
    }
    scaler::Log(scaler::LogLevel::kWarn, "prometheus_tls_unverified", {{"servers", servers}});
  }
  scaler::Log(scaler::LogLevel::kInfo, "listening",
              {{"grpc", BoundAddress(config.listen, (*server)->port())},
               {"http", BoundAddress(config.http_listen, (*http)->port())},
               {"tls", config.tls_cert_file.empty()
                           ? "off"
                           : (config.tls_client_ca_file.empty() ? "tls" : "mtls")},
               {"prometheus", scaler::RedactUrl(config.prometheus_url)},
               {"version", std::string(common::Version())},
               {"revision", std::string(common::Revision())}});

  int received = 0;
  sigwait(&signals, &received);
  scaler::Log(scaler::LogLevel::kInfo, "shutting_down",
              {{"signal", SignalName(received)},
               {"drain", common::FormatDuration(config.shutdown_drain)}});
  if (config.shutdown_drain.count() > 0) {
    // The drain: readiness NOT_SERVING, streams ended, every new call UNAVAILABLE
    // "shutting down" while the listener and connections stay up, so that clients move
    // to another replica on augur's answer rather than on gRPC's cancellation of calls
    // in flight when the server stops.
    (*server)->BeginDrain();
    const int again = WaitForSignal(signals, config.shutdown_drain, clock);
    if (again != 0) {
      scaler::Log(scaler::LogLevel::kInfo, "drain_skipped", {{"signal", SignalName(again)}});
    } else {
      scaler::Log(scaler::LogLevel::kInfo, "drained");
    }
  }
  // Stop accepting, end streams, let in-flight calls finish (bounded), then stop the
  // background work: all within KEDA's and Kubernetes' patience (< 5 s after the drain).
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

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil is built with absl::Mutex deadlock detection on: a global graph
  // updated on every lock gRPC takes, which costs a third of the throughput of small
  // calls (docs/scaler.md). Deadlocks are not detected at run time in release builds.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Signals are handled by sigwait() in Serve: block them before any thread starts (every
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
  } catch (const po::error& e) {
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
  absl::StatusOr<scaler::Config> config = ToConfig(f);
  if (!config.ok()) {
    std::cerr << "augur: " << config.status().message() << "\n\n" << desc << "\n";
    return kUsageError;
  }
  return Serve(*config, signals);
}
