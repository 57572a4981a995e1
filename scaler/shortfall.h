#pragma once
// ShortfallRecord: what an object's answers bought, judged from its own record, so that
// Augur can keep capacity shortfalls near a budget (the `shortfall` metadata key: the
// share of time the user accepts demand above what the ready pods serve) by itself.
//
// Augur cannot see the pods, so it emulates what its answers bought with the HPA's rules
// (docs/keda.md §4): each answer is a recommendation of ceil(answer / targetValue) pods
// (at least one), unless it is within the HPA's 10 % tolerance of the current count;
// the desired count is the largest recommendation newer than `hold` (the scale-down
// stabilisation, 5 minutes by default; one exactly `hold` old no longer counts, as in the
// HPA's own rule); a pod asked for is ready `lead` later (the
// horizon: pod start-up plus KEDA and HPA delays, which is what the horizon is defined to
// be), a pod let go is gone at once. A pod serves `pod_capacity` (the podCapacity key; by
// default targetValue x (1 + tolerance), the top of the band in which the HPA itself sees
// no need to scale). Demand at t is short when it exceeds the ready pods' service. Demand is the newest sample, held until the next one (a sample
// more than two steps before the next is a gap: the time after those two steps is not
// scored).
//
// The record keeps what answers are made of, not only the answers. Each policy shape is
// a one-parameter family of answers (shapes below): the forecast's peak plus theta times
// the typical width of its band, never below the current value in predictive mode; the
// current value times (1 + theta), i.e. reactive scaling with headroom; or the current
// value plus theta times its rise over the lead (reactive scaling that extrapolates a
// ramp: on smooth series the forecast often does not beat the last value at a few
// minutes, but a ramp seen in the last minutes goes on, and one that the same time of
// day showed on earlier days is likely to come). Every theta of a
// fixed grid runs its own emulated HPA, as if that theta had always been used, and every
// scored instant is evaluated for each: was it short, and how many pods did it pay for.
// Exponentially forgotten sums of both are, per shape, the object's own recent frontier:
// shortfall rate and pods as functions of theta. A budget then picks per shape the
// smallest theta whose rate is at most the budget (interpolated between grid points),
// and the shape that meets it with the fewest pods (a shape that does not pay for itself
// loses: the gate judges what the policy delivers, not point accuracy). The actual
// answers of each policy are scored too: the realised rates.
//
// Cost: per refresh, (shapes x grid x (forecast steps + records in the hold window));
// per scored instant, (shapes x grid x records in the lead window). Memory: the records
// of one lead + hold + 2 steps window and (shapes x grid) sums.
//
// Thread-safety: none; owned by one ObjectModel. Times are unix seconds.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scaler/ring_buffer.h"

namespace scaler {

// What one refresh's answers are made of.
struct AnswerInputs {
  std::optional<double> current;  // the newest sample, if fresh
  bool floor_at_current = true;   // predictive (and shadow): never below the current value
  // The forecast over the horizon: point forecast and the distance to its 90 % band,
  // per step (empty: no forecast at this refresh).
  std::vector<double> yhat, width;
  // The demand's recent rise, per second (>= 0; 0 when falling or unknown): the mean of
  // the newest window of samples minus the mean of the window before, over the window.
  double rise = 0;
  // The rise per second that the same time of day showed over the lead on earlier days,
  // scaled to the current value (>= 0; ObjectModel::DailyRise): the ramp a daily pattern
  // says is coming, which the last minutes cannot show yet.
  double daily_rise = 0;
};

// A policy shape: answer(theta) = max(current [the floor, in predictive mode],
//     max_k yhat_k + theta x typical width) for kind kForecast (the typical width: an
// exponentially weighted mean of the 90 % band's distance from the point forecast);
// current x (1 + theta) for kind kHeadroom; current + theta x (rise + daily_rise) x lead
// for kind kTrend (reactive scaling that extrapolates the rise over the lead, as the last
// minutes and the same time on earlier days show it: both estimates weigh the same).
struct ShapeDef {
  enum Kind { kForecast, kHeadroom, kTrend };
  const char* name;
  Kind kind;
  const std::vector<double>* grid;  // theta grid, ascending
};
// The shapes the record evaluates: "forecast" (index 0), "headroom" (1) and "trend" (2).
const std::vector<ShapeDef>& Shapes();

struct ShortfallConfig {
  double target_value = 1;      // the HPA's AverageValue target; > 0
  double tolerance = 0.1;       // the HPA's tolerance
  double pod_capacity = 0;      // demand one ready pod serves; 0 = target x (1 + tolerance)
  double lead_seconds = 300;    // answer -> ready capacity (the horizon)
  double hold_seconds = 300;    // the HPA's scale-down stabilisation window
  double step_seconds = 60;     // the history's step (demand is held at most 2 steps)
  // Scored instants are spaced at most this far apart within a sample's interval.
  double score_every_seconds = 30;
  // The sums forget with this time constant (the record's effective window).
  double memory_seconds = 2 * 86400;
  // Shapes evaluated (indexes into Shapes()); empty = all.
  std::vector<int> shapes;
};

// What a budget asks of the record, per shape and overall.
struct ShapeOption {
  bool calibrated = false;  // enough record for this shape
  bool reachable = false;   // some theta of the grid meets the budget on the record
  double theta = 0;         // the smallest theta meeting it (the grid's last if unreachable)
  double rate = 0;          // the record's shortfall rate at theta
  double pods = 0;          // the record's mean pods asked for at theta
};
struct BudgetChoice {
  std::vector<ShapeOption> options;  // per shape of Shapes()
  std::optional<int> chosen;         // nullopt: no shape calibrated yet
  std::optional<int> best_forecast;  // the chosen forecast-kind shape, if any calibrated
  double needed_seconds = 0;         // scored time a shape needs to be calibrated
};

// An exponentially smoothed value in time: each Update moves it towards the new value by
// 1 - exp(-elapsed / time constant), so that the result does not depend on how often it
// is updated. The first Update takes the value as it is. Thread-safety: none.
class SmoothedValue {
 public:
  explicit SmoothedValue(double time_constant_seconds) : tau_(time_constant_seconds) {}
  double Update(double now, double x);
  std::optional<double> value() const { return value_; }

 private:
  double tau_;
  std::optional<double> value_;
  double at_ = 0;
};

class ShortfallRecord {
 public:
  explicit ShortfallRecord(ShortfallConfig config);

  // One refresh at `now`: what its answers are made of, and the values actually answered,
  // one per policy (index 0: the object's own; more for simulate's extra policies;
  // nullopt when that policy answered nothing: the HPA then holds). The number of
  // policies is fixed by the first call.
  void RecordAnswer(double now, const AnswerInputs& inputs,
                    const std::vector<std::optional<double>>& answered);
  void RecordAnswer(double now, const AnswerInputs& inputs, std::optional<double> answered) {
    RecordAnswer(now, inputs, std::vector<std::optional<double>>{answered});
  }

  // New samples of demand (timestamps increasing across calls; older ones are ignored).
  // Scores every instant whose demand is now known.
  void Observe(const std::vector<double>& timestamps, const std::vector<double>& values) {
    Observe(timestamps.data(), values.data(), std::min(timestamps.size(), values.size()));
  }
  void Observe(const double* timestamps, const double* values, size_t n);

  // Per shape, the smallest theta meeting `budget` (a share of time in (0, 1)) on the
  // record; and the shape that meets it with the fewest pods (one that meets it beats
  // one that does not; among those that do not, the lower rate). Pods are compared as
  // what each adds to reactive scaling's on the record: the forecast or trend shape must
  // add 10 % fewer than the headroom shape, and `previous` keeps its shape unless
  // another adds 10 % fewer (or, when none meets it, is short 10 % less often). A shape is
  // calibrated once it has a few shortfalls' worth of scored time at the budget's rate
  // (at least 6 hours, at most half the memory).
  // `cold` true: nothing is calibrated (the budget's share is not known yet).
  BudgetChoice Choose(double budget, std::optional<int> previous, bool cold = false) const;

  // Shape `shape`'s answer at `theta` for `inputs`; nullopt when its inputs are missing
  // (no forecast, or no current value for kHeadroom). `with_floor` false leaves out the
  // current-value floor (the forecast part alone).
  std::optional<double> AnswerOf(const AnswerInputs& inputs, int shape, double theta,
                                 bool with_floor = true) const;

  // The record's own frontier of a shape: (rate, mean pods) per grid theta.
  std::vector<std::pair<double, double>> Frontier(int shape) const;
  // The record's shortfall rate of `shape` at `theta`, interpolated between the grid's
  // thetas (the ends beyond them).
  double RateAt(int shape, double theta) const;
  // The shortfall rate reactive scaling would have had on the record (the headroom shape
  // at theta 0: the current value as the answer), once it has 6 hours of record.
  std::optional<double> ReactiveRate() const;
  // Realised shortfall rate of policy `p`'s actual answers over the record's window;
  // nullopt before anything was scored.
  std::optional<double> RealisedRate(size_t p = 0) const;
  double ScoredSeconds(size_t p = 0) const;
  // Scored time ever (not forgotten), and the part of it that was short.
  double TotalScoredSeconds(size_t p = 0) const;
  double TotalShortSeconds(size_t p = 0) const;
  // The scored time a budget's frontier needs before it is used (Choose's calibration).
  double NeededSeconds(double budget) const;
  // The typical width of the forecast's band (the forecast shape's unit of theta).
  double typical_width() const { return typical_width_; }

  const ShortfallConfig& config() const { return config_; }

 private:
  // The records: one per refresh, the emulated HPA's recommendation and desired pods for
  // each enabled shape and grid theta, and for each policy's actual answers. Record i
  // (0 = oldest) is at record_times_[i] and cells_[i * stride_ ...]: per enabled shape,
  // its grid's recommendations from shape_offset_[s], its desired counts from
  // desired_offset_[s]; from policy_offset_, per policy, kPolicyCells cells (desired,
  // recommended, answered: it has answered at least once).
  static constexpr size_t kPolicyDesired = 0, kPolicyRecommended = 1, kPolicyAnswered = 2;
  static constexpr size_t kPolicyCells = 3;
  int& Recommended(size_t record, size_t s, size_t g) {
    return cells_[record * stride_ + shape_offset_[s] + g];
  }
  int Recommended(size_t record, size_t s, size_t g) const {
    return cells_[record * stride_ + shape_offset_[s] + g];
  }
  int& Desired(size_t record, size_t s, size_t g) {
    return cells_[record * stride_ + desired_offset_[s] + g];
  }
  int Desired(size_t record, size_t s, size_t g) const {
    return cells_[record * stride_ + desired_offset_[s] + g];
  }
  int& PolicyCell(size_t record, size_t p, size_t cell) {
    return cells_[record * stride_ + policy_offset_ + kPolicyCells * p + cell];
  }
  int PolicyCell(size_t record, size_t p, size_t cell) const {
    return cells_[record * stride_ + policy_offset_ + kPolicyCells * p + cell];
  }
  // Policy p's realised sums: short and scored seconds, forgotten and ever.
  struct Realised {
    double short_seconds = 0, weight = 0;
    double total_seconds = 0, total_short_seconds = 0;
  };
  // The HPA's recommendation for `answer` with `current` pods (0 = none yet).
  int Recommend(double answer, int current) const;
  void ScoreInstant(double t, double demand, double weight);
  void Forget(double until);
  bool Enabled(int shape) const;

  ShortfallConfig config_;
  std::vector<bool> enabled_;
  RingBuffer<double> record_times_;
  RingBuffer<int> cells_;
  std::vector<size_t> shape_offset_, desired_offset_;  // per shape (enabled ones)
  size_t policy_offset_ = 0;
  size_t stride_ = 0;  // cells a record; set by the first RecordAnswer (the policies)
  std::vector<size_t> window_;  // RecordAnswer's scratch, kept for its capacity
  std::optional<std::pair<double, double>> pending_;  // newest sample, not yet scored
  double scored_until_ = -1e300;                       // instants before this are done
  double forgotten_at_ = -1e300;
  double typical_width_ = 0;
  double typical_width_at_ = -1e300;
  // Exponentially forgotten sums: seconds scored, seconds short and pod-seconds per
  // shape and theta; realised short seconds.
  std::vector<std::vector<double>> short_, pods_, weight_by_;
  std::vector<Realised> realised_;
};

}  // namespace scaler
