#include "scaler/inspector.h"

#include <chrono>
#include <exception>

#include "common/duration.h"
#include "scaler/log.h"
#include "scaler/rpc_guard.h"
#include "scaler/service.h"

namespace scaler {
namespace {

void FillSummary(const ScalerSpec& spec, const Answer* answer, bool in_flight, double now,
                 augur::v1::ObjectSummary* out) {
  out->set_namespace_(spec.namespace_);
  out->set_name(spec.name);
  out->set_metric_name(spec.metric_name);
  out->set_trigger(spec.trigger_id);
  out->set_mode(ModeName(spec.policy.mode));
  out->set_refresh_in_flight(in_flight);
  if (answer == nullptr) {
    out->set_status("no answer yet");
    return;
  }
  out->set_last_error(answer->last_error);
  if (!answer->status.ok()) {
    out->set_status(answer->status.ToString());
    return;
  }
  out->set_status("ok");
  out->set_has_answer(true);
  out->set_value(answer->decision.value);
  out->set_active(answer->decision.active);
  out->set_reason(ReasonName(answer->decision.reason));
  out->set_answer_age_seconds(now - answer->computed_at);
  if (answer->budget && answer->budget->budget > 0) {
    out->set_shortfall_budget(answer->budget->budget);
    if (answer->budget->realised_rate) out->set_shortfall_realised(*answer->budget->realised_rate);
  }
}

}  // namespace

InspectorService::InspectorService(Tracker& tracker, const Clock& clock, ScalerMetrics* metrics)
    : tracker_(tracker), clock_(clock), metrics_(metrics) {}

grpc::Status InspectorService::List(grpc::ServerContext*, const augur::v1::ListRequest*,
                                    augur::v1::ListResponse* response) {
  return GuardedRpc(metrics_, clock_, "Inspector.List", [&]() -> grpc::Status {
    const double now = clock_.Now();
    for (const TrackedObjectState& s : tracker_.List()) {
      FillSummary(*s.spec, s.answer.get(), s.refresh_in_flight, now, response->add_objects());
    }
    return grpc::Status::OK;
  });
}

grpc::Status InspectorService::Explain(grpc::ServerContext*,
                                       const externalscaler::ScaledObjectRef* request,
                                       augur::v1::Explanation* response) {
  return GuardedRpc(metrics_, clock_, "Inspector.Explain", [&]() -> grpc::Status {
    auto got = tracker_.Get(ToObjectRef(*request));
    if (!got.ok()) return ToGrpcStatus(got.status());
    FillExplanation(*got->spec, *got->answer, false, clock_.Now(), response);
    return grpc::Status::OK;
  });
}

void FillObjectSummary(const ScalerSpec& spec, const Answer* answer, bool in_flight, double now,
                       augur::v1::ObjectSummary* out) {
  FillSummary(spec, answer, in_flight, now, out);
}

void FillExplanation(const ScalerSpec& spec, const Answer& a, bool in_flight, double now,
                     augur::v1::Explanation* response) {
  FillSummary(spec, &a, in_flight, now, response->mutable_object());

  augur::v1::Settings* s = response->mutable_settings();
  s->set_query(spec.query.query);
  s->set_server_address(RedactUrl(spec.query.server_address));
  s->set_target_value(spec.target_value);
  s->set_activation_threshold(spec.policy.activation_threshold);
  s->set_horizon(common::FormatSeconds(spec.horizon_seconds));
  s->set_history(common::FormatSeconds(spec.history_seconds));
  s->set_step(common::FormatSeconds(spec.step_seconds) + (spec.step_auto ? " (auto)" : ""));
  s->set_seasonality(spec.seasonality);
  s->set_quantile(spec.policy.quantile);
  s->set_refresh_interval(common::FormatSeconds(spec.refresh_interval_seconds));
  s->set_refit_interval(common::FormatSeconds(spec.refit_interval_seconds));
  s->set_min_history(common::FormatSeconds(spec.policy.min_history_seconds));
  s->set_max_forecast_error(spec.policy.max_forecast_error);
  if (spec.policy.shortfall) s->set_shortfall(ShortfallName(*spec.policy.shortfall));
  s->set_holidays(spec.holidays);
  s->set_exclude_periods(spec.exclude_periods);
  for (const forecast::Event& e : spec.fit_options.events) {
    augur::v1::KnownEvent* k = s->add_events();
    k->set_event(e.name);
    k->set_first_day(forecast::FormatUtc(e.start, true));
    k->set_last_day(forecast::FormatUtc(e.start + (e.days - 1) * 86400.0, true));
    k->set_days_before(e.days_before);
    k->set_days_after(e.days_after);
  }

  augur::v1::HistorySummary* h = response->mutable_history();
  h->set_points(a.history.points);
  h->set_first_timestamp(a.history.first_timestamp);
  h->set_last_timestamp(a.history.last_timestamp);
  h->set_step_seconds(a.step_seconds);
  h->set_min(a.history.min);
  h->set_max(a.history.max);
  h->set_mean(a.history.mean);
  h->set_last_value(a.history.last_value);

  augur::v1::ModelSummary* m = response->mutable_model();
  m->set_fitted(a.model.fitted);
  m->set_fitted_at(a.model.fitted_at);
  m->set_fit_seconds(a.model.fit_seconds);
  m->set_points_used(a.model.info.points_used);
  m->set_history_seconds(a.model.info.history_seconds);
  for (const auto& x : a.model.info.seasonalities) m->add_seasonalities(x);
  for (double x : a.model.info.changepoints) m->add_changepoints(x);
  m->set_residual_scale(a.model.info.residual_scale);
  for (const auto& x : a.model.info.notes) m->add_notes(x);
  m->set_fit_error(a.model.fit_error);
  if (a.error_ratio) m->set_error_ratio(*a.error_ratio);
  if (a.mase) m->set_mase(*a.mase);
  for (const forecast::FitInfo::EventEffect& e : a.model.info.event_effects) {
    augur::v1::EventEffect* pe = m->add_event_effects();
    pe->set_event(e.name);
    pe->set_day(e.day);
    pe->set_effect(e.effect);
    pe->set_points(e.points);
  }
  for (const forecast::FitInfo::Exclusion& x : a.model.info.exclusions) {
    augur::v1::ExcludedPeriod* px = m->add_excluded_periods();
    px->set_start(forecast::FormatUtc(x.start));
    px->set_end(forecast::FormatUtc(x.end));
    px->set_points_removed(x.points_removed);
  }

  for (size_t i = 0; i < a.forecast_timestamps.size(); ++i) {
    augur::v1::ForecastPoint* p = response->add_forecast();
    p->set_timestamp(a.forecast_timestamps[i]);
    if (i < a.yhat.size()) p->set_yhat(a.yhat[i]);
    if (i < a.lower.size()) p->set_lower(a.lower[i]);
    if (i < a.upper.size()) p->set_upper(a.upper[i]);
    if (i < a.at_quantile.size()) p->set_at_quantile(a.at_quantile[i]);
  }
  for (const forecast::Component& c : a.components) {
    augur::v1::Component* pc = response->add_components();
    pc->set_name(c.name);
    for (double x : c.values) pc->add_values(x);
  }
  if (a.decision.current) response->set_current(*a.decision.current);
  if (a.decision.peak) response->set_peak(*a.decision.peak);
  response->set_value(a.decision.value);
  response->set_active(a.decision.active);
  response->set_reason(ReasonName(a.decision.reason));
  response->set_detail(a.decision.detail);
  response->set_fallback(IsFallback(a.decision.reason));
  if (a.budget) {
    const BudgetState& b = *a.budget;
    augur::v1::Budget* pb = response->mutable_budget();
    pb->set_budget(b.budget);
    pb->set_calibrated(b.calibrated);
    pb->set_shape(b.shape);
    pb->set_theta(b.theta);
    pb->set_record_theta(b.record_theta);
    pb->set_headroom(b.headroom);
    pb->set_reachable(b.reachable);
    pb->set_expected_rate(b.expected_rate);
    if (b.realised_rate) pb->set_realised_rate(*b.realised_rate);
    pb->set_window_seconds(b.window_seconds);
    pb->set_total_scored_seconds(b.total_scored_seconds);
    pb->set_total_short_seconds(b.total_short_seconds);
    pb->set_setting(b.setting);
    if (b.reactive_rate) pb->set_reactive_rate(*b.reactive_rate);
  }
}

}  // namespace scaler
