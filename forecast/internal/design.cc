#include "forecast/internal/design.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/duration.h"

namespace forecast::internal {
namespace {

std::string Seconds(double s) {
  if (s >= 1 && s < 1e12 && std::floor(s) == s) {
    return common::FormatDuration(std::chrono::milliseconds(static_cast<int64_t>(s * 1000)));
  }
  return absl::StrFormat("%gs", s);
}

bool SamePeriod(double a, double b) { return std::abs(a - b) < kPeriodToleranceSeconds; }

// The requested seasonalities plus, with auto seasonality, daily and weekly when covered.
std::vector<Seasonality> Wanted(const Options& options, double span, double step, FitInfo& info) {
  std::vector<Seasonality> wanted = options.seasonalities;
  if (!options.auto_seasonality) return wanted;
  auto has = [&](double period) {
    return std::any_of(wanted.begin(), wanted.end(),
                       [&](const Seasonality& s) { return SamePeriod(s.period_seconds, period); });
  };
  if (!has(kDay)) {
    if (Covers(span, step, kAutoMinPeriods * kDay)) {
      wanted.push_back({"daily", kDay, 0, 0});
    } else {
      info.notes.push_back(
          absl::StrCat("history ", Seconds(std::round(span)), " < 2 days: no daily seasonality"));
    }
  }
  if (!has(kWeek)) {
    if (Covers(span, step, kAutoMinPeriods * kWeek)) {
      wanted.push_back({"weekly", kWeek, 0, 0});
    } else if (span >= kAutoMinPeriods * kDay) {
      info.notes.push_back(
          absl::StrCat("history ", Seconds(std::round(span)), " < 2 weeks: no weekly seasonality"));
    }
  }
  return wanted;
}

// The seasons to fit among `wanted`: a full period in the history, at least one Fourier
// term under the Nyquist limit of the step.
std::vector<Season> Fittable(const std::vector<Seasonality>& wanted, double span, double step,
                             FitInfo& info) {
  std::vector<Season> seasons;
  for (const Seasonality& s : wanted) {
    int order = s.fourier_order == 0 ? DefaultFourierOrder(s.period_seconds) : s.fourier_order;
    const int nyquist = static_cast<int>(std::floor((s.period_seconds / step - 1) / 2));
    if (span < s.period_seconds) {
      info.notes.push_back(absl::StrCat("seasonality ", s.name, ": history ",
                                        Seconds(std::round(span)), " shorter than its period ",
                                        Seconds(s.period_seconds), ": not fitted"));
      continue;
    }
    if (nyquist < 1) {
      info.notes.push_back(absl::StrCat("seasonality ", s.name, ": period ",
                                        Seconds(s.period_seconds), " too short for the step ",
                                        Seconds(step), ": not fitted"));
      continue;
    }
    if (order > nyquist) {
      info.notes.push_back(absl::StrCat("seasonality ", s.name, ": Fourier order ", order,
                                        " reduced to ", nyquist, " for the step"));
      order = nyquist;
    }
    seasons.push_back({s.name, s.period_seconds, order, std::vector<double>(2 * order, 0.0)});
  }
  return seasons;
}

// Fourier columns of one seasonality into X.block(0, col, n, 2 * order).
void FillFourier(const std::vector<double>& t, double t0, double period, int order,
                 const std::vector<double>* mult, Matrix& X, int col) {
  const size_t n = t.size();
  for (size_t i = 0; i < n; ++i) {
    const double theta = kTwoPi * std::fmod(t[i] - t0, period) / period;
    const double c1 = std::cos(theta), s1 = std::sin(theta);
    const double f = mult != nullptr ? (*mult)[i] : 1.0;
    double c = c1, s = s1;
    for (int k = 0; k < order; ++k) {
      X(i, col + 2 * k) = f * c;
      X(i, col + 2 * k + 1) = f * s;
      const double nc = c * c1 - s * s1;
      s = s * c1 + c * s1;
      c = nc;
    }
  }
}

}  // namespace

int DefaultFourierOrder(double period_seconds) {
  if (SamePeriod(period_seconds, kWeek)) return kWeeklyOrder;
  if (SamePeriod(period_seconds, kDay)) return kDailyOrder;
  return period_seconds < kDay ? kSubDailyOrder : kLongOrder;
}

int Structure::Columns() const {
  int cols = n_trend + static_cast<int>(changepoints.size()) + static_cast<int>(events.size());
  for (const Season& s : seasons) cols += 2 * s.order;
  return cols;
}

void Structure::AddSeason(const std::string& name, double period_seconds, int order) {
  wanted.push_back({name, period_seconds, order, 0});
  seasons.push_back({name, period_seconds, order, std::vector<double>(2 * order, 0.0)});
}

Structure ChooseStructure(const Options& options, size_t n_points, double span, double step,
                          FitInfo& info) {
  Structure s;
  s.wanted = Wanted(options, span, step, info);
  s.seasons = Fittable(s.wanted, span, step, info);
  int n_cp = options.growth == Growth::kFlat ? 0 : options.n_changepoints;
  n_cp = std::min<int>(n_cp, static_cast<int>(n_points / kPointsPerChangepoint));
  const bool has_daily = std::any_of(s.seasons.begin(), s.seasons.end(), [](const Season& x) {
    return SamePeriod(x.period_seconds, kDay);
  });
  if (has_daily) {
    n_cp = std::min<int>(n_cp, std::max(1, static_cast<int>(options.changepoint_range * span /
                                                            kChangepointSpacingWithDaily)));
  }
  for (int j = 0; j < n_cp; ++j) {
    s.changepoints.push_back(options.changepoint_range * (j + 1) / (n_cp + 1));
  }
  s.n_trend = options.growth == Growth::kFlat ? 1 : 2;
  if (static_cast<int>(n_points) < s.Columns() + kSpareRows) {
    if (!s.seasons.empty()) {
      info.notes.push_back(absl::StrCat("only ", n_points, " points: seasonalities dropped"));
    }
    s.seasons.clear();
  }
  return s;
}

Design BuildDesign(const Rows& rows, const Scaling& scaling, const Structure& structure,
                   const std::vector<double>& shifts, const std::vector<double>* mult,
                   double default_prior_scale) {
  Design d;
  d.n_trend = structure.n_trend;
  d.n_cp = static_cast<int>(structure.changepoints.size());
  d.n_shift = static_cast<int>(shifts.size());
  const std::vector<double>& cp = structure.changepoints;
  const size_t nr = rows.size();
  d.X.resize(static_cast<Eigen::Index>(nr), structure.Columns() + d.n_shift);
  for (size_t i = 0; i < nr; ++i) {
    const double ts = rows.ts[i];
    d.X(i, 0) = 1;
    if (d.n_trend > 1) d.X(i, 1) = ts;
    for (int j = 0; j < d.n_cp; ++j) d.X(i, d.n_trend + j) = std::max(0.0, ts - cp[j]);
    for (int j = 0; j < d.n_shift; ++j) d.X(i, d.ShiftBegin() + j) = ts >= shifts[j] ? 1.0 : 0.0;
  }
  int col = d.SeasonBegin();
  for (const Season& s : structure.seasons) {
    FillFourier(rows.t, scaling.t0, s.period_seconds, s.order, mult, d.X, col);
    col += 2 * s.order;
    // The prior scale of the last requested seasonality of that name, else the default.
    double prior = 0;
    for (const Seasonality& w : structure.wanted) {
      if (w.name == s.name) prior = w.prior_scale;
    }
    d.season_cols.push_back(2 * s.order);
    d.season_priors.push_back(prior > 0 ? prior : default_prior_scale);
  }
  d.n_event = static_cast<int>(structure.events.size());
  d.event_prior = structure.event_prior_scale;
  for (const EventTerm& e : structure.events) {
    for (size_t i = 0; i < nr; ++i) {
      const double f = mult != nullptr ? (*mult)[i] : 1.0;
      d.X(i, col) = e.Covers(rows.t[i]) ? f : 0.0;
    }
    ++col;
  }
  return d;
}

std::vector<EventTerm> ChooseEvents(const Options& options, const std::vector<double>& t,
                                    FitInfo& info) {
  std::vector<EventTerm> terms;
  std::vector<std::string> names;  // in order of first appearance
  for (const Event& e : options.events) {
    if (std::find(names.begin(), names.end(), e.name) == names.end()) names.push_back(e.name);
  }
  for (const std::string& name : names) {
    int lo = 0, hi = 0;  // days of the window over every occurrence: [lo, hi)
    for (const Event& e : options.events) {
      if (e.name != name) continue;
      lo = std::min(lo, -e.days_before);
      hi = std::max(hi, e.days + e.days_after);
    }
    bool any = false;
    for (int day = lo; day < hi; ++day) {
      EventTerm term;
      term.name = name;
      term.day = day;
      for (const Event& e : options.events) {
        if (e.name != name || day < -e.days_before || day >= e.days + e.days_after) continue;
        const double from = e.start + day * kDay, to = from + kDay;
        term.from.push_back(from);
        term.to.push_back(to);
        term.points += static_cast<size_t>(std::lower_bound(t.begin(), t.end(), to) -
                                           std::lower_bound(t.begin(), t.end(), from));
      }
      if (term.points == 0) continue;
      any = true;
      terms.push_back(std::move(term));
    }
    if (!any) {
      info.notes.push_back(absl::StrCat("event ", name,
                                        ": no day of it in the history: no effect fitted"));
    }
  }
  return terms;
}

void UnpackEvents(const Vector& beta, const Design& design, std::vector<EventTerm>& events) {
  for (int k = 0; k < design.n_event; ++k) {
    events[static_cast<size_t>(k)].coef = beta[design.EventBegin() + k];
  }
}

std::vector<double> SignificantChangepoints(const Trend& trend, const Scaling& scaling,
                                            double changepoint_prior_scale) {
  std::vector<double> out;
  for (size_t j = 0; j < trend.cp.size(); ++j) {
    if (std::abs(trend.delta[j]) > kReportedChangeShare * changepoint_prior_scale) {
      out.push_back(scaling.t0 + trend.cp[j] * scaling.t_scale);
    }
  }
  return out;
}

void Unpack(const Vector& beta, const Design& design, const std::vector<double>& shifts,
            Trend& trend, std::vector<Season>& seasons) {
  const int n_trend = design.n_trend, n_cp = design.n_cp;
  trend.m = beta[0];
  trend.k = n_trend > 1 ? beta[1] : 0.0;
  trend.delta.assign(beta.data() + n_trend, beta.data() + n_trend + n_cp);
  trend.shift_at = shifts;
  trend.shift_size.assign(beta.data() + design.ShiftBegin(),
                          beta.data() + design.ShiftBegin() + design.n_shift);
  int col = design.SeasonBegin();
  for (Season& s : seasons) {
    for (int k = 0; k < 2 * s.order; ++k) s.coef[k] = beta[col++];
  }
}

}  // namespace forecast::internal
