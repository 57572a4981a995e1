#include "loadtest/keda.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace loadtest {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

GrpcScalerApi::GrpcScalerApi(std::shared_ptr<grpc::Channel> channel,
                             std::chrono::milliseconds timeout)
    : stub_(externalscaler::ExternalScaler::NewStub(std::move(channel))), timeout_(timeout) {}

namespace {
void SetDeadline(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}
}  // namespace

absl::StatusOr<externalscaler::GetMetricSpecResponse> GrpcScalerApi::GetMetricSpec(
    const externalscaler::ScaledObjectRef& ref) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_);
  externalscaler::GetMetricSpecResponse response;
  grpc::Status s = stub_->GetMetricSpec(&ctx, ref, &response);
  if (!s.ok()) return FromGrpcStatus(s);
  return response;
}

absl::StatusOr<externalscaler::GetMetricsResponse> GrpcScalerApi::GetMetrics(
    const externalscaler::GetMetricsRequest& request) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_);
  externalscaler::GetMetricsResponse response;
  grpc::Status s = stub_->GetMetrics(&ctx, request, &response);
  if (!s.ok()) return FromGrpcStatus(s);
  return response;
}

absl::StatusOr<bool> GrpcScalerApi::IsActive(const externalscaler::ScaledObjectRef& ref) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_);
  externalscaler::IsActiveResponse response;
  grpc::Status s = stub_->IsActive(&ctx, ref, &response);
  if (!s.ok()) return FromGrpcStatus(s);
  return response.result();
}

// KEDA still reads the deprecated integer fields when the float ones are not > 0.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
double KedaMetricValue(const externalscaler::MetricValue& v) {
  double value = static_cast<double>(v.metricvalue());
  if (v.metricvaluefloat() > 0) value = v.metricvaluefloat();
  // KEDA keeps milli precision and turns NaN, Inf and negatives into 0.
  if (!std::isfinite(value) || value < 0) return 0;
  return std::round(value * 1000) / 1000;
}

double KedaTargetValue(const externalscaler::MetricSpec& s) {
  if (s.targetsizefloat() > 0) return std::round(s.targetsizefloat() * 1000) / 1000;
  return static_cast<double>(s.targetsize());
}
#pragma GCC diagnostic pop

const char* KedaEventKindName(KedaEvent::Kind kind) {
  switch (kind) {
    case KedaEvent::Kind::kStart: return "start";
    case KedaEvent::Kind::kPoll: return "poll";
    case KedaEvent::Kind::kHpaSync: return "hpa";
    case KedaEvent::Kind::kStream: return "stream";
  }
  return "unknown";
}

absl::Status KedaConfig::Validate() const {
  if (!(polling_seconds > 0) || !(hpa_sync_seconds > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "polling interval ", polling_seconds, "s and HPA sync ", hpa_sync_seconds,
        "s: expected durations > 0"));
  }
  if (min_replica_count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("min replicas = ", min_replica_count, ": expected >= 0"));
  }
  if (cooldown_seconds < 0) {
    return absl::InvalidArgumentError("cooldown period must be >= 0 seconds");
  }
  if (ref.name().empty()) {
    return absl::InvalidArgumentError("the ScaledObject name is empty: expected --name NAME");
  }
  HpaConfig h = hpa;
  h.target = 1;  // set from GetMetricSpec
  h.min_replicas = std::max(1, min_replica_count);
  return h.Validate();
}

KedaEmulator::KedaEmulator(KedaConfig config, ScalerApi& api,
                           std::function<absl::StatusOr<double>(double)> observe)
    : config_(std::move(config)), api_(api), observe_(std::move(observe)) {
  config_.hpa.min_replicas = std::max(1, config_.min_replica_count);
  replicas_ = std::clamp(config_.initial_replicas, config_.min_replica_count, config_.hpa.max_replicas);
}

absl::StatusOr<KedaEvent> KedaEmulator::Start(double now) {
  KedaEvent e;
  e.kind = KedaEvent::Kind::kStart;
  e.time = now;
  e.rpcs = 1;
  auto spec = api_.GetMetricSpec(config_.ref);
  if (!spec.ok()) return spec.status();
  if (spec->metricspecs_size() == 0) {
    return absl::FailedPreconditionError(
        "GetMetricSpec returned no MetricSpec: KEDA fails the ScaledObject (\"got empty metric spec\")");
  }
  const double target = KedaTargetValue(spec->metricspecs(0));
  if (!(target > 0)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "GetMetricSpec returned target ", target, ": the HPA requires a target > 0"));
  }
  metric_name_ = spec->metricspecs(0).metricname();
  config_.hpa.target = target;
  hpa_.emplace(config_.hpa, std::max(replicas_, 1));
  if (observe_) reactive_hpa_.emplace(config_.hpa, std::max(replicas_, 1));
  started_ = true;
  next_poll_ = now;  // KEDA polls as soon as the ScaledObject is handled
  next_sync_ = now + config_.hpa_sync_seconds;
  last_active_ = now;
  e.replicas = replicas_;
  e.reactive_replicas = reactive_replicas();
  e.reason = absl::StrCat("metric ", metric_name_, ", target ", target);
  return e;
}

std::optional<int> KedaEmulator::reactive_replicas() const {
  if (!reactive_hpa_) return std::nullopt;
  return reactive_hpa_->replicas();
}

double KedaEmulator::NextEventTime() const { return std::min(next_poll_, next_sync_); }

KedaEmulator::PairResult KedaEmulator::Query(bool retry) {
  PairResult r;
  for (int attempt = 0; attempt < (retry ? 2 : 1); ++attempt) {
    r = PairResult{std::nullopt, std::nullopt, "", r.rpcs};
    ++r.rpcs;
    auto spec = api_.GetMetricSpec(config_.ref);
    if (!spec.ok()) {
      r.error = absl::StrCat("GetMetricSpec: ", spec.status().ToString());
      continue;
    }
    externalscaler::GetMetricsRequest request;
    *request.mutable_scaledobjectref() = config_.ref;
    request.set_metricname(metric_name_);
    ++r.rpcs;
    auto metrics = api_.GetMetrics(request);
    if (!metrics.ok()) {
      r.error = absl::StrCat("GetMetrics: ", metrics.status().ToString());
      continue;
    }
    ++r.rpcs;
    auto active = api_.IsActive(config_.ref);
    if (!active.ok()) {
      r.error = absl::StrCat("IsActive: ", active.status().ToString());
      continue;
    }
    // The HPA sums every returned value.
    double sum = 0;
    for (const auto& v : metrics->metricvalues()) sum += KedaMetricValue(v);
    r.value = sum;
    r.active = *active;
    return r;
  }
  return r;
}

KedaEvent KedaEmulator::Poll(double now) {
  KedaEvent e;
  e.kind = KedaEvent::Kind::kPoll;
  e.time = now;
  PairResult r = Query(/*retry=*/true);
  e.rpcs = r.rpcs;
  e.value = r.value;
  e.active = r.active;
  if (!r.error.empty()) {
    e.error = true;
    e.reason = r.error;
  } else if (*r.active) {
    last_active_ = now;
    if (replicas_ == 0) {
      replicas_ = std::max(1, config_.min_replica_count);
      hpa_.emplace(config_.hpa, replicas_);
      e.reason = "activated: scaled from 0";
    } else {
      e.reason = "active";
    }
  } else if (config_.min_replica_count == 0 && replicas_ > 0 &&
             now - last_active_ >= config_.cooldown_seconds) {
    replicas_ = 0;
    e.reason = "inactive past cooldownPeriod: scaled to 0";
  } else {
    e.reason = "inactive";
  }
  e.replicas = replicas_;
  e.reactive_replicas = reactive_replicas();
  return e;
}

KedaEvent KedaEmulator::Sync(double now) {
  KedaEvent e;
  e.kind = KedaEvent::Kind::kHpaSync;
  e.time = now;
  PairResult r = Query(/*retry=*/true);
  e.rpcs = r.rpcs;
  e.value = r.value;
  e.active = r.active;
  if (observe_) {
    absl::StatusOr<double> observed = observe_(now);
    std::optional<double> reactive_metric;
    if (observed.ok()) {
      e.observed = *observed;
      reactive_metric = *observed;
    }
    reactive_hpa_->Sync(now, reactive_metric, reactive_hpa_->replicas());
  }
  if (replicas_ == 0) {
    // Scaled to zero: the HPA is idle until KEDA activates the workload.
    e.reason = r.error.empty() ? "scaled to zero: HPA idle" : r.error;
    e.error = !r.error.empty();
  } else {
    HpaDecision d = hpa_->Sync(now, r.value, replicas_);
    replicas_ = d.desired;
    e.reason = r.error.empty() ? d.reason : absl::StrCat(d.reason, "; ", r.error);
    e.error = !r.error.empty();
  }
  e.replicas = replicas_;
  e.reactive_replicas = reactive_replicas();
  return e;
}

std::vector<KedaEvent> KedaEmulator::RunDue(double now) {
  std::vector<KedaEvent> events;
  if (!started_) return events;
  // Bounded: each iteration advances one schedule by a positive interval.
  while (std::min(next_poll_, next_sync_) <= now) {
    if (next_poll_ <= next_sync_) {
      events.push_back(Poll(next_poll_));
      next_poll_ += config_.polling_seconds;
    } else {
      events.push_back(Sync(next_sync_));
      next_sync_ += config_.hpa_sync_seconds;
    }
  }
  return events;
}

double ReconnectBackoff::Next(bool clean_end) {
  if (clean_end || delay_ == 0) {
    delay_ = 2;
  } else {
    delay_ = std::min(delay_ * 2, 60.0);
  }
  return delay_;
}

}  // namespace loadtest
