#include "forecast/forecast.h"

#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/duration.h"
#include "forecast/eigen_types.h"
#include "forecast/internal/correction.h"
#include "forecast/internal/design.h"
#include "forecast/internal/detectors.h"
#include "forecast/internal/intervals.h"
#include "forecast/internal/model_state.h"
#include "forecast/internal/prepare.h"
#include "forecast/internal/profile.h"
#include "forecast/internal/regression.h"
#include "forecast/internal/residuals.h"
#include "forecast/stats.h"

namespace forecast {

using internal::kDay;
using internal::kTwoPi;
using internal::kWeek;

namespace {}  // namespace

absl::Status Options::Validate() const {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (growth == Growth::kLogistic) {
    if (!cap.has_value()) {
      return bad("logistic growth needs a cap (the upper saturation, e.g. 100 for CPU %)");
    }
    const double f = floor.value_or(0.0);
    if (!std::isfinite(*cap) || !std::isfinite(f) || *cap <= f) {
      return bad(absl::StrFormat("logistic growth needs finite cap > floor, got cap=%g floor=%g",
                                 *cap, f));
    }
  }
  if (n_changepoints < 0 || n_changepoints > 1000) {
    return bad(absl::StrCat("n_changepoints must be in [0, 1000], got ", n_changepoints));
  }
  if (!(changepoint_range > 0 && changepoint_range <= 1)) {
    return bad(absl::StrFormat("changepoint_range must be in (0, 1], got %g", changepoint_range));
  }
  if (!(changepoint_prior_scale > 0) || !std::isfinite(changepoint_prior_scale)) {
    return bad(
        absl::StrFormat("changepoint_prior_scale must be > 0, got %g", changepoint_prior_scale));
  }
  if (!(seasonality_prior_scale > 0) || !std::isfinite(seasonality_prior_scale)) {
    return bad(
        absl::StrFormat("seasonality_prior_scale must be > 0, got %g", seasonality_prior_scale));
  }
  for (const Seasonality& s : seasonalities) {
    if (!(s.period_seconds > 0) || !std::isfinite(s.period_seconds)) {
      return bad(absl::StrFormat("seasonality \"%s\": period must be > 0 seconds, got %g", s.name,
                                 s.period_seconds));
    }
    if (s.fourier_order < 0 || s.fourier_order > 100) {
      return bad(absl::StrFormat("seasonality \"%s\": fourier_order must be in [0, 100], got %d",
                                 s.name, s.fourier_order));
    }
    if (s.prior_scale < 0 || !std::isfinite(s.prior_scale)) {
      return bad(absl::StrFormat("seasonality \"%s\": prior_scale must be >= 0, got %g", s.name,
                                 s.prior_scale));
    }
  }
  if (uncertainty_samples < 0) {
    return bad(absl::StrCat("uncertainty_samples must be >= 0, got ", uncertainty_samples));
  }
  if (!(huber_threshold >= 0) || !std::isfinite(huber_threshold)) {
    return bad(absl::StrFormat("huber_threshold must be >= 0 (0 = off), got %g", huber_threshold));
  }
  if (max_fit_rows < 100) {
    return bad(absl::StrCat("max_fit_rows must be >= 100, got ", max_fit_rows));
  }
  if (robust_iterations < 0 || robust_iterations > 20) {
    return bad(absl::StrCat("robust_iterations must be in [0, 20], got ", robust_iterations));
  }
  if (!(recency_half_life_seconds >= 0) || !std::isfinite(recency_half_life_seconds)) {
    return bad(absl::StrFormat("recency_half_life_seconds must be >= 0 (0 = off), got %g",
                               recency_half_life_seconds));
  }
  if (ar_order < 0 || ar_order > 10) {
    return bad(absl::StrCat("ar_order must be in [0, 10], got ", ar_order));
  }
  if (!(ar_window_seconds > 0) || !std::isfinite(ar_window_seconds)) {
    return bad(absl::StrFormat("ar_window_seconds must be > 0, got %g", ar_window_seconds));
  }
  if (!(trend_damping_seconds >= 0) || !std::isfinite(trend_damping_seconds)) {
    return bad(absl::StrFormat("trend_damping_seconds must be >= 0 (0 = off), got %g",
                               trend_damping_seconds));
  }
  if (!(profile_half_life_days > 0) || !std::isfinite(profile_half_life_days)) {
    return bad(
        absl::StrFormat("profile_half_life_days must be > 0, got %g", profile_half_life_days));
  }
  if (!(interval_scale > 0) || !std::isfinite(interval_scale)) {
    return bad(absl::StrFormat("interval_scale must be > 0, got %g", interval_scale));
  }
  if (!(interval_level_power == -1 || (interval_level_power >= 0 && interval_level_power <= 1))) {
    return bad(absl::StrFormat(
        "interval_level_power must be in [0, 1] or -1 (choose from the data), got %g",
        interval_level_power));
  }
  return absl::OkStatus();
}

const std::vector<double>* Forecast::Quantile(double level) const {
  for (size_t i = 0; i < quantile_levels.size(); ++i) {
    if (std::abs(quantile_levels[i] - level) < 1e-9) return &quantiles[i];
  }
  return nullptr;
}

Model::Model(Options options, FitInfo info, std::shared_ptr<const State> state)
    : options_(std::move(options)), info_(std::move(info)), state_(std::move(state)) {}

double Model::last_timestamp() const { return state_->last_t; }

absl::StatusOr<Forecast> Model::Predict(const std::vector<double>& timestamps,
                                        const std::vector<double>& quantile_levels,
                                        const Series& recent) const {
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

  auto deterministic = [&](double t, double* trend_out) { return st.Deterministic(t, trend_out); };
  // The correction's state at the end of the history, brought forward by `recent`
  // (observations newer than the history) without refitting.
  const double step = st.step_seconds;
  const internal::CorrectionState cs = internal::Advance(st, recent);
  const double shift = cs.shift;
  size_t max_steps = 0;
  std::vector<long long> steps(n, 0);
  for (size_t j = 0; j < n; ++j) {
    const double h = (timestamps[j] - cs.origin) / step;
    if (h > 0.5) {
      steps[j] = std::min<long long>(std::llround(h), internal::kMaxForecastSteps);
      max_steps = std::max<size_t>(
          max_steps, static_cast<size_t>(std::min(steps[j], internal::kMaxPathSteps)));
    }
  }
  const std::vector<double> path = internal::CorrectionPath(st.correction, cs, max_steps);

  std::vector<double> trend_c(n), corr_c(n), profile_c(n);
  std::vector<std::vector<double>> season_c(st.seasons.size(), std::vector<double>(n));
  const internal::BandShape shape = internal::ShapeOf(st.intervals, quantile_levels);
  for (size_t j = 0; j < n; ++j) {
    const double t = timestamps[j];
    double tr = 0;
    const double det = deterministic(t, &tr);
    double corr = 0;
    if (steps[j] > 0 && !path.empty()) {
      // Past the computed path the correction has converged: hold its last value.
      corr = path[std::min<size_t>(static_cast<size_t>(steps[j]), path.size()) - 1];
    }
    const double ys = det + corr;
    fc.yhat[j] = st.scaling.ToRaw(ys);
    // Interval half-width in scaled units.
    double scale = internal::ErrorScale(st.intervals, shape, steps[j]);
    const double dts = std::max(0.0, (t - st.last_t) / st.scaling.t_scale);
    const double trend_sd = std::sqrt(st.intervals.trend_var_rate * dts * dts * dts);
    scale *= st.intervals.LevelWidth(fc.yhat[j]);
    for (size_t i = 0; i < quantile_levels.size(); ++i) {
      const double sign = quantile_levels[i] < 0.5 ? -1.0 : 1.0;
      const double off = internal::BandOffset(scale * shape.emp[i], shape.z[i] * trend_sd, sign);
      fc.quantiles[i][j] = st.scaling.ToRaw(ys + options_.interval_scale * off);
    }
    // Components in the metric's unit; with logistic growth each is its effect on yhat.
    const double raw_trend = st.scaling.ToRaw(tr);
    trend_c[j] = raw_trend;
    double acc = tr;
    double mult =
        st.multiplicative ? (st.scaling.y_offset + st.scaling.y_scale * tr) / st.mult_norm : 1.0;
    for (size_t s = 0; s < st.seasons.size(); ++s) {
      const double before = st.scaling.ToRaw(acc);
      acc += mult * st.seasons[s].At(t, st.scaling.t0);
      season_c[s][j] = st.scaling.ToRaw(acc) - before;
    }
    {
      const double before = st.scaling.ToRaw(acc);
      acc += st.profile.At(t, st.scaling.t0);
      profile_c[j] = st.scaling.ToRaw(acc) - before;
    }
    corr_c[j] = fc.yhat[j] - st.scaling.ToRaw(acc);
    if (st.nonnegative) {
      fc.yhat[j] = std::max(0.0, fc.yhat[j]);
      for (auto& row : fc.quantiles) row[j] = std::max(0.0, row[j]);
    }
  }
  fc.components.push_back({"trend", std::move(trend_c)});
  for (size_t s = 0; s < st.seasons.size(); ++s) {
    fc.components.push_back({st.seasons[s].name, std::move(season_c[s])});
  }
  if (!st.profile.bins.empty()) fc.components.push_back({"profile", std::move(profile_c)});
  if (st.correction.kind != internal::CorrectionKind::kNone || shift != 0) {
    fc.components.push_back({"correction", std::move(corr_c)});
  }
  return fc;
}

namespace {

// Multiplicative seasonality: the factors of the Fourier columns (the additive fit's raw
// trend over its mean), or false with a note when that cannot be done.
bool MultiplicativeFactors(const internal::Rows& rows, Model::State& st,
                           std::vector<double>& raw_trend, FitInfo& info) {
  if (st.scaling.logistic) {
    info.notes.push_back("multiplicative seasonality ignored with logistic growth: additive");
    return false;
  }
  const size_t nr = rows.size();
  raw_trend.resize(nr);
  double mean = 0;
  bool positive = true;
  for (size_t i = 0; i < nr; ++i) {
    raw_trend[i] = st.scaling.y_offset + st.scaling.y_scale * st.trend.At(rows.ts[i]);
    positive = positive && raw_trend[i] > 0;
    mean += raw_trend[i] / static_cast<double>(nr);
  }
  if (!positive) {
    info.notes.push_back("multiplicative seasonality needs a positive trend: additive used");
    return false;
  }
  for (double& v : raw_trend) v /= mean;
  st.multiplicative = true;
  st.mult_norm = mean;
  return true;
}

}  // namespace

namespace {

// Stages 2-4: the regression on the design, then the detectors, each of which extends the
// design and refits when it finds something (an hourly seasonality, one level shift),
// then the multiplicative refit. Fills st.trend (but cp), st.seasons, st.multiplicative
// and st.mult_norm; returns the last regression.
internal::RobustFit FitStructure(const internal::Prepared& p, const internal::Rows& rows,
                                 const Options& options, internal::Structure& structure,
                                 Model::State& st, FitInfo& info) {
  const double sigma0 = internal::PointToPointNoise(p.y);
  const Vector w =
      internal::RecencyWeights(rows, st.last_t, options.recency_half_life_seconds, p.t.size());
  std::vector<double> shifts;
  auto refit = [&](const std::vector<double>* mult) {
    internal::Design design = internal::BuildDesign(rows, st.scaling, structure, shifts, mult,
                                                    options.seasonality_prior_scale);
    internal::RobustFit fit = internal::SolveRobust(design, rows, w, sigma0, options);
    internal::Unpack(fit.beta, design, shifts, st.trend, structure.seasons);
    return fit;
  };
  internal::RobustFit fit = refit(nullptr);
  if (internal::HourlyDetectorApplies(options, structure, p.span, p.step, rows)) {
    const int order = internal::DetectHourly(rows, fit.resid, st.scaling.t0, fit.sigma);
    if (order >= 1) {
      structure.AddSeason("hourly", internal::kHour, order);
      fit = refit(nullptr);
      info.notes.push_back("hourly pattern in the residuals: hourly seasonality added");
    }
  }
  if (options.detect_level_shifts && options.growth != Growth::kFlat) {
    const std::optional<internal::LevelShift> shift =
        internal::DetectLevelShift(fit.resid, sigma0, fit.sigma);
    if (shift.has_value()) {
      shifts.push_back(rows.ts[shift->row]);
      fit = refit(nullptr);
      info.notes.push_back(absl::StrFormat("level shift of %.4g at %.0f fitted as a step",
                                           shift->jump * st.scaling.y_scale, rows.t[shift->row]));
    }
  }
  if (options.seasonality_mode == SeasonalityMode::kMultiplicative && !structure.seasons.empty()) {
    std::vector<double> raw_trend;
    if (MultiplicativeFactors(rows, st, raw_trend, info)) fit = refit(&raw_trend);
  }
  st.seasons = std::move(structure.seasons);
  return fit;
}

}  // namespace

absl::StatusOr<Model> Fit(const Series& series, const Options& options) {
  absl::Status valid = options.Validate();
  if (!valid.ok()) return valid;
  if (series.timestamps.size() != series.values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("series has ", series.timestamps.size(),
                                                   " timestamps but ", series.values.size(),
                                                   " values"));
  }
  FitInfo info;
  absl::StatusOr<internal::Prepared> prepared = internal::Prepare(series, options, info);
  if (!prepared.ok()) return prepared.status();
  const internal::Prepared& p = *prepared;
  const size_t n = p.t.size();
  const double span = p.span;
  const double step = p.step;
  auto state = std::make_shared<Model::State>();
  Model::State& st = *state;
  st.scaling = p.scaling;
  st.last_t = p.t.back();
  st.step_seconds = step;
  st.trend.ts_end = 1;
  if (options.trend_damping_seconds > 0) st.trend.damping = options.trend_damping_seconds / span;
  st.nonnegative = p.nonnegative;
  if (p.constant) {
    st.constant = true;
    return Model(options, std::move(info), std::move(state));
  }
  const Vector& y = p.y;
  const std::vector<double>& ts = p.ts;

  internal::Structure structure = internal::ChooseStructure(options, n, span, step, info);
  st.trend.cp = structure.changepoints;

  // The regression works on rows, the points themselves or the means of short bins of
  // them; the profile and the correction below use every point.
  const internal::Rows rows =
      internal::BinRows(p.t, ts, y, st.scaling, step, static_cast<size_t>(options.max_fit_rows));
  const internal::RobustFit fit = FitStructure(p, rows, options, structure, st, info);
  const internal::PointResiduals point = internal::ResidualsOfPoints(p, rows, fit, st);
  const double sigma = point.sigma;
  st.intervals.sigma = sigma;
  info.residual_scale = sigma * st.scaling.y_scale;
  for (const auto& s : st.seasons) info.seasonalities.push_back(s.name);
  info.changepoints =
      internal::SignificantChangepoints(st.trend, st.scaling, options.changepoint_prior_scale);
  // Future rate changes as Prophet simulates them, in closed form (no sampling).
  if (options.uncertainty_samples > 0) {
    st.intervals.trend_var_rate = internal::TrendVarianceRate(st.trend.delta);
  }

  internal::ResidualGrid rg = internal::OnStepGrid(p, point.r);
  const double cut = internal::ClipLevel(options, sigma);
  if (internal::DailyProfileApplies(options, span, step)) {
    const size_t bins = internal::ProfileBinCount(step);
    const std::vector<uint32_t> bin_of = internal::ProfileBinOfSlots(rg, st.scaling.t0, bins);
    internal::ProfileFit profile = internal::FitDailyProfile(
        rg.resid, bin_of, bins, step, options.profile_half_life_days, sigma, cut);
    if (!profile.bins.empty()) {
      internal::RemoveProfile(profile.bins, bin_of, rg);
      st.profile.bins = std::move(profile.bins);
      info.notes.push_back(absl::StrFormat(
          "daily profile fitted on the residuals (half-life %.3g days)", profile.half_life_days));
    }
  }

  const internal::Candidate best =
      internal::FitCorrection(rg, options, st.scaling, sigma, cut, st.correction, info);

  internal::FitIntervals(best, st.nonnegative && !st.scaling.logistic, options, st.intervals, info);
  return Model(options, std::move(info), std::move(state));
}

absl::Status ParseSeasonality(const std::string& text, Options& options) {
  std::vector<Seasonality> out;
  bool want_auto = false;
  if (text.empty()) {
    return absl::InvalidArgumentError(
        "empty seasonality: expected auto, none, or periods such as 1d,1w");
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    start = end + 1;
    if (item.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "seasonality \"", text, "\" has an empty element: expected comma-separated periods"));
    }
    if (item == "auto") {
      want_auto = true;
      continue;
    }
    if (item == "none") {
      if (text != "none") {
        return absl::InvalidArgumentError("seasonality \"none\" cannot be combined with others");
      }
      options.auto_seasonality = false;
      options.seasonalities.clear();
      return absl::OkStatus();
    }
    int order = 0;
    std::string period_text = item;
    const size_t colon = item.find(':');
    if (colon != std::string::npos) {
      period_text = item.substr(0, colon);
      const std::string order_text = item.substr(colon + 1);
      char* e = nullptr;
      const long v = std::strtol(order_text.c_str(), &e, 10);
      if (order_text.empty() || *e != '\0' || v < 1 || v > 100) {
        return absl::InvalidArgumentError(
            absl::StrCat("seasonality \"", item, "\": Fourier order \"", order_text,
                         "\" must be an integer in [1, 100] (e.g. 1d:10)"));
      }
      order = static_cast<int>(v);
    }
    Seasonality s;
    s.fourier_order = order;
    if (period_text == "daily") {
      s.period_seconds = kDay;
    } else if (period_text == "weekly") {
      s.period_seconds = kWeek;
    } else if (period_text == "hourly") {
      s.period_seconds = 3600;
    } else {
      auto d = common::ParseDuration(period_text);
      if (!d.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "seasonality element \"", item,
            "\" is not a period: expected daily, weekly, hourly or a duration such as 1h, "
            "1d, 1w (",
            d.status().message(), ")"));
      }
      s.period_seconds = static_cast<double>(d->count()) / 1000.0;
      if (!(s.period_seconds > 0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("seasonality element \"", item, "\": the period must be > 0"));
      }
    }
    if (std::abs(s.period_seconds - kDay) < 1e-6) {
      s.name = "daily";
    } else if (std::abs(s.period_seconds - kWeek) < 1e-6) {
      s.name = "weekly";
    } else {
      s.name = common::FormatDuration(
          std::chrono::milliseconds(static_cast<int64_t>(std::llround(s.period_seconds * 1000))));
    }
    for (const auto& o : out) {
      if (std::abs(o.period_seconds - s.period_seconds) < 1e-6) {
        return absl::InvalidArgumentError(
            absl::StrCat("seasonality \"", s.name, "\" is listed twice"));
      }
    }
    out.push_back(std::move(s));
    if (end == text.size()) break;
  }
  options.auto_seasonality = want_auto;
  options.seasonalities = std::move(out);
  return absl::OkStatus();
}

}  // namespace forecast
