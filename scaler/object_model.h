#pragma once
// ObjectModel: one tracked object's answer logic (docs/design.md, "The answer"), as a pure
// state machine: it keeps the object's history, refits on schedule, forecasts the
// horizon at every refresh, scores its own forecasts, applies the policy and assembles
// the Answer. It does no I/O, takes no locks, reads no clock and logs nothing: its
// caller feeds it what the metric source returned and the time of the refresh, and
// logs or exports what it reports.
//
// Two callers drive it the same way, so that the replay runs exactly the product's logic:
// scaler::Tracker (one model per tracked object, refreshed from Prometheus) and
// `augur-loadtest simulate` (one model replayed over a trace). One refresh is:
//
//   start = model.FetchStart(now);
//   samples = <the query over [start, now] at the step>;
//   if (Ingest(now, start, samples) is not OK) -> the object has no answer to give;
//   if (model.RefitDue(now)) model.Refit(now);
//   AnswerUpdate u = model.Update(now);
//
// Thread-safety: none; an ObjectModel is used by one refresh at a time. The Answers it
// returns are immutable and may be shared freely.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "forecast/forecast.h"
#include "scaler/policy.h"
#include "scaler/ring_buffer.h"
#include "scaler/shortfall.h"

namespace scaler {

// The bands every answer carries besides the policy's quantile (the Inspector's 80 %
// interval).
inline constexpr double kBandLow = 0.1;
inline constexpr double kBandHigh = 0.9;

// What the model needs of an object's parsed metadata (ScalerSpec has all of it).
struct ObjectConfig {
  double step_seconds = 60;         // the query's resolution; > 0
  double history_seconds = 7 * 86400;
  double refresh_interval_seconds = 30;
  double refit_interval_seconds = 600;
  double target_value = 1;          // the HPA's per-pod target (the shortfall record's pod)
  // Demand one ready pod serves (the podCapacity key); nullopt = targetValue x 1.1, the
  // top of the HPA's tolerance band (shortfall.h).
  std::optional<double> pod_capacity;
  bool ignore_null_values = true;   // empty result / NaN newest sample -> 0 (else an error)
  PolicyConfig policy;              // mode, quantile, horizon, minHistory, maxForecastError
  forecast::Options fit_options;
};

struct HistorySummary {
  size_t points = 0;
  double first_timestamp = 0;
  double last_timestamp = 0;
  double min = 0, max = 0, mean = 0;
  double last_value = 0;
};

struct ModelSummary {
  bool fitted = false;
  double fitted_at = 0;     // unix seconds
  double fit_seconds = 0;   // how long the fit took (as the caller measured it)
  forecast::FitInfo info;
  std::string fit_error;    // the last fit's error, if it failed
};

// The shortfall budget's state at an answer (budget mode).
struct BudgetState {
  std::string setting;            // as configured: "2%", "0.5x reactive"
  // The share of time accepted short (a relative budget's, once the record knows
  // reactive scaling's rate; 0 until then).
  double budget = 0;
  std::optional<double> reactive_rate;  // reactive scaling's rate on the record
  bool calibrated = false;        // false: the model's own intervals (cold start)
  std::string shape;              // the policy shape the answer is built on (shortfall.h)
  double theta = 0;               // the shape's headroom parameter (shortfall.h), as answered
  double record_theta = 0;        // the record's own choice (trend: theta is it smoothed)
  double headroom = 0;            // the answer's headroom in the metric's unit
  bool reachable = true;          // the record says some headroom meets the budget
  double expected_rate = 0;       // the record's estimate at the chosen headroom
  std::optional<double> realised_rate;  // of the actual answers, over `window_seconds`
  double window_seconds = 0;      // the record's effective window (scored time)
  double total_scored_seconds = 0, total_short_seconds = 0;  // ever, unforgotten
};

// What an object answers, as of its last refresh. Immutable once published.
struct Answer {
  // Non-OK when the object has no answer to give (e.g. its query returns several
  // series); RPCs then return this status.
  absl::Status status;
  Decision decision;
  double computed_at = 0;   // unix seconds of the last successful refresh
  double step_seconds = 0;
  HistorySummary history;
  ModelSummary model;
  // The forecast over (computed_at, computed_at + horizon]: point, kBandLow and
  // kBandHigh bands, the configured quantile, and the components.
  std::vector<double> forecast_timestamps, yhat, lower, upper, at_quantile;
  std::vector<forecast::Component> components;
  std::optional<double> error_ratio, mase;
  std::optional<BudgetState> budget;  // budget mode only
  // How many inactive -> active transitions the object's answers have made so far
  // (StreamIsActive sends `true` for each, even one shorter than a stream's wake-up).
  uint64_t activations = 0;
  // Set by the caller, not by the model: the last refresh's source error if it failed
  // (the answer is then the previous one), and how many failed in a row.
  std::string last_error;
  int consecutive_errors = 0;
};

// The outcome of one Refit(), for the caller's logs and metrics.
struct FitOutcome {
  absl::Status status;   // the fit's error; the previous model (if any) stays
  size_t points = 0;     // points given to the fit
};

// The outcome of one Update().
struct AnswerUpdate {
  std::shared_ptr<const Answer> answer;
  // The reason of the previous Update's decision (nullopt at the first), so that the
  // caller can log entering and leaving fallbacks.
  std::optional<Reason> previous_reason;
  bool predicted = false;  // a forecast was computed (a model exists and Predict worked)
};

class ObjectModel {
 public:
  explicit ObjectModel(ObjectConfig config);

  const ObjectConfig& config() const { return config_; }

  // Where the query of a refresh at `now` starts: `now - history` the first time, then
  // the step after the last one queried, on the step grid (so that samples line up); at
  // most the newest step at or before `now`, so that a refresh faster than the step still
  // reads the newest step again (checking that the source answers).
  double FetchStart(double now) const;

  // Takes the samples the source returned for [fetch_start, now]. Samples at or before
  // the newest one kept are skipped; NaN and Inf values never enter the history (but a
  // NaN newest sample is the current value's concern, see below); the history is then
  // trimmed to [now - history, now]. The current value is the newest sample if it is at
  // most 2 steps old; an empty history counts as 0 when ignoreNullValues is true.
  // Errors: kFailedPrecondition when ignoreNullValues is false and the newest sample is
  // NaN/Inf, or the query has returned no data at all (the object then has no answer).
  absl::Status Ingest(double now, double fetch_start, const forecast::Series& samples);

  // A refit is due every refitInterval, and at every refresh until a model exists, once
  // the history has at least 2 points.
  bool RefitDue(double now) const;
  // Fits the model on the history (at least 2 points). On failure the previous model,
  // if any, stays in use.
  FitOutcome Refit(double now);
  // How long the last successful fit took, as the caller measured it (for the Answer).
  void SetFitSeconds(double seconds) { fit_seconds_ = seconds; }

  // Forecasts (now, now + horizon], scores the object's earlier forecasts against the
  // samples ingested since the previous Update, decides (policy.h) and assembles the
  // Answer. Never fails: without a model the decision falls back and says why.
  AnswerUpdate Update(double now);

  // For tests and the Inspector.
  size_t history_points() const { return history_.size(); }
  // The history's storage (its capacity follows the window's point count, ring_buffer.h).
  size_t history_capacity() const { return history_.capacity(); }
  size_t history_allocations() const { return history_.allocations(); }
  const forecast::Model* model() const { return model_.get(); }
  const ShortfallRecord& shortfall_record() const { return record_; }

  // Extra policies decided from the same forecast and record at every Update (for
  // `augur-loadtest simulate`'s frontier: one replay, many budgets; each keeps its own
  // realised rate on the record). Add them before the first Update. Returns the index
  // to pass to ExtraDecision().
  size_t AddExtraPolicy(const PolicyConfig& policy);
  // The extra policy's decision at the last Update.
  const Decision& ExtraDecision(size_t index) const { return extra_[index].decision; }

  // The demand's recent rise per second (AnswerInputs::rise, shortfall.h): the mean of the
  // samples of the newest window minus the mean of the window before, over the window's
  // length, max(horizon, 2 steps); 0 when falling, without a current value, or with an
  // empty window.
  double RecentRise() const;
  // The rise per second the same time of day showed over the horizon on earlier days
  // (AnswerInputs::daily_rise): for each of up to 7 whole days back that the history
  // covers, the ratio of the (3-step smoothed, linearly interpolated) history at
  // (newest - d days + horizon) to that at (newest - d days); the median ratio minus 1,
  // times the current value, over the horizon. 0 when the median does not rise, without
  // a current value, or without a day of history (gaps over 2 steps are skipped).
  double DailyRise() const;

 private:
  forecast::Series History() const;
  // The samples after the model's history (the forecast's `recent`).
  forecast::Series Recent() const;
  std::vector<double> HorizonGrid(double now) const;
  // RecentRise and DailyRise as they were when the newest sample was history_[end - 1].
  double RiseAt(size_t end) const;
  double DailyRiseAt(size_t end, double current) const;
  // At the first Update with a budget: a record of the headroom and trend shapes (whose
  // inputs are the samples alone) emulated over the history fetched (at most the record's
  // memory, one refresh a max(refresh interval, step)), as if the object had been
  // answering all along: `warm_start_`. Until the answers' own record is calibrated, it
  // chooses the answer, so a new object, or every object after a restart, meets its
  // budget from its first answer instead of answering the model's cold quantile for
  // hours. It is kept apart (and dropped once the own record is calibrated) because the
  // forecast shape's record can only start with the live answers, and shapes are only
  // compared on records of the same instants.
  void BackfillRecord(double now);
  // The capacity the history needs for `points` points: the window's point count on the
  // step grid once it is nearly that (the common case: the first fetch brings the whole
  // window), else twice what it holds (a young metric, or samples denser than the step).
  size_t HistoryCapacity(size_t points) const;
  HistorySummary Summarize() const;
  // The policy's inputs and decision from a forecast (may be null) for one policy.
  // The trend shape's theta is the record's choice smoothed with this time constant. Its
  // record's rates swing with the daily cycle of ramps (the shortfalls of one ramp weigh
  // less every hour until the next), and its theta with them, by 2x on worldcup98;
  // answering through those swings cost more than a steady theta for the same shortfall
  // (docs/benchmarks/2026-12-02-shortfall-budget.md, fifth sitting). The forecast's and
  // headroom's thetas are not smoothed: on bursty series (nab_elb, nab_tweets_amzn)
  // their swings follow bursts that last hours, and smoothing them cost more.
  static constexpr double kTrendThetaSeconds = 86400;
  struct PolicyState {
    PolicyConfig policy;
    std::optional<int> last_shape;
    Decision decision;
    std::optional<BudgetState> budget;
    size_t record_index = 0;  // its realised rate in the shortfall record (0: main)
    // The trend shape's theta as answered: the record's, smoothed over a day.
    SmoothedValue trend_theta{kTrendThetaSeconds};
  };
  void DecideFor(double now, PolicyState& state, const forecast::Forecast* fc,
                 const AnswerInputs& inputs,
                 const std::string& no_forecast_detail);

  ObjectConfig config_;
  // History, compact: seconds since `base_` and float values (8 bytes a point, so that a
  // week at 1-minute steps costs ~80 kB per object), in one allocation sized for the
  // window's point count (HistoryCapacity()).
  struct Point {
    uint32_t t = 0;
    float v = 0;
  };
  double base_ = 0;
  RingBuffer<Point> history_;
  bool fetched_ = false;
  bool record_started_ = false;  // the first Update has recorded its answers
  double next_fetch_start_ = 0;
  std::optional<std::pair<double, double>> newest_raw_;  // newest sample, NaN included
  std::optional<double> current_;
  bool current_is_sample_ = false;  // current_ is the newest sample, not KEDA's 0
  // Samples ingested since the last Update (they score earlier forecasts there).
  std::vector<double> unscored_t_, unscored_v_;

  std::shared_ptr<const forecast::Model> model_;
  double last_fit_at_ = 0;
  double fit_seconds_ = 0;
  std::string fit_error_;

  ForecastErrorTracker errors_;
  ShortfallRecord record_;
  std::unique_ptr<ShortfallRecord> warm_start_;  // BackfillRecord; null once not needed
  bool warm_used_ = false;                       // some policy chose from it this Update
  PolicyState main_;
  std::vector<PolicyState> extra_;
  std::optional<Reason> last_reason_;
  bool last_active_ = false;
  uint64_t activations_ = 0;
};

}  // namespace scaler
