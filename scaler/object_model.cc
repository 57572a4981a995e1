#include "scaler/object_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"

namespace scaler {
namespace {

// Timestamps within this of each other are the same instant (they come from doubles
// that went through unix-seconds arithmetic).
constexpr double kTimeEps = 1e-6;
// Earlier days DailyRise looks at: a week, so that one unusual day among them moves the
// median little (measured offline on worldcup98 with fixed gains: 7 days reach 0.25x of
// reactive's under-provisioned time for +3.1 % replica-hours, 3 days for +3.3 %;
// docs/benchmarks/2026-12-02-shortfall-budget.md, fourth sitting).
constexpr int kDailyRiseDays = 7;
// A forecast grid longer than this many steps is cut (a horizon of weeks at 1 s steps).
constexpr int kMaxGridSteps = 100000;
// The HPA's default scale-down stabilisation window (docs/keda.md §4): how long it keeps
// the largest recommendation, which the shortfall record emulates.
constexpr double kHpaScaleDownStabilizationSeconds = 300;
// The shortfall record's memory: two days, or 500 steps for coarse series (so that a
// budget of 1 % still sees a few shortfalls).
constexpr double kRecordMemorySeconds = 2 * 86400;
constexpr double kRecordMemorySteps = 500;

// Every shape but the forecast's (whose inputs a record emulated over the history lacks).
std::vector<int> ShapesWithoutForecast() {
  std::vector<int> out;
  for (size_t s = 0; s < Shapes().size(); ++s) {
    if (Shapes()[s].kind != ShapeDef::kForecast) out.push_back(static_cast<int>(s));
  }
  return out;
}

ShortfallConfig RecordConfigFor(const ObjectConfig& c) {
  ShortfallConfig r;
  r.target_value = c.target_value;
  r.pod_capacity = c.pod_capacity.value_or(0);
  r.lead_seconds = c.policy.horizon_seconds;
  r.hold_seconds = kHpaScaleDownStabilizationSeconds;
  r.step_seconds = c.step_seconds;
  r.score_every_seconds = std::min(c.refresh_interval_seconds, c.step_seconds);
  r.memory_seconds = std::max(kRecordMemorySeconds, kRecordMemorySteps * c.step_seconds);
  return r;
}

// Before the record can tell what a budget needs, the answer is the model's own quantile:
// the budget's tail for an absolute budget, the 90 % quantile for a relative one (whose
// share is not known yet).
constexpr double kColdRelativeLevel = 0.9;
constexpr double kColdRecordSeconds = 6 * 3600;  // what a relative budget waits for
// The most a budget is corrected by its realised rate: the record may ask for at most
// this many times the budget, or as little as its inverse.
constexpr double kMaxBudgetCorrection = 2;

double ColdLevel(const ShortfallBudget& b) {
  return b.relative ? kColdRelativeLevel : 1 - b.value;
}

// The quantile a policy's forecast needs: its own, or a budget's cold start.
double PolicyLevel(const PolicyConfig& p) {
  return p.shortfall ? ColdLevel(*p.shortfall) : p.quantile;
}

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%%", share * 100);
  return buf;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string Hours(double seconds) {
  char buf[32];
  if (seconds >= 2 * 86400) {
    std::snprintf(buf, sizeof buf, "%.1fd", seconds / 86400);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fh", seconds / 3600);
  }
  return buf;
}

}  // namespace

ObjectModel::ObjectModel(ObjectConfig config)
    : config_(std::move(config)), record_(RecordConfigFor(config_)) {
  main_.policy = config_.policy;
}

size_t ObjectModel::AddExtraPolicy(const PolicyConfig& policy) {
  PolicyState state;
  state.policy = policy;
  // The record's ingredients are built for the object's own mode.
  state.policy.mode = config_.policy.mode;
  state.record_index = extra_.size() + 1;
  extra_.push_back(std::move(state));
  return extra_.size() - 1;
}

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

  const double newest_kept = history_.empty() ? -1e300 : base_ + history_.back().t;
  const size_t n = std::min(s.timestamps.size(), s.values.size());
  auto kept = [&](size_t i) {
    const double ts = s.timestamps[i];
    return std::isfinite(ts) && ts > newest_kept && ts >= base_;
  };
  // The history is trimmed to [now - history, now] before the new samples join it (they
  // are newer than all it holds, so the points trimmed are the same as after), so that
  // its storage grows only for points it keeps.
  const double oldest_allowed = now - config_.history_seconds;
  auto trim = [&] {
    while (!history_.empty() && base_ + history_.front().t < oldest_allowed) history_.pop_front();
  };
  trim();
  size_t added = 0;
  for (size_t i = 0; i < n; ++i) added += kept(i) && std::isfinite(s.values[i]) ? 1 : 0;
  if (history_.size() + added > history_.capacity()) {
    history_.Reserve(HistoryCapacity(history_.size() + added));
  }
  if (unscored_t_.size() + added > unscored_t_.capacity()) {  // a first fetch: ~a day's points
    const size_t want = std::max(unscored_t_.size() + added, 2 * unscored_t_.capacity());
    unscored_t_.reserve(want);
    unscored_v_.reserve(want);
  }
  for (size_t i = 0; i < n; ++i) {
    if (!kept(i)) continue;
    const double ts = s.timestamps[i];
    const double val = s.values[i];
    if (!newest_raw_ || ts > newest_raw_->first) newest_raw_ = std::make_pair(ts, val);
    if (!std::isfinite(val)) continue;
    Point& p = history_.Append();
    p.t = static_cast<uint32_t>(std::llround(ts - base_));
    p.v = static_cast<float>(val);
    unscored_t_.push_back(base_ + p.t);
    unscored_v_.push_back(val);
  }
  trim();

  // The current value (design: none if the newest sample is older than 2 steps).
  current_.reset();
  current_is_sample_ = false;
  if (newest_raw_ && now - newest_raw_->first <= 2 * step + kTimeEps) {
    if (std::isfinite(newest_raw_->second)) {
      current_ = newest_raw_->second;
      current_is_sample_ = true;
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

size_t ObjectModel::HistoryCapacity(size_t points) const {
  // The most points on the step grid within [now - history, now], and one for a sample
  // off the grid.
  const double window = std::floor(config_.history_seconds / config_.step_seconds) + 2;
  const size_t window_points =
      window < 1e9 ? static_cast<size_t>(window) : std::numeric_limits<size_t>::max();
  const size_t doubled = 2 * std::max(points, history_.capacity());
  if (points <= window_points) return std::min(window_points, doubled);
  return doubled;  // denser than the step: grow geometrically, as far as needed
}

bool ObjectModel::RefitDue(double now) const {
  if (history_.size() < 2) return false;
  return model_ == nullptr || now - last_fit_at_ >= config_.refit_interval_seconds - kTimeEps;
}

forecast::Series ObjectModel::History() const {
  forecast::Series history;
  history.timestamps.reserve(history_.size());
  history.values.reserve(history_.size());
  for (const Point& p : history_) {
    history.timestamps.push_back(base_ + p.t);
    history.values.push_back(p.v);
  }
  return history;
}

FitOutcome ObjectModel::Refit(double now) {
  FitOutcome out;
  out.points = history_.size();
  if (history_.size() < 2) {
    // RefitDue() says no; not an error worth keeping: the model comes once there are points.
    out.status = absl::FailedPreconditionError(
        absl::StrCat("too few points to fit (", history_.size(), ")"));
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
  size_t first = history_.size();
  while (first > 0 && base_ + history_[first - 1].t > fitted_until) --first;
  for (size_t i = first; i < history_.size(); ++i) {
    recent.timestamps.push_back(base_ + history_[i].t);
    recent.values.push_back(history_[i].v);
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

double ObjectModel::RecentRise() const {
  return current_ ? RiseAt(history_.size()) : 0;
}

double ObjectModel::RiseAt(size_t end) const {
  if (end == 0) return 0;
  // Two windows of max(lead, 2 steps) ending at the newest sample.
  const double w = std::max(config_.policy.horizon_seconds, 2 * config_.step_seconds);
  const double newest = history_[end - 1].t;
  double sum[2] = {0, 0};
  int n[2] = {0, 0};
  for (size_t i = end; i-- > 0;) {
    const double age = newest - history_[i].t;
    if (age >= 2 * w - kTimeEps) break;
    const int half = age < w - kTimeEps ? 0 : 1;
    sum[half] += history_[i].v;
    ++n[half];
  }
  if (n[0] == 0 || n[1] == 0) return 0;
  return std::max(0.0, (sum[0] / n[0] - sum[1] / n[1]) / w);
}

double ObjectModel::DailyRise() const {
  return current_ ? DailyRiseAt(history_.size(), *current_) : 0;
}

double ObjectModel::DailyRiseAt(size_t end, double current) const {
  if (end < 4 || current <= 0) return 0;
  const double step = config_.step_seconds;
  const double lead = std::max(config_.policy.horizon_seconds, step);
  // The history at relative time x, interpolated between neighbours at most 2 steps
  // apart (nullopt outside the history or inside a gap).
  // `i` is a cursor: the lookups of one day go forward in time, so after the day's first
  // binary search each one only steps on from the last.
  size_t i = end;  // not positioned yet
  auto at = [&](double x) -> std::optional<double> {
    if (i >= end || (i > 0 && history_[i - 1].t >= x)) {
      const auto last = history_.begin() + static_cast<std::ptrdiff_t>(end);
      i = static_cast<size_t>(std::lower_bound(history_.begin(), last, x,
                                               [](const Point& a, double b) { return a.t < b; }) -
                              history_.begin());
    }
    while (i < end && history_[i].t < x) ++i;
    if (i == end) return std::nullopt;
    if (i == 0 || history_[i].t <= x + kTimeEps) {
      if (history_[i].t - x > step + kTimeEps) return std::nullopt;
      return static_cast<double>(history_[i].v);
    }
    const double t0 = history_[i - 1].t, t1 = history_[i].t;
    if (t1 - t0 > 2 * step + kTimeEps) return std::nullopt;
    const float v0 = history_[i - 1].v, v1 = history_[i].v;
    return v0 + (v1 - v0) * (x - t0) / (t1 - t0);
  };
  // Smoothed over three steps: one noisy minute of an earlier day is not a ramp.
  auto smoothed = [&](double x) -> std::optional<double> {
    double sum = 0;
    for (int k = -1; k <= 1; ++k) {
      const std::optional<double> v = at(x + k * step);
      if (!v) return std::nullopt;
      sum += *v;
    }
    return sum / 3;
  };
  // On the stack: a warm start calls this at every emulated refresh of its memory
  // (thousands an object).
  std::array<double, kDailyRiseDays> ratios;
  size_t n = 0;
  const double newest = history_[end - 1].t;
  for (int d = 1; d <= kDailyRiseDays; ++d) {
    const double then = newest - d * 86400.0;
    if (then - step < static_cast<double>(history_.front().t)) break;
    const std::optional<double> from = smoothed(then);
    const std::optional<double> to = smoothed(then + lead);
    if (!(from && to && *from > 0)) continue;
    // Kept sorted as they come (at most kDailyRiseDays).
    const double r = *to / *from;
    size_t k = n++;
    for (; k > 0 && ratios[k - 1] > r; --k) ratios[k] = ratios[k - 1];
    ratios[k] = r;
  }
  if (n == 0) return 0;
  const double median = n % 2 == 1 ? ratios[n / 2] : 0.5 * (ratios[n / 2 - 1] + ratios[n / 2]);
  return std::max(0.0, current * (median - 1) / lead);
}

void ObjectModel::BackfillRecord(double now) {
  bool budgeted = main_.policy.shortfall.has_value();
  for (const PolicyState& e : extra_) budgeted = budgeted || e.policy.shortfall.has_value();
  if (!budgeted || history_.empty() || unscored_t_.empty()) return;
  ShortfallConfig rc = RecordConfigFor(config_);
  rc.shapes = ShapesWithoutForecast();
  auto warm = std::make_unique<ShortfallRecord>(std::move(rc));
  const double step = config_.step_seconds;
  const double spacing = std::max(config_.refresh_interval_seconds, step);
  const double from = std::max(base_ + history_.front().t + spacing, now - warm->config().memory_seconds);
  size_t end = 0;       // samples of the history at or before the emulated refresh
  size_t observed = 0;  // unscored samples given to the record
  const std::vector<std::optional<double>> answered = {std::nullopt};  // nothing was answered
  for (double at = from; at < now - kTimeEps; at += spacing) {
    size_t upto = observed;
    while (upto < unscored_t_.size() && unscored_t_[upto] <= at + kTimeEps) ++upto;
    warm->Observe(unscored_t_.data() + observed, unscored_v_.data() + observed, upto - observed);
    observed = upto;
    while (end < history_.size() && base_ + history_[end].t <= at + kTimeEps) ++end;
    AnswerInputs in;
    in.floor_at_current = config_.policy.mode != Mode::kForecast;
    if (end > 0 && at - (base_ + history_[end - 1].t) <= 2 * step + kTimeEps) {
      in.current = history_[end - 1].v;
      in.rise = RiseAt(end);
      in.daily_rise = DailyRiseAt(end, *in.current);
    }
    warm->RecordAnswer(at, in, answered);
  }
  warm_start_ = std::move(warm);
}

HistorySummary ObjectModel::Summarize() const {
  HistorySummary h;
  h.points = history_.size();
  if (history_.empty()) return h;
  h.first_timestamp = base_ + history_.front().t;
  h.last_timestamp = base_ + history_.back().t;
  h.last_value = history_.back().v;
  double sum = 0;
  h.min = h.max = history_.front().v;
  for (const Point& p : history_) {
    const float x = p.v;
    sum += x;
    h.min = std::min<double>(h.min, x);
    h.max = std::max<double>(h.max, x);
  }
  h.mean = sum / static_cast<double>(history_.size());
  return h;
}

void ObjectModel::DecideFor(double now, PolicyState& state, const forecast::Forecast* fc,
                            const AnswerInputs& inputs, const std::string& no_forecast_detail) {
  PolicyInput input;
  input.current = current_;
  input.history_seconds =
      history_.size() >= 2 ? static_cast<double>(history_.back().t - history_.front().t) : 0;
  input.forecast = fc;
  input.error_ratio = errors_.Ratio();
  input.no_forecast_detail = no_forecast_detail;
  state.budget.reset();
  if (state.policy.shortfall) {
    const ShortfallBudget& configured = *state.policy.shortfall;
    // Until the answers' own record is calibrated, the record emulated over the history
    // (BackfillRecord) chooses among the shapes it has.
    std::optional<double> reactive = record_.ReactiveRate();
    const bool live_reactive = reactive.has_value();
    if (!live_reactive && warm_start_ != nullptr) reactive = warm_start_->ReactiveRate();
    std::optional<double> share;
    if (!configured.relative) {
      share = configured.value;
    } else if (reactive) {
      share = std::max(configured.value * *reactive, kMinRelativeShortfall);
    }
    // What the record asks for: the budget, corrected by what the policy's own answers
    // realised (the record's emulation of the HPA is not exact: its lead is the whole
    // horizon), once they have as much record as the budget's frontier needs.
    std::optional<double> asked = share;
    const std::optional<double> realised = record_.RealisedRate(state.record_index);
    if (share && realised &&
        record_.ScoredSeconds(state.record_index) >= record_.NeededSeconds(*share)) {
      const double factor =
          *realised > 0 ? std::sqrt(*share / *realised) : kMaxBudgetCorrection;
      asked = *share * std::clamp(factor, 1 / kMaxBudgetCorrection, kMaxBudgetCorrection);
    }
    BudgetChoice choice = asked && (live_reactive || !configured.relative)
                              ? record_.Choose(*asked, state.last_shape)
                              : record_.Choose(1.0, std::nullopt, /*cold=*/true);
    bool warm = false;
    if (!choice.chosen && asked && warm_start_ != nullptr) {
      BudgetChoice w = warm_start_->Choose(*asked, state.last_shape);
      if (w.chosen) {
        choice = std::move(w);
        choice.best_forecast.reset();  // the forecast shape is not in it
        warm = true;
        warm_used_ = true;
      }
    }
    const std::vector<ShapeDef>& shapes = Shapes();
    // The trend's theta, smoothed (kTrendThetaSeconds), and the record's rate at it.
    double record_theta = 0;
    for (size_t s = 0; s < shapes.size(); ++s) {
      ShapeOption& o = choice.options[s];
      if (shapes[s].kind != ShapeDef::kTrend || !o.calibrated) continue;
      if (choice.chosen && static_cast<size_t>(*choice.chosen) == s) record_theta = o.theta;
      o.theta = state.trend_theta.Update(now, o.theta);
      o.rate = (warm ? *warm_start_ : record_).RateAt(static_cast<int>(s), o.theta);
    }
    BudgetInput in;
    BudgetState bs;
    bs.setting = ShortfallName(configured);
    bs.budget = share.value_or(0);
    bs.reactive_rate = reactive;
    if (choice.chosen) {
      const int s = *choice.chosen;
      const ShapeOption& o = choice.options[s];
      state.last_shape = s;
      in.answer = record_.AnswerOf(inputs, s, o.theta);
      in.use_headroom = shapes[s].kind != ShapeDef::kForecast;
      in.use_trend = shapes[s].kind == ShapeDef::kTrend;
      bs.calibrated = true;
      bs.shape = shapes[s].name;
      bs.theta = o.theta;
      bs.record_theta = shapes[s].kind == ShapeDef::kTrend ? record_theta : o.theta;
      bs.reachable = o.reachable;
      bs.expected_rate = o.rate;
    }
    if (choice.best_forecast) {
      const int s = *choice.best_forecast;
      in.forecast_peak = record_.AnswerOf(inputs, s, choice.options[s].theta, false);
    } else if (fc != nullptr) {
      // Cold start: the model's own interval at the budget's tail.
      if (const std::vector<double>* cold = fc->Quantile(ColdLevel(configured))) {
        in.forecast_peak = *std::max_element(cold->begin(), cold->end());
        if (!choice.chosen) {
          in.answer = in.forecast_peak;
          bs.shape = shapes[0].name;
        }
      }
    }
    for (size_t s = 0; s < shapes.size(); ++s) {
      if (shapes[s].kind == ShapeDef::kHeadroom && choice.options[s].calibrated) {
        in.headroom_value = record_.AnswerOf(inputs, static_cast<int>(s), choice.options[s].theta);
      }
    }
    if (choice.chosen && shapes[*choice.chosen].kind == ShapeDef::kTrend) {
      in.headroom_value = in.answer;
    }
    // From the history's record, the forecast shape is not known yet: the model's own
    // quantile at the budget's tail (the cold start's answer) is its claim to meet the
    // budget. The cheaper of the two claims is answered, as among shapes.
    bool warm_forecast = false;
    if (warm && in.answer && in.forecast_peak) {
      double forecast_answer = *in.forecast_peak;
      if (inputs.floor_at_current && inputs.current) {
        forecast_answer = std::max(forecast_answer, *inputs.current);
      }
      if (forecast_answer < *in.answer) {
        warm_forecast = true;
        in.answer = forecast_answer;
        in.use_headroom = false;
        in.use_trend = false;
        bs.shape = shapes[0].name;
      }
    }
    if (in.answer && current_ && (in.use_headroom || !in.forecast_peak ||
                                  *in.answer > *in.forecast_peak)) {
      bs.headroom = *in.answer - *current_;
    } else if (in.forecast_peak && !inputs.yhat.empty()) {
      bs.headroom = *in.forecast_peak - *std::max_element(inputs.yhat.begin(), inputs.yhat.end());
    }
    bs.realised_rate = realised;
    bs.window_seconds = record_.ScoredSeconds(state.record_index);
    bs.total_scored_seconds = record_.TotalScoredSeconds(state.record_index);
    bs.total_short_seconds = record_.TotalShortSeconds(state.record_index);

    std::string detail = "budget " + bs.setting;
    if (configured.relative && share) {
      detail += " = " + Percent(*share) + " (reactive " + Percent(*reactive) + ")";
    }
    detail += ": ";
    if (warm) {
      detail += "from the history (the answers' own record has " +
                Hours(record_.ScoredSeconds(state.record_index)) + " of the " +
                Hours(share ? record_.NeededSeconds(*share) : kColdRecordSeconds) +
                " it needs): ";
    }
    if (!choice.chosen) {
      detail += "the model's " + Percent(ColdLevel(configured)) + " quantile (record " +
                Hours(record_.ScoredSeconds(state.record_index)) + " of the " +
                Hours(share ? choice.needed_seconds : kColdRecordSeconds) + " it needs)";
    } else {
      const ShapeOption& o = choice.options[*choice.chosen];
      if (warm_forecast) {
        detail += "the model's " + Percent(ColdLevel(configured)) + " quantile, cheaper than ";
      }
      detail += std::string(shapes[*choice.chosen].name) + " theta " + Number(bs.theta) +
                (std::fabs(bs.theta - bs.record_theta) > 5e-4
                     ? " (the record's " + Number(bs.record_theta) + ", smoothed over a day)"
                     : "") +
                (o.reachable ? "" : " (the largest tried: the budget is out of reach)") +
                ", record " + Percent(o.rate) + " short at it";
      if (shapes[*choice.chosen].kind == ShapeDef::kTrend) {
        const double h = config_.policy.horizon_seconds;
        detail += " (rise over the horizon: " + Number(inputs.rise * h) +
                  " from the last minutes, " + Number(inputs.daily_rise * h) +
                  " from earlier days)";
      }
      if (bs.realised_rate) {
        detail += ", realised " + Percent(*bs.realised_rate) + " over " +
                  Hours(record_.ScoredSeconds(state.record_index));
      }
      if (asked && share && std::fabs(*asked - *share) > 1e-12) {
        detail += "; the record asked for " + Percent(*asked) + " so that the realised rate " +
                  "meets the budget";
      }
    }
    in.detail = std::move(detail);
    input.budget = std::move(in);
    state.budget = bs;
  }
  state.decision = Decide(state.policy, input);
}

AnswerUpdate ObjectModel::Update(double now) {
  AnswerUpdate update;
  auto answer = std::make_shared<Answer>();

  // Forecast (now, now + horizon], with the samples since the fit as `recent`: the bands,
  // each policy's quantile, and a budget's tail (its cold start).
  std::optional<forecast::Forecast> fc;
  std::string no_forecast_detail;
  if (model_ != nullptr) {
    std::vector<double> levels = {kBandLow, 0.5, kBandHigh};
    auto want = [&levels](double level) {
      for (double l : levels) {
        if (std::fabs(l - level) < 1e-9) return;
      }
      levels.push_back(level);
    };
    want(PolicyLevel(config_.policy));
    for (const PolicyState& e : extra_) want(PolicyLevel(e.policy));
    std::sort(levels.begin(), levels.end());
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
    no_forecast_detail = absl::StrCat("no model yet (", history_.size(), " points)");
  }

  // Score past forecasts and answers against the new observations, except those in an
  // excluded period (an outage's zeros say nothing of the forecast or of the headroom).
  if (!config_.fit_options.exclude_periods.empty()) {
    size_t kept = 0;
    for (size_t i = 0; i < unscored_t_.size(); ++i) {
      bool excluded = false;
      for (const forecast::ExcludedPeriod& p : config_.fit_options.exclude_periods) {
        excluded = excluded || (unscored_t_[i] >= p.start && unscored_t_[i] < p.end);
      }
      if (excluded) continue;
      unscored_t_[kept] = unscored_t_[i];
      unscored_v_[kept] = unscored_v_[i];
      ++kept;
    }
    unscored_t_.resize(kept);
    unscored_v_.resize(kept);
  }
  errors_.Observe(unscored_t_, unscored_v_, config_.step_seconds);
  if (!record_started_) BackfillRecord(now);
  record_.Observe(unscored_t_, unscored_v_);
  if (warm_start_ != nullptr) warm_start_->Observe(unscored_t_, unscored_v_);
  unscored_t_.clear();
  unscored_v_.clear();
  // The first fetch brings the whole history through here: do not keep its capacity
  // (160 kB an object for a week at 1-minute steps).
  if (unscored_t_.capacity() > 1024) {
    std::vector<double>().swap(unscored_t_);
    std::vector<double>().swap(unscored_v_);
  }
  if (fc) errors_.RecordForecast(now, current_, fc->timestamps, fc->yhat);

  // What this refresh's answers are made of (shortfall.h).
  AnswerInputs inputs;
  // A current value KEDA's rules make up (0 for an empty result or a NaN sample) is no
  // base for headroom or a rise: those shapes then have no input, and the policy answers
  // from the forecast (never a made-up low value from a shape).
  if (current_is_sample_) inputs.current = current_;
  inputs.floor_at_current = config_.policy.mode != Mode::kForecast;
  inputs.rise = RecentRise();
  inputs.daily_rise = DailyRise();
  const std::vector<double>* high = fc ? fc->Quantile(kBandHigh) : nullptr;
  if (fc && high != nullptr && !fc->yhat.empty()) {
    inputs.yhat = fc->yhat;
    inputs.width.resize(fc->yhat.size());
    for (size_t k = 0; k < fc->yhat.size(); ++k) {
      const double w = (*high)[k] - fc->yhat[k];
      inputs.width[k] = std::isfinite(w) && w > 0 ? w : 0;
      if (!std::isfinite(inputs.yhat[k])) inputs.yhat[k] = 0;
    }
  }

  warm_used_ = false;
  DecideFor(now, main_, fc ? &*fc : nullptr, inputs, no_forecast_detail);
  for (PolicyState& e : extra_) DecideFor(now, e, fc ? &*fc : nullptr, inputs, no_forecast_detail);
  std::vector<std::optional<double>> answered;
  answered.reserve(1 + extra_.size());
  auto value_of = [](const PolicyState& p) {
    return p.decision.has_value ? std::optional<double>(p.decision.value) : std::nullopt;
  };
  answered.push_back(value_of(main_));
  for (const PolicyState& e : extra_) answered.push_back(value_of(e));
  record_.RecordAnswer(now, inputs, answered);
  record_started_ = true;
  // The warm start lasts while some policy still needs it (the answers' own record is not
  // calibrated for its budget), then goes (it is about 30 kB).
  if (warm_start_ != nullptr) {
    if (warm_used_) {
      warm_start_->RecordAnswer(now, inputs, std::nullopt);
    } else {
      warm_start_.reset();
    }
  }
  answer->decision = main_.decision;
  if (!main_.decision.has_value) {
    answer->status = absl::UnavailableError(main_.decision.detail);
  }
  answer->budget = main_.budget;

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
    answer->at_quantile = row(PolicyLevel(config_.policy));
    answer->components = std::move(fc->components);
  }
  answer->error_ratio = errors_.Ratio();
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
