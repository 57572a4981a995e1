#pragma once
// The price of safety for a user's own trace, in one replay: Augur across shortfall
// budgets against what anyone can do without a forecast, each scored by `simulate`'s HPA
// replay (simulate.h). The alternatives:
//   headroom F        reactive scaling on demand x F (the same as targetValue / F);
//   peak-hold W x F   reactive scaling on the largest demand of the last W (a
//                     max_over_time query), times F.
// Every policy is a point (its under-provisioned time relative to reactive's, its extra
// replica-hours relative to reactive's); the headline is the extra replica-hours each
// side needs to reach 0.5x and 0.25x of reactive's under-provisioned time, interpolated
// along the lower envelope of its points, and their ratio (Augur / best alternative:
// below 1 the forecast makes safety cheaper). The same protocol as
// ../shared/bench/SCALING.md and its frontier.py, which run one simulate per point.
//
// Thread-safety: RunFrontier is reentrant.

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loadtest/pattern.h"
#include "loadtest/simulate.h"

namespace loadtest {

struct FrontierOptions {
  // Augur's budgets (shares of time), decided from one forecast and record. Spaced by
  // about 1.25x: the frontier is convex, and the cost at 0.5x / 0.25x of reactive's
  // under-provisioned time is interpolated linearly between neighbouring points, so a
  // coarse grid overstates it (nab_elb at 0.5x: 0.50 of the best alternative's price with
  // budgets 10 % and 15 % as neighbours, 0.48 with 12.5 % and 14 % between them).
  std::vector<double> budgets = {0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.006, 0.0075,
                                 0.01,  0.0125, 0.015, 0.02,  0.025, 0.03,  0.04,  0.05,
                                 0.06,  0.075,  0.1,   0.125, 0.15,  0.175, 0.2,   0.25,
                                 0.3};
  std::vector<double> headroom = {1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.6, 1.8, 2.0, 2.5};
  struct PeakHold {
    double window_seconds;
    std::vector<double> factors;
  };
  std::vector<PeakHold> peak_hold = {
      {300, {1.0}}, {600, {1.0, 1.1, 1.2}}, {1200, {1.0}}, {2400, {1.0}}};
};

struct FrontierPoint {
  std::string setting;           // "2%", "headroom 1.2", "peak-hold 10m x 1.1", ...
  double underprovisioned = 0;   // share of scored time
  double replica_hours = 0;
  double ratio = 0;              // underprovisioned / reactive's (0 when reactive's is 0)
  double extra = 0;              // replica_hours / reactive's - 1
};

struct FrontierCost {
  double target = 0;                     // 0.5 or 0.25 of reactive's under-provisioning
  std::optional<double> augur;           // extra replica-hours Augur needs (nullopt: never)
  std::optional<double> alternative;     // the best alternative's
  std::optional<double> ratio;           // augur / alternative
};

struct FrontierReport {
  PolicyReport reactive;
  FrontierPoint configured;              // Augur as configured (its defaults, or the flags)
  std::vector<FrontierPoint> augur;      // one per budget
  std::vector<FrontierPoint> alternatives;
  FrontierCost half, quarter;
  double evaluated_seconds = 0, gap_seconds = 0;
};

// Runs the replay with every policy. `base` is simulate's configuration (Augur's own
// policy included, as `configured`); its values, extra policies and alternatives must be
// empty. Errors: as RunSimulation; kInvalidArgument for a budget outside (0, 0.5] or a
// factor or window <= 0.
absl::StatusOr<FrontierReport> RunFrontier(const Trace& trace, const SimulationConfig& base,
                                           const FrontierOptions& options,
                                           const std::function<void(double)>& progress = {});

// The extra cost at `target` (a ratio of under-provisioned time) along the lower
// envelope of `points` and the reactive point (1, 0); nullopt when no segment reaches it.
std::optional<double> CostAt(const std::vector<FrontierPoint>& points, double target);

// The series the alternatives replay (demand x factor; the peak of the last window x
// factor), on the trace's own timestamps.
Trace Scaled(const Trace& trace, double factor);
Trace PeakHold(const Trace& trace, double window_seconds, double factor);

std::string FrontierJson(const FrontierReport& report);
void WriteFrontierText(std::ostream& out, const FrontierReport& report);
// Both frontiers: extra replica-hours (x) against under-provisioned time relative to
// reactive's (y), with the 0.5x and 0.25x lines.
void WriteFrontierSvg(std::ostream& out, const FrontierReport& report, const std::string& title);

}  // namespace loadtest
