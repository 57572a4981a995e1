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
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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
using ScoreTable = std::map<std::string, std::map<std::string, Scores>>;  // method -> horizon

std::string Fixed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

double Mean(const std::vector<double>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// The validated options of a run.
struct Settings {
  std::vector<std::pair<std::string, double>> horizons;  // as typed, in seconds
  double max_horizon = 0;
  double history = 0, min_history = 0;  // seconds
  forecast::Options options;
};

// The series as scored: sorted, unique, finite rows (duplicates averaged, as Fit does),
// and its step (the median spacing).
struct CleanSeries {
  std::vector<double> t, y;
  double step = 0;
  std::map<double, size_t> index_of;  // timestamp -> row
};

absl::StatusOr<CleanSeries> Clean(const forecast::Series& series) {
  std::map<double, std::pair<double, int>> merged;
  for (size_t i = 0; i < series.timestamps.size(); ++i) {
    if (!std::isfinite(series.values[i])) continue;
    auto& slot = merged[series.timestamps[i]];
    slot.first += series.values[i];
    slot.second += 1;
  }
  CleanSeries c;
  for (const auto& [ts, sum] : merged) {
    c.index_of[ts] = c.t.size();
    c.t.push_back(ts);
    c.y.push_back(sum.first / sum.second);
  }
  if (c.t.size() < 3) {
    return absl::FailedPreconditionError(
        absl::StrCat("need at least 3 finite points, got ", c.t.size()));
  }
  std::vector<double> d(c.t.size() - 1);
  for (size_t i = 0; i + 1 < c.t.size(); ++i) d[i] = c.t[i + 1] - c.t[i];
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  c.step = d[d.size() / 2];
  return c;
}

// Origins: `count` evenly over the last 30 %, none with less than `min_history` before it
// and none within `steps_ahead` steps of the end.
absl::StatusOr<std::vector<size_t>> Origins(const CleanSeries& c, const Settings& settings,
                                            size_t steps_ahead, int count,
                                            const std::string& min_history_text) {
  const std::vector<double>& t = c.t;
  const size_t n = t.size();
  size_t lo = static_cast<size_t>(static_cast<double>(n) * 0.7);
  size_t first_ok = n;
  for (size_t i = 0; i < n; ++i) {
    if (t[i] - t[0] >= settings.min_history) {
      first_ok = i;
      break;
    }
  }
  lo = std::max(lo, first_ok);
  if (n < steps_ahead + 2 || lo >= n - 1 - steps_ahead) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no forecast origin: the series (", n, " points over ",
        FormatNumber((t.back() - t[0]) / 3600), " h) needs --min-history ", min_history_text,
        " before its last 30 % and ", FormatNumber(settings.max_horizon / 60),
        " min of data after each origin"));
  }
  const size_t hi = n - 1 - steps_ahead;
  std::vector<size_t> origin_idx;
  for (int k = 0; k < count; ++k) {
    origin_idx.push_back(lo + (hi - lo) * static_cast<size_t>(k) / static_cast<size_t>(count - 1));
  }
  origin_idx.erase(std::unique(origin_idx.begin(), origin_idx.end()), origin_idx.end());
  return origin_idx;
}

// MASE scale: in-sample MAE of the one-day seasonal naive forecast over the first `head`
// rows (up to the first origin).
double MaseScale(const CleanSeries& c, size_t head) {
  size_t period = 1;
  if (static_cast<double>(head) * c.step > 2 * kDay) {
    period = std::max<size_t>(1, static_cast<size_t>(std::llround(kDay / c.step)));
  }
  double scale = 0;
  for (size_t i = period; i < head; ++i) scale += std::abs(c.y[i] - c.y[i - period]);
  return head > period ? scale / static_cast<double>(head - period) : NAN;
}

// The standard normal quantile of `p` in (0.5, 1), by bisection on erfc.
double NormalQuantile(double p) {
  double a = 0, b = 10;
  for (int i = 0; i < 100; ++i) {
    const double m = (a + b) / 2;
    (0.5 * std::erfc(-m / std::sqrt(2.0)) < p ? a : b) = m;
  }
  return (a + b) / 2;
}

// One method's forecast from one origin, at the forecast times.
struct Method {
  std::string name;
  std::vector<double> yhat, lower, upper;
};

// Scores one origin: the model (fitted on at most settings.history before it) and the
// naive last value, with a random-walk interval from the history's differences, at each
// horizon. Excluded periods are neither fitted (Fit drops them) nor scored: an outage's
// zeros say nothing about the forecast, and an origin inside one would give the naive
// forecast 0.
class OriginScorer {
 public:
  OriginScorer(const CleanSeries& c, const Settings& settings, size_t steps_ahead,
               double interval, ScoreTable& scores)
      : c_(c), settings_(settings), steps_ahead_(steps_ahead), lo_q_((1 - interval) / 2),
        hi_q_(1 - lo_q_), z_(NormalQuantile(hi_q_)), scores_(scores) {}

  bool Excluded(double at) const {
    for (const forecast::ExcludedPeriod& p : settings_.options.exclude_periods) {
      if (at >= p.start && at < p.end) return true;
    }
    return false;
  }

  absl::Status Score(size_t oi) {
    const double t0 = c_.t[oi];
    if (Excluded(t0)) return absl::OkStatus();
    forecast::Series hist;
    for (size_t i = 0; i <= oi; ++i) {
      if (c_.t[i] > t0 - settings_.history) {
        hist.timestamps.push_back(c_.t[i]);
        hist.values.push_back(c_.y[i]);
      }
    }
    std::vector<double> ts;
    for (size_t k = 1; k <= steps_ahead_; ++k) ts.push_back(t0 + static_cast<double>(k) * c_.step);
    const auto start = std::chrono::steady_clock::now();
    auto fitted = forecast::Fit(hist, settings_.options);
    if (!fitted.ok()) {
      return absl::Status(fitted.status().code(),
                          absl::StrCat("origin ", FormatNumber(t0), ": ", fitted.status().message()));
    }
    auto fc = fitted->Predict(ts, {lo_q_, hi_q_});
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!fc.ok()) {
      return fc.status();
    }
    const Method methods[2] = {{"augur", fc->yhat, fc->quantiles[0], fc->quantiles[1]},
                               Naive(hist, c_.y[oi], ts.size())};
    for (const Method& m : methods) Record(m, t0, ts, ms);
    return absl::OkStatus();
  }

 private:
  // The last value, with a random-walk interval from the history's differences.
  Method Naive(const forecast::Series& hist, double last, size_t points) const {
    double ss = 0;
    size_t cnt = 0;
    for (size_t i = 1; i < hist.values.size(); ++i) {
      const double dv = hist.values[i] - hist.values[i - 1];
      ss += dv * dv;
      ++cnt;
    }
    const double sd = cnt > 0 ? std::sqrt(ss / static_cast<double>(cnt)) : 0.0;
    Method naive;
    naive.name = "naive";
    for (size_t k = 0; k < points; ++k) {
      const double w = z_ * sd * std::sqrt(static_cast<double>(k + 1));
      naive.yhat.push_back(last);
      naive.lower.push_back(last - w);
      naive.upper.push_back(last + w);
    }
    return naive;
  }

  // Adds `m`'s errors, coverage and peaks from origin `t0` to its scores at each horizon.
  void Record(const Method& m, double t0, const std::vector<double>& ts, double fit_ms) {
    for (const auto& [hname, hsec] : settings_.horizons) {
      Scores& s = scores_[m.name][hname];
      double peak_y = -INFINITY, peak_f = -INFINITY;
      bool any = false;
      for (size_t k = 0; k < ts.size(); ++k) {
        if (ts[k] - t0 > hsec + 1e-9) break;
        auto it = c_.index_of.find(ts[k]);
        if (it == c_.index_of.end() || Excluded(ts[k])) continue;
        const double actual = c_.y[it->second];
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
        if (m.name == "augur") s.fit_ms.push_back(fit_ms);
      }
    }
  }

  const CleanSeries& c_;
  const Settings& settings_;
  const size_t steps_ahead_;
  const double lo_q_, hi_q_, z_;
  ScoreTable& scores_;
};

// The CSV report: one row per method and horizon that has scores.
void PrintScores(const ScoreTable& scores, const Settings& settings, double scale,
                 std::ostream& out) {
  out << "method,horizon,origins,mae,mase,coverage80,peak_under,peak_over,median_fit_ms\n";
  for (const char* method : {"augur", "naive"}) {
    auto by_horizon = scores.find(method);
    if (by_horizon == scores.end()) continue;
    for (const auto& [hname, hsec] : settings.horizons) {
      auto found = by_horizon->second.find(hname);
      if (found == by_horizon->second.end() || found->second.err.empty()) continue;
      const Scores& s = found->second;
      const double mae = Mean(s.err);
      std::vector<double> fit = s.fit_ms;
      double median_ms = NAN;
      if (!fit.empty()) {
        std::sort(fit.begin(), fit.end());
        median_ms = fit[fit.size() / 2];
      }
      out << method << "," << hname << "," << s.under.size() << "," << Fixed(mae) << ","
          << Fixed(mae / scale) << "," << Fixed(Mean(s.cover)) << "," << Fixed(Mean(s.under))
          << "," << Fixed(Mean(s.over) / Mean(s.peak)) << ","
          << (std::isnan(median_ms) ? std::string() : Fixed(median_ms)) << "\n";
    }
  }
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
  // The flags, checked. Errors: usage errors naming the flag; the model flags' errors.
  absl::StatusOr<Settings> Validate() const;

  std::string input_, horizons_text_ = "10m,60m", history_text_ = "14d",
                      min_history_text_ = "3d";
  int origins_ = 24;
  double interval_ = 0.8;
  ModelFlags model_;
};

absl::StatusOr<Settings> BacktestCommand::Validate() const {
  if (input_.empty()) return common::UsageError("--input is required");
  if (origins_ < 2 || origins_ > 10000) return common::UsageError("--origins must be in [2, 10000]");
  if (!(interval_ > 0 && interval_ < 1)) return common::UsageError("--interval must be in (0, 1)");
  Settings settings;
  for (absl::string_view part : absl::StrSplit(horizons_text_, ',')) {
    absl::StatusOr<double> h = common::DurationFlagSeconds("horizon", part);
    if (!h.ok() || !(*h > 0)) {
      return common::UsageError(
          absl::StrCat("--horizon \"", part, "\": expected durations such as 10m,60m"));
    }
    settings.horizons.emplace_back(std::string(part), *h);
    settings.max_horizon = std::max(settings.max_horizon, *h);
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
  settings.history = *history;
  settings.min_history = *min_history;
  absl::StatusOr<forecast::Options> options = model_.ToOptions();
  if (!options.ok()) return options.status();
  settings.options = *std::move(options);
  return settings;
}

absl::Status BacktestCommand::Run(const common::FlagSet&, const CommandEnv& env) {
  absl::StatusOr<Settings> settings = Validate();
  if (!settings.ok()) return settings.status();
  absl::StatusOr<forecast::Series> series = ReadInput(input_, *env.in);
  if (!series.ok()) return series.status();
  absl::StatusOr<CleanSeries> clean = Clean(*series);
  if (!clean.ok()) return clean.status();
  const size_t steps_ahead =
      std::max<size_t>(1, static_cast<size_t>(std::llround(settings->max_horizon / clean->step)));
  absl::StatusOr<std::vector<size_t>> origins =
      Origins(*clean, *settings, steps_ahead, origins_, min_history_text_);
  if (!origins.ok()) return origins.status();
  const double scale = MaseScale(*clean, origins->front() + 1);

  ScoreTable scores;
  OriginScorer scorer(*clean, *settings, steps_ahead, interval_, scores);
  for (size_t oi : *origins) {
    absl::Status s = scorer.Score(oi);
    if (!s.ok()) return s;
  }
  PrintScores(scores, *settings, scale, *env.out);
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Command> NewBacktestCommand() { return std::make_unique<BacktestCommand>(); }

}  // namespace cli
