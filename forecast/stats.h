#pragma once
// Small robust statistics used by the fit (internal to forecast/). Pure functions.

#include <vector>

namespace forecast::stats {

// MAD -> standard deviation: 1 / Phi^-1(3/4), so that RobustScale of normal noise
// estimates its sigma (docs/forecast.md, "Preparation").
inline constexpr double kMadToSigma = 1.4826;

// Robust scale of values whose centre is 0, from their absolute values:
// kMadToSigma * median(abs_values). 0 for an empty vector.
double RobustScale(std::vector<double> abs_values);

// Median of `v` (copied; NaN-free input expected). 0 for an empty vector.
double Median(std::vector<double> v);

// Population standard deviation. 0 for fewer than 2 values.
double StdDev(const std::vector<double>& v);

// The `level` quantile (0..1) of an ascending-sorted, non-empty vector, interpolated
// linearly between order statistics.
double SortedQuantile(const std::vector<double>& sorted, double level);

}  // namespace forecast::stats
