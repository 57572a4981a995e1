// augur-forecast backtest: the accuracy protocol (the team's bench/PROTOCOL.md) on one
// series, so that users can check the model on their own metric: rolling origins over
// the last 30 % of the series, the model and the naive last-value forecast scored side
// by side at each horizon.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "common/flags.h"
#include "forecast/forecast.h"

namespace cli {
namespace {

namespace po = boost::program_options;

constexpr double kDay = 86400;

struct Scores {
  std::vector<double> err, cover, under, over, peak, fit_ms;
};

std::string Fixed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

double Mean(const std::vector<double>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

class BacktestCommand final : public Command {
 public:
  std::string Caption() const override {
    return "Usage: augur-forecast backtest --input SERIES.csv [options]\n\n"
           "Scores the model on your own timestamp,value series with the accuracy protocol:\n"
           "forecasts from rolling origins over the last 30 % of the series, each given at most\n"
           "--history of the past, scored per horizon against the naive last-value forecast.\n"
           "mase = MAE / in-sample MAE of the one-day seasonal naive forecast before the first\n"
           "origin; peak_under = share of origins whose forecast peak is below the actual peak;\n"
           "peak_over = mean surplus of the forecast peak, relative to the mean actual peak.\n\n"
           "Options";
  }

  void DefineFlags(common::FlagSet& flags) override {
    // clang-format off
    flags.Add()
        ("input", po::value(&input_), "series CSV (timestamp,value); - for stdin")
        ("horizon", po::value(&horizons_text_)->default_value(horizons_text_),
         "comma-separated horizons to score, e.g. 5m,10m,60m")
        ("origins", po::value(&origins_)->default_value(origins_), "number of forecast origins")
        ("history", po::value(&history_text_)->default_value(history_text_),
         "most history given to the model at each origin")
        ("min-history", po::value(&min_history_text_)->default_value(min_history_text_),
         "no origin with less history than this")
        ("interval", po::value(&interval_)->default_value(interval_),
         "central interval whose coverage is scored");
    // clang-format on
    model_.Define(flags);
  }

  absl::Status Run(const common::FlagSet&, const CommandEnv& env) override;

 private:
  std::string input_, horizons_text_ = "10m,60m", history_text_ = "14d",
                      min_history_text_ = "3d";
  int origins_ = 24;
  double interval_ = 0.8;
  ModelFlags model_;
};

absl::Status BacktestCommand::Run(const common::FlagSet&, const CommandEnv& env) {
  if (input_.empty()) return common::UsageError("--input is required");
  if (origins_ < 2 || origins_ > 10000) return common::UsageError("--origins must be in [2, 10000]");
  if (!(interval_ > 0 && interval_ < 1)) return common::UsageError("--interval must be in (0, 1)");
  std::vector<std::pair<std::string, double>> horizons;
  for (absl::string_view part : absl::StrSplit(horizons_text_, ',')) {
    absl::StatusOr<double> h = common::DurationFlagSeconds("horizon", part);
    if (!h.ok() || !(*h > 0)) {
      return common::UsageError(
          absl::StrCat("--horizon \"", part, "\": expected durations such as 10m,60m"));
    }
    horizons.emplace_back(std::string(part), *h);
  }
  absl::StatusOr<double> history = common::DurationFlagSeconds("history", history_text_);
  if (!history.ok() || !(*history > 0)) {
    return common::UsageError("--history: expected a duration such as 14d");
  }
  absl::StatusOr<double> min_history =
      common::DurationFlagSeconds("min-history", min_history_text_);
  if (!min_history.ok() || !(*min_history >= 0)) {
    return common::UsageError("--min-history: expected a duration such as 3d");
  }
  absl::StatusOr<forecast::Options> options = model_.ToOptions();
  if (!options.ok()) return options.status();

  absl::StatusOr<forecast::Series> series = ReadInput(input_, *env.in);
  if (!series.ok()) return series.status();
  // Sorted, unique, finite rows (duplicates averaged, as Fit does).
  std::map<double, std::pair<double, int>> merged;
  for (size_t i = 0; i < series->timestamps.size(); ++i) {
    if (!std::isfinite(series->values[i])) continue;
    auto& slot = merged[series->timestamps[i]];
    slot.first += series->values[i];
    slot.second += 1;
  }
  std::vector<double> t, y;
  for (const auto& [ts, sum] : merged) {
    t.push_back(ts);
    y.push_back(sum.first / sum.second);
  }
  if (t.size() < 3) {
    return absl::FailedPreconditionError(
        absl::StrCat("need at least 3 finite points, got ", t.size()));
  }
  std::vector<double> d(t.size() - 1);
  for (size_t i = 0; i + 1 < t.size(); ++i) d[i] = t[i + 1] - t[i];
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  const double step = d[d.size() / 2];
  double max_h = 0;
  for (const auto& h : horizons) max_h = std::max(max_h, h.second);
  const size_t steps_ahead = std::max<size_t>(1, static_cast<size_t>(std::llround(max_h / step)));

  // Origins: evenly over the last 30 %, none with less than --min-history before it and
  // none within the largest horizon of the end.
  const size_t n = t.size();
  size_t lo = static_cast<size_t>(static_cast<double>(n) * 0.7);
  size_t first_ok = n;
  for (size_t i = 0; i < n; ++i) {
    if (t[i] - t[0] >= *min_history) {
      first_ok = i;
      break;
    }
  }
  lo = std::max(lo, first_ok);
  if (n < steps_ahead + 2 || lo >= n - 1 - steps_ahead) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no forecast origin: the series (", n, " points over ",
        FormatNumber((t.back() - t[0]) / 3600), " h) needs --min-history ", min_history_text_,
        " before its last 30 % and ", FormatNumber(max_h / 60), " min of data after each origin"));
  }
  const size_t hi = n - 1 - steps_ahead;
  std::vector<size_t> origin_idx;
  for (int k = 0; k < origins_; ++k) {
    origin_idx.push_back(lo +
                         (hi - lo) * static_cast<size_t>(k) / static_cast<size_t>(origins_ - 1));
  }
  origin_idx.erase(std::unique(origin_idx.begin(), origin_idx.end()), origin_idx.end());

  // MASE scale: in-sample MAE of the one-day seasonal naive forecast up to the first origin.
  const size_t head = origin_idx.front() + 1;
  size_t period = 1;
  if (static_cast<double>(head) * step > 2 * kDay) {
    period = std::max<size_t>(1, static_cast<size_t>(std::llround(kDay / step)));
  }
  double scale = 0;
  for (size_t i = period; i < head; ++i) scale += std::abs(y[i] - y[i - period]);
  scale = head > period ? scale / static_cast<double>(head - period) : NAN;

  std::map<double, size_t> index_of;
  for (size_t i = 0; i < n; ++i) index_of[t[i]] = i;
  const double lo_q = (1 - interval_) / 2, hi_q = 1 - lo_q;
  const double z = [&] {
    // Normal quantile for the naive forecast's interval, by bisection on erfc.
    double a = 0, b = 10;
    for (int i = 0; i < 100; ++i) {
      const double m = (a + b) / 2;
      (0.5 * std::erfc(-m / std::sqrt(2.0)) < hi_q ? a : b) = m;
    }
    return (a + b) / 2;
  }();
  // Excluded periods are neither fitted (Fit drops them) nor scored: an outage's zeros say
  // nothing about the forecast, and an origin inside one would give the naive forecast 0.
  auto excluded = [&](double at) {
    for (const forecast::ExcludedPeriod& p : options->exclude_periods) {
      if (at >= p.start && at < p.end) return true;
    }
    return false;
  };
  std::map<std::string, std::map<std::string, Scores>> scores;  // method -> horizon
  for (size_t oi : origin_idx) {
    const double t0 = t[oi];
    if (excluded(t0)) continue;
    forecast::Series hist;
    for (size_t i = 0; i <= oi; ++i) {
      if (t[i] > t0 - *history) {
        hist.timestamps.push_back(t[i]);
        hist.values.push_back(y[i]);
      }
    }
    std::vector<double> ts;
    for (size_t k = 1; k <= steps_ahead; ++k) ts.push_back(t0 + static_cast<double>(k) * step);
    const auto start = std::chrono::steady_clock::now();
    auto fitted = forecast::Fit(hist, *options);
    if (!fitted.ok()) {
      return absl::Status(fitted.status().code(),
                          absl::StrCat("origin ", FormatNumber(t0), ": ", fitted.status().message()));
    }
    auto fc = fitted->Predict(ts, {lo_q, hi_q});
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!fc.ok()) {
      return fc.status();
    }
    // Naive: the last value, with a random-walk interval from the history's differences.
    double ss = 0;
    size_t cnt = 0;
    for (size_t i = 1; i < hist.values.size(); ++i) {
      const double dv = hist.values[i] - hist.values[i - 1];
      ss += dv * dv;
      ++cnt;
    }
    const double sd = cnt > 0 ? std::sqrt(ss / static_cast<double>(cnt)) : 0.0;
    struct Method {
      std::string name;
      std::vector<double> yhat, lower, upper;
    } methods[2];
    methods[0] = {"augur", fc->yhat, fc->quantiles[0], fc->quantiles[1]};
    methods[1].name = "naive";
    for (size_t k = 0; k < ts.size(); ++k) {
      const double w = z * sd * std::sqrt(static_cast<double>(k + 1));
      methods[1].yhat.push_back(y[oi]);
      methods[1].lower.push_back(y[oi] - w);
      methods[1].upper.push_back(y[oi] + w);
    }
    for (const Method& m : methods) {
      for (const auto& [hname, hsec] : horizons) {
        Scores& s = scores[m.name][hname];
        double peak_y = -INFINITY, peak_f = -INFINITY;
        bool any = false;
        for (size_t k = 0; k < ts.size(); ++k) {
          if (ts[k] - t0 > hsec + 1e-9) break;
          auto it = index_of.find(ts[k]);
          if (it == index_of.end() || excluded(ts[k])) continue;
          const double actual = y[it->second];
          any = true;
          s.err.push_back(std::abs(actual - m.yhat[k]));
          s.cover.push_back(m.lower[k] <= actual && actual <= m.upper[k]);
          peak_y = std::max(peak_y, actual);
          peak_f = std::max(peak_f, m.yhat[k]);
        }
        if (any) {
          s.under.push_back(peak_f < peak_y);
          s.over.push_back(std::max(peak_f - peak_y, 0.0));
          s.peak.push_back(peak_y);
          if (m.name == "augur") s.fit_ms.push_back(ms);
        }
      }
    }
  }
  *env.out << "method,horizon,origins,mae,mase,coverage80,peak_under,peak_over,median_fit_ms\n";
  for (const char* method : {"augur", "naive"}) {
    for (const auto& [hname, hsec] : horizons) {
      const Scores& s = scores[method][hname];
      if (s.err.empty()) continue;
      const double mae = Mean(s.err);
      std::vector<double> fit = s.fit_ms;
      double median_ms = NAN;
      if (!fit.empty()) {
        std::sort(fit.begin(), fit.end());
        median_ms = fit[fit.size() / 2];
      }
      *env.out << method << "," << hname << "," << s.under.size() << "," << Fixed(mae) << ","
                << Fixed(mae / scale) << "," << Fixed(Mean(s.cover)) << "," << Fixed(Mean(s.under))
                << "," << Fixed(Mean(s.over) / Mean(s.peak)) << ","
                << (std::isnan(median_ms) ? std::string() : Fixed(median_ms)) << "\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Command> NewBacktestCommand() { return std::make_unique<BacktestCommand>(); }

}  // namespace cli
