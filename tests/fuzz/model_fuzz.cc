// Fuzz target: the forecast model itself (forecast/forecast.h Fit and Predict) on series
// the bytes describe, where a real metric's history can be anything: gaps, spikes,
// constants, exact zeros, a pattern that repeats to the step. Properties: Fit either
// succeeds or fails with a message; a fitted model's Predict succeeds at the next hour
// (with and without newer samples), and its point forecast and quantiles are finite and
// ordered.
//
// The input: byte 0 chooses the step (15 s, 1 min or 5 min: bits 0-1), whether the
// payload's own period is given as a seasonality (bit 2: so the model and its blend's
// seasonal-naive member see a pattern that repeats exactly), whether newer samples go to
// Predict (bit 3), whether the level drifts (bit 4) and whether the history has a gap
// (bit 5). The other bytes are the payload, repeated to make at most kMaxPoints samples
// (at least 6 periods of it): a byte is a value 0..253, 254 a missing sample (NaN) and
// 255 a spike of 1e9.

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "forecast/forecast.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr size_t kMaxPoints = 3000;
constexpr double kT0 = 1700000000;

double ValueOf(uint8_t b, size_t i, bool drift) {
  if (b == 254) return std::numeric_limits<double>::quiet_NaN();
  if (b == 255) return 1e9;
  return b + (drift ? 0.01 * static_cast<double>(i) : 0.0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const double steps[] = {15, 60, 300, 60};
  const double step = steps[flags & 3];
  const bool with_period = (flags & 4) != 0, with_recent = (flags & 8) != 0;
  const bool drift = (flags & 16) != 0, with_gap = (flags & 32) != 0;
  const uint8_t* payload = data + 1;
  const size_t L = size - 1;
  const size_t n = std::min(kMaxPoints, std::max<size_t>(6 * L, 2));
  forecast::Series history, recent;
  for (size_t i = 0; i < n + 5; ++i) {
    if (with_gap && i > n / 3 && i < n / 3 + 20) continue;
    const double t = kT0 + static_cast<double>(i) * step;
    const double v = ValueOf(payload[i % L], i, drift);
    forecast::Series& into = i < n ? history : recent;
    into.timestamps.push_back(t);
    into.values.push_back(v);
  }
  forecast::Options options;
  const double period = static_cast<double>(L) * step;
  if (with_period && L >= 2) {
    forecast::Seasonality s;
    s.name = "fuzz";
    s.period_seconds = period;
    options.seasonalities.push_back(s);
  }
  absl::StatusOr<forecast::Model> model = forecast::Fit(history, options);
  if (!model.ok()) {
    FUZZ_CHECK(!model.status().message().empty());
    return 0;
  }
  std::vector<double> ts;
  const double last = kT0 + static_cast<double>(n - 1) * step;
  for (double h = step; h <= 3600; h += step) ts.push_back(last + h);
  for (const forecast::Series& r : {forecast::Series{}, with_recent ? recent : forecast::Series{}}) {
    absl::StatusOr<forecast::Forecast> fc = model->Predict(ts, {0.1, 0.5, 0.9}, r);
    FUZZ_CHECK(fc.ok());
    FUZZ_CHECK(fc->yhat.size() == ts.size());
    FUZZ_CHECK(fc->quantiles.size() == 3);
    for (size_t j = 0; j < ts.size(); ++j) {
      FUZZ_CHECK(std::isfinite(fc->yhat[j]));
      for (const std::vector<double>& q : fc->quantiles) FUZZ_CHECK(std::isfinite(q[j]));
      const double scale = 1 + std::abs(fc->yhat[j]);
      FUZZ_CHECK(fc->quantiles[0][j] <= fc->quantiles[2][j] + 1e-9 * scale);
    }
  }
  return 0;
}
