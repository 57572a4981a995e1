#pragma once
// `workload`: serves a synthetic load metric on /metrics for Prometheus to scrape. The
// value is computed at scrape time from the LoadSource (pattern.h) at the injected
// clock's time, so that it equals what `backfill` wrote for the same time.
//
// Thread-safety: LoadCollectable::Collect may be called from any thread (the Exposer's
// HTTP threads); it only reads immutable state and calls the clock.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loadtest/openmetrics.h"
#include "loadtest/pattern.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "prometheus/exposer.h"

namespace loadtest {

class LoadCollectable final : public prometheus::Collectable {
 public:
  // `now` returns unix seconds; it must be thread-safe.
  LoadCollectable(std::string name, LabelMap labels, LoadSource source,
                  std::function<double()> now);
  std::vector<prometheus::MetricFamily> Collect() const override;
  int64_t scrapes() const { return scrapes_.load(); }

 private:
  std::string name_;
  LabelMap labels_;
  LoadSource source_;
  std::function<double()> now_;
  mutable std::atomic<int64_t> scrapes_{0};
};

// An HTTP /metrics endpoint (prometheus-cpp's Exposer) serving one collectable.
class WorkloadServer {
 public:
  // `listen` is host:port; port 0 picks a free one.
  // Errors: kInvalidArgument (no port), kUnavailable (cannot bind: the reason).
  static absl::StatusOr<std::unique_ptr<WorkloadServer>> Start(
      const std::string& listen, std::shared_ptr<LoadCollectable> collectable);
  int port() const { return port_; }

 private:
  WorkloadServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<LoadCollectable> collectable_;
  int port_ = 0;
};

}  // namespace loadtest
