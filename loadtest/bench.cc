#include "loadtest/bench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "externalscaler.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Worker {
  std::vector<double> latencies_ms;
  std::map<int, int64_t> errors;
  int64_t ok = 0;
};

}  // namespace

absl::StatusOr<BenchRpc> ParseBenchRpc(const std::string& name) {
  if (name == "GetMetrics") return BenchRpc::kGetMetrics;
  if (name == "IsActive") return BenchRpc::kIsActive;
  if (name == "GetMetricSpec") return BenchRpc::kGetMetricSpec;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown rpc '", name, "': expected GetMetrics, IsActive or GetMetricSpec"));
}

absl::Status BenchConfig::Validate() const {
  if (concurrency < 1 || concurrency > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("concurrency = ", concurrency, ": expected 1..10000"));
  }
  if (connections < 1 || connections > concurrency) {
    return absl::InvalidArgumentError(absl::StrCat(
        "connections = ", connections, ": expected 1..concurrency (", concurrency, ")"));
  }
  if (!std::isfinite(rate) || rate < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate = ", rate, ": expected requests per second >= 0 (0 = unlimited)"));
  }
  if (!std::isfinite(duration_seconds) || duration_seconds < 0 || count < 0) {
    return absl::InvalidArgumentError("duration and count must be >= 0");
  }
  if (duration_seconds == 0 && count == 0) {
    return absl::InvalidArgumentError(
        "neither --duration nor --count bounds the run: expected one of them > 0");
  }
  if (!std::isfinite(warmup_seconds) || warmup_seconds < 0) {
    return absl::InvalidArgumentError("warmup must be a duration >= 0");
  }
  if (objects < 1 || objects > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat("objects = ", objects, ": expected 1..1000000"));
  }
  if (timeout.count() <= 0) return absl::InvalidArgumentError("timeout must be > 0");
  return absl::OkStatus();
}

const char* GrpcCodeName(int code) {
  static const char* const kNames[] = {
      "OK",        "CANCELLED",          "UNKNOWN",          "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",   "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",      "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code < 0 || code > 16) return "UNKNOWN";
  return kNames[code];
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9);
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted.size()))) - 1;
  return sorted[index];
}

absl::StatusOr<BenchResult> RunBench(const BenchConfig& config, const ChannelFactory& channels,
                                     const std::atomic<bool>& stop,
                                     const std::function<void(const BenchResult&)>& progress) {
  absl::Status valid = config.Validate();
  if (!valid.ok()) return valid;
  std::vector<std::unique_ptr<externalscaler::ExternalScaler::Stub>> stubs;
  for (int c = 0; c < config.connections; ++c) {
    stubs.push_back(externalscaler::ExternalScaler::NewStub(channels(c)));
  }
  // One ScaledObjectRef (and GetMetricsRequest) per object, built once.
  std::vector<externalscaler::ScaledObjectRef> refs(static_cast<size_t>(config.objects));
  std::vector<externalscaler::GetMetricsRequest> metric_requests(refs.size());
  for (size_t i = 0; i < refs.size(); ++i) {
    refs[i].set_name(absl::StrCat(config.name_prefix, "-", i));
    refs[i].set_namespace_(config.ns);
    for (const auto& [k, v] : config.metadata) (*refs[i].mutable_scalermetadata())[k] = v;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + config.timeout);
    externalscaler::GetMetricSpecResponse spec;
    grpc::Status s = stubs[i % stubs.size()]->GetMetricSpec(&ctx, refs[i], &spec);
    if (!s.ok()) {
      return absl::UnavailableError(absl::StrCat("warm-up GetMetricSpec for ", refs[i].name(),
                                                 " failed: ", GrpcCodeName(s.error_code()), ": ",
                                                 s.error_message()));
    }
    *metric_requests[i].mutable_scaledobjectref() = refs[i];
    if (spec.metricspecs_size() > 0) metric_requests[i].set_metricname(spec.metricspecs(0).metricname());
    if (stop.load()) break;
  }

  auto call = [&](externalscaler::ExternalScaler::Stub& stub, size_t object) -> grpc::Status {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + config.timeout);
    switch (config.rpc) {
      case BenchRpc::kGetMetrics: {
        externalscaler::GetMetricsResponse r;
        return stub.GetMetrics(&ctx, metric_requests[object], &r);
      }
      case BenchRpc::kIsActive: {
        externalscaler::IsActiveResponse r;
        return stub.IsActive(&ctx, refs[object], &r);
      }
      case BenchRpc::kGetMetricSpec: {
        externalscaler::GetMetricSpecResponse r;
        return stub.GetMetricSpec(&ctx, refs[object], &r);
      }
    }
    return grpc::Status(grpc::StatusCode::INTERNAL, "unknown rpc");
  };

  // Warm-up: every worker runs unrecorded until the warm-up ends.
  std::atomic<int64_t> ticket{0};
  if (config.warmup_seconds > 0 && !stop.load()) {
    const auto warm_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(config.warmup_seconds));
    std::vector<std::thread> threads;
    for (int w = 0; w < config.concurrency; ++w) {
      threads.emplace_back([&, w] {
        while (Clock::now() < warm_end && !stop.load()) {
          const auto k = ticket.fetch_add(1);
          call(*stubs[w % stubs.size()], static_cast<size_t>(k % config.objects));
        }
      });
    }
    for (auto& t : threads) t.join();
  }

  std::vector<Worker> workers(static_cast<size_t>(config.concurrency));
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::atomic<bool> finished{false};
  const auto start = Clock::now();
  const auto end = config.duration_seconds > 0
                       ? start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(config.duration_seconds))
                       : Clock::time_point::max();
  std::vector<std::thread> threads;
  for (int w = 0; w < config.concurrency; ++w) {
    threads.emplace_back([&, w] {
      Worker& me = workers[static_cast<size_t>(w)];
      auto& stub = *stubs[static_cast<size_t>(w) % stubs.size()];
      while (!stop.load()) {
        const int64_t k = next.fetch_add(1);
        if (config.count > 0 && k >= config.count) break;
        if (config.rate > 0) {
          const auto slot = start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(static_cast<double>(k) / config.rate));
          if (slot >= end) break;
          // Sleep in short slices so that a stop request is seen promptly.
          while (Clock::now() < slot && !stop.load()) {
            std::this_thread::sleep_for(std::min<Clock::duration>(slot - Clock::now(), std::chrono::milliseconds(50)));
          }
          if (stop.load()) break;
        }
        const auto t0 = Clock::now();
        if (t0 >= end) break;
        grpc::Status s = call(stub, static_cast<size_t>(k % config.objects));
        me.latencies_ms.push_back(Seconds(Clock::now() - t0) * 1000);
        if (s.ok()) {
          ++me.ok;
        } else {
          ++me.errors[s.error_code()];
        }
        done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  // Progress about once a second, from this thread, until the workers finish.
  std::thread reporter;
  if (progress) {
    reporter = std::thread([&] {
      while (!finished.load()) {
        for (int i = 0; i < 20 && !finished.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (finished.load()) break;
        BenchResult r;
        r.requests = done.load();
        r.elapsed_seconds = Seconds(Clock::now() - start);
        r.rps = r.elapsed_seconds > 0 ? static_cast<double>(r.requests) / r.elapsed_seconds : 0;
        progress(r);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = Seconds(Clock::now() - start);
  finished.store(true);
  if (reporter.joinable()) reporter.join();

  BenchResult result;
  std::vector<double> all;
  double sum = 0;
  for (const Worker& w : workers) {
    all.insert(all.end(), w.latencies_ms.begin(), w.latencies_ms.end());
    result.ok += w.ok;
    for (const auto& [code, n] : w.errors) result.errors[GrpcCodeName(code)] += n;
  }
  for (double v : all) sum += v;
  std::sort(all.begin(), all.end());
  result.requests = static_cast<int64_t>(all.size());
  result.elapsed_seconds = elapsed;
  result.rps = elapsed > 0 ? static_cast<double>(result.requests) / elapsed : 0;
  result.p50 = Percentile(all, 50);
  result.p90 = Percentile(all, 90);
  result.p99 = Percentile(all, 99);
  result.p999 = Percentile(all, 99.9);
  result.max = all.empty() ? 0 : all.back();
  result.mean = all.empty() ? 0 : sum / static_cast<double>(all.size());
  return result;
}

std::string BenchJson(const BenchResult& r) {
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [code, n] : r.errors) errors[code] = n;
  nlohmann::json j{{"rps", r.rps},
                   {"latency_ms",
                    {{"p50", r.p50}, {"p90", r.p90}, {"p99", r.p99}, {"p999", r.p999}, {"max", r.max}}},
                   {"errors", errors}};
  return j.dump();
}

std::string BenchText(const BenchResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "requests: %lld (ok %lld) in %.3f s\nrps: %.1f\nlatency ms: p50 %.3f  p90 %.3f  "
                "p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
                static_cast<long long>(r.requests), static_cast<long long>(r.ok), r.elapsed_seconds,
                r.rps, r.p50, r.p90, r.p99, r.p999, r.max, r.mean);
  std::string out = buf;
  if (r.errors.empty()) {
    out += "errors: none\n";
  } else {
    out += "errors:";
    for (const auto& [code, n] : r.errors) absl::StrAppend(&out, " ", code, "=", n);
    out += "\n";
  }
  return out;
}

}  // namespace loadtest
