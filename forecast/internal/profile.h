#pragma once
// INTERNAL to forecast/ (the contract is forecast/forecast.h). Stage 5 of the fit, the
// daily profile (docs/forecast.md, "Daily profile (beyond Prophet)"): the residuals' mean
// at each step of the day, recent days weighing more, each bin shrunk towards 0 by its
// noise, kept only when it stands out of the noise; its half-life chosen by forecasting
// each of the last two days from the days before it. Pure functions.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "forecast/forecast.h"
#include "forecast/internal/model_state.h"
#include "forecast/internal/residuals.h"

namespace forecast::internal {

// Only on at least 2 days of history, with between kProfileMinBins and kProfileMaxBins
// steps per day (3 h to ~4 s steps).
inline constexpr double kProfileMinHistory = 2 * kDay;
inline constexpr double kProfileMinBins = 8;
inline constexpr double kProfileMaxBins = 20000;
// Kept when the energy of the bin means is more than this many times their noise's
// (docs/forecast.md: "more than twice the noise's").
inline constexpr double kProfileSignalToNoise = 2;
// Half-life candidates: none, the configured one, and that divided and multiplied by
// this factor ("profile_half_life_days x {1/3, 1, 3}"); cross-validated on
// kProfileFolds days, only with at least kProfileMinDaysForChoice days of grid.
inline constexpr double kProfileHalfLifeFactor = 3;
inline constexpr size_t kProfileFolds = 2;
inline constexpr size_t kProfileMinDaysForChoice = 4;
// A candidate replaces the best so far only when its error is smaller by this share
// (ties keep the earlier, simpler candidate).
inline constexpr double kProfileTieMargin = 1e-9;

// Whether the daily profile is tried on this fit.
bool DailyProfileApplies(const Options& options, double span, double step);

// Bins per day at `step`, and the bin of each slot of `grid` (the day's phase from t0).
size_t ProfileBinCount(double step);
std::vector<uint32_t> ProfileBinOfSlots(const ResidualGrid& grid, double t0, size_t bins);

// The profile from the grid's residuals in [0, end), a slot's weight halving every
// half_life_days back from slot end - 1, residuals clipped at +-cut, each bin's mean m
// shrunk to m^3 / (m^2 + sigma^2 / n_eff). *signal_ok says whether it stands out of the
// noise (kProfileSignalToNoise).
std::vector<double> BuildProfile(const std::vector<double>& resid,
                                 const std::vector<uint32_t>& bin_of, size_t bins, size_t end,
                                 double step, double half_life_days, double sigma, double cut,
                                 bool* signal_ok);

struct ProfileFit {
  std::vector<double> bins;  // empty: no profile
  double half_life_days = 0;
};

// The half-life with the smallest cross-validated error among the candidates (0 = no
// profile wins ties), then the profile of the whole grid with it if it stands out.
ProfileFit FitDailyProfile(const std::vector<double>& resid, const std::vector<uint32_t>& bin_of,
                           size_t bins, double step, double half_life_days, double sigma,
                           double cut);

// Takes the profile out of the grid's residuals and into its fitted values.
void RemoveProfile(const std::vector<double>& profile, const std::vector<uint32_t>& bin_of,
                   ResidualGrid& grid);

// Stage 5 as Fit runs it: when it applies, fits the profile on the grid (history `span`,
// phase from t0), and if one stands out, moves it out of the grid's residuals into `out`
// and notes its half-life.
void AddDailyProfile(const Options& options, double span, double t0, double sigma, double cut,
                     ResidualGrid& grid, DailyProfile& out, FitInfo& info);

}  // namespace forecast::internal
