// Model::Predict: the fitted model's deterministic part plus the short-term correction
// (brought forward by `recent`), with quantiles from the intervals stage and the
// additive components (docs/forecast.md, "Code map: the stages").
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "forecast/forecast.h"
#include "forecast/internal/blend.h"
#include "forecast/internal/correction.h"
#include "forecast/internal/intervals.h"
#include "forecast/internal/model_state.h"

namespace forecast {
namespace {

absl::Status CheckArguments(const std::vector<double>& timestamps,
                            const std::vector<double>& quantile_levels, const Series& recent) {
  for (double q : quantile_levels) {
    if (!(q > 0 && q < 1)) {
      return absl::InvalidArgumentError(absl::StrFormat("quantile level %g is outside (0, 1)", q));
    }
  }
  for (size_t i = 0; i < timestamps.size(); ++i) {
    if (!std::isfinite(timestamps[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("timestamp #", i, " to forecast is not finite"));
    }
  }
  if (recent.timestamps.size() != recent.values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("recent has ", recent.timestamps.size(),
                                                   " timestamps but ", recent.values.size(),
                                                   " values"));
  }
  return absl::OkStatus();
}

// Whole steps from `origin` to each timestamp (0 for those not after it, capped at
// kMaxForecastSteps), and how far the correction's path must be computed.
std::vector<long long> StepsAhead(const std::vector<double>& timestamps, double origin, double step,
                                  size_t* max_steps) {
  std::vector<long long> steps(timestamps.size(), 0);
  *max_steps = 0;
  for (size_t j = 0; j < timestamps.size(); ++j) {
    const double h = (timestamps[j] - origin) / step;
    if (h > 0.5) {
      steps[j] = std::min<long long>(std::llround(h), internal::kMaxForecastSteps);
      *max_steps = std::max<size_t>(
          *max_steps, static_cast<size_t>(std::min(steps[j], internal::kMaxPathSteps)));
    }
  }
  return steps;
}

// The fitted events' names, each once, in their order.
std::vector<std::string> EventNames(const Model::State& st) {
  std::vector<std::string> names;
  for (const internal::EventTerm& e : st.events) {
    if (std::find(names.begin(), names.end(), e.name) == names.end()) names.push_back(e.name);
  }
  return names;
}

// The components at unix time t in the metric's unit (with logistic growth each is its
// effect on yhat): trend, each seasonality, each event, the profile, and what remains of
// yhat (the correction). `tr` is the scaled trend at t, `yhat` the (unclamped) forecast.
void AddComponents(const Model::State& st, const std::vector<std::string>& event_names, size_t j,
                   double t, double tr, double yhat, std::vector<Component>& rows) {
  size_t row = 0;
  rows[row++].values[j] = st.scaling.ToRaw(tr);
  double acc = tr;
  const double mult = st.SeasonFactor(tr);
  for (const internal::Season& s : st.seasons) {
    const double before = st.scaling.ToRaw(acc);
    acc += mult * s.At(t, st.scaling.t0);
    rows[row++].values[j] = st.scaling.ToRaw(acc) - before;
  }
  for (const std::string& name : event_names) {
    double v = 0;
    for (const internal::EventTerm& e : st.events) {
      if (e.name == name && e.Covers(t)) v += e.coef;
    }
    const double before = st.scaling.ToRaw(acc);
    acc += mult * v;
    rows[row++].values[j] = st.scaling.ToRaw(acc) - before;
  }
  const double before = st.scaling.ToRaw(acc);
  acc += st.profile.At(t, st.scaling.t0);
  const double profile = st.scaling.ToRaw(acc) - before;
  if (!st.profile.bins.empty()) rows[row++].values[j] = profile;
  if (row < rows.size()) rows[row].values[j] = yhat - st.scaling.ToRaw(acc);
}

}  // namespace

absl::StatusOr<Forecast> Model::Predict(const std::vector<double>& timestamps,
                                        const std::vector<double>& quantile_levels,
                                        const Series& recent) const {
  absl::Status valid = CheckArguments(timestamps, quantile_levels, recent);
  if (!valid.ok()) return valid;
  const State& st = *state_;
  Forecast fc;
  fc.timestamps = timestamps;
  fc.quantile_levels = quantile_levels;
  const size_t n = timestamps.size();
  fc.yhat.resize(n);
  fc.quantiles.assign(quantile_levels.size(), std::vector<double>(n));
  if (st.constant) {
    std::fill(fc.yhat.begin(), fc.yhat.end(), st.scaling.y_offset);
    for (auto& row : fc.quantiles) std::fill(row.begin(), row.end(), st.scaling.y_offset);
    fc.components.push_back({"trend", fc.yhat});
    return fc;
  }
  const internal::CorrectionState cs = internal::Advance(st, recent);
  size_t max_steps = 0;
  const std::vector<long long> steps =
      StepsAhead(timestamps, cs.origin, st.step_seconds, &max_steps);
  const std::vector<double> path = internal::CorrectionPath(st.correction, cs, max_steps);
  const internal::BandShape shape = internal::ShapeOf(st.intervals, quantile_levels);
  const bool with_correction =
      st.correction.kind != internal::CorrectionKind::kNone || cs.shift != 0;
  fc.components.push_back({"trend", std::vector<double>(n)});
  for (const internal::Season& s : st.seasons)
    fc.components.push_back({s.name, std::vector<double>(n)});
  const std::vector<std::string> event_names = EventNames(st);
  for (const std::string& name : event_names) {
    fc.components.push_back({name, std::vector<double>(n)});
  }
  if (!st.profile.bins.empty()) fc.components.push_back({"profile", std::vector<double>(n)});
  if (with_correction) fc.components.push_back({"correction", std::vector<double>(n)});
  // What blending with the last value and the seasonal-naive forecast (blend.h) moved the
  // forecast by.
  const bool with_blend =
      !st.correction.model_weight.empty() || !st.correction.jump_weight.empty();
  const bool after_jump = internal::AfterJump(st.correction, cs.last_resid, cs.previous_resid);
  if (with_blend) fc.components.push_back({"last_value_blend", std::vector<double>(n)});
  for (size_t j = 0; j < n; ++j) {
    const double t = timestamps[j];
    double tr = 0;
    const double det = st.Deterministic(t, &tr);
    double corr = 0;
    if (steps[j] > 0 && !path.empty()) {
      // Past the computed path the correction has converged: hold its last value.
      corr = path[std::min<size_t>(static_cast<size_t>(steps[j]), path.size()) - 1];
    }
    const double model_ys = det + corr;
    const double ys = internal::Blend(st.correction, steps[j], model_ys, cs.last_value, after_jump,
                                      cs.SeasonalNaive(steps[j]));
    // interval_scale widens the model's share of the errors: the last value's and the
    // seasonal-naive forecast's are out of sample already.
    const double inflate =
        1 + (options_.interval_scale - 1) *
                internal::ModelWeight(st.correction, steps[j], after_jump);
    fc.yhat[j] = st.scaling.ToRaw(ys);
    // The band's half-width in scaled units: the error scale at this step, at the width
    // the level calls for, and the trend's uncertainty since the newest observation.
    const double scale =
        internal::ErrorScale(st.intervals, shape, steps[j]) * st.intervals.LevelWidth(fc.yhat[j]);
    const double dts = std::max(0.0, (t - st.last_t) / st.scaling.t_scale);
    const double trend_sd = std::sqrt(st.intervals.trend_var_rate * dts * dts * dts);
    for (size_t i = 0; i < quantile_levels.size(); ++i) {
      const double sign = quantile_levels[i] < 0.5 ? -1.0 : 1.0;
      const double off = internal::BandOffset(scale * shape.emp[i], shape.z[i] * trend_sd, sign);
      fc.quantiles[i][j] = st.scaling.ToRaw(ys + inflate * off);
    }
    AddComponents(st, event_names, j, t, tr, st.scaling.ToRaw(model_ys), fc.components);
    if (with_blend) fc.components.back().values[j] = fc.yhat[j] - st.scaling.ToRaw(model_ys);
    if (st.nonnegative) {
      fc.yhat[j] = std::max(0.0, fc.yhat[j]);
      for (auto& row : fc.quantiles) row[j] = std::max(0.0, row[j]);
    }
  }
  return fc;
}

}  // namespace forecast
