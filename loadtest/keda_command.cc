// augur-loadtest keda: drives a running external scaler exactly as KEDA does
// (GetMetricSpec at start; every polling interval and HPA sync GetMetricSpec ->
// GetMetrics -> IsActive), applies the HPA's rules and prints a line per decision;
// --push also holds StreamIsActive open as external-push does.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "grpcpp/grpcpp.h"
#include "loadtest/bench.h"  // GrpcCodeName
#include "loadtest/command_support.h"
#include "loadtest/hpa.h"
#include "loadtest/keda.h"
#include "loadtest/openmetrics.h"
#include "nlohmann/json.hpp"
#include "promclient/curl_http_transport.h"
#include "promclient/prometheus_client.h"

namespace loadtest {
namespace {

namespace po = boost::program_options;

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

// The value `--observe-query` reads from Prometheus for the reactive column: one
// series (or a scalar); no series is 0, as KEDA's ignoreNullValues.
absl::StatusOr<double> ObservedValue(promclient::PrometheusClient& prom, const std::string& query) {
  auto r = prom.Query(query, std::nullopt);
  if (!r.ok()) return r.status();
  if (r->type == promclient::ResultType::kScalar && r->scalar) return r->scalar->value;
  if (r->series.empty() || r->series[0].samples.empty()) return 0.0;
  if (r->series.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--observe-query returned ", r->series.size(), " series: expected one (use sum(...))"));
  }
  const double v = r->series[0].samples.back().value;
  return std::isfinite(v) ? v : 0.0;
}

class KedaCommand final : public Command {
 public:
  std::string Caption() const override {
    return "augur-loadtest keda: drive a running external scaler exactly as KEDA does\n"
           "(GetMetricSpec at start; every polling interval and HPA sync GetMetricSpec ->\n"
           "GetMetrics -> IsActive) and apply the HPA's rules; a line per decision";
  }

  void DefineFlags(common::FlagSet& flags) override {
    // clang-format off
    flags.Add()
        ("target", po::value(&target_)->default_value(target_), "scaler address host:port")
        ("name", po::value(&name_)->default_value(name_), "ScaledObject name")
        ("namespace", po::value(&ns_)->default_value(ns_), "ScaledObject namespace")
        ("metadata", po::value(&metadata_),
         "trigger metadata k=v,k2=v2 (e.g. query=...,targetValue=10)")
        ("polling-interval", po::value(&polling_)->default_value(polling_), "KEDA pollingInterval")
        ("hpa-sync", po::value(&sync_)->default_value(sync_), "HPA sync period")
        ("duration", po::value(&duration_)->default_value(duration_), "run this long, then exit")
        ("timeout", po::value(&timeout_)->default_value(timeout_), "deadline per RPC")
        ("min-replicas", po::value(&min_replicas_)->default_value(min_replicas_),
         "minReplicaCount (0 = scale to zero)")
        ("max-replicas", po::value(&max_replicas_)->default_value(max_replicas_), "maxReplicaCount")
        ("initial-replicas", po::value(&initial_)->default_value(initial_), "replicas at start")
        ("metric-type", po::value(&metric_type_)->default_value(metric_type_),
         "AverageValue | Value")
        ("tolerance", po::value(&tolerance_)->default_value(tolerance_), "HPA tolerance")
        ("scale-down-stabilization", po::value(&stabilization_)->default_value(stabilization_),
         "HPA scale-down window")
        ("cooldown", po::value(&cooldown_)->default_value(cooldown_),
         "KEDA cooldownPeriod (scale to zero)")
        ("failure-threshold", po::value(&failure_threshold_),
         "KEDA fallback.failureThreshold (unset = no fallback)")
        ("fallback-replicas", po::value(&fallback_replicas_)->default_value(fallback_replicas_),
         "KEDA fallback.replicas")
        ("push", po::bool_switch(&push_), "also hold StreamIsActive open as external-push does")
        ("observe-query", po::value(&observe_query_),
         "PromQL for the observed value (reactive column)")
        ("prometheus", po::value(&prometheus_url_), "Prometheus base URL for --observe-query")
        ("format", po::value(&format_)->default_value(format_), "text | csv | json (JSON lines)")
        ("json", po::bool_switch(&json_), "same as --format json");
    // clang-format on
  }

  absl::Status Run(const common::FlagSet& flags, const CommandEnv& env) override;

 private:
  // The emulated ScaledObject and HPA the flags describe.
  absl::StatusOr<KedaConfig> Config(const common::FlagSet& flags) const;

  std::string target_ = "127.0.0.1:6000", name_ = "loadtest", ns_ = "default", metadata_;
  std::string polling_ = "30s", sync_ = "15s", duration_ = "10m", timeout_ = "3s";
  std::string stabilization_ = "300s", cooldown_ = "300s", metric_type_ = "AverageValue";
  std::string format_ = "text", observe_query_, prometheus_url_;
  int min_replicas_ = 1, max_replicas_ = 100, initial_ = 1, fallback_replicas_ = 0;
  int failure_threshold_ = -1;
  double tolerance_ = 0.1;
  bool json_ = false, push_ = false;
};

absl::StatusOr<KedaConfig> KedaCommand::Config(const common::FlagSet& flags) const {
  KedaConfig config;
  config.ref.set_name(name_);
  config.ref.set_namespace_(ns_);
  absl::StatusOr<std::map<std::string, std::string>> md = ParseKeyValues(metadata_);
  if (!md.ok()) return AsUsageError(md.status(), "metadata");
  for (const auto& [k, v] : *md) (*config.ref.mutable_scalermetadata())[k] = v;
  absl::Status s = common::ParseDurationFlags(
      {{"polling-interval", polling_, &config.polling_seconds},
       {"hpa-sync", sync_, &config.hpa_sync_seconds},
       {"cooldown", cooldown_, &config.cooldown_seconds},
       {"scale-down-stabilization", stabilization_,
        &config.hpa.scale_down_stabilization_seconds}});
  if (!s.ok()) return s;
  config.min_replica_count = min_replicas_;
  config.initial_replicas = initial_;
  config.hpa.max_replicas = max_replicas_;
  config.hpa.tolerance = tolerance_;
  config.hpa.scale_up_period_seconds = config.hpa.scale_down_period_seconds = 15;
  if (metric_type_ == "AverageValue") {
    config.hpa.metric_type = MetricType::kAverageValue;
  } else if (metric_type_ == "Value") {
    config.hpa.metric_type = MetricType::kValue;
  } else {
    return common::UsageError(
        absl::StrCat("--metric-type '", metric_type_, "': expected AverageValue or Value"));
  }
  if (flags.Given("failure-threshold")) config.hpa.failure_threshold = failure_threshold_;
  config.hpa.fallback_replicas = fallback_replicas_;
  s = config.Validate();
  if (!s.ok()) return AsUsageError(s);
  return config;
}

absl::Status KedaCommand::Run(const common::FlagSet& flags, const CommandEnv& env) {
  const std::string format = json_ ? "json" : format_;
  if (format != "text" && format != "csv" && format != "json") {
    return common::UsageError(
        absl::StrCat("--format '", format, "': expected text, csv or json"));
  }
  absl::StatusOr<KedaConfig> config = Config(flags);
  if (!config.ok()) return config.status();
  double run_seconds = 0, timeout_seconds = 0;
  absl::Status s = common::ParseDurationFlags(
      {{"duration", duration_, &run_seconds}, {"timeout", timeout_, &timeout_seconds}});
  if (!s.ok()) return s;
  const auto rpc_timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  if (!observe_query_.empty() && prometheus_url_.empty()) {
    return common::UsageError("--observe-query needs --prometheus URL");
  }

  std::function<absl::StatusOr<double>(double)> observe;
  std::unique_ptr<promclient::PrometheusClient> prom;
  if (!observe_query_.empty()) {
    promclient::ClientOptions options;
    options.base_url = prometheus_url_;
    options.timeout = rpc_timeout;
    auto client = promclient::PrometheusClient::Create(
        options, std::make_shared<promclient::CurlHttpTransport>());
    if (!client.ok()) {
      return absl::Status(client.status().code(),
                          absl::StrCat("--prometheus: ", client.status().message()));
    }
    prom = std::move(*client);
    observe = [&prom, query = observe_query_](double) { return ObservedValue(*prom, query); };
  }
  if (push_ && !env.wait_until) {
    return absl::FailedPreconditionError("--push needs a wait_until hook in this CommandEnv");
  }
  auto channel = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
  GrpcScalerApi api(channel, rpc_timeout);
  KedaEmulator emulator(*config, api, observe);
  const double t0 = env.now();
  auto start = emulator.Start(t0);
  if (!start.ok()) {
    return absl::Status(start.status().code(), absl::StrCat("GetMetricSpec on ", target_,
                                                            " failed: ", start.status().ToString()));
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
  if (push_) {
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
        auto reader = stub->StreamIsActive(&ctx, config->ref);
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
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Command> NewKedaCommand() { return std::make_unique<KedaCommand>(); }

}  // namespace loadtest
