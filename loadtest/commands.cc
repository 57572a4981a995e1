#include "loadtest/commands.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "boost/program_options.hpp"
#include "common/duration.h"
#include "common/version.h"
#include "grpcpp/grpcpp.h"
#include "loadtest/bench.h"
#include "loadtest/hpa.h"
#include "loadtest/keda.h"
#include "loadtest/openmetrics.h"
#include "loadtest/pattern.h"
#include "loadtest/workload.h"
#include "loadtest/frontier.h"
#include "loadtest/simulate.h"
#include "nlohmann/json.hpp"
#include "promclient/curl_http_transport.h"
#include "promclient/prometheus_client.h"

namespace loadtest {
namespace {

namespace po = boost::program_options;

constexpr int kUsage = 2;
constexpr int kFailure = 1;

// A flag value that is wrong: reported with the usage, exit 2.
struct UsageError {
  std::string message;
};

double Seconds(const std::string& flag, const std::string& text) {
  auto d = common::ParseDuration(text);
  if (!d.ok()) throw UsageError{absl::StrCat("--", flag, ": ", d.status().message())};
  return static_cast<double>(d->count()) / 1000.0;
}

// Unix seconds, "now", "now-7d" or RFC 3339 ("2026-11-20T00:00:00Z").
double TimeFlag(const std::string& flag, const std::string& text, double now) {
  if (text == "now") return now;
  if (text.rfind("now-", 0) == 0) return now - Seconds(flag, text.substr(4));
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() && *end == '\0' && std::isfinite(v)) return v;
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return static_cast<double>(absl::ToUnixMillis(t)) / 1000.0;
  throw UsageError{absl::StrCat("--", flag, " '", text,
                                "': expected unix seconds, now, now-<duration> or RFC 3339 "
                                "(2026-11-20T00:00:00Z)")};
}

void Check(const absl::Status& s, const std::string& flag = "") {
  if (!s.ok()) {
    throw UsageError{flag.empty() ? std::string(s.message())
                                  : absl::StrCat("--", flag, ": ", s.message())};
  }
}

// Parses argv (after the subcommand) against `desc`. Returns false when --help was
// printed.
// An unknown or malformed flag prints the error and the command's usage (exit 2).
struct UsagePrinted {};

bool Parse(const std::vector<std::string>& args, const po::options_description& desc,
           po::variables_map& vm, const CommandEnv& env) {
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    *env.err << "augur-loadtest: " << e.what() << "\n\n" << desc << "\n";
    throw UsagePrinted{};
  }
  return vm.count("help") == 0;
}

void Progress(const CommandEnv& env, const std::string& line) {
  if (env.progress) *env.err << line << std::endl;
}

// Prints a progress line when the fraction crosses each 10 %.
std::function<void(double)> FractionProgress(const CommandEnv& env, const std::string& what) {
  auto last = std::make_shared<int>(-1);
  return [&env, what, last](double f) {
    const int decile = static_cast<int>(f * 10);
    if (decile > *last) {
      *last = decile;
      Progress(env, absl::StrCat(what, ": ", decile * 10, " %"));
    }
  };
}

// ---------------------------------------------------------------- pattern flags

struct SourceFlags {
  std::string pattern = "diurnal";
  double base = 10, amplitude = 50, spike_height = 100, noise = 0;
  std::string period = "1h", phase = "0s", spike_width = "5m", noise_step = "1s";
  uint64_t seed = 1;
  std::string replay, anchor;
  double speed = 1;
  std::string metric_name = "augur_demo_load";
  std::string labels = "job=augur-loadtest";

  void Add(po::options_description& desc) {
    desc.add_options()
        ("pattern", po::value(&pattern)->default_value(pattern),
         "constant | spike | gradual (ramp) | sustained | diurnal")
        ("base", po::value(&base)->default_value(base), "baseline value")
        ("amplitude", po::value(&amplitude)->default_value(amplitude),
         "height of the gradual/sustained/diurnal shape above base")
        ("period", po::value(&period)->default_value(period),
         "period of spike/gradual/sustained (diurnal: 1d and 1w)")
        ("phase", po::value(&phase)->default_value(phase), "time shift of the shape")
        ("spike-height", po::value(&spike_height)->default_value(spike_height), "spike: added height")
        ("spike-width", po::value(&spike_width)->default_value(spike_width), "spike: duration")
        ("noise", po::value(&noise)->default_value(noise),
         "relative Gaussian noise (0.05 = 5 %), from a hash of (seed, time bucket)")
        ("noise-step", po::value(&noise_step)->default_value(noise_step), "noise bucket length")
        ("seed", po::value(&seed)->default_value(seed), "noise seed")
        ("replay", po::value(&replay), "replay a timestamp,value CSV trace instead of a pattern")
        ("speed", po::value(&speed)->default_value(speed), "replay: speed-up factor")
        ("anchor", po::value(&anchor),
         "replay: the time the trace's first sample maps to (unix seconds, now, now-<d>, RFC 3339)")
        ("metric-name", po::value(&metric_name)->default_value(metric_name), "metric name")
        ("labels", po::value(&labels)->default_value(labels), "labels k=v,k2=v2");
  }

  LoadSource Build(double default_anchor, double now) const {
    LoadSource source;
    auto kind = ParsePatternKind(pattern);
    Check(kind.status(), "pattern");
    PatternParams& p = source.pattern;
    p.kind = *kind;
    p.base = base;
    p.amplitude = amplitude;
    p.period_seconds = Seconds("period", period);
    p.phase_seconds = Seconds("phase", phase);
    p.spike_height = spike_height;
    p.spike_width_seconds = Seconds("spike-width", spike_width);
    p.noise = noise;
    p.noise_step_seconds = Seconds("noise-step", noise_step);
    p.seed = seed;
    Check(p.Validate());
    if (!replay.empty()) {
      auto trace = ReadTraceCsv(replay);
      if (!trace.ok()) throw std::runtime_error(std::string(trace.status().message()));
      const double a = anchor.empty() ? default_anchor : TimeFlag("anchor", anchor, now);
      auto r = Replay::Make(std::make_shared<Trace>(std::move(*trace)), a, speed);
      Check(r.status(), "speed");
      source.replay = std::move(*r);
    }
    return source;
  }
};

// ---------------------------------------------------------------- workload

int Workload(const std::vector<std::string>& args, const CommandEnv& env) {
  SourceFlags source_flags;
  std::string listen = "127.0.0.1:9464", duration = "1h", report = "10s";
  bool json = false;
  po::options_description desc(
      "augur-loadtest workload: serve a synthetic load metric on /metrics for Prometheus.\n"
      "The value at scrape time t equals what `backfill` writes for t (same flags)");
  desc.add_options()("help,h", "this help")
      ("listen", po::value(&listen)->default_value(listen), "host:port to serve /metrics on (port 0 = any)")
      ("duration", po::value(&duration)->default_value(duration), "serve this long, then exit")
      ("report-every", po::value(&report)->default_value(report), "progress line interval")
      ("json", po::bool_switch(&json), "machine-readable start and end records on stdout");
  source_flags.Add(desc);
  po::variables_map vm;
  if (!Parse(args, desc, vm, env)) {
    *env.out << desc << "\n";
    return 0;
  }
  const double now = env.now();
  LoadSource source = source_flags.Build(now, now);
  LabelMap labels;
  {
    auto l = ParseLabels(source_flags.labels);
    Check(l.status(), "labels");
    labels = *l;
  }
  Check(ValidateMetricName(source_flags.metric_name), "metric-name");
  const double run_seconds = Seconds("duration", duration);
  const double report_seconds = std::max(1.0, Seconds("report-every", report));
  auto collectable = std::make_shared<LoadCollectable>(source_flags.metric_name, labels, source, env.now);
  auto server = WorkloadServer::Start(listen, collectable);
  if (!server.ok()) {
    *env.err << "workload: " << server.status().message() << "\n";
    return kFailure;
  }
  const int port = (*server)->port();
  if (json) {
    *env.out << nlohmann::json{{"event", "listening"}, {"port", port}, {"metric", source_flags.metric_name}}.dump()
             << std::endl;
  } else {
    *env.out << "serving " << source_flags.metric_name << " on http://"
             << listen.substr(0, listen.rfind(':')) << ":" << port << "/metrics for "
             << duration << std::endl;
  }
  const double end = now + run_seconds;
  double next_report = now + report_seconds;
  // Bounded by --duration; a signal ends it early.
  while (!env.stop->load() && env.now() < end) {
    env.sleep_until(std::min(end, next_report));
    const double t = env.now();
    if (t >= next_report && t < end) {
      Progress(env, absl::StrCat("workload: ", static_cast<int>(t - now), "s of ",
                                 static_cast<int>(run_seconds), "s, value ", source.ValueAt(t),
                                 ", scrapes ", collectable->scrapes()));
      next_report += report_seconds;
    }
  }
  if (json) {
    *env.out << nlohmann::json{{"event", "done"}, {"seconds", env.now() - now},
                               {"scrapes", collectable->scrapes()}}.dump()
             << std::endl;
  } else {
    *env.out << "done: " << collectable->scrapes() << " scrapes" << std::endl;
  }
  return 0;
}

// ---------------------------------------------------------------- backfill

int Backfill(const std::vector<std::string>& args, const CommandEnv& env) {
  SourceFlags source_flags;
  std::string start, end, range = "7d", step = "15s", out_path;
  bool json = false;
  po::options_description desc(
      "augur-loadtest backfill: write a pattern (or a replayed trace) over a past window as\n"
      "OpenMetrics for `promtool tsdb create-blocks-from openmetrics FILE DIR`");
  desc.add_options()("help,h", "this help")
      ("start", po::value(&start), "window start (unix seconds, now-<d>, RFC 3339); default end - range")
      ("end", po::value(&end), "window end; default now")
      ("range", po::value(&range)->default_value(range), "window length when --start is not given")
      ("step", po::value(&step)->default_value(step), "sample spacing")
      ("out", po::value(&out_path), "write to FILE instead of stdout")
      ("json", po::bool_switch(&json), "print a JSON summary (stdout with --out, else stderr)");
  source_flags.Add(desc);
  po::variables_map vm;
  if (!Parse(args, desc, vm, env)) {
    *env.out << desc << "\n";
    return 0;
  }
  const double now = env.now();
  BackfillWindow window;
  window.end = end.empty() ? now : TimeFlag("end", end, now);
  window.start = start.empty() ? window.end - Seconds("range", range) : TimeFlag("start", start, now);
  window.step = Seconds("step", step);
  if (!(window.step > 0)) throw UsageError{absl::StrCat("--step '", step, "': expected a duration > 0")};
  // Align to the step grid so that repeated runs write the same timestamps.
  window.start = std::ceil(window.start / window.step) * window.step;
  Check(window.Validate());
  LoadSource source = source_flags.Build(window.start, now);
  auto labels = ParseLabels(source_flags.labels);
  Check(labels.status(), "labels");
  Check(ValidateMetricName(source_flags.metric_name), "metric-name");

  std::ofstream file;
  std::ostream* out = env.out;
  if (!out_path.empty()) {
    file.open(out_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      *env.err << "backfill: cannot write '" << out_path << "'\n";
      return kFailure;
    }
    out = &file;
  }
  const bool long_run = (window.end - window.start) / window.step > 200000;
  absl::Status s = WriteOpenMetrics(
      *out, source_flags.metric_name, *labels, window,
      [&source](double t) { return source.ValueAt(t); },
      long_run ? FractionProgress(env, "backfill") : std::function<void(double)>());
  if (!s.ok()) {
    *env.err << "backfill: " << s.message() << "\n";
    return kFailure;
  }
  const auto samples = static_cast<int64_t>(std::floor((window.end - window.start) / window.step + 1e-9)) + 1;
  if (json) {
    std::ostream& summary = out_path.empty() ? *env.err : *env.out;
    summary << nlohmann::json{{"metric", source_flags.metric_name}, {"start", window.start},
                              {"end", window.start + (samples - 1) * window.step},
                              {"step", window.step}, {"samples", samples},
                              {"out", out_path.empty() ? "-" : out_path}}.dump()
            << std::endl;
  } else if (!out_path.empty()) {
    *env.out << "wrote " << samples << " samples of " << source_flags.metric_name << " to "
             << out_path << "\nload it: promtool tsdb create-blocks-from openmetrics " << out_path
             << " <prometheus data dir>" << std::endl;
  }
  return 0;
}

// ---------------------------------------------------------------- keda

std::string Opt(const std::optional<double>& v) {
  if (!v) return "";
  std::ostringstream s;
  s << std::setprecision(6) << *v;
  return s.str();
}

std::string IsoTime(double t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(static_cast<int64_t>(std::llround(t * 1000))),
                          absl::UTCTimeZone());
}

void PrintKedaEvent(std::ostream& out, const std::string& format, const KedaEvent& e) {
  if (format == "json") {
    nlohmann::json j{{"time", e.time}, {"event", KedaEventKindName(e.kind)}, {"replicas", e.replicas},
                     {"reason", e.reason}, {"error", e.error}, {"rpcs", e.rpcs}};
    j["observed"] = e.observed ? nlohmann::json(*e.observed) : nlohmann::json();
    j["value"] = e.value ? nlohmann::json(*e.value) : nlohmann::json();
    j["active"] = e.active ? nlohmann::json(*e.active) : nlohmann::json();
    j["reactive_replicas"] = e.reactive_replicas ? nlohmann::json(*e.reactive_replicas) : nlohmann::json();
    out << j.dump() << std::endl;
  } else if (format == "csv") {
    std::string reason = e.reason;
    for (char& c : reason) {
      if (c == '"') c = '\'';
    }
    out << std::fixed << std::setprecision(3) << e.time << std::defaultfloat << ','
        << KedaEventKindName(e.kind) << ',' << Opt(e.observed) << ',' << Opt(e.value) << ','
        << (e.active ? (*e.active ? "true" : "false") : "") << ',' << e.replicas << ','
        << (e.reactive_replicas ? std::to_string(*e.reactive_replicas) : "") << ",\"" << reason
        << "\"" << std::endl;
  } else {
    out << IsoTime(e.time) << "  " << std::left << std::setw(6) << KedaEventKindName(e.kind)
        << " observed=" << std::setw(9) << (e.observed ? Opt(e.observed) : "-")
        << " value=" << std::setw(9) << (e.value ? Opt(e.value) : "-")
        << " active=" << std::setw(5) << (e.active ? (*e.active ? "true" : "false") : "-")
        << " replicas=" << std::setw(4) << e.replicas;
    if (e.reactive_replicas) out << " reactive=" << std::setw(4) << *e.reactive_replicas;
    out << std::right << "  " << e.reason << std::endl;
  }
}

int Keda(const std::vector<std::string>& args, const CommandEnv& env) {
  std::string target = "127.0.0.1:6000", name = "loadtest", ns = "default", metadata;
  std::string polling = "30s", sync = "15s", duration = "10m", timeout = "3s";
  std::string stabilization = "300s", cooldown = "300s", metric_type = "AverageValue";
  std::string format = "text", observe_query, prometheus_url;
  int min_replicas = 1, max_replicas = 100, initial = 1, fallback_replicas = 0;
  int failure_threshold = -1;
  double tolerance = 0.1;
  bool json = false, push = false;
  po::options_description desc(
      "augur-loadtest keda: drive a running external scaler exactly as KEDA does\n"
      "(GetMetricSpec at start; every polling interval and HPA sync GetMetricSpec ->\n"
      "GetMetrics -> IsActive) and apply the HPA's rules; a line per decision");
  desc.add_options()("help,h", "this help")
      ("target", po::value(&target)->default_value(target), "scaler address host:port")
      ("name", po::value(&name)->default_value(name), "ScaledObject name")
      ("namespace", po::value(&ns)->default_value(ns), "ScaledObject namespace")
      ("metadata", po::value(&metadata), "trigger metadata k=v,k2=v2 (e.g. query=...,targetValue=10)")
      ("polling-interval", po::value(&polling)->default_value(polling), "KEDA pollingInterval")
      ("hpa-sync", po::value(&sync)->default_value(sync), "HPA sync period")
      ("duration", po::value(&duration)->default_value(duration), "run this long, then exit")
      ("timeout", po::value(&timeout)->default_value(timeout), "deadline per RPC")
      ("min-replicas", po::value(&min_replicas)->default_value(min_replicas), "minReplicaCount (0 = scale to zero)")
      ("max-replicas", po::value(&max_replicas)->default_value(max_replicas), "maxReplicaCount")
      ("initial-replicas", po::value(&initial)->default_value(initial), "replicas at start")
      ("metric-type", po::value(&metric_type)->default_value(metric_type), "AverageValue | Value")
      ("tolerance", po::value(&tolerance)->default_value(tolerance), "HPA tolerance")
      ("scale-down-stabilization", po::value(&stabilization)->default_value(stabilization), "HPA scale-down window")
      ("cooldown", po::value(&cooldown)->default_value(cooldown), "KEDA cooldownPeriod (scale to zero)")
      ("failure-threshold", po::value(&failure_threshold), "KEDA fallback.failureThreshold (unset = no fallback)")
      ("fallback-replicas", po::value(&fallback_replicas)->default_value(fallback_replicas), "KEDA fallback.replicas")
      ("push", po::bool_switch(&push), "also hold StreamIsActive open as external-push does")
      ("observe-query", po::value(&observe_query), "PromQL for the observed value (reactive column)")
      ("prometheus", po::value(&prometheus_url), "Prometheus base URL for --observe-query")
      ("format", po::value(&format)->default_value(format), "text | csv | json (JSON lines)")
      ("json", po::bool_switch(&json), "same as --format json");
  po::variables_map vm;
  if (!Parse(args, desc, vm, env)) {
    *env.out << desc << "\n";
    return 0;
  }
  if (json) format = "json";
  if (format != "text" && format != "csv" && format != "json") {
    throw UsageError{absl::StrCat("--format '", format, "': expected text, csv or json")};
  }
  KedaConfig config;
  config.ref.set_name(name);
  config.ref.set_namespace_(ns);
  auto md = ParseKeyValues(metadata);
  Check(md.status(), "metadata");
  for (const auto& [k, v] : *md) (*config.ref.mutable_scalermetadata())[k] = v;
  config.polling_seconds = Seconds("polling-interval", polling);
  config.hpa_sync_seconds = Seconds("hpa-sync", sync);
  config.min_replica_count = min_replicas;
  config.cooldown_seconds = Seconds("cooldown", cooldown);
  config.initial_replicas = initial;
  config.hpa.max_replicas = max_replicas;
  config.hpa.tolerance = tolerance;
  config.hpa.scale_down_stabilization_seconds = Seconds("scale-down-stabilization", stabilization);
  config.hpa.scale_up_period_seconds = config.hpa.scale_down_period_seconds = 15;
  if (metric_type == "AverageValue") {
    config.hpa.metric_type = MetricType::kAverageValue;
  } else if (metric_type == "Value") {
    config.hpa.metric_type = MetricType::kValue;
  } else {
    throw UsageError{absl::StrCat("--metric-type '", metric_type, "': expected AverageValue or Value")};
  }
  if (vm.count("failure-threshold")) config.hpa.failure_threshold = failure_threshold;
  config.hpa.fallback_replicas = fallback_replicas;
  Check(config.Validate());
  const double run_seconds = Seconds("duration", duration);
  const auto rpc_timeout = std::chrono::milliseconds(static_cast<int64_t>(Seconds("timeout", timeout) * 1000));
  if (!observe_query.empty() && prometheus_url.empty()) {
    throw UsageError{"--observe-query needs --prometheus URL"};
  }

  std::function<absl::StatusOr<double>(double)> observe;
  std::unique_ptr<promclient::PrometheusClient> prom;
  if (!observe_query.empty()) {
    promclient::ClientOptions options;
    options.base_url = prometheus_url;
    options.timeout = rpc_timeout;
    auto client = promclient::PrometheusClient::Create(
        options, std::make_shared<promclient::CurlHttpTransport>());
    if (!client.ok()) {
      *env.err << "keda: --prometheus: " << client.status().message() << "\n";
      return kFailure;
    }
    prom = std::move(*client);
    observe = [&prom, observe_query](double) -> absl::StatusOr<double> {
      auto r = prom->Query(observe_query, std::nullopt);
      if (!r.ok()) return r.status();
      if (r->type == promclient::ResultType::kScalar && r->scalar) return r->scalar->value;
      if (r->series.empty() || r->series[0].samples.empty()) return 0.0;  // as ignoreNullValues
      if (r->series.size() > 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--observe-query returned ", r->series.size(), " series: expected one (use sum(...))"));
      }
      const double v = r->series[0].samples.back().value;
      return std::isfinite(v) ? v : 0.0;
    };
  }

  if (push && !env.wait_until) {
    *env.err << "keda: --push needs a wait_until hook in this CommandEnv\n";
    return kFailure;
  }

  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  GrpcScalerApi api(channel, rpc_timeout);
  KedaEmulator emulator(config, api, observe);
  const double t0 = env.now();
  auto start = emulator.Start(t0);
  if (!start.ok()) {
    *env.err << "keda: GetMetricSpec on " << target << " failed: " << start.status().ToString() << "\n";
    return kFailure;
  }
  if (format == "csv") *env.out << "time,event,observed,value,active,replicas,reactive_replicas,reason\n";
  PrintKedaEvent(*env.out, format, *start);

  // external-push: StreamIsActive held open on its own thread with KEDA's backoff.
  // Shared with the main loop: env.out/env.err writes and the emulator under out_mutex,
  // the live call's context under ctx_mutex; the thread's only waits are Read (ended by
  // TryCancel) and env.wait_until (ended by stream_stop).
  std::atomic<bool> stream_stop{false};
  std::thread stream_thread;
  auto stub = externalscaler::ExternalScaler::NewStub(channel);
  std::mutex out_mutex;
  std::mutex ctx_mutex;
  grpc::ClientContext* live_ctx = nullptr;
  const double end = t0 + run_seconds;
  if (push) {
    stream_thread = std::thread([&] {
      ReconnectBackoff backoff;
      while (!stream_stop.load() && !env.stop->load() && env.now() < end) {
        grpc::ClientContext ctx;
        {
          // Checked under the lock: a stop that found no live call must not be followed
          // by a new call that nobody cancels (Read would block until the server ends).
          std::lock_guard<std::mutex> lock(ctx_mutex);
          if (stream_stop.load()) break;
          live_ctx = &ctx;
        }
        auto reader = stub->StreamIsActive(&ctx, config.ref);
        externalscaler::IsActiveResponse msg;
        while (reader->Read(&msg)) {
          std::lock_guard<std::mutex> lock(out_mutex);
          KedaEvent e;
          e.kind = KedaEvent::Kind::kStream;
          e.time = env.now();
          e.active = msg.result();
          e.replicas = emulator.replicas();
          e.reason = msg.result() ? "StreamIsActive: active (KEDA requests a scale from 0 now)"
                                  : "StreamIsActive: inactive (ignored by KEDA >= 2.18)";
          PrintKedaEvent(*env.out, format, e);
        }
        grpc::Status s = reader->Finish();
        {
          std::lock_guard<std::mutex> lock(ctx_mutex);
          live_ctx = nullptr;
        }
        if (stream_stop.load() || env.stop->load()) break;
        const double delay = backoff.Next(s.ok());
        {
          std::lock_guard<std::mutex> lock(out_mutex);
          Progress(env, absl::StrCat("keda: StreamIsActive ended (", s.ok() ? "OK" : GrpcCodeName(s.error_code()),
                                     s.ok() ? "" : absl::StrCat(": ", s.error_message()),
                                     "); reconnecting in ", delay, "s"));
        }
        env.wait_until(std::min(end, env.now() + delay), stream_stop);
      }
    });
  }

  int events = 0;
  while (!env.stop->load()) {
    const double next = emulator.NextEventTime();
    if (next > end) break;
    env.sleep_until(next);
    if (env.stop->load()) break;
    // The stream thread reads the emulator's replicas under the same lock.
    std::lock_guard<std::mutex> lock(out_mutex);
    for (const KedaEvent& e : emulator.RunDue(std::min(env.now(), end))) {
      PrintKedaEvent(*env.out, format, e);
      ++events;
    }
  }
  if (stream_thread.joinable()) {
    stream_stop.store(true);
    {
      std::lock_guard<std::mutex> lock(ctx_mutex);
      if (live_ctx != nullptr) live_ctx->TryCancel();
    }
    stream_thread.join();
  }
  Progress(env, absl::StrCat("keda: ", events, " decisions, final replicas ", emulator.replicas()));
  return 0;
}

// ---------------------------------------------------------------- bench

int Bench(const std::vector<std::string>& args, const CommandEnv& env) {
  std::string target = "127.0.0.1:6000", duration = "10s", warmup = "1s", timeout = "3s";
  std::string metadata, rpc = "GetMetrics";
  BenchConfig config;
  bool json = false;
  po::options_description desc(
      "augur-loadtest bench: load on a scaler's gRPC API (as ghz would); reports requests/s,\n"
      "latency percentiles and errors by status code");
  desc.add_options()("help,h", "this help")
      ("target", po::value(&target)->default_value(target), "scaler address host:port")
      ("concurrency,c", po::value(&config.concurrency)->default_value(config.concurrency), "requests in flight")
      ("connections", po::value(&config.connections)->default_value(config.connections), "gRPC connections (channels)")
      ("rate,r", po::value(&config.rate)->default_value(0), "requests/s overall (0 = as fast as possible)")
      ("duration,z", po::value(&duration)->default_value(duration), "run this long (0 = until --count)")
      ("count,n", po::value(&config.count)->default_value(0), "stop after this many requests (0 = until --duration)")
      ("warmup", po::value(&warmup)->default_value(warmup), "unrecorded warm-up")
      ("objects", po::value(&config.objects)->default_value(config.objects), "distinct ScaledObjects")
      ("name", po::value(&config.name_prefix)->default_value(config.name_prefix), "ScaledObject name prefix")
      ("namespace", po::value(&config.ns)->default_value(config.ns), "ScaledObject namespace")
      ("metadata", po::value(&metadata), "shared trigger metadata k=v,k2=v2")
      ("rpc", po::value(&rpc)->default_value(rpc), "GetMetrics | IsActive | GetMetricSpec")
      ("timeout", po::value(&timeout)->default_value(timeout), "deadline per request")
      ("json", po::bool_switch(&json), "print exactly {\"rps\",\"latency_ms\",\"errors\"}");
  po::variables_map vm;
  if (!Parse(args, desc, vm, env)) {
    *env.out << desc << "\n";
    return 0;
  }
  auto md = ParseKeyValues(metadata);
  Check(md.status(), "metadata");
  config.metadata = *md;
  auto r = ParseBenchRpc(rpc);
  Check(r.status(), "rpc");
  config.rpc = *r;
  config.duration_seconds = Seconds("duration", duration);
  config.warmup_seconds = Seconds("warmup", warmup);
  config.timeout = std::chrono::milliseconds(static_cast<int64_t>(Seconds("timeout", timeout) * 1000));
  Check(config.Validate());
  auto channels = [&target](int index) {
    grpc::ChannelArguments args;
    // A distinct argument per connection keeps gRPC from sharing one subchannel.
    args.SetInt("augur.loadtest.connection", index);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // Tiny calls: no bandwidth-delay probing (it costs CPU per call at high rates).
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    // No retries: a bench reports failures rather than hiding them, and the retry
    // filter buffers every call (CPU the client shares with the scaler).
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  };
  auto result = RunBench(config, channels, *env.stop, [&env](const BenchResult& p) {
    Progress(env, absl::StrCat("bench: ", p.requests, " requests in ",
                               static_cast<int>(p.elapsed_seconds), "s (", static_cast<int64_t>(p.rps), "/s)"));
  });
  if (!result.ok()) {
    *env.err << "bench: " << result.status().message() << "\n";
    return kFailure;
  }
  *env.out << (json ? BenchJson(*result) + "\n" : BenchText(*result));
  return 0;
}

// ---------------------------------------------------------------- simulate

int Simulate(const std::vector<std::string>& args, const CommandEnv& env) {
  std::string trace_path, startup = "3m", sync = "15s", horizon, history = "7d";
  std::string refresh = "30s", refit = "10m", min_history = "1h", warmup = "1d", limit = "0s";
  std::string from = "0s", svg_last = "0s";
  std::string mode = "predictive", seasonality = "auto", csv_path, svg_path, stabilization = "300s";
  std::string values_path, shortfall, frontier_svg, budgets;
  bool frontier = false;
  double capacity = 0, target = 0, quantile = 0.5, max_forecast_error = 1.0;
  int min_replicas = 1, max_replicas = 1000, uncertainty = 100;
  bool json = false;
  po::options_description desc(
      "augur-loadtest simulate: replay a demand trace through the reactive policy and Augur's\n"
      "(the scaler's own forecast and policy code) with KEDA/HPA timing and pod start-up;\n"
      "report under-provisioned time, unserved demand, replica-hours and scaling events");
  desc.add_options()("help,h", "this help")
      ("trace", po::value(&trace_path), "timestamp,value CSV of demand (required)")
      ("capacity", po::value(&capacity), "demand one ready pod serves (required)")
      ("target", po::value(&target),
       "HPA AverageValue target (default capacity / (1 + tolerance 0.1): the largest target\n"
       "whose tolerance band never leaves demand above the replicas' capacity)")
      ("startup", po::value(&startup)->default_value(startup), "pod start-up delay")
      ("sync", po::value(&sync)->default_value(sync), "HPA sync period (the tick)")
      ("min-replicas", po::value(&min_replicas)->default_value(min_replicas), "HPA minReplicas")
      ("max-replicas", po::value(&max_replicas)->default_value(max_replicas), "HPA maxReplicas")
      ("scale-down-stabilization", po::value(&stabilization)->default_value(stabilization), "HPA scale-down window")
      ("horizon", po::value(&horizon), "Augur horizon (default startup + 1m)")
      ("shortfall", po::value(&shortfall),
       "Augur shortfall budget: 2% (a share of time) or 0.5x (of reactive scaling's);\n"
       "default 0.5x when --quantile is not given")
      ("quantile", po::value(&quantile),
       "Augur forecast quantile (instead of a shortfall budget)")
      ("mode", po::value(&mode)->default_value(mode), "predictive | forecast | shadow")
      ("history", po::value(&history)->default_value(history), "Augur history window")
      ("refresh", po::value(&refresh)->default_value(refresh), "Augur refreshInterval")
      ("refit", po::value(&refit)->default_value(refit), "Augur refitInterval")
      ("min-history", po::value(&min_history)->default_value(min_history), "Augur minHistory")
      ("max-forecast-error", po::value(&max_forecast_error),
       "Augur maxForecastError (default 1 with --quantile, none with a budget)")
      ("seasonality", po::value(&seasonality)->default_value(seasonality), "auto | none | 1d,1w ...")
      ("uncertainty-samples", po::value(&uncertainty)->default_value(uncertainty),
       "forecast uncertainty samples (the scaler's --uncertainty-samples default)")
      ("warmup", po::value(&warmup)->default_value(warmup), "not scored at the trace's start")
      ("from", po::value(&from)->default_value(from),
       "start this long after the trace's start (earlier data is still history)")
      ("limit", po::value(&limit)->default_value(limit), "simulate only this long (0 = to the end)")
      ("values", po::value(&values_path),
       "timestamp,value CSV scored as a third policy: the HPA gets its newest value at or\n"
       "before t (another autoscaler's recorded metric values, or an offline policy)")
      ("frontier", po::bool_switch(&frontier),
       "the price of safety: Augur across shortfall budgets against reactive scaling with\n"
       "headroom and peak-hold, in one replay; the extra replica-hours each needs to reach\n"
       "0.5x and 0.25x of reactive's under-provisioned time (with --json: as JSON)")
      ("budgets", po::value(&budgets),
       "--frontier's budgets, e.g. 0.5%,1%,2%,5% (default 0.1% ... 30%)")
      ("frontier-svg", po::value(&frontier_svg), "--frontier: write a plot of both frontiers")
      ("csv", po::value(&csv_path), "write the run as CSV")
      ("svg", po::value(&svg_path), "write a plot of demand and ready capacity")
      ("svg-last", po::value(&svg_last)->default_value(svg_last),
       "plot only this last part of the run (0 = all of it)")
      ("json", po::bool_switch(&json),
       "print {\"reactive\": {...}, \"augur\": {...}, \"run\": {...}} (and \"values\": {...})");
  po::variables_map vm;
  if (!Parse(args, desc, vm, env)) {
    *env.out << desc << "\n";
    return 0;
  }
  if (trace_path.empty()) throw UsageError{"--trace FILE is required"};
  if (!vm.count("capacity")) throw UsageError{"--capacity is required (demand one pod serves)"};
  SimulationConfig config;
  config.capacity = capacity;
  config.target = vm.count("target") ? target : capacity / (1 + config.hpa.tolerance);
  config.startup_seconds = Seconds("startup", startup);
  config.sync_seconds = Seconds("sync", sync);
  config.hpa.min_replicas = min_replicas;
  config.hpa.max_replicas = max_replicas;
  config.hpa.scale_down_stabilization_seconds = Seconds("scale-down-stabilization", stabilization);
  config.policy.horizon_seconds =
      horizon.empty() ? config.startup_seconds + 60 : Seconds("horizon", horizon);
  if (vm.count("quantile") && vm.count("shortfall")) {
    throw UsageError{"--quantile and --shortfall: give one (a budget, or a fixed quantile)"};
  }
  if (vm.count("quantile")) {
    config.policy.quantile = quantile;
    config.policy.shortfall.reset();
  } else {
    absl::StatusOr<scaler::ShortfallBudget> budget =
        shortfall.empty() ? absl::StatusOr<scaler::ShortfallBudget>(scaler::kDefaultShortfall)
                          : scaler::ParseShortfall(shortfall);
    if (!budget.ok()) throw UsageError{absl::StrCat("--shortfall ", budget.status().message())};
    config.policy.shortfall = *budget;
  }
  if (mode == "predictive") {
    config.policy.mode = scaler::Mode::kPredictive;
  } else if (mode == "forecast") {
    config.policy.mode = scaler::Mode::kForecast;
  } else if (mode == "shadow") {
    config.policy.mode = scaler::Mode::kShadow;
  } else {
    throw UsageError{absl::StrCat("--mode '", mode, "': expected predictive, forecast or shadow")};
  }
  config.policy.min_history_seconds = Seconds("min-history", min_history);
  config.policy.max_forecast_error =
      vm.count("max-forecast-error") ? max_forecast_error
      : config.policy.shortfall      ? std::numeric_limits<double>::infinity()
                                     : 1.0;
  config.history_seconds = Seconds("history", history);
  config.refresh_seconds = Seconds("refresh", refresh);
  config.refit_seconds = Seconds("refit", refit);
  config.warmup_seconds = Seconds("warmup", warmup);
  config.limit_seconds = Seconds("limit", limit);
  config.from_seconds = Seconds("from", from);
  Check(forecast::ParseSeasonality(seasonality, config.forecast), "seasonality");
  config.forecast.uncertainty_samples = uncertainty;
  Check(config.Validate());

  auto trace = ReadTraceCsv(trace_path);
  if (!trace.ok()) {
    *env.err << "simulate: " << trace.status().message() << "\n";
    return kFailure;
  }
  if (!values_path.empty()) {
    auto values = ReadTraceCsv(values_path);
    if (!values.ok()) {
      *env.err << "simulate: --values: " << values.status().message() << "\n";
      return kFailure;
    }
    config.values = std::move(values).value();
  }
  if (frontier) {
    FrontierOptions options;
    if (!budgets.empty()) {
      options.budgets.clear();
      for (absl::string_view part : absl::StrSplit(budgets, ',')) {
        absl::StatusOr<scaler::ShortfallBudget> b = scaler::ParseShortfall(std::string(part));
        if (!b.ok()) throw UsageError{absl::StrCat("--budgets: ", b.status().message())};
        if (b->relative) throw UsageError{"--budgets: expected shares of time such as 2%"};
        options.budgets.push_back(b->value);
      }
    }
    auto report = RunFrontier(*trace, config, options, FractionProgress(env, "simulate"));
    if (!report.ok()) {
      *env.err << "simulate: " << report.status().message() << "\n";
      return kFailure;
    }
    if (!frontier_svg.empty()) {
      std::ofstream f(frontier_svg, std::ios::trunc);
      WriteFrontierSvg(f, *report,
                       absl::StrCat(trace_path.substr(trace_path.find_last_of('/') + 1),
                                    ": the price of safety (capacity ", capacity, "/pod, start-up ",
                                    startup, ")"));
      if (!f) {
        *env.err << "simulate: cannot write '" << frontier_svg << "'\n";
        return kFailure;
      }
    }
    if (json) {
      *env.out << FrontierJson(*report) << "\n";
    } else {
      WriteFrontierText(*env.out, *report);
    }
    return 0;
  }
  // Rows for the CSV/plot: about one per trace step (at least one per tick).
  const int row_every = std::max(1, static_cast<int>(std::lround(trace->MedianStep() / config.sync_seconds)));
  const bool want_rows = !csv_path.empty() || !svg_path.empty();
  auto result = RunSimulation(*trace, config, want_rows ? row_every : 0, FractionProgress(env, "simulate"));
  if (!result.ok()) {
    *env.err << "simulate: " << result.status().message() << "\n";
    return kFailure;
  }
  if (!csv_path.empty()) {
    std::ofstream f(csv_path, std::ios::trunc);
    WriteSimulationCsv(f, *result, capacity);
    if (!f) {
      *env.err << "simulate: cannot write '" << csv_path << "'\n";
      return kFailure;
    }
  }
  if (!svg_path.empty()) {
    std::ofstream f(svg_path, std::ios::trunc);
    const std::string title = absl::StrCat(trace_path.substr(trace_path.find_last_of('/') + 1),
                                           ": capacity ", capacity, "/pod, start-up ", startup);
    const double last = Seconds("svg-last", svg_last);
    if (last > 0 && !result->rows.empty()) {
      SimulationResult window = *result;
      const double from_t = window.rows.back().time - last;
      window.rows.erase(window.rows.begin(),
                        std::lower_bound(window.rows.begin(), window.rows.end(), from_t,
                                         [](const SimulationRow& r, double t) { return r.time < t; }));
      WriteSimulationSvg(f, window, capacity, title);
    } else {
      WriteSimulationSvg(f, *result, capacity, title);
    }
    if (!f) {
      *env.err << "simulate: cannot write '" << svg_path << "'\n";
      return kFailure;
    }
  }
  if (json) {
    *env.out << SimulationJson(*result) << "\n";
    return 0;
  }
  auto line = [&](const char* name, const PolicyReport& r) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-9s %8.2f %% %9.3f %% %12.1f %8d %8.1f %6d\n", name,
                  r.underprovisioned_fraction * 100, r.unserved_fraction * 100, r.replica_hours,
                  r.scale_events, r.mean_replicas, r.max_replicas);
    *env.out << buf;
  };
  *env.out << "policy    under-prov  unserved   replica-h   events   mean-r    max\n";
  line("reactive", result->reactive);
  line("augur", result->augur);
  if (result->values) line("values", *result->values);
  *env.out << "evaluated " << result->evaluated_seconds / 3600 << " h; " << result->fits
           << " fits (" << result->fit_failures << " failed), " << result->predictions
           << " predictions; augur reasons:";
  for (const auto& [reason, n] : result->augur_reasons) *env.out << " " << reason << "=" << n;
  *env.out << "\n";
  return 0;
}

struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&, const CommandEnv&);
};

const Subcommand kSubcommands[] = {
    {"workload", "serve a synthetic load metric on /metrics for Prometheus", Workload},
    {"backfill", "write the same load over a past window as OpenMetrics for promtool", Backfill},
    {"keda", "drive a running scaler exactly as KEDA + the HPA do", Keda},
    {"bench", "load the scaler's gRPC API and report rps, latency percentiles, errors", Bench},
    {"simulate", "replay a demand trace: reactive vs Augur, offline", Simulate},
};

void TopUsage(std::ostream& out) {
  out << "usage: augur-loadtest <command> [flags]   (augur-loadtest <command> --help)\n\n";
  for (const Subcommand& c : kSubcommands) {
    out << "  " << std::left << std::setw(10) << c.name << c.summary << "\n";
  }
}

}  // namespace

int RunLoadtest(int argc, const char* const* argv, const CommandEnv& env) {
  if (argc < 2) {
    TopUsage(*env.err);
    return kUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    TopUsage(*env.out);
    return 0;
  }
  if (name == "--version") {
    *env.out << common::VersionLine("augur-loadtest") << "\n";
    return 0;
  }
  for (const Subcommand& c : kSubcommands) {
    if (name != c.name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    try {
      return c.run(args, env);
    } catch (const UsagePrinted&) {
      return kUsage;
    } catch (const po::error& e) {
      *env.err << "augur-loadtest " << name << ": " << e.what() << "\n(see augur-loadtest " << name
               << " --help)\n";
      return kUsage;
    } catch (const UsageError& e) {
      *env.err << "augur-loadtest " << name << ": " << e.message << "\n(see augur-loadtest "
               << name << " --help)\n";
      return kUsage;
    } catch (const std::exception& e) {
      *env.err << "augur-loadtest " << name << ": " << e.what() << "\n";
      return kFailure;
    }
  }
  *env.err << "augur-loadtest: unknown command '" << name << "'\n";
  TopUsage(*env.err);
  return kUsage;
}

}  // namespace loadtest
