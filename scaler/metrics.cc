#include "scaler/metrics.h"

#include <cctype>
#include <cmath>
#include <limits>

#include "absl/status/status.h"

namespace scaler {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

constexpr Reason kAllReasons[] = {Reason::kForecast,       Reason::kCurrentAboveForecast,
                                  Reason::kShadow,         Reason::kShortHistory,
                                  Reason::kForecastError,  Reason::kNoForecast,
                                  Reason::kNoCurrent,      Reason::kHeadroom};

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
  std::string s = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s.empty() ? "unknown" : s;
}

ObjectMetrics::ObjectMetrics(ScalerMetrics& owner, const prometheus::Labels& labels,
                             std::string key)
    : owner_(owner),
      key_(std::move(key)),
      observed_(&owner.observed_.Add(labels)),
      peak_(&owner.peak_.Add(labels)),
      returned_(&owner.returned_.Add(labels)),
      age_(&owner.age_.Add(labels)),
      fallback_(&owner.fallback_.Add(labels)),
      model_error_(&owner.model_error_.Add(labels)),
      fit_duration_(&owner.fit_duration_.Add(labels)),
      fit_timestamp_(&owner.fit_timestamp_.Add(labels)),
      budget_(&owner.budget_.Add(labels)),
      realised_(&owner.realised_.Add(labels)),
      window_(&owner.window_.Add(labels)),
      headroom_(&owner.headroom_.Add(labels)),
      scored_total_(&owner.scored_total_.Add(labels)),
      short_total_(&owner.short_total_.Add(labels)) {
  for (Reason r : kAllReasons) {
    prometheus::Labels l = labels;
    l["reason"] = ReasonName(r);
    reasons_[r] = &owner.reason_.Add(l);
  }
  observed_->Set(OrNaN(std::nullopt));
  peak_->Set(OrNaN(std::nullopt));
  model_error_->Set(OrNaN(std::nullopt));
  budget_->Set(OrNaN(std::nullopt));
  realised_->Set(OrNaN(std::nullopt));
  headroom_->Set(OrNaN(std::nullopt));
}

ObjectMetrics::~ObjectMetrics() {
  std::lock_guard<std::mutex> lock(owner_.objects_mu_);
  auto it = owner_.objects_.find(key_);
  // A newer holder of the same labels shares these series: leave them to it.
  if (it != owner_.objects_.end() && it->second.first != this) return;
  if (it != owner_.objects_.end()) owner_.objects_.erase(it);
  owner_.observed_.Remove(observed_);
  owner_.peak_.Remove(peak_);
  owner_.returned_.Remove(returned_);
  owner_.age_.Remove(age_);
  owner_.fallback_.Remove(fallback_);
  owner_.model_error_.Remove(model_error_);
  owner_.fit_duration_.Remove(fit_duration_);
  owner_.fit_timestamp_.Remove(fit_timestamp_);
  owner_.budget_.Remove(budget_);
  owner_.realised_.Remove(realised_);
  owner_.window_.Remove(window_);
  owner_.headroom_.Remove(headroom_);
  owner_.scored_total_.Remove(scored_total_);
  owner_.short_total_.Remove(short_total_);
  for (auto& [r, g] : reasons_) owner_.reason_.Remove(g);
}

void ObjectMetrics::SetAnswer(std::optional<double> observed, std::optional<double> peak,
                              double returned, Reason reason, std::optional<double> model_error) {
  observed_->Set(OrNaN(observed));
  peak_->Set(OrNaN(peak));
  returned_->Set(returned);
  fallback_->Set(IsFallback(reason) ? 1 : 0);
  model_error_->Set(OrNaN(model_error));
  for (auto& [r, g] : reasons_) g->Set(r == reason ? 1 : 0);
}

void ObjectMetrics::SetAnswerAge(double seconds) { age_->Set(seconds); }

void ObjectMetrics::SetBudget(const BudgetMetrics& b) {
  budget_->Set(OrNaN(b.budget));
  realised_->Set(OrNaN(b.realised));
  window_->Set(b.window_seconds);
  headroom_->Set(OrNaN(b.headroom));
  // The totals only grow; the counters follow them (a shared series keeps the larger).
  if (b.total_scored_seconds > scored_total_->Value()) {
    scored_total_->Increment(b.total_scored_seconds - scored_total_->Value());
  }
  if (b.total_short_seconds > short_total_->Value()) {
    short_total_->Increment(b.total_short_seconds - short_total_->Value());
  }
}

void ObjectMetrics::SetFit(double duration_seconds, double timestamp) {
  fit_duration_->Set(duration_seconds);
  fit_timestamp_->Set(timestamp);
}

ScalerMetrics::ScalerMetrics(prometheus::Registry& registry)
    : observed_(BuildGauge()
                    .Name("augur_observed_value")
                    .Help("Newest observed value of the object's query (NaN if none is fresh)")
                    .Register(registry)),
      peak_(BuildGauge()
                .Name("augur_forecast_peak")
                .Help("Largest forecast over the horizon at the configured quantile")
                .Register(registry)),
      returned_(BuildGauge()
                    .Name("augur_returned_value")
                    .Help("Value returned to KEDA by GetMetrics")
                    .Register(registry)),
      age_(BuildGauge()
               .Name("augur_answer_age_seconds")
               .Help("Age of the object's answer (since its last successful refresh)")
               .Register(registry)),
      reason_(BuildGauge()
                  .Name("augur_answer_reason")
                  .Help("1 for the reason of the current answer, 0 for the others")
                  .Register(registry)),
      fallback_(BuildGauge()
                    .Name("augur_fallback")
                    .Help("1 while the object answers reactively because of a fallback")
                    .Register(registry)),
      model_error_(BuildGauge()
                       .Name("augur_model_error")
                       .Help("Recent forecast error of the object's model (online MASE)")
                       .Register(registry)),
      fit_duration_(BuildGauge()
                        .Name("augur_last_fit_duration_seconds")
                        .Help("Duration of the object's last model fit")
                        .Register(registry)),
      fit_timestamp_(BuildGauge()
                         .Name("augur_last_fit_timestamp_seconds")
                         .Help("Unix time of the object's last model fit")
                         .Register(registry)),
      budget_(BuildGauge()
                  .Name("augur_shortfall_budget")
                  .Help("The object's shortfall budget: the share of time it accepts demand above "
                        "what its ready pods serve (NaN with a fixed quantile)")
                  .Register(registry)),
      realised_(BuildGauge()
                    .Name("augur_shortfall_realised")
                    .Help("Share of the record's window in which the object's own answers left "
                          "demand above what the pods they asked for serve (emulated HPA)")
                    .Register(registry)),
      window_(BuildGauge()
                  .Name("augur_shortfall_window_seconds")
                  .Help("Scored time behind augur_shortfall_realised (exponentially forgotten)")
                  .Register(registry)),
      headroom_(BuildGauge()
                    .Name("augur_headroom")
                    .Help("Headroom of the answer over the forecast (or over the current value), "
                          "in the metric's unit, as the budget chose it")
                    .Register(registry)),
      scored_total_(BuildCounter()
                        .Name("augur_shortfall_scored_seconds_total")
                        .Help("Time scored against the budget (demand known, no gap)")
                        .Register(registry)),
      short_total_(BuildCounter()
                       .Name("augur_shortfall_short_seconds_total")
                       .Help("Scored time in which the answers left demand above what their pods "
                             "serve: increase(short)/increase(scored) is the realised rate")
                       .Register(registry)),
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

void ScalerMetrics::SetTrackedObjects(size_t n) { tracked_.Set(static_cast<double>(n)); }

void ScalerMetrics::SetTlsCertificateExpiry(double unix_seconds) {
  tls_expiry_.Add({}).Set(unix_seconds);
}

void ScalerMetrics::ObserveTlsReload(bool ok) {
  tls_reloads_.Add({{"result", ok ? "ok" : "error"}}).Increment();
}

}  // namespace scaler
