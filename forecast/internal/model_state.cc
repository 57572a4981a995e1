#include "forecast/internal/model_state.h"

#include <algorithm>
#include <cmath>

namespace forecast::internal {

double Scaling::Transform(double y) const {
  if (!logistic) return y;
  const double u = std::clamp((y - floor) / (cap - floor), kLogitClip, 1 - kLogitClip);
  return std::log(u / (1 - u));
}

double Scaling::ToRaw(double ys) const {
  const double g = y_offset + y_scale * ys;
  if (!logistic) return g;
  return floor + (cap - floor) / (1 + std::exp(-g));
}

double Trend::At(double ts) const {
  auto at = [&](double x) {
    double v = m + k * x;
    for (size_t j = 0; j < cp.size(); ++j) {
      if (x > cp[j]) v += delta[j] * (x - cp[j]);
    }
    for (size_t j = 0; j < shift_at.size(); ++j) {
      if (x >= shift_at[j]) v += shift_size[j];
    }
    return v;
  };
  if (ts <= ts_end || damping <= 0) return at(ts);
  double slope = k;
  for (size_t j = 0; j < cp.size(); ++j) {
    if (ts_end > cp[j]) slope += delta[j];
  }
  const double d = ts - ts_end;
  return at(ts_end) + slope * damping * (1 - std::exp(-d / damping));
}

double Season::At(double t, double t0) const {
  // cos/sin of k theta by the angle-addition recurrence: two trigonometric calls per point.
  const double theta = kTwoPi * std::fmod(t - t0, period_seconds) / period_seconds;
  const double c1 = std::cos(theta), s1 = std::sin(theta);
  double c = c1, sn = s1, v = 0;
  for (int i = 0; i < order; ++i) {
    v += coef[2 * i] * c + coef[2 * i + 1] * sn;
    const double nc = c * c1 - sn * s1;
    sn = sn * c1 + c * s1;
    c = nc;
  }
  return v;
}

size_t DailyProfile::BinOf(double t, double t0, size_t n_bins) {
  const double phase = std::fmod(t - t0, kDay);
  auto b = static_cast<long long>(std::llround(phase / kDay * static_cast<double>(n_bins)));
  b %= static_cast<long long>(n_bins);
  if (b < 0) b += static_cast<long long>(n_bins);
  return static_cast<size_t>(b);
}

double Intervals::LevelWidth(double raw_level) const {
  if (level_power == 0) return 1.0;
  const double r = (std::max(raw_level, 0.0) + level_kappa) / level_norm;
  if (level_power == 1) return r;
  if (level_power == 0.5) return std::sqrt(r);
  return std::pow(r, level_power);
}

}  // namespace forecast::internal

namespace forecast {

double Model::State::Deterministic(double t, double* trend_out) const {
  const double tr = trend.At(scaling.ScaledTime(t));
  const double mult = SeasonFactor(tr);
  double v = tr + profile.At(t, scaling.t0);
  for (const internal::Season& s : seasons) v += mult * s.At(t, scaling.t0);
  if (trend_out != nullptr) *trend_out = tr;
  return v;
}

}  // namespace forecast
