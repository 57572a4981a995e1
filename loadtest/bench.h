#pragma once
// `bench`: load on a scaler's gRPC API as ghz would. Up to `concurrency` requests are in
// flight at once (each on one of `concurrency` call slots; slot i uses channel
// i % connections); each request goes to ScaledObject k % objects ("<prefix>-<k>") with the
// shared metadata. Calls go through one gRPC completion queue that the calling thread
// polls itself (no thread per slot, no hand-off to gRPC's callback threads):
//  - as fast as possible (`rate` 0): closed loop, each completion sends that slot's next
//    request; latency = send to completion;
//  - paced (`rate` > 0): open loop, request k is due at start + k / rate and goes out on a
//    free slot; latency = due time to completion, so waiting for a free slot or a client
//    that falls behind counts (no coordinated omission).
// The run stops after `count` requests or `duration`, whichever comes first, or when `stop`
// becomes true; every request has the deadline `timeout`, so the run always ends. A
// warm-up first calls GetMetricSpec once per object (learning each metric name, as KEDA
// does) and then runs the same load unrecorded for `warmup`.
//
// Thread-safety: RunBench may be called from one thread at a time per config; it starts
// and joins its own threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace loadtest {

enum class BenchRpc { kGetMetrics, kIsActive, kGetMetricSpec };
// "GetMetrics", "IsActive", "GetMetricSpec". Errors: kInvalidArgument listing them.
absl::StatusOr<BenchRpc> ParseBenchRpc(const std::string& name);

struct BenchConfig {
  int concurrency = 10;            // requests in flight at most (call slots)
  int connections = 1;
  double rate = 0;                 // requests per second overall; 0 = as fast as possible
  double duration_seconds = 10;    // 0 = no time bound (then count must be > 0)
  int64_t count = 0;               // 0 = no count bound
  double warmup_seconds = 1;
  int objects = 1;
  std::string name_prefix = "bench";
  std::string ns = "default";
  std::map<std::string, std::string> metadata;
  BenchRpc rpc = BenchRpc::kGetMetrics;
  std::chrono::milliseconds timeout{3000};  // per-request deadline

  // kInvalidArgument naming the field and what is expected (e.g. neither bound set).
  absl::Status Validate() const;
};

struct BenchResult {
  int64_t requests = 0;  // recorded requests (ok + errors)
  int64_t ok = 0;
  double elapsed_seconds = 0;
  double rps = 0;
  // Latency in milliseconds over every recorded request (errors included), nearest rank.
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
  std::map<std::string, int64_t> errors;  // gRPC code name ("UNAVAILABLE") -> count
};

// Creates the channel for connection `index` (0 <= index < connections).
using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(int index)>;

// Errors: kInvalidArgument (bad config), kUnavailable when the warm-up GetMetricSpec
// fails for an object (with the RPC's message: the scaler is down or rejects the
// metadata). Request errors during the run are counted, not returned.
absl::StatusOr<BenchResult> RunBench(const BenchConfig& config, const ChannelFactory& channels,
                                     const std::atomic<bool>& stop,
                                     const std::function<void(const BenchResult&)>& progress = {});

// Exactly {"rps": …, "latency_ms": {"p50": …, "p90": …, "p99": …, "p999": …, "max": …},
//          "errors": {"CODE": n, …}}.
std::string BenchJson(const BenchResult& result);
// A human-readable summary (several lines).
std::string BenchText(const BenchResult& result);

// Nearest-rank percentile (p in [0, 100]) of `sorted` (ascending); 0 when empty.
double Percentile(const std::vector<double>& sorted, double p);

// "OK", "CANCELLED", ..., "UNAUTHENTICATED".
const char* GrpcCodeName(int code);

}  // namespace loadtest
