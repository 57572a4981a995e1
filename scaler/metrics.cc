#include "scaler/metrics.h"

#include <cmath>
#include <functional>
#include <iterator>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "prometheus/text_serializer.h"
#include "absl/strings/ascii.h"

namespace scaler {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

constexpr Reason kAllReasons[] = {Reason::kForecast,       Reason::kCurrentAboveForecast,
                                  Reason::kShadow,         Reason::kShortHistory,
                                  Reason::kForecastError,  Reason::kNoForecast,
                                  Reason::kNoCurrent,      Reason::kHeadroom,
                                  Reason::kTrend};

double OrNaN(std::optional<double> v) {
  return v ? *v : std::numeric_limits<double>::quiet_NaN();
}

prometheus::Histogram::BucketBoundaries RpcBuckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
          0.0025,  0.005,    0.01,    0.05,   0.25,    1,      2.5};
}
prometheus::Histogram::BucketBoundaries SlowBuckets() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

}  // namespace

std::string CodeLabel(int code) {
  const std::string s =
      absl::AsciiStrToLower(absl::StatusCodeToString(static_cast<absl::StatusCode>(code)));
  return s.empty() ? "unknown" : s;
}

ObjectMetrics::ObjectMetrics(ScalerMetrics& owner, prometheus::Labels labels, std::string key)
    : owner_(owner),
      key_(std::move(key)),
      labels_(std::move(labels)),
      observed_(OrNaN(std::nullopt)),
      peak_(OrNaN(std::nullopt)),
      model_error_(OrNaN(std::nullopt)),
      budget_(OrNaN(std::nullopt)),
      realised_(OrNaN(std::nullopt)),
      headroom_(OrNaN(std::nullopt)) {}

ObjectMetrics::~ObjectMetrics() {
  std::lock_guard<std::mutex> lock(owner_.objects_mu_);
  auto it = owner_.objects_.find(key_);
  // A newer holder of the same labels took the key over: leave it to it.
  if (it != owner_.objects_.end() && it->second.first == this) owner_.objects_.erase(it);
}

void ObjectMetrics::SetAnswer(std::optional<double> observed, std::optional<double> peak,
                              double returned, Reason reason, std::optional<double> model_error) {
  observed_.store(OrNaN(observed));
  peak_.store(OrNaN(peak));
  returned_.store(returned);
  fallback_.store(IsFallback(reason) ? 1 : 0);
  model_error_.store(OrNaN(model_error));
  for (size_t i = 0; i < std::size(kAllReasons); ++i) {
    if (kAllReasons[i] == reason) reason_.store(static_cast<int>(i));
  }
}

void ObjectMetrics::SetAnswerAge(double seconds) { age_.store(seconds); }

void ObjectMetrics::SetBudget(const BudgetMetrics& b) {
  budget_.store(OrNaN(b.budget));
  realised_.store(OrNaN(b.realised));
  headroom_.store(OrNaN(b.headroom));
  window_.store(b.window_seconds);
  // Counters never go down (a shared series keeps the larger total).
  if (b.total_scored_seconds > scored_total_.load()) scored_total_.store(b.total_scored_seconds);
  if (b.total_short_seconds > short_total_.load()) short_total_.store(b.total_short_seconds);
}

void ObjectMetrics::SetFit(double duration_seconds, double timestamp) {
  fit_duration_.store(duration_seconds);
  fit_timestamp_.store(timestamp);
}

ScalerMetrics::ScalerMetrics(prometheus::Registry& registry)
    : registry_(registry),
      grpc_requests_(BuildCounter()
                         .Name("augur_grpc_requests_total")
                         .Help("gRPC requests served, by method and status code")
                         .Register(registry)),
      grpc_duration_(BuildHistogram()
                         .Name("augur_grpc_request_duration_seconds")
                         .Help("gRPC request latency by method")
                         .Register(registry)),
      query_duration_(BuildHistogram()
                          .Name("augur_prometheus_query_duration_seconds")
                          .Help("Latency of the range queries sent to Prometheus")
                          .Register(registry)),
      query_errors_(BuildCounter()
                        .Name("augur_prometheus_query_errors_total")
                        .Help("Failed Prometheus queries by reason (status code)")
                        .Register(registry)),
      fits_(BuildCounter()
                .Name("augur_fits_total")
                .Help("Model fits by result (ok, error)")
                .Register(registry)),
      fit_duration_hist_(BuildHistogram()
                             .Name("augur_fit_duration_seconds")
                             .Help("Model fit latency")
                             .Register(registry)),
      tracked_(BuildGauge()
                   .Name("augur_tracked_objects")
                   .Help("Objects currently tracked")
                   .Register(registry)
                   .Add({})),
      refused_(BuildCounter()
                   .Name("augur_objects_refused_total")
                   .Help("New objects refused because augur tracked --max-objects already")
                   .Register(registry)
                   .Add({})),
      waiting_(BuildGauge()
                   .Name("augur_refreshes_waiting")
                   .Help("Due refreshes waiting for a query slot of their Prometheus server "
                         "(--prometheus-max-concurrent-queries), at the last scheduling pass")
                   .Register(registry)
                   .Add({})),
      tls_expiry_(BuildGauge()
                      .Name("augur_tls_certificate_expiry_timestamp_seconds")
                      .Help("notAfter of the gRPC server's TLS certificate being served")
                      .Register(registry)),
      tls_reloads_(BuildCounter()
                       .Name("augur_tls_reloads_total")
                       .Help("Changed TLS files taken (ok) or refused (error)")
                       .Register(registry)) {}

std::shared_ptr<ObjectMetrics> ScalerMetrics::ForObject(const std::string& namespace_,
                                                        const std::string& scaled_object,
                                                        const std::string& metric,
                                                        const std::string& trigger) {
  const std::string key =
      namespace_ + '\0' + scaled_object + '\0' + metric + '\0' + trigger;
  std::lock_guard<std::mutex> lock(objects_mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) {
    if (auto alive = it->second.second.lock()) return alive;
  }
  std::shared_ptr<ObjectMetrics> created(new ObjectMetrics(
      *this,
      {{"namespace", namespace_},
       {"scaledobject", scaled_object},
       {"metric", metric},
       {"trigger", trigger}},
      key));
  objects_[key] = {created.get(), created};
  return created;
}

void ScalerMetrics::ObserveGrpc(const std::string& method, const std::string& code,
                                double seconds) {
  prometheus::Counter* counter;
  prometheus::Histogram* histogram;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = method + '\0' + code;
    auto it = grpc_counters_.find(key);
    if (it == grpc_counters_.end()) {
      it = grpc_counters_.emplace(key, &grpc_requests_.Add({{"method", method}, {"code", code}}))
               .first;
    }
    counter = it->second;
    auto hit = grpc_histograms_.find(method);
    if (hit == grpc_histograms_.end()) {
      hit = grpc_histograms_.emplace(method, &grpc_duration_.Add({{"method", method}}, RpcBuckets()))
                .first;
    }
    histogram = hit->second;
  }
  counter->Increment();
  histogram->Observe(seconds);
}

void ScalerMetrics::ObserveQuery(double seconds, const std::string& error_reason) {
  query_duration_.Add({}, SlowBuckets()).Observe(seconds);
  if (!error_reason.empty()) query_errors_.Add({{"reason", error_reason}}).Increment();
}

void ScalerMetrics::ObserveFit(double seconds, bool ok) {
  fits_.Add({{"result", ok ? "ok" : "error"}}).Increment();
  if (ok) fit_duration_hist_.Add({}, SlowBuckets()).Observe(seconds);
}

void ExportBuildInfo(prometheus::Registry& registry, std::string_view version,
                     std::string_view revision) {
  BuildGauge()
      .Name("augur_build_info")
      .Help("Augur's version and source revision (always 1)")
      .Register(registry)
      .Add({{"version", std::string(version)}, {"revision", std::string(revision)}})
      .Set(1);
}

void ScalerMetrics::SetTrackedObjects(size_t n) { tracked_.Set(static_cast<double>(n)); }

void ScalerMetrics::ObjectRefused() { refused_.Increment(); }

void ScalerMetrics::SetRefreshesWaiting(size_t n) { waiting_.Set(static_cast<double>(n)); }

void ScalerMetrics::SetTlsCertificateExpiry(double unix_seconds) {
  tls_expiry_.Add({}).Set(unix_seconds);
}

void ScalerMetrics::ObserveTlsReload(bool ok) {
  tls_reloads_.Add({{"result", ok ? "ok" : "error"}}).Increment();
}

namespace {

// Sets `m` to one sample: `labels` (sorted, as prometheus-cpp's), with `extra` merged in
// at its place (replacing a label of that name, as inserting it into the map would), and
// the value. `m` may be a reused one: its strings and vector keep their capacity.
void SetSample(prometheus::ClientMetric& m, const prometheus::Labels& labels,
               const std::pair<const char*, const char*>* extra, double value, bool counter) {
  size_t n = 0;
  auto put = [&m, &n](const std::string& name, const char* v, const std::string* vs) {
    if (n == m.label.size()) m.label.emplace_back();
    m.label[n].name = name;
    if (vs != nullptr) {
      m.label[n].value = *vs;
    } else {
      m.label[n].value = v;
    }
    ++n;
  };
  bool merged = extra == nullptr;
  for (const auto& [name, v] : labels) {
    if (!merged && name >= extra->first) {
      merged = true;
      if (name == extra->first) {
        put(name, extra->second, nullptr);
        continue;
      }
      put(extra->first, extra->second, nullptr);
    }
    put(name, nullptr, &v);
  }
  if (!merged) put(extra->first, extra->second, nullptr);
  m.label.resize(n);
  m.counter.value = counter ? value : 0;
  m.gauge.value = counter ? 0 : value;
}

}  // namespace

void ScalerMetrics::ForEachObjectFamily(prometheus::MetricFamily& family,
                                       const std::function<void()>& emit) const {
  struct PerObject {
    const char* name;
    const char* help;
    const std::atomic<double> ObjectMetrics::*value;  // null: augur_answer_reason
    bool counter = false;
  };
  static const PerObject kFamilies[] = {
      {"augur_observed_value", "Newest observed value of the object's query (NaN if none is fresh)",
       &ObjectMetrics::observed_},
      {"augur_forecast_peak", "Largest forecast over the horizon at the configured quantile",
       &ObjectMetrics::peak_},
      {"augur_returned_value", "Value returned to KEDA by GetMetrics", &ObjectMetrics::returned_},
      {"augur_answer_age_seconds", "Age of the object's answer (since its last successful refresh)",
       &ObjectMetrics::age_},
      {"augur_answer_reason", "1 for the reason of the current answer, 0 for the others", nullptr},
      {"augur_fallback", "1 while the object answers reactively because of a fallback",
       &ObjectMetrics::fallback_},
      {"augur_model_error", "Recent forecast error of the object's model (online MASE)",
       &ObjectMetrics::model_error_},
      {"augur_last_fit_duration_seconds", "Duration of the object's last model fit",
       &ObjectMetrics::fit_duration_},
      {"augur_last_fit_timestamp_seconds", "Unix time of the object's last model fit",
       &ObjectMetrics::fit_timestamp_},
      {"augur_shortfall_budget",
       "The object's shortfall budget: the share of time it accepts demand above what its ready "
       "pods serve (NaN with a fixed quantile, or while a relative budget's share is unknown)",
       &ObjectMetrics::budget_},
      {"augur_shortfall_realised",
       "Share of the record's window in which the object's own answers left demand above what "
       "the pods they asked for serve (emulated HPA)",
       &ObjectMetrics::realised_},
      {"augur_shortfall_window_seconds",
       "Scored time behind augur_shortfall_realised (exponentially forgotten)",
       &ObjectMetrics::window_},
      {"augur_headroom",
       "Headroom of the answer over the forecast (or over the current value), in the metric's "
       "unit, as the budget chose it",
       &ObjectMetrics::headroom_},
      {"augur_shortfall_scored_seconds_total",
       "Time scored against the budget (demand known, no gap)", &ObjectMetrics::scored_total_,
       true},
      {"augur_shortfall_short_seconds_total",
       "Scored time in which the answers left demand above what their pods serve: "
       "increase(short) / increase(scored) is the realised rate over any window",
       &ObjectMetrics::short_total_, true},
  };
  std::lock_guard<std::mutex> lock(objects_mu_);
  for (const PerObject& f : kFamilies) {
    family.name = f.name;
    family.help = f.help;
    family.type = f.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
    size_t n = 0;
    auto next = [&family, &n]() -> prometheus::ClientMetric& {
      if (n == family.metric.size()) family.metric.emplace_back();
      return family.metric[n++];
    };
    for (const auto& [key, entry] : objects_) {
      const ObjectMetrics& o = *entry.first;
      if (f.value != nullptr) {
        SetSample(next(), o.labels_, nullptr, (o.*f.value).load(), f.counter);
        continue;
      }
      const int current = o.reason_.load();
      for (size_t i = 0; i < std::size(kAllReasons); ++i) {
        const std::pair<const char*, const char*> reason = {"reason",
                                                            ReasonName(kAllReasons[i])};
        SetSample(next(), o.labels_, &reason, static_cast<int>(i) == current ? 1 : 0, false);
      }
    }
    family.metric.resize(n);
    emit();
  }
}

std::vector<prometheus::MetricFamily> ScalerMetrics::Collect() const {
  std::vector<prometheus::MetricFamily> families = registry_.Collect();
  prometheus::MetricFamily family;
  ForEachObjectFamily(family, [&] { families.push_back(family); });
  return families;
}

std::string ScalerMetrics::SerializeText() const {
  const prometheus::TextSerializer serializer;
  std::ostringstream out;
  serializer.Serialize(out, registry_.Collect());
  // One per-object family at a time, in the same storage: a scrape of thousands of
  // objects holds one family's samples at a time, not all of them.
  std::vector<prometheus::MetricFamily> one(1);
  ForEachObjectFamily(one[0], [&] { serializer.Serialize(out, one); });
  return out.str();
}

}  // namespace scaler
