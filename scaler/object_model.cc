#include "scaler/object_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace scaler {
namespace {

// Timestamps within this of each other are the same instant (they come from doubles
// that went through unix-seconds arithmetic).
constexpr double kTimeEps = 1e-6;
// A forecast grid longer than this many steps is cut (a horizon of weeks at 1 s steps).
constexpr int kMaxGridSteps = 100000;

}  // namespace

ObjectModel::ObjectModel(ObjectConfig config) : config_(std::move(config)) {}

double ObjectModel::FetchStart(double now) const {
  const double step = config_.step_seconds;
  double start = fetched_ ? next_fetch_start_ : now - config_.history_seconds;
  start = std::ceil(start / step) * step;
  if (start > now) start = std::floor(now / step) * step;
  return start;
}

absl::Status ObjectModel::Ingest(double now, double fetch_start, const forecast::Series& s) {
  const double step = config_.step_seconds;
  if (!fetched_) {
    base_ = std::floor(fetch_start);
    fetched_ = true;
  }
  next_fetch_start_ = std::floor(now / step) * step + step;

  const double newest_kept = t_.empty() ? -1e300 : base_ + t_.back();
  for (size_t i = 0; i < s.timestamps.size() && i < s.values.size(); ++i) {
    const double ts = s.timestamps[i];
    const double val = s.values[i];
    if (!std::isfinite(ts) || ts <= newest_kept || ts < base_) continue;
    if (!newest_raw_ || ts > newest_raw_->first) newest_raw_ = std::make_pair(ts, val);
    if (!std::isfinite(val)) continue;
    t_.push_back(static_cast<uint32_t>(std::llround(ts - base_)));
    v_.push_back(static_cast<float>(val));
    unscored_t_.push_back(base_ + t_.back());
    unscored_v_.push_back(val);
  }
  const double oldest_allowed = now - config_.history_seconds;
  while (!t_.empty() && base_ + t_.front() < oldest_allowed) {
    t_.pop_front();
    v_.pop_front();
  }

  // The current value (design: none if the newest sample is older than 2 steps).
  current_.reset();
  if (newest_raw_ && now - newest_raw_->first <= 2 * step + kTimeEps) {
    if (std::isfinite(newest_raw_->second)) {
      current_ = newest_raw_->second;
    } else if (config_.ignore_null_values) {
      current_ = 0;
    } else {
      return absl::FailedPreconditionError(
          "the query's newest sample is NaN or Inf (ignoreNullValues is false)");
    }
  } else if (!newest_raw_) {
    if (!config_.ignore_null_values) {
      return absl::FailedPreconditionError(
          "the query returned no data (empty result; ignoreNullValues is false)");
    }
    current_ = 0;  // KEDA's prometheus scaler: an empty result is 0
  }
  return absl::OkStatus();
}

bool ObjectModel::RefitDue(double now) const {
  if (t_.size() < 2) return false;
  return model_ == nullptr || now - last_fit_at_ >= config_.refit_interval_seconds - kTimeEps;
}

forecast::Series ObjectModel::History() const {
  forecast::Series history;
  history.timestamps.reserve(t_.size());
  history.values.reserve(v_.size());
  for (size_t i = 0; i < t_.size(); ++i) {
    history.timestamps.push_back(base_ + t_[i]);
    history.values.push_back(v_[i]);
  }
  return history;
}

FitOutcome ObjectModel::Refit(double now) {
  FitOutcome out;
  out.points = t_.size();
  if (t_.size() < 2) {
    // RefitDue() says no; not an error worth keeping: the model comes once there are points.
    out.status = absl::FailedPreconditionError(
        absl::StrCat("too few points to fit (", t_.size(), ")"));
    return out;
  }
  absl::StatusOr<forecast::Model> fitted = forecast::Fit(History(), config_.fit_options);
  if (!fitted.ok()) {
    out.status = fitted.status();
    fit_error_ = std::string(fitted.status().message());
    return out;
  }
  model_ = std::make_shared<const forecast::Model>(std::move(*fitted));
  last_fit_at_ = now;
  fit_error_.clear();
  return out;
}

forecast::Series ObjectModel::Recent() const {
  forecast::Series recent;
  const double fitted_until = model_->last_timestamp();
  size_t first = t_.size();
  while (first > 0 && base_ + t_[first - 1] > fitted_until) --first;
  for (size_t i = first; i < t_.size(); ++i) {
    recent.timestamps.push_back(base_ + t_[i]);
    recent.values.push_back(v_[i]);
  }
  return recent;
}

std::vector<double> ObjectModel::HorizonGrid(double now) const {
  // (now, now + horizon] at the step, plus now + horizon itself when the step does not
  // divide the horizon.
  const double step = config_.step_seconds;
  const double horizon = config_.policy.horizon_seconds;
  std::vector<double> grid;
  for (int k = 1; k * step <= horizon + 1e-9 && k <= kMaxGridSteps; ++k) {
    grid.push_back(now + k * step);
  }
  if (grid.empty() || grid.back() < now + horizon - 1e-9) grid.push_back(now + horizon);
  return grid;
}

HistorySummary ObjectModel::Summarize() const {
  HistorySummary h;
  h.points = t_.size();
  if (t_.empty()) return h;
  h.first_timestamp = base_ + t_.front();
  h.last_timestamp = base_ + t_.back();
  h.last_value = v_.back();
  double sum = 0;
  h.min = h.max = v_.front();
  for (float x : v_) {
    sum += x;
    h.min = std::min<double>(h.min, x);
    h.max = std::max<double>(h.max, x);
  }
  h.mean = sum / static_cast<double>(v_.size());
  return h;
}

AnswerUpdate ObjectModel::Update(double now) {
  AnswerUpdate update;
  auto answer = std::make_shared<Answer>();

  // Forecast (now, now + horizon], with the samples since the fit as `recent`.
  std::optional<forecast::Forecast> fc;
  std::string no_forecast_detail;
  if (model_ != nullptr) {
    std::vector<double> levels = {kBandLow, 0.5, kBandHigh};
    if (std::find(levels.begin(), levels.end(), config_.policy.quantile) == levels.end()) {
      levels.push_back(config_.policy.quantile);
      std::sort(levels.begin(), levels.end());
    }
    absl::StatusOr<forecast::Forecast> p = model_->Predict(HorizonGrid(now), levels, Recent());
    if (p.ok()) {
      fc = std::move(*p);
      update.predicted = true;
    } else {
      no_forecast_detail = absl::StrCat("predict failed: ", p.status().message());
    }
  } else if (!fit_error_.empty()) {
    no_forecast_detail = "fit failed: " + fit_error_;
  } else {
    no_forecast_detail = absl::StrCat("no model yet (", t_.size(), " points)");
  }

  // Score past forecasts against the new observations, then decide.
  errors_.Observe(unscored_t_, unscored_v_, config_.step_seconds);
  unscored_t_.clear();
  unscored_v_.clear();
  if (fc) errors_.RecordForecast(now, current_, fc->timestamps, fc->yhat);

  PolicyInput input;
  input.current = current_;
  input.history_seconds = t_.size() >= 2 ? static_cast<double>(t_.back() - t_.front()) : 0;
  input.forecast = fc ? &*fc : nullptr;
  input.error_ratio = errors_.Ratio();
  input.no_forecast_detail = no_forecast_detail;
  answer->decision = Decide(config_.policy, input);

  answer->computed_at = now;
  answer->step_seconds = config_.step_seconds;
  answer->history = Summarize();
  if (model_ != nullptr) {
    answer->model.fitted = true;
    answer->model.fitted_at = last_fit_at_;
    answer->model.fit_seconds = fit_seconds_;
    answer->model.info = model_->info();
  }
  answer->model.fit_error = fit_error_;
  if (fc) {
    auto row = [&](double level) {
      const std::vector<double>* r = fc->Quantile(level);
      return r != nullptr ? *r : std::vector<double>();
    };
    answer->forecast_timestamps = fc->timestamps;
    answer->yhat = fc->yhat;
    answer->lower = row(kBandLow);
    answer->upper = row(kBandHigh);
    answer->at_quantile = row(config_.policy.quantile);
    answer->components = std::move(fc->components);
  }
  answer->error_ratio = input.error_ratio;
  answer->mase = errors_.Mase();

  update.previous_reason = last_reason_;
  last_reason_ = answer->decision.reason;
  if (answer->decision.active && !last_active_) ++activations_;
  last_active_ = answer->decision.active;
  answer->activations = activations_;
  update.answer = std::move(answer);
  return update;
}

}  // namespace scaler
