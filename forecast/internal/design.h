#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Stage 2 of the fit, the
// design (docs/forecast.md, "Trend" and "Seasonalities"): which seasonalities the history
// supports and with which Fourier order, where the changepoint candidates lie, and the
// regression's design matrix [1, ts | changepoints | level shifts | Fourier terms].
// Pure functions.

#include <string>
#include <vector>

#include "forecast/eigen_types.h"
#include "forecast/forecast.h"
#include "forecast/internal/model_state.h"
#include "forecast/internal/prepare.h"

namespace forecast::internal {

// A seasonality's period matches daily, weekly or hourly within this many seconds.
inline constexpr double kPeriodToleranceSeconds = 1;
// Auto seasonality adds daily and weekly once the history covers this many periods.
inline constexpr double kAutoMinPeriods = 2;
// A history "covers" a span when it is at most this many steps short of it (n points at
// step s span (n - 1) s).
inline constexpr double kCoverageSlackSteps = 1.5;
// Default Fourier orders (Prophet's for daily and weekly): docs/forecast.md,
// "Seasonalities".
inline constexpr int kDailyOrder = 10;
inline constexpr int kWeeklyOrder = 3;
inline constexpr int kSubDailyOrder = 5;  // custom periods shorter than a day
inline constexpr int kLongOrder = 10;     // custom periods of a day or more
// At most one changepoint candidate per this many points...
inline constexpr int kPointsPerChangepoint = 4;
// ... and, with a daily cycle, per half a day: rate changes closer than that cannot be
// told from the cycle (docs/forecast.md, "Trend").
inline constexpr double kChangepointSpacingWithDaily = kDay / 2;
// Seasonalities are dropped when the points do not exceed the columns by this many.
inline constexpr int kSpareRows = 4;

// Whether a history of `span` seconds at `step` covers `seconds` (kCoverageSlackSteps).
inline bool Covers(double span, double step, double seconds) {
  return span + kCoverageSlackSteps * step >= seconds;
}

// What the regression fits, before any detector adds to it.
struct Structure {
  std::vector<Seasonality> wanted;   // asked for (options + auto): their prior scales
  std::vector<Season> seasons;       // to fit (coefficients 0 until unpacked)
  std::vector<double> changepoints;  // candidate positions, scaled time
  int n_trend = 2;                   // 2: level and slope; 1 (flat growth): level only
  std::vector<EventTerm> events;     // event effects to fit (ChooseEvents), after the seasons
  double event_prior_scale = 10;     // Options::event_prior_scale

  // Columns before level shifts are added.
  int Columns() const;
  // Adds a seasonality to fit (a detector's finding) with the default prior scale.
  void AddSeason(const std::string& name, double period_seconds, int order);
};

// The seasonalities the history supports (the requested ones, plus daily and weekly
// with auto seasonality once covered kAutoMinPeriods times), each with its Fourier order
// (by default from its period, capped at the Nyquist limit of the step); the changepoint
// candidates, evenly spaced in time over the first changepoint_range of the history.
// Adds a note per seasonality left out or reduced.
Structure ChooseStructure(const Options& options, size_t n_points, double span, double step,
                          FitInfo& info);

// The event effects the history can fit: one term per (event name, day of its window)
// that has points among `t` (the sorted history), covering the days of every occurrence
// of that name, in the order of Options::events and then of the days. Adds a note per
// event name with no point in the history (its effects stay 0, also when it comes).
std::vector<EventTerm> ChooseEvents(const Options& options, const std::vector<double>& t,
                                    FitInfo& info);

// The Fourier order a seasonality gets when its fourier_order is 0.
int DefaultFourierOrder(double period_seconds);

// The design matrix over the rows and what its columns are:
// [1, ts (unless flat) | (ts - cp_j)_+ | ts >= shift_j | cos, sin of each season |
//  an indicator per event term (a row's mean time on one of its days)].
// `mult`, if given, multiplies the Fourier and event columns row by row (multiplicative
// mode).
struct Design {
  Matrix X;  // rows x Cols()
  int n_trend = 0, n_cp = 0, n_shift = 0;
  std::vector<int> season_cols;       // 2 * order, per season
  std::vector<double> season_priors;  // ridge prior scale, per season
  int n_event = 0;                    // event columns, last
  double event_prior = 0;             // their ridge prior scale

  int ShiftBegin() const { return n_trend + n_cp; }
  int SeasonBegin() const { return n_trend + n_cp + n_shift; }
  int EventBegin() const { return static_cast<int>(X.cols()) - n_event; }
};
Design BuildDesign(const Rows& rows, const Scaling& scaling, const Structure& structure,
                   const std::vector<double>& shifts, const std::vector<double>* mult,
                   double default_prior_scale);

// FitInfo::changepoints: the candidates whose fitted rate change exceeds this share of
// changepoint_prior_scale, as unix times.
inline constexpr double kReportedChangeShare = 0.01;
std::vector<double> SignificantChangepoints(const Trend& trend, const Scaling& scaling,
                                            double changepoint_prior_scale);

// Writes the event coefficients of `beta` (the design's last columns) into `events`.
void UnpackEvents(const Vector& beta, const Design& design, std::vector<EventTerm>& events);

// Writes the coefficients `beta` of a design into the trend and the seasons.
void Unpack(const Vector& beta, const Design& design, const std::vector<double>& shifts,
            Trend& trend, std::vector<Season>& seasons);

}  // namespace forecast::internal
