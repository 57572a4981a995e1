// forecast::Fit: the stages of the fit in order, each in forecast/internal/ (see
// docs/forecast.md, "Code map: the stages"). This file only sequences them and keeps
// the notes they leave in FitInfo.
#include "forecast/forecast.h"

#include <cmath>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

namespace forecast {
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
    internal::UnpackEvents(fit.beta, design, structure.events);
    return fit;
  };
  internal::RobustFit fit = refit(nullptr);
  if (internal::HourlyDetectorApplies(options, structure, p.span, p.step, rows)) {
    const int order = internal::DetectHourly(rows, fit.resid, st.scaling.t0, fit.sigma);
    if (order >= 1) {
      const internal::Structure before = structure;
      const internal::Trend trend_before = st.trend;
      structure.AddSeason("hourly", internal::kHour, order);
      internal::RobustFit with = refit(nullptr);
      if (internal::HourlyHolds(rows, with.resid, fit.resid,
                                st.last_t - options.ar_window_seconds, fit.sigma)) {
        fit = std::move(with);
        info.notes.push_back("hourly pattern in the residuals: hourly seasonality added");
      } else {
        structure = before;
        st.trend = trend_before;
        info.notes.push_back(
            "hourly pattern in the residuals did not hold over the newest days: no hourly "
            "seasonality");
      }
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
  if (options.seasonality_mode == SeasonalityMode::kMultiplicative &&
      (!structure.seasons.empty() || !structure.events.empty())) {
    std::vector<double> raw_trend;
    if (MultiplicativeFactors(rows, st, raw_trend, info)) fit = refit(&raw_trend);
  }
  st.seasons = std::move(structure.seasons);
  st.events = std::move(structure.events);
  return fit;
}

// The state as preparation leaves it: scaling, times, the clamp, damping in scaled time.
Model::State StartState(const internal::Prepared& p, const Options& options) {
  Model::State st;
  st.scaling = p.scaling;
  st.constant = p.constant;
  st.last_t = p.t.back();
  st.step_seconds = p.step;
  st.trend.ts_end = 1;
  if (options.trend_damping_seconds > 0) st.trend.damping = options.trend_damping_seconds / p.span;
  st.nonnegative = p.nonnegative;
  st.excluded = options.exclude_periods;
  return st;
}

}  // namespace

const std::vector<double>* Forecast::Quantile(double level) const {
  for (size_t i = 0; i < quantile_levels.size(); ++i) {
    if (std::abs(quantile_levels[i] - level) < 1e-9) return &quantiles[i];
  }
  return nullptr;
}

Model::Model(Options options, FitInfo info, std::shared_ptr<const State> state)
    : options_(std::move(options)), info_(std::move(info)), state_(std::move(state)) {}

double Model::last_timestamp() const { return state_->last_t; }

absl::StatusOr<Model> Fit(const Series& series, const Options& options) {
  absl::Status valid = options.Validate();
  if (!valid.ok()) return valid;
  if (series.timestamps.size() != series.values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("series has ", series.timestamps.size(),
                                                   " timestamps but ", series.values.size(),
                                                   " values"));
  }
  FitInfo info;
  // 1. Preparation: cleaning, sorting and merging, scaling.
  absl::StatusOr<internal::Prepared> prepared = internal::Prepare(series, options, info);
  if (!prepared.ok()) return prepared.status();
  const internal::Prepared& p = *prepared;
  auto state = std::make_shared<Model::State>(StartState(p, options));
  Model::State& st = *state;
  if (p.constant) return Model(options, std::move(info), std::move(state));

  // 2-4. Design, penalised robust regression on the (binned) rows, detectors.
  internal::Structure structure =
      internal::ChooseStructure(options, p.t.size(), p.span, p.step, info);
  st.trend.cp = structure.changepoints;
  if (!options.events.empty()) {
    structure.events = internal::ChooseEvents(options, p.t, info);
    structure.event_prior_scale = options.event_prior_scale;
  }
  const internal::Rows rows = internal::BinRows(p.t, p.ts, p.y, st.scaling, p.step,
                                                static_cast<size_t>(options.max_fit_rows));
  const internal::RobustFit fit = FitStructure(p, rows, options, structure, st, info);

  // What the regression leaves, for every point and on the step grid.
  const internal::PointResiduals point = internal::ResidualsOfPoints(p, rows, fit, st);
  st.intervals.sigma = point.sigma;
  info.residual_scale = point.sigma * st.scaling.y_scale;
  for (const internal::Season& s : st.seasons) info.seasonalities.push_back(s.name);
  for (const internal::EventTerm& e : st.events) {
    info.event_effects.push_back(
        {e.name, e.day, e.points, st.scaling.ToRaw(e.coef) - st.scaling.ToRaw(0)});
  }
  info.changepoints =
      internal::SignificantChangepoints(st.trend, st.scaling, options.changepoint_prior_scale);
  if (options.trend_uncertainty) {
    st.intervals.trend_var_rate = internal::TrendVarianceRate(st.trend.delta);
  }
  internal::ResidualGrid grid = internal::OnStepGrid(p, point.r);
  const double cut = internal::ClipLevel(options, point.sigma);

  // 5. Daily profile, 6. short-term correction, 7. intervals.
  internal::AddDailyProfile(options, p.span, st.scaling.t0, point.sigma, cut, grid, st.profile,
                            info);
  // The chosen correction's in-sample errors (hundreds of vectors of a few hundred values
  // each) only feed the intervals: one Candidate per thread keeps their storage from one
  // fit to the next instead of allocating and freeing them at every fit (Fit runs on
  // several threads at once; each has its own; Fit does not call itself).
  thread_local internal::Candidate best;
  // The blend's seasonal-naive member repeats the shortest period the model fitted (the
  // daily profile's is a day).
  double period = st.profile.bins.empty() ? 0.0 : internal::kDay;
  for (const internal::Season& s : st.seasons) {
    if (period == 0 || s.period_seconds < period) period = s.period_seconds;
  }
  internal::FitCorrection(grid, options, st.scaling, point.sigma, cut, st.correction, info, best,
                          period);
  internal::FitIntervals(best, st.nonnegative && !st.scaling.logistic, options, st.intervals, info);
  return Model(options, std::move(info), std::move(state));
}

}  // namespace forecast
