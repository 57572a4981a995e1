#pragma once
// Small robust statistics used by the fit (internal to forecast/). Pure functions.

#include <vector>

namespace forecast::stats {

// Median of `v` (copied; NaN-free input expected). 0 for an empty vector.
double Median(std::vector<double> v);

// Population standard deviation. 0 for fewer than 2 values.
double StdDev(const std::vector<double>& v);

// The `level` quantile (0..1) of an ascending-sorted, non-empty vector, interpolated
// linearly between order statistics.
double SortedQuantile(const std::vector<double>& sorted, double level);

}  // namespace forecast::stats
