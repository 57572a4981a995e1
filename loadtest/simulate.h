#pragma once
// `simulate`: replays a whole autoscaling loop offline, without a cluster. A demand trace
// drives two autoscalers (three with "values") side by side through the same KEDA/HPA
// arithmetic (hpa.h):
//   reactive  the HPA gets the current value (what KEDA's prometheus scaler returns);
//   augur     the HPA gets scaler::Decide's value, computed from forecast::Fit/Predict on
//             the trace's past only, refitted every refit interval and re-predicted every
//             refresh interval, with the scaler's ForecastErrorTracker quality gate;
//   values    optional: the HPA gets a given series' newest value at or before t (another
//             autoscaler's recorded metric values, or an offline policy such as
//             loadtest/policy_bound.py computes), scored the same way.
// Pods requested at t become ready at t + startup; the report says how often and by how
// much demand exceeded READY capacity, and at what cost in replica-hours.
//
// Model of time: a tick every `sync_seconds` (the HPA sync period) starting at the
// trace's first timestamp; demand is the trace's newest sample at or before t
// (sample-and-hold) and is visible to both scalers at once (no scrape lag). Where the
// newest sample is more than two of the trace's steps old the trace has a gap: a gap is
// not demand, so it is not scored, and each scaler gets what KEDA would get there (an
// empty result: 0 or an error, by `ignore_null_values`; Augur its own rule). Everything
// within a tick is constant, so the integrals are exact when the trace's timestamps fall
// on the tick grid (true for steps that are multiples of the sync period).
//
// Thread-safety: RunSimulation is reentrant.

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "forecast/forecast.h"
#include "loadtest/hpa.h"
#include "loadtest/pattern.h"
#include "scaler/policy.h"

namespace loadtest {

struct SimulationConfig {
  double capacity = 1;              // demand one ready pod serves; > 0
  std::optional<double> target;     // the HPA's AverageValue target; default = capacity
  double startup_seconds = 180;     // pod start-up delay
  double sync_seconds = 15;         // the HPA sync period: the simulation's tick
  HpaConfig hpa;                    // target is overwritten by `target`
  // Augur's scaler, as the metadata keys of docs/design.md set it.
  scaler::PolicyConfig policy;      // mode, quantile, horizon, minHistory, maxForecastError
  forecast::Options forecast;       // seasonality etc.
  double history_seconds = 7 * 86400;
  double refresh_seconds = 30;
  double refit_seconds = 600;
  // Evaluation starts `warmup_seconds` after the trace's start (both policies run from
  // the start; only the evaluated window is scored). Must leave time to score.
  double warmup_seconds = 86400;
  // Optional: start the simulation this long after the trace's start (the trace before
  // it is still history for the forecast), and simulate only this long (0 = to the end).
  double from_seconds = 0;
  double limit_seconds = 0;
  // Optional third policy ("values"): the HPA gets this series' newest value at or
  // before t (sample-and-hold). It must start no later than the scored window and reach
  // to within two of its own steps of the run's end; values must be >= 0.
  std::optional<Trace> values;
  // As the metadata key: an empty result (here, a gap: no sample within two steps) is 0
  // for the reactive scaler and the value policies (true), or an error the HPA holds on
  // (false). Augur's own rule for a missing current value is its model's (forecast only).
  bool ignore_null_values = true;

  // The frontier in one replay: more Augur policies decided from the same forecasts and
  // shortfall record (e.g. other budgets; their mode is Augur's), and more value
  // policies (e.g. reactive with headroom, peak-hold), each scored as its own policy.
  std::vector<scaler::PolicyConfig> extra_policies;
  struct NamedSeries {
    std::string name;
    Trace series;
  };
  std::vector<NamedSeries> alternatives;

  // kInvalidArgument naming the field, the value and what is expected.
  absl::Status Validate() const;
};

struct PolicyReport {
  double underprovisioned_fraction = 0;  // time with demand > ready capacity / time
  double unserved_fraction = 0;          // integral of (demand - ready capacity)+ / of demand
  double replica_hours = 0;              // integral of requested replicas
  int scale_events = 0;                  // changes of the replica count
  int max_replicas = 0;
  double mean_replicas = 0;
};

// One tick of the run, for the CSV and the plot.
struct SimulationRow {
  double time = 0;
  double demand = 0;
  double reactive_value = 0;
  int reactive_replicas = 0;
  int reactive_ready = 0;
  double augur_value = 0;
  int augur_replicas = 0;
  int augur_ready = 0;
  scaler::Reason augur_reason = scaler::Reason::kShortHistory;
  double values_value = 0;  // the "values" policy, when configured
  int values_replicas = 0;
  int values_ready = 0;
};

struct SimulationResult {
  PolicyReport reactive;
  PolicyReport augur;
  std::optional<PolicyReport> values;  // when SimulationConfig::values is set
  // SimulationConfig::extra_policies, then ::alternatives, in order.
  std::vector<PolicyReport> extra_policies, alternatives;
  double evaluated_seconds = 0;  // scored time (gaps excluded)
  // Time of the scoring window that fell into a gap of the trace (no sample within two
  // steps): not scored, as a gap is not demand.
  double gap_seconds = 0;
  double step_seconds = 0;  // the trace's median step
  int fits = 0;
  int fit_failures = 0;
  int predictions = 0;
  // Ticks spent in each of Augur's reasons over the evaluated window (reason name -> count),
  // and (budget mode) on each policy shape (shortfall.h).
  std::vector<std::pair<std::string, int>> augur_reasons, augur_shapes;
  std::vector<SimulationRow> rows;  // every `row_every` ticks (all ticks if 1)
};

// Runs the simulation. `row_every` = keep every n-th tick in `rows` (0 = none).
// `progress` (may be empty) receives the fraction of the trace done, about every 1 %.
// Errors: kInvalidArgument (bad config; trace shorter than the warm-up; a values series
// that does not cover the scored window or has a negative value), others from
// forecast::Options::Validate.
absl::StatusOr<SimulationResult> RunSimulation(const Trace& trace, const SimulationConfig& config,
                                               int row_every = 1,
                                               const std::function<void(double)>& progress = {});

// CSV of the rows: time,demand,reactive_value,reactive_replicas,reactive_ready_capacity,...
// plus values_value,values_replicas,values_ready_capacity when the values policy ran.
void WriteSimulationCsv(std::ostream& out, const SimulationResult& result, double capacity);

// A self-contained SVG plot: demand and each policy's ready capacity (the values policy's
// too, when it ran) over time (per pixel
// column, the max of demand and the min of capacity, so that short shortfalls show).
void WriteSimulationSvg(std::ostream& out, const SimulationResult& result, double capacity,
                        const std::string& title);

// {"reactive": {...}, "augur": {...}} (and "values": {...} when it ran) plus run details
// under "run".
std::string SimulationJson(const SimulationResult& result);

}  // namespace loadtest
