#pragma once
// What `predict` and `backtest` share: the model's flags (forecast::Options on the
// command line), reading the history CSV, and the number format of their output.

#include <cmath>
#include <istream>
#include <string>

#include "absl/status/statusor.h"
#include "common/cli.h"
#include "forecast/csv.h"
#include "forecast/forecast.h"

namespace cli {

// Flag values before validation; the defaults are forecast::Options' own.
struct ModelFlags {
  std::string seasonality = "auto";
  std::string growth = "linear";
  double cap = NAN;
  double floor = NAN;
  std::string mode = "additive";
  int n_changepoints = forecast::Options().n_changepoints;
  double changepoint_prior_scale = forecast::Options().changepoint_prior_scale;
  double seasonality_prior_scale = forecast::Options().seasonality_prior_scale;
  std::string holidays;         // forecast::ParseEvents
  double holidays_prior_scale = forecast::Options().event_prior_scale;
  std::string exclude_periods;  // forecast::ParseExcludePeriods
  int ar_order = forecast::Options().ar_order;
  std::string ar_window;
  std::string recency_half_life;
  std::string trend_damping;
  std::string profile_half_life;
  double huber = forecast::Options().huber_threshold;
  double interval_scale = forecast::Options().interval_scale;
  std::string interval_level_power = "auto";
  bool symmetric_intervals = false;
  bool no_interval_recalibration = false;
  bool no_level_shift = false;
  bool allow_negative = false;
  bool no_profile = false;
  bool no_smoothing = false;
  bool no_naive_blend = false;

  // Declares --seasonality, --growth, ... bound to the members.
  void Define(common::FlagSet& flags);
  // The options they describe. Errors: UsageError naming the flag.
  absl::StatusOr<forecast::Options> ToOptions() const;
};

// The timestamp,value CSV at `path` ("-": `in`). Errors: kNotFound (cannot open),
// kInvalidArgument (a bad row, named with the file and line).
absl::StatusOr<forecast::Series> ReadInput(const std::string& path, std::istream& in);

// Whole numbers without a fraction, others with 10 significant digits.
std::string FormatNumber(double v);

}  // namespace cli
