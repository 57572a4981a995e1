#include "scaler/shortfall.h"

#include <algorithm>
#include <cmath>

namespace scaler {
namespace {

// The grids span what budgets from 0.1 % to 50 % need on real load. The forecast shape's
// theta is in units of the typical distance from the point forecast to its 90 % band
// (heavy tails reach far beyond 1); the headroom's is a fraction of the current value.
const std::vector<double> kForecastGrid = {-1,   -0.5, -0.25, 0,   0.25, 0.5, 0.75, 1,
                                           1.25, 1.5,  1.75,  2,   2.5,  3,   3.5,  4,
                                           5,    6,    7,     8,   10,   12,  15,   20};
const std::vector<double> kHeadroomGrid = {0,   0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                           0.25, 0.3,  0.4,  0.5,   0.6, 0.8,  1.0,
                                           1.25, 1.5,  2,    2.5,   3,   4};

// Measured on the dev traces (docs/loadtest.md, "Choosing the shapes"): a headroom of
// constant size (the band's typical width) buys the same shortfall for fewer pods than
// one proportional to each step's band, or halfway between; offering the record several
// forecast shapes to choose from cost more than it saved (the choice follows the noise of
// the record). So: one forecast shape, and reactive scaling with headroom for workloads
// where the forecast does not pay.
const std::vector<double> kTrendGrid = {0,   0.25, 0.5, 0.75, 1,  1.25, 1.5, 2,  2.5,
                                        3,   4,    5,   6,    8,  10,   15,  20};
const std::vector<ShapeDef> kShapes = {
    {"forecast", ShapeDef::kForecast, &kForecastGrid},
    {"headroom", ShapeDef::kHeadroom, &kHeadroomGrid},
    {"trend", ShapeDef::kTrend, &kTrendGrid},
};

// Capacity is compared with demand to this relative precision (what a pod count times a
// target equal to the demand is: exactly enough).
constexpr double kRelEps = 1e-9;
// Another shape must cost this much less before the choice switches to it: a share of
// the pods it adds to reactive scaling's (the cost a budget is about), not of all pods (3 %
// of all pods was more than the whole extra cost on smooth workloads, so a shape that
// halved the extra cost was never chosen over the headroom).
constexpr double kSwitchMargin = 0.1;
// Records the first allocation holds (8 minutes at 30 s refreshes; doubled as needed:
// lead + hold + 2 steps at the refresh interval, ~44 for the defaults).
constexpr size_t kFirstRecords = 16;
// The least scored time before a shape's frontier is used.
constexpr double kMinCalibratedSeconds = 6 * 3600;

}  // namespace

const std::vector<ShapeDef>& Shapes() { return kShapes; }

ShortfallRecord::ShortfallRecord(ShortfallConfig config) : config_(std::move(config)) {
  const size_t n = kShapes.size();
  enabled_.assign(n, config_.shapes.empty());
  for (int s : config_.shapes) {
    if (s >= 0 && static_cast<size_t>(s) < n) enabled_[s] = true;
  }
  short_.resize(n);
  pods_.resize(n);
  weight_by_.resize(n);
  shape_offset_.assign(n, 0);
  desired_offset_.assign(n, 0);
  size_t cells = 0;
  for (size_t s = 0; s < n; ++s) {
    const size_t g = kShapes[s].grid->size();
    short_[s].assign(g, 0);
    pods_[s].assign(g, 0);
    weight_by_[s].assign(g, 0);
    shape_offset_[s] = cells;
    desired_offset_[s] = cells + g;
    if (enabled_[s]) cells += 2 * g;  // recommended, then desired, per theta
  }
  policy_offset_ = cells;
}

bool ShortfallRecord::Enabled(int shape) const { return enabled_[shape]; }

std::optional<double> ShortfallRecord::AnswerOf(const AnswerInputs& in, int shape, double theta,
                                                bool with_floor) const {
  const ShapeDef& def = kShapes[shape];
  if (def.kind == ShapeDef::kHeadroom) {
    if (!in.current) return std::nullopt;
    return *in.current * (1 + theta);
  }
  if (def.kind == ShapeDef::kTrend) {
    if (!in.current) return std::nullopt;
    return *in.current + theta * (in.rise + in.daily_rise) * config_.lead_seconds;
  }
  if (in.yhat.empty()) return std::nullopt;
  double best = -1e300;
  if (with_floor && in.floor_at_current && in.current) best = *in.current;
  for (double y : in.yhat) best = std::max(best, y + theta * typical_width_);
  return best;
}

int ShortfallRecord::Recommend(double answer, int current) const {
  const double target = config_.target_value;
  if (current > 0 && std::isfinite(answer) &&
      std::fabs(answer / (target * current) - 1) <= config_.tolerance) {
    return current;  // within tolerance: the HPA leaves the count alone
  }
  if (!std::isfinite(answer) || answer <= 0) return 1;
  return static_cast<int>(std::max(1.0, std::ceil(answer / target - kRelEps)));
}

void ShortfallRecord::RecordAnswer(double now, const AnswerInputs& in,
                                   const std::vector<std::optional<double>>& answered) {
  if (realised_.empty()) realised_.resize(std::max<size_t>(answered.size(), 1));
  // The typical band width: an exponentially weighted mean over refreshes, forgotten as
  // the sums are.
  if (!in.width.empty()) {
    double mean = 0;
    for (double w : in.width) mean += w;
    mean /= static_cast<double>(in.width.size());
    if (typical_width_at_ < -1e299) {
      typical_width_ = mean;
    } else {
      const double a = 1 - std::exp(-(now - typical_width_at_) / config_.memory_seconds);
      typical_width_ += a * (mean - typical_width_);
    }
    typical_width_at_ = now;
  }

  // The new record's cells join the ring (ring_buffer.h), so that records cost no
  // allocation of their own: only the ring's rare geometric growth.
  if (stride_ == 0) {
    stride_ = policy_offset_ + kPolicyCells * realised_.size();
    record_times_.Reserve(kFirstRecords);
    cells_.Reserve(kFirstRecords * stride_);
  }
  const size_t older = record_times_.size();  // the records before this one
  record_times_.push_back(now);
  cells_.Grow(cells_.size() + stride_);
  for (size_t j = 0; j < stride_; ++j) cells_.Append() = 0;
  const size_t r = older;
  const bool has_prev = older > 0;
  const size_t prev = older - 1;  // meaningful when has_prev
  const double window_start = now - config_.hold_seconds;
  // The records inside the stabilisation window (newest first), for the desired count:
  // newer than now - hold, as the HPA keeps them (horizontal.go, and loadtest/hpa.cc). A
  // record exactly a window old does not count: the HPA's last recommendation from the
  // answer before a change is up to a sync newer than that answer's record, and is gone
  // a sync before the change's own window ends, so a dip that lasts the window lets the
  // pods go just before demand comes back (counting it, the record missed those
  // shortfalls: 1.5-3.7 % against the replay's 15 % on nab_ec2_cpu_24ae8d).
  window_.clear();
  for (size_t i = older; i-- > 0 && record_times_[i] > window_start + 1e-9;) {
    window_.push_back(i);
  }
  for (size_t s = 0; s < kShapes.size(); ++s) {
    if (!enabled_[s]) continue;
    const std::vector<double>& grid = *kShapes[s].grid;
    for (size_t g = 0; g < grid.size(); ++g) {
      const int current = has_prev ? Desired(prev, s, g) : 0;
      const std::optional<double> a = AnswerOf(in, static_cast<int>(s), grid[g]);
      // Without this shape's inputs the HPA sees a metric error and holds.
      const int rec = a ? Recommend(*a, current) : current;
      int desired = rec;
      for (size_t w : window_) desired = std::max(desired, Recommended(w, s, g));
      Recommended(r, s, g) = rec;
      Desired(r, s, g) = desired;
    }
  }
  for (size_t p = 0; p < realised_.size(); ++p) {
    const std::optional<double> a = p < answered.size() ? answered[p] : std::nullopt;
    const int current = has_prev ? PolicyCell(prev, p, kPolicyDesired) : 0;
    const int rec = a ? Recommend(*a, current) : current;
    int desired = rec;
    for (size_t w : window_) desired = std::max(desired, PolicyCell(w, p, kPolicyRecommended));
    PolicyCell(r, p, kPolicyAnswered) =
        a.has_value() || (has_prev && PolicyCell(prev, p, kPolicyAnswered) != 0);
    PolicyCell(r, p, kPolicyRecommended) = rec;
    PolicyCell(r, p, kPolicyDesired) = desired;
  }
  // Keep what the oldest instant still to score, and the next recommendation, may need.
  const double oldest_needed =
      std::min(pending_ ? pending_->first - config_.lead_seconds : now, window_start) -
      config_.step_seconds;
  while (record_times_.size() > 2 && record_times_[1] < oldest_needed) {
    record_times_.pop_front();
    for (size_t j = 0; j < stride_; ++j) cells_.pop_front();
  }
}

void ShortfallRecord::Observe(const double* timestamps, const double* values, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double t = timestamps[i];
    const double v = values[i];
    if (!std::isfinite(t) || !std::isfinite(v)) continue;
    if (pending_ && t <= pending_->first) continue;
    if (pending_) {
      // The pending sample's demand holds until this one, for at most two steps.
      const double from = std::max(pending_->first, scored_until_);
      const double until = std::min(t, pending_->first + 2 * config_.step_seconds);
      const double every = std::max(1.0, config_.score_every_seconds);
      for (double at = from; at < until - 1e-9; at += every) {
        ScoreInstant(at, pending_->second, std::min(every, until - at));
      }
      scored_until_ = std::max(scored_until_, until);
    }
    pending_ = std::make_pair(t, v);
  }
}

void ShortfallRecord::Forget(double until) {
  if (until <= forgotten_at_) return;
  if (forgotten_at_ > -1e299 && config_.memory_seconds > 0) {
    const double f = std::exp(-(until - forgotten_at_) / config_.memory_seconds);
    for (Realised& x : realised_) {
      x.short_seconds *= f;
      x.weight *= f;
    }
    for (size_t s = 0; s < kShapes.size(); ++s) {
      if (!enabled_[s]) continue;
      for (double& x : short_[s]) x *= f;
      for (double& x : pods_[s]) x *= f;
      for (double& x : weight_by_[s]) x *= f;
    }
  }
  forgotten_at_ = until;
}

void ShortfallRecord::ScoreInstant(double t, double demand, double weight) {
  // The pods ready at t: those desired at t - lead (the newest record then), less any
  // let go since; the pods paid for: those desired at t.
  const double asked_by = t - config_.lead_seconds;
  auto newest_at = [this](double when) {
    auto it = std::upper_bound(record_times_.begin(), record_times_.end(), when + 1e-9);
    return static_cast<std::ptrdiff_t>(it - record_times_.begin()) - 1;  // -1: none
  };
  const std::ptrdiff_t lead_index = newest_at(asked_by);
  const std::ptrdiff_t t_index = newest_at(t);
  if (lead_index < 0) return;  // nothing answered early enough for this instant
  const size_t at_lead = static_cast<size_t>(lead_index);
  const size_t at_t = static_cast<size_t>(t_index);
  Forget(t);
  const double served = config_.pod_capacity > 0 ? config_.pod_capacity
                                                 : config_.target_value * (1 + config_.tolerance);
  const double limit = demand * (1 - kRelEps);
  for (size_t s = 0; s < kShapes.size(); ++s) {
    if (!enabled_[s]) continue;
    for (size_t g = 0; g < kShapes[s].grid->size(); ++g) {
      int ready = Desired(at_lead, s, g);
      if (ready <= 0) continue;  // this shape never answered yet
      for (size_t i = at_lead + 1; i <= at_t; ++i) ready = std::min(ready, Desired(i, s, g));
      weight_by_[s][g] += weight;
      pods_[s][g] += weight * Desired(at_t, s, g);
      if (limit > ready * served) short_[s][g] += weight;
    }
  }
  for (size_t p = 0; p < realised_.size(); ++p) {
    if (PolicyCell(at_lead, p, kPolicyAnswered) == 0) continue;
    int ready = PolicyCell(at_lead, p, kPolicyDesired);
    for (size_t i = at_lead + 1; i <= at_t; ++i) {
      ready = std::min(ready, PolicyCell(i, p, kPolicyDesired));
    }
    Realised& x = realised_[p];
    x.weight += weight;
    x.total_seconds += weight;
    if (limit > ready * served) {
      x.short_seconds += weight;
      x.total_short_seconds += weight;
    }
  }
}

std::optional<double> ShortfallRecord::ReactiveRate() const {
  for (size_t s = 0; s < kShapes.size(); ++s) {
    if (!enabled_[s] || kShapes[s].kind != ShapeDef::kHeadroom) continue;
    const std::vector<double>& grid = *kShapes[s].grid;
    for (size_t g = 0; g < grid.size(); ++g) {
      if (grid[g] != 0) continue;
      if (weight_by_[s][g] < kMinCalibratedSeconds) return std::nullopt;
      return short_[s][g] / weight_by_[s][g];
    }
  }
  return std::nullopt;
}

std::optional<double> ShortfallRecord::RealisedRate(size_t p) const {
  if (p >= realised_.size() || realised_[p].weight <= 0) return std::nullopt;
  return realised_[p].short_seconds / realised_[p].weight;
}
double ShortfallRecord::ScoredSeconds(size_t p) const {
  return p < realised_.size() ? realised_[p].weight : 0;
}
double ShortfallRecord::TotalScoredSeconds(size_t p) const {
  return p < realised_.size() ? realised_[p].total_seconds : 0;
}
double ShortfallRecord::TotalShortSeconds(size_t p) const {
  return p < realised_.size() ? realised_[p].total_short_seconds : 0;
}

double ShortfallRecord::NeededSeconds(double budget) const {
  return std::min(
      std::max(kMinCalibratedSeconds,
               3 * std::max(config_.step_seconds, config_.score_every_seconds) / budget),
      0.5 * config_.memory_seconds);
}

std::vector<std::pair<double, double>> ShortfallRecord::Frontier(int s) const {
  std::vector<std::pair<double, double>> out;
  for (size_t g = 0; g < short_[s].size(); ++g) {
    const double w = weight_by_[s][g];
    out.emplace_back(w > 0 ? short_[s][g] / w : 0, w > 0 ? pods_[s][g] / w : 0);
  }
  return out;
}

double ShortfallRecord::RateAt(int s, double theta) const {
  const std::vector<double>& grid = *kShapes[s].grid;
  const std::vector<std::pair<double, double>> f = Frontier(s);
  if (theta <= grid.front()) return f.front().first;
  for (size_t g = 1; g < grid.size(); ++g) {
    if (theta <= grid[g]) {
      const double frac = (theta - grid[g - 1]) / (grid[g] - grid[g - 1]);
      return f[g - 1].first + frac * (f[g].first - f[g - 1].first);
    }
  }
  return f.back().first;
}

double SmoothedValue::Update(double now, double x) {
  if (!value_ || !(tau_ > 0)) {
    value_ = x;
  } else {
    *value_ += (1 - std::exp(-std::max(0.0, now - at_) / tau_)) * (x - *value_);
  }
  at_ = now;
  return *value_;
}

BudgetChoice ShortfallRecord::Choose(double budget, std::optional<int> previous,
                                     bool cold) const {
  BudgetChoice c;
  c.options.resize(kShapes.size());
  if (cold) return c;
  c.needed_seconds = NeededSeconds(budget);
  for (size_t s = 0; s < kShapes.size(); ++s) {
    if (!enabled_[s]) continue;
    const std::vector<double>& grid = *kShapes[s].grid;
    if (weight_by_[s].empty() || weight_by_[s].back() < c.needed_seconds) continue;
    const std::vector<std::pair<double, double>> f = Frontier(static_cast<int>(s));
    ShapeOption& o = c.options[s];
    o.calibrated = true;
    size_t g = 0;
    while (g < f.size() && f[g].first > budget) ++g;
    if (g == f.size()) {  // not even the largest theta meets the budget
      o.theta = grid.back();
      o.rate = f.back().first;
      o.pods = f.back().second;
    } else if (g == 0) {
      o.reachable = true;
      o.theta = grid[0];
      o.rate = f[0].first;
      o.pods = f[0].second;
    } else {
      o.reachable = true;
      const double r0 = f[g - 1].first, r1 = f[g].first;
      const double frac = r0 > r1 ? (r0 - budget) / (r0 - r1) : 1.0;
      o.theta = grid[g - 1] + frac * (grid[g] - grid[g - 1]);
      o.rate = budget;
      o.pods = f[g - 1].second + frac * (f[g].second - f[g - 1].second);
    }
  }
  // a better than b: meets the budget where b does not; else fewer pods (both meet it)
  // or a lower rate (neither does), by more than `margin`.
  // Reactive pods on the record (the headroom shape at theta 0): the base extra cost is
  // measured from.
  double base = 0;
  for (size_t s = 0; s < kShapes.size(); ++s) {
    if (enabled_[s] && kShapes[s].kind == ShapeDef::kHeadroom && weight_by_[s][0] > 0) {
      base = pods_[s][0] / weight_by_[s][0];
    }
  }
  auto better = [base](const ShapeOption& a, const ShapeOption& b, double margin) {
    if (a.reachable != b.reachable) return a.reachable;
    return a.reachable ? a.pods - base < (b.pods - base) * (1 - margin)
                       : a.rate < b.rate * (1 - margin);
  };
  // Reactive scaling with headroom is the simpler policy: a forecast shape must beat it
  // by the margin to be chosen (the forecast's advantage on a noisy record may be noise).
  auto best_of = [&](bool forecast_only) {
    std::optional<int> best;
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t s = 0; s < kShapes.size(); ++s) {
        const bool headroom = kShapes[s].kind == ShapeDef::kHeadroom;
        if (!c.options[s].calibrated || headroom != (pass == 0)) continue;
        if (forecast_only && kShapes[s].kind != ShapeDef::kForecast) continue;
        const bool over_headroom = best && kShapes[*best].kind == ShapeDef::kHeadroom;
        if (!best || better(c.options[s], c.options[*best], over_headroom ? kSwitchMargin : 0)) {
          best = static_cast<int>(s);
        }
      }
    }
    if (best && previous && *previous != *best && c.options[*previous].calibrated &&
        (!forecast_only || kShapes[*previous].kind == ShapeDef::kForecast) &&
        !better(c.options[*best], c.options[*previous], kSwitchMargin)) {
      best = *previous;
    }
    return best;
  };
  c.chosen = best_of(false);
  c.best_forecast = best_of(true);
  return c;
}

}  // namespace scaler
