#pragma once
// Augur's own metrics (docs/design.md, "Own metrics"), exported on /metrics with prometheus-cpp.
//
// Per object (labels namespace, scaledobject, metric, trigger): augur_observed_value,
// augur_forecast_peak, augur_returned_value, augur_answer_age_seconds,
// augur_answer_reason{reason} (1 for the current reason, 0 for the others),
// augur_fallback (1 while answering reactively because of a fallback),
// augur_model_error (recent online MASE), augur_last_fit_duration_seconds,
// augur_last_fit_timestamp_seconds; with a shortfall budget, augur_shortfall_budget,
// augur_shortfall_realised and augur_shortfall_window_seconds (the record's rate and its
// window), augur_headroom, and the counters augur_shortfall_scored_seconds_total and
// augur_shortfall_short_seconds_total (the realised rate over any window in PromQL).
// Per process: augur_grpc_requests_total{method,code},
// augur_grpc_request_duration_seconds{method}, augur_prometheus_query_duration_seconds,
// augur_prometheus_query_errors_total{reason}, augur_fits_total{result},
// augur_fit_duration_seconds, augur_tracked_objects, augur_objects_refused_total (new
// objects refused beyond --max-objects), augur_refreshes_waiting (due refreshes waiting
// for a query slot of their server); with TLS,
// augur_tls_certificate_expiry_timestamp_seconds (the served certificate's notAfter) and
// augur_tls_reloads_total{result} (ok, error: a changed file that was refused); and
// augur_build_info{version,revision} (always 1; ExportBuildInfo).
//
// The per-object series are kept by augur itself and added to the registry's families by
// ScalerMetrics::Collect() and SerializeText() (serve those, not the registry's
// Collect()): prometheus-cpp 1.0's Family::Remove scans the whole family, so dropping
// 2,000 idle objects out of 4,000 took ~20 s of CPU on the tracker's scheduling thread
// and stalled every refresh (docs/reliability.md, "Soak"); here adding and removing an
// object is a map operation.
//
// Thread-safety: every method may be called from any thread.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "scaler/policy.h"

namespace scaler {

class ScalerMetrics;

// The shortfall budget's state for /metrics (nullopt: unknown, exported as NaN).
struct BudgetMetrics {
  std::optional<double> budget, realised, headroom;
  double window_seconds = 0;
  double total_scored_seconds = 0, total_short_seconds = 0;
};

// The series of one tracked object, dropped from Collect() when the last holder lets
// go. The `trigger` label (ScalerSpec::trigger_id, a digest of the trigger's settings)
// keeps two triggers of one ScaledObject apart: KEDA sends both under the ScaledObject's
// name, and by default both have the same metric name. Objects with the same labels
// share the series (the same trigger tracked twice, e.g. metadata that differs only in
// KEDA's keys, whose answers are the same).
class ObjectMetrics {
 public:
  ~ObjectMetrics();
  ObjectMetrics(const ObjectMetrics&) = delete;
  ObjectMetrics& operator=(const ObjectMetrics&) = delete;

  // Unknown values are exported as NaN.
  void SetAnswer(std::optional<double> observed, std::optional<double> peak, double returned,
                 Reason reason, std::optional<double> model_error);
  void SetAnswerAge(double seconds);
  void SetFit(double duration_seconds, double timestamp);
  // NaN budget/realised/headroom when unknown (a fixed quantile: all NaN).
  void SetBudget(const BudgetMetrics& budget);

 private:
  friend class ScalerMetrics;
  ObjectMetrics(ScalerMetrics& owner, prometheus::Labels labels, std::string key);
  ScalerMetrics& owner_;
  std::string key_;
  prometheus::Labels labels_;  // namespace, scaledobject, metric, trigger
  std::atomic<double> observed_, peak_, returned_{0}, age_{0}, fallback_{0}, model_error_;
  std::atomic<double> fit_duration_{0}, fit_timestamp_{0};
  std::atomic<double> budget_, realised_, headroom_, window_{0};
  std::atomic<double> scored_total_{0}, short_total_{0};  // only grow
  std::atomic<int> reason_{-1};  // index into the reasons (-1: no answer yet, all 0)
};

class ScalerMetrics {
 public:
  // `registry` must outlive this object and every ObjectMetrics made from it.
  explicit ScalerMetrics(prometheus::Registry& registry);

  // Everything to export: the registry's families and the per-object ones.
  std::vector<prometheus::MetricFamily> Collect() const;
  // The same in Prometheus' text format, what /metrics serves: the bytes of
  // prometheus::TextSerializer().Serialize(Collect()), but built one per-object family
  // at a time in one family's storage, so that a scrape does not hold all the samples of
  // thousands of objects at once (for 4,000 objects, ~80,000 samples and their label
  // strings, re-allocated at every scrape between the objects' own data).
  std::string SerializeText() const;

  std::shared_ptr<ObjectMetrics> ForObject(const std::string& namespace_,
                                           const std::string& scaled_object,
                                           const std::string& metric,
                                           const std::string& trigger);

  // `method` is the RPC's short name ("GetMetrics"); `code` the gRPC code's name.
  void ObserveGrpc(const std::string& method, const std::string& code, double seconds);
  // `error_reason` empty = success; else e.g. "unavailable", "invalid_argument".
  void ObserveQuery(double seconds, const std::string& error_reason);
  void ObserveFit(double seconds, bool ok);
  void SetTrackedObjects(size_t n);
  void ObjectRefused();
  void SetRefreshesWaiting(size_t n);
  // The served server certificate's notAfter (unix seconds).
  void SetTlsCertificateExpiry(double unix_seconds);
  // A changed certificate file was taken (ok) or refused.
  void ObserveTlsReload(bool ok);

 private:
  friend class ObjectMetrics;
  prometheus::Registry& registry_;
  prometheus::Family<prometheus::Counter>& grpc_requests_;
  prometheus::Family<prometheus::Histogram>& grpc_duration_;
  prometheus::Family<prometheus::Histogram>& query_duration_;
  prometheus::Family<prometheus::Counter>& query_errors_;
  prometheus::Family<prometheus::Counter>& fits_;
  prometheus::Family<prometheus::Histogram>& fit_duration_hist_;
  prometheus::Gauge& tracked_;
  prometheus::Counter& refused_;
  prometheus::Gauge& waiting_;
  prometheus::Family<prometheus::Gauge>& tls_expiry_;
  prometheus::Family<prometheus::Counter>& tls_reloads_;

  // Hot path: the request counters and histograms per (method, code), looked up once.
  std::mutex mu_;
  std::map<std::string, prometheus::Counter*> grpc_counters_;
  std::map<std::string, prometheus::Histogram*> grpc_histograms_;
  // Builds the per-object families one after the other into `family` (reusing its
  // storage) and calls `emit` after each; under objects_mu_.
  void ForEachObjectFamily(prometheus::MetricFamily& family,
                           const std::function<void()>& emit) const;
  // Per-object series by label key; creation, removal and Collect() under objects_mu_.
  mutable std::mutex objects_mu_;
  std::map<std::string, std::pair<ObjectMetrics*, std::weak_ptr<ObjectMetrics>>> objects_;
};

// Adds the gauge augur_build_info{version="0.2.0",revision="abc1234"} 1 to `registry`
// (which must outlive it), the usual way to export a build's identity: queries join on it
// or count versions during a rollout. Call once per registry.
void ExportBuildInfo(prometheus::Registry& registry, std::string_view version,
                     std::string_view revision);

// The gRPC/absl status code's metric label: "ok", "unavailable", "invalid_argument", ...
std::string CodeLabel(int code);

}  // namespace scaler
