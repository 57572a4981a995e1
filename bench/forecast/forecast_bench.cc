// forecast_bench: fit + forecast speed (goals: daily + weekly seasonality, 1 h forecast,
// 2,016 points <= 1 ms median, 20,160 points <= 10 ms, 80,640 points <= 40 ms).
// Synthetic server-like load:
// daily and weekly cycles, a trend, seeded noise and a few spikes.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "forecast/forecast.h"

namespace {

constexpr double kPi = 3.14159265358979323846;

forecast::Series Load(int points, double step_seconds) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 3);
  forecast::Series s;
  for (int i = 0; i < points; ++i) {
    const double t = 1700000000 + i * step_seconds;
    double v = 200 + 0.0001 * i * step_seconds / 60 + 60 * std::sin(2 * kPi * t / 86400) +
               20 * std::sin(2 * kPi * t / 604800) + noise(rng);
    if (i % 997 == 0) v += 300;
    s.timestamps.push_back(t);
    s.values.push_back(v);
  }
  return s;
}

forecast::Options DailyWeekly() {
  forecast::Options o;
  (void)forecast::ParseSeasonality("1d,1w", o);
  return o;
}

// Fit + a 1 h forecast at the history's step with the 10 % and 90 % quantiles.
void BM_FitPredict(benchmark::State& state) {
  const int points = static_cast<int>(state.range(0));
  // 2,016 points = 7 days at 5 min; 20,160 points = 14 days at 1 min; 80,640 points =
  // 14 days at 15 s (what a 15 s scrape gives).
  const double step = points <= 2016 ? 300 : (points <= 20160 ? 60 : 15);
  const forecast::Series s = Load(points, step);
  const forecast::Options o = DailyWeekly();
  std::vector<double> ts;
  for (double h = step; h <= 3600; h += step) ts.push_back(s.timestamps.back() + h);
  for (auto _ : state) {
    auto m = forecast::Fit(s, o);
    if (!m.ok()) {
      state.SkipWithError(std::string(m.status().message()).c_str());
      break;
    }
    auto f = m->Predict(ts, {0.1, 0.9});
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations() * points);
}
BENCHMARK(BM_FitPredict)
    ->Arg(2016)
    ->Arg(20160)
    ->Arg(80640)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

// The same fit with known events and an excluded period (their cost: event columns in the
// regression, the exclusion check on every point): 14 days at 1 min, a 2-day event with a
// day before and after on days 3 and 10 and due again after the history, a one-day
// event, and a 4 h excluded period.
void BM_FitPredictWithEvents(benchmark::State& state) {
  const forecast::Series s = Load(20160, 60);
  forecast::Options o = DailyWeekly();
  const double day0 = std::floor(s.timestamps.front() / 86400) * 86400;
  for (int d : {3, 10, 15}) o.events.push_back({"sale", day0 + d * 86400, 2, 1, 1});
  o.events.push_back({"release", day0 + 6 * 86400, 1, 0, 0});
  o.exclude_periods.push_back({day0 + 8 * 86400 + 36000, day0 + 8 * 86400 + 50400});
  std::vector<double> ts;
  for (double h = 60; h <= 3600; h += 60) ts.push_back(s.timestamps.back() + h);
  for (auto _ : state) {
    auto m = forecast::Fit(s, o);
    if (!m.ok()) {
      state.SkipWithError(std::string(m.status().message()).c_str());
      break;
    }
    auto f = m->Predict(ts, {0.1, 0.9});
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations() * 20160);
}
BENCHMARK(BM_FitPredictWithEvents)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

// The scaler predicts at every refresh from a model fitted minutes earlier.
void BM_PredictWithRecent(benchmark::State& state) {
  const forecast::Series s = Load(20160, 60);
  auto m = forecast::Fit(s, DailyWeekly());
  forecast::Series recent;
  for (int k = 1; k <= 10; ++k) {
    recent.timestamps.push_back(s.timestamps.back() + 60 * k);
    recent.values.push_back(s.values.back());
  }
  std::vector<double> ts;
  for (int k = 11; k <= 70; ++k) ts.push_back(s.timestamps.back() + 60 * k);
  for (auto _ : state) {
    auto f = m->Predict(ts, {0.1, 0.5, 0.9}, recent);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_PredictWithRecent)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
