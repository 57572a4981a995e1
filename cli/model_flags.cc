#include "cli/model_flags.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/flags.h"

namespace cli {

namespace po = boost::program_options;

void ModelFlags::Define(common::FlagSet& flags) {
  ModelFlags& f = *this;
  // clang-format off
  flags.Add()
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
      ("holidays", po::value(&f.holidays),
       "known events with their own effect per day, comma-separated "
       "name=YYYY-MM-DD[/YYYY-MM-DD][|...][:-Nd][:+Nd] in UTC, e.g. "
       "black-friday=2026-11-27/2026-11-30:-1d:+1d,xmas=2026-12-25")
      ("holidays-prior-scale",
       po::value(&f.holidays_prior_scale)->default_value(f.holidays_prior_scale),
       "normal prior scale of each event day's effect")
      ("exclude-periods", po::value(&f.exclude_periods),
       "periods the fit ignores (outages, load tests), comma-separated start/end in RFC 3339 "
       "with a zone, e.g. 2026-11-20T10:00Z/2026-11-20T14:00Z, or whole UTC days 2026-11-20")
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
      ("no-interval-recalibration", po::bool_switch(&f.no_interval_recalibration),
       "do not rescale the interval width by how the older half of the in-sample errors' "
       "band covered the newer half")
      ("no-level-shift", po::bool_switch(&f.no_level_shift), "do not fit a level shift")
      ("no-profile", po::bool_switch(&f.no_profile), "no daily profile of the residuals")
      ("profile-half-life", po::value(&f.profile_half_life),
       "weight of past days in the daily profile halves every this long (default 7d)")
      ("no-smoothing-correction", po::bool_switch(&f.no_smoothing),
       "only AR (or no) short-term correction, no smoothed level")
      ("no-naive-blend", po::bool_switch(&f.no_naive_blend),
       "the model alone, not blended with the last value by in-sample skill")
      ("allow-negative", po::bool_switch(&f.allow_negative),
       "do not clamp forecasts at 0 for non-negative histories");
  // clang-format on
}

absl::StatusOr<forecast::Options> ModelFlags::ToOptions() const {
  forecast::Options o;
  absl::Status s = forecast::ParseSeasonality(seasonality, o);
  if (!s.ok()) return common::UsageError(absl::StrCat("--seasonality: ", s.message()));
  if (growth == "linear") {
    o.growth = forecast::Growth::kLinear;
  } else if (growth == "logistic") {
    o.growth = forecast::Growth::kLogistic;
  } else if (growth == "flat") {
    o.growth = forecast::Growth::kFlat;
  } else {
    return common::UsageError(
        absl::StrCat("--growth \"", growth, "\": expected linear, logistic or flat"));
  }
  if (!std::isnan(cap)) o.cap = cap;
  if (!std::isnan(floor)) o.floor = floor;
  if (mode == "additive") {
    o.seasonality_mode = forecast::SeasonalityMode::kAdditive;
  } else if (mode == "multiplicative") {
    o.seasonality_mode = forecast::SeasonalityMode::kMultiplicative;
  } else {
    return common::UsageError(
        absl::StrCat("--seasonality-mode \"", mode, "\": expected additive or multiplicative"));
  }
  o.n_changepoints = n_changepoints;
  o.changepoint_prior_scale = changepoint_prior_scale;
  o.seasonality_prior_scale = seasonality_prior_scale;
  o.ar_order = ar_order;
  o.huber_threshold = huber;
  o.interval_scale = interval_scale;
  if (interval_level_power == "auto") {
    o.interval_level_power = -1;
  } else {
    double p = NAN;
    if (!absl::SimpleAtod(interval_level_power, &p) || !(p >= 0 && p <= 1)) {
      return common::UsageError(absl::StrCat("--interval-level-power \"", interval_level_power,
                                             "\": expected auto or a number in [0, 1]"));
    }
    o.interval_level_power = p;
  }
  s = forecast::ParseEvents(holidays, o);
  if (!s.ok()) return common::UsageError(absl::StrCat("--holidays: ", s.message()));
  o.event_prior_scale = holidays_prior_scale;
  s = forecast::ParseExcludePeriods(exclude_periods, o);
  if (!s.ok()) return common::UsageError(absl::StrCat("--exclude-periods: ", s.message()));
  o.skewed_intervals = !symmetric_intervals;
  o.interval_recalibration = !no_interval_recalibration;
  o.detect_level_shifts = !no_level_shift;
  o.clamp_nonnegative = !allow_negative;
  o.daily_profile = !no_profile;
  o.smoothing_correction = !no_smoothing;
  o.naive_blend = !no_naive_blend;
  double profile_half_life_seconds = o.profile_half_life_days * 86400.0;
  s = common::ParseOptionalDurationFlags({{"ar-window", ar_window, &o.ar_window_seconds},
                                  {"recency-half-life", recency_half_life,
                                   &o.recency_half_life_seconds},
                                  {"trend-damping", trend_damping, &o.trend_damping_seconds},
                                  {"profile-half-life", profile_half_life,
                                   &profile_half_life_seconds}});
  if (!s.ok()) return s;
  o.profile_half_life_days = profile_half_life_seconds / 86400.0;
  s = o.Validate();
  if (!s.ok()) return common::UsageError(s.message());
  return o;
}

absl::StatusOr<forecast::Series> ReadInput(const std::string& path, std::istream& in) {
  if (path == "-") return forecast::ReadSeriesCsv(in);
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open --input \"", path, "\""));
  auto series = forecast::ReadSeriesCsv(file);
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

}  // namespace cli
