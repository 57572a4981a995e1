// augur-forecast predict: fits the model to a timestamp,value CSV history and prints the
// forecast for the steps after its last timestamp, as CSV
// `timestamp,yhat,yhat_lower,yhat_upper` (the interface bench/backtest.py drives).
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "common/duration.h"
#include "forecast/csv.h"
#include "forecast/forecast.h"

namespace po = boost::program_options;

namespace cli {

// Model flags shared by `predict` and `backtest` (backtest_command.cc uses them through
// the functions below, declared there).
struct ModelFlags {
  std::string seasonality = "auto";
  std::string growth = "linear";
  double cap = NAN;
  double floor = NAN;
  std::string mode = "additive";
  int n_changepoints = forecast::Options().n_changepoints;
  double changepoint_prior_scale = forecast::Options().changepoint_prior_scale;
  double seasonality_prior_scale = forecast::Options().seasonality_prior_scale;
  int ar_order = forecast::Options().ar_order;
  std::string ar_window = "";
  std::string recency_half_life = "";
  std::string trend_damping = "";
  std::string profile_half_life = "";
  double huber = forecast::Options().huber_threshold;
  double interval_scale = forecast::Options().interval_scale;
  std::string interval_level_power = "auto";
  bool symmetric_intervals = false;
  bool no_level_shift = false;
  bool allow_negative = false;
  bool no_profile = false;
  bool no_smoothing = false;
};

std::shared_ptr<ModelFlags> NewModelFlags() { return std::make_shared<ModelFlags>(); }

void AddModelFlags(po::options_description& desc, ModelFlags& f) {
  // clang-format off
  desc.add_options()
      ("seasonality", po::value(&f.seasonality)->default_value(f.seasonality),
       "auto, none, or periods such as 1d,1w or 1h:5 (period:Fourier order)")
      ("growth", po::value(&f.growth)->default_value(f.growth), "linear, logistic or flat")
      ("cap", po::value(&f.cap), "logistic growth: upper saturation (e.g. 100 for CPU %)")
      ("floor", po::value(&f.floor), "logistic growth: lower saturation (default 0)")
      ("seasonality-mode", po::value(&f.mode)->default_value(f.mode),
       "additive or multiplicative")
      ("changepoints", po::value(&f.n_changepoints)->default_value(f.n_changepoints),
       "number of candidate trend changepoints")
      ("changepoint-prior-scale",
       po::value(&f.changepoint_prior_scale)->default_value(f.changepoint_prior_scale),
       "Laplace prior scale of the trend's rate changes")
      ("seasonality-prior-scale",
       po::value(&f.seasonality_prior_scale)->default_value(f.seasonality_prior_scale),
       "normal prior scale of the Fourier coefficients")
      ("ar-order", po::value(&f.ar_order)->default_value(f.ar_order),
       "order of the short-term residual correction (0 = off, as Prophet)")
      ("ar-window", po::value(&f.ar_window), "history the correction is fitted on (default 3d)")
      ("recency-half-life", po::value(&f.recency_half_life),
       "weight of past points halves every this long (default 7d; 0 = off)")
      ("trend-damping", po::value(&f.trend_damping),
       "time constant of the extrapolated slope's decay (e.g. 1d; default off)")
      ("huber", po::value(&f.huber)->default_value(f.huber),
       "robust loss threshold in residual standard deviations (0 = least squares)")
      ("interval-scale", po::value(&f.interval_scale)->default_value(f.interval_scale),
       "multiplies the width of the intervals")
      ("interval-level-power", po::value(&f.interval_level_power)->default_value(f.interval_level_power),
       "how the interval width follows the level: auto (chosen from the data), or 0 (the "
       "same width everywhere) to 1 (proportional to the level)")
      ("symmetric-intervals", po::bool_switch(&f.symmetric_intervals),
       "bands symmetric around the forecast (default: from the signed errors, skewed)")
      ("no-level-shift", po::bool_switch(&f.no_level_shift), "do not fit a level shift")
      ("no-profile", po::bool_switch(&f.no_profile), "no daily profile of the residuals")
      ("profile-half-life", po::value(&f.profile_half_life),
       "weight of past days in the daily profile halves every this long (default 7d)")
      ("no-smoothing-correction", po::bool_switch(&f.no_smoothing),
       "only AR (or no) short-term correction, no smoothed level")
      ("allow-negative", po::bool_switch(&f.allow_negative),
       "do not clamp forecasts at 0 for non-negative histories");
  // clang-format on
}

namespace {
absl::StatusOr<double> DurationSeconds(const std::string& flag, const std::string& text) {
  auto d = common::ParseDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " \"", text, "\": ", d.status().message()));
  }
  return static_cast<double>(d->count()) / 1000.0;
}
}  // namespace

absl::StatusOr<forecast::Options> ToOptions(const ModelFlags& f) {
  forecast::Options o;
  absl::Status s = forecast::ParseSeasonality(f.seasonality, o);
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("--seasonality: ", s.message()));
  if (f.growth == "linear") {
    o.growth = forecast::Growth::kLinear;
  } else if (f.growth == "logistic") {
    o.growth = forecast::Growth::kLogistic;
  } else if (f.growth == "flat") {
    o.growth = forecast::Growth::kFlat;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--growth \"", f.growth, "\": expected linear, logistic or flat"));
  }
  if (!std::isnan(f.cap)) o.cap = f.cap;
  if (!std::isnan(f.floor)) o.floor = f.floor;
  if (f.mode == "additive") {
    o.seasonality_mode = forecast::SeasonalityMode::kAdditive;
  } else if (f.mode == "multiplicative") {
    o.seasonality_mode = forecast::SeasonalityMode::kMultiplicative;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--seasonality-mode \"", f.mode, "\": expected additive or multiplicative"));
  }
  o.n_changepoints = f.n_changepoints;
  o.changepoint_prior_scale = f.changepoint_prior_scale;
  o.seasonality_prior_scale = f.seasonality_prior_scale;
  o.ar_order = f.ar_order;
  o.huber_threshold = f.huber;
  o.interval_scale = f.interval_scale;
  if (f.interval_level_power == "auto") {
    o.interval_level_power = -1;
  } else {
    double p = NAN;
    if (!absl::SimpleAtod(f.interval_level_power, &p) || !(p >= 0 && p <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat("--interval-level-power \"",
                                                     f.interval_level_power,
                                                     "\": expected auto or a number in [0, 1]"));
    }
    o.interval_level_power = p;
  }
  o.skewed_intervals = !f.symmetric_intervals;
  o.detect_level_shifts = !f.no_level_shift;
  o.clamp_nonnegative = !f.allow_negative;
  o.daily_profile = !f.no_profile;
  o.smoothing_correction = !f.no_smoothing;
  if (!f.profile_half_life.empty()) {
    auto secs = DurationSeconds("profile-half-life", f.profile_half_life);
    if (!secs.ok()) return secs.status();
    o.profile_half_life_days = *secs / 86400.0;
  }
  struct {
    const char* flag;
    const std::string* text;
    double* out;
  } durations[] = {{"ar-window", &f.ar_window, &o.ar_window_seconds},
                   {"recency-half-life", &f.recency_half_life, &o.recency_half_life_seconds},
                   {"trend-damping", &f.trend_damping, &o.trend_damping_seconds}};
  for (const auto& d : durations) {
    if (d.text->empty()) continue;
    auto secs = DurationSeconds(d.flag, *d.text);
    if (!secs.ok()) return secs.status();
    *d.out = *secs;
  }
  s = o.Validate();
  if (!s.ok()) return s;
  return o;
}

absl::StatusOr<forecast::Series> ReadInput(const std::string& path) {
  if (path == "-") return forecast::ReadSeriesCsv(std::cin);
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open --input \"", path, "\""));
  auto series = forecast::ReadSeriesCsv(in);
  if (!series.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", series.status().message()));
  }
  return series;
}

std::string FormatNumber(double v) {
  char buf[64];
  if (std::floor(v) == v && std::abs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.10g", v);
  }
  return buf;
}

namespace {

int RunPredict(int argc, char** argv) {
  std::string input, horizon_text;
  double interval = 0.8;
  std::string step_text;
  bool components = false;
  ModelFlags model;
  po::options_description desc(
      "Usage: augur-forecast predict --input HISTORY.csv --horizon 1h [options]\n\n"
      "Fits the model to a timestamp,value CSV (unix seconds) and prints\n"
      "timestamp,yhat,yhat_lower,yhat_upper for every step after the last timestamp\n"
      "up to the horizon.\n\nOptions");
  // clang-format off
  desc.add_options()("help,h", "show this help")
      ("input", po::value(&input), "history CSV (timestamp,value); - for stdin")
      ("horizon", po::value(&horizon_text), "how far to forecast, e.g. 10m, 1h")
      ("interval", po::value(&interval)->default_value(interval),
       "central interval width in (0, 1), e.g. 0.8 for the 10 % and 90 % quantiles")
      ("step", po::value(&step_text), "forecast step (default: the history's median step)")
      ("components", po::bool_switch(&components),
       "also print the model's components (trend, seasonalities, correction)");
  // clang-format on
  AddModelFlags(desc, model);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "augur-forecast predict: " << e.what() << "\n\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  auto usage_error = [&](const std::string& msg) {
    std::cerr << "augur-forecast predict: " << msg << "\n\n" << desc << "\n";
    return 2;
  };
  if (input.empty()) return usage_error("--input is required");
  if (horizon_text.empty()) return usage_error("--horizon is required (e.g. 1h)");
  auto horizon = DurationSeconds("horizon", horizon_text);
  if (!horizon.ok()) return usage_error(std::string(horizon.status().message()));
  if (!(*horizon > 0)) return usage_error("--horizon must be > 0");
  if (!(interval > 0 && interval < 1)) {
    return usage_error("--interval must be in (0, 1), e.g. 0.8");
  }
  double step_override = 0;
  if (!step_text.empty()) {
    auto s = DurationSeconds("step", step_text);
    if (!s.ok()) return usage_error(std::string(s.status().message()));
    if (!(*s > 0)) return usage_error("--step must be > 0");
    step_override = *s;
  }
  auto options = ToOptions(model);
  if (!options.ok()) return usage_error(std::string(options.status().message()));

  auto series = ReadInput(input);
  if (!series.ok()) {
    std::cerr << "augur-forecast predict: " << series.status().message() << "\n";
    return 1;
  }
  auto fitted = forecast::Fit(*series, *options);
  if (!fitted.ok()) {
    std::cerr << "augur-forecast predict: " << fitted.status().message() << "\n";
    return 1;
  }
  const double step = step_override > 0 ? step_override : fitted->info().step_seconds;
  if (!(step > 0)) {
    std::cerr << "augur-forecast predict: cannot tell the history's step (all timestamps "
                 "equal?); pass --step\n";
    return 1;
  }
  const double steps = std::ceil(*horizon / step - 1e-9);
  if (steps > 1e6) {
    std::cerr << "augur-forecast predict: --horizon " << horizon_text << " is "
              << FormatNumber(steps) << " steps of " << FormatNumber(step)
              << "s; at most 1000000 are allowed\n";
    return 1;
  }
  std::vector<double> ts;
  for (double k = 1; k <= steps; ++k) ts.push_back(fitted->last_timestamp() + k * step);
  const double lo = (1 - interval) / 2, hi = 1 - lo;
  auto fc = fitted->Predict(ts, {lo, hi});
  if (!fc.ok()) {
    std::cerr << "augur-forecast predict: " << fc.status().message() << "\n";
    return 1;
  }
  std::string out = "timestamp,yhat,yhat_lower,yhat_upper";
  if (components) {
    for (const auto& c : fc->components) out += "," + c.name;
  }
  out += "\n";
  for (size_t j = 0; j < ts.size(); ++j) {
    out += FormatNumber(ts[j]) + "," + FormatNumber(fc->yhat[j]) + "," +
           FormatNumber(fc->quantiles[0][j]) + "," + FormatNumber(fc->quantiles[1][j]);
    if (components) {
      for (const auto& c : fc->components) out += "," + FormatNumber(c.values[j]);
    }
    out += "\n";
  }
  std::cout << out;
  for (const std::string& note : fitted->info().notes) {
    std::cerr << "note: " << note << "\n";
  }
  return 0;
}

const bool kRegistered = RegisterCommand(
    {"predict", "fit a timestamp,value CSV and print the forecast as CSV", RunPredict});

}  // namespace
}  // namespace cli
