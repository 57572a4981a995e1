#include "scaler/policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace scaler {
namespace {

// Pending forecast points are bounded so that an object whose observations never line
// up with its forecasts (e.g. a source that stopped answering) cannot grow without end.
constexpr size_t kMaxPending = 20000;
constexpr size_t kMinScoredForRatio = 8;

std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

std::string FormatSeconds(double s) {
  char buf[64];
  if (s >= 86400 && std::fmod(s, 86400) == 0) {
    std::snprintf(buf, sizeof(buf), "%.0fd", s / 86400);
  } else if (s >= 3600 && std::fmod(s, 3600) == 0) {
    std::snprintf(buf, sizeof(buf), "%.0fh", s / 3600);
  } else if (s >= 60 && std::fmod(s, 60) == 0) {
    std::snprintf(buf, sizeof(buf), "%.0fm", s / 60);
  } else if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%.1fh", s / 3600);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%.1fm", s / 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0fs", s);
  }
  return buf;
}

// The row of `f` for `level`; the median is the point forecast when not requested.
const std::vector<double>* QuantileRow(const forecast::Forecast& f, double level) {
  if (const std::vector<double>* row = f.Quantile(level)) return row;
  if (std::fabs(level - 0.5) < 1e-9 && !f.yhat.empty()) return &f.yhat;
  return nullptr;
}

std::optional<double> MaxFinite(const std::vector<double>& v) {
  std::optional<double> best;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    if (!best || x > *best) best = x;
  }
  return best;
}

// Negative, NaN and infinite values become 0, as KEDA does with what it receives; doing
// it here keeps IsActive consistent with the value KEDA actually uses.
double Sanitize(double v) { return std::isfinite(v) && v > 0 ? v : 0.0; }

}  // namespace

absl::StatusOr<ShortfallBudget> ParseShortfall(const std::string& text) {
  std::string t;
  for (char c : text) {
    if (c != ' ' && c != '\t') t += c;
  }
  const bool percent = !t.empty() && t.back() == '%';
  const bool relative = !t.empty() && (t.back() == 'x' || t.back() == 'X');
  if (percent || relative) t.pop_back();
  char* end = nullptr;
  const double v = t.empty() ? std::nan("") : std::strtod(t.c_str(), &end);
  const bool parsed = !t.empty() && end == t.c_str() + t.size() && std::isfinite(v);
  ShortfallBudget b;
  b.relative = relative;
  b.value = percent ? v / 100 : v;
  if (!parsed || b.value <= 0 || b.value > (relative ? 1.0 : 0.5)) {
    return absl::InvalidArgumentError(
        "'" + text + "' is not a shortfall budget: expected a share of time in (0, 50%], "
        "written as a percentage such as 2% or 0.5% (or a fraction such as 0.02), or a "
        "multiple in (0, 1] of what reactive scaling would have, such as 0.5x");
  }
  return b;
}

std::string ShortfallName(const ShortfallBudget& b) {
  char buf[48];
  if (b.relative) {
    std::snprintf(buf, sizeof buf, "%gx reactive", b.value);
  } else {
    std::snprintf(buf, sizeof buf, "%g%%", b.value * 100);
  }
  return buf;
}

const char* ReasonName(Reason r) {
  switch (r) {
    case Reason::kForecast:
      return "forecast";
    case Reason::kCurrentAboveForecast:
      return "current_above_forecast";
    case Reason::kShadow:
      return "shadow";
    case Reason::kShortHistory:
      return "short_history";
    case Reason::kForecastError:
      return "forecast_error";
    case Reason::kNoForecast:
      return "no_forecast";
    case Reason::kNoCurrent:
      return "no_current";
    case Reason::kHeadroom:
      return "headroom";
    case Reason::kTrend:
      return "trend";
  }
  return "unknown";
}

bool IsFallback(Reason r) {
  return r == Reason::kShortHistory || r == Reason::kForecastError || r == Reason::kNoForecast;
}

Decision Decide(const PolicyConfig& config, const PolicyInput& input) {
  Decision d;
  if (input.current && std::isfinite(*input.current)) d.current = *input.current;

  const BudgetInput* budget = input.budget ? &*input.budget : nullptr;
  std::string peak_problem;
  if (budget != nullptr) {
    d.peak = budget->forecast_peak;
    if (!d.peak) {
      peak_problem = input.no_forecast_detail.empty() ? "no model" : input.no_forecast_detail;
    }
  } else if (input.forecast != nullptr) {
    const std::vector<double>* row = QuantileRow(*input.forecast, config.quantile);
    if (row == nullptr) {
      peak_problem = "the forecast has no quantile " + FormatNumber(config.quantile);
    } else {
      d.peak = MaxFinite(*row);
      if (!d.peak) peak_problem = "the forecast has no finite point over the horizon";
    }
  } else {
    peak_problem = input.no_forecast_detail.empty() ? "no model" : input.no_forecast_detail;
  }

  const std::string current_text =
      d.current ? "current " + FormatNumber(*d.current) : "no current value";
  const std::string budget_text = budget != nullptr && !budget->detail.empty()
                                      ? " [" + budget->detail + "]"
                                      : "";
  // Every fallback answers reactively: the current value (plus the budget's headroom
  // when it has one). Without a current value (a gap in the data) the forecast is the
  // only estimate left: its peak, whatever the gate thinks of it against a naive forecast
  // that has no value either; without both there is no answer (never a low number
  // standing for "unknown": KEDA then counts a failure, docs/keda.md §7).
  auto no_answer = [&](std::string why) {
    d.has_value = false;
    d.value = 0;
    d.detail = std::move(why) + "; no current value (newest sample older than 2 steps) and no "
               "forecast: no answer" + budget_text;
  };
  auto fallback = [&](Reason reason, std::string why) {
    d.reason = reason;
    if (!d.current) {
      if (!d.peak) return no_answer(std::move(why));
      d.value = Sanitize(*d.peak);
      d.detail = std::move(why) + "; no current value (newest sample older than 2 steps): "
                 "answering the forecast peak " + FormatNumber(*d.peak) + budget_text;
    } else if (budget != nullptr && budget->headroom_value) {
      d.value = Sanitize(*budget->headroom_value);
      d.detail = std::move(why) + "; answering " + current_text + " plus headroom: " +
                 FormatNumber(d.value) + budget_text;
    } else {
      d.value = Sanitize(d.current.value_or(0));
      d.detail = std::move(why) + "; answering " + current_text + budget_text;
    }
  };

  if (input.history_seconds < config.min_history_seconds) {
    fallback(Reason::kShortHistory, "history " + FormatSeconds(input.history_seconds) +
                                        " < minHistory " +
                                        FormatSeconds(config.min_history_seconds));
  } else if (!d.peak) {
    fallback(Reason::kNoForecast, "no forecast: " + peak_problem);
  } else if (input.error_ratio && *input.error_ratio > config.max_forecast_error) {
    fallback(Reason::kForecastError, "recent forecast error " + FormatNumber(*input.error_ratio) +
                                         "x the naive forecast's > maxForecastError " +
                                         FormatNumber(config.max_forecast_error));
  } else if (config.mode == Mode::kShadow) {
    d.reason = Reason::kShadow;
    if (!d.current) {
      no_answer("shadow mode (forecast peak " + FormatNumber(*d.peak) + " not used)");
    } else {
      d.value = Sanitize(*d.current);
      d.detail = "shadow mode: answering " + current_text + " (forecast peak " +
                 FormatNumber(*d.peak) + " not used)";
    }
  } else if (!d.current) {
    d.reason = Reason::kNoCurrent;
    d.value = Sanitize(*d.peak);
    d.detail = "no current value (newest sample older than 2 steps): answering the forecast peak " +
               FormatNumber(*d.peak) + budget_text;
  } else if (budget != nullptr && budget->use_headroom && budget->headroom_value) {
    if (budget->use_trend) {
      fallback(Reason::kTrend,
               "the current value plus its rise over the horizon (the last minutes' and earlier "
               "days') meets the shortfall budget more cheaply than the forecast (forecast peak " +
                   FormatNumber(*d.peak) + ")");
    } else {
      fallback(Reason::kHeadroom,
               "the current value plus headroom meets the shortfall budget more cheaply than "
               "the forecast (forecast peak " + FormatNumber(*d.peak) + ")");
    }
  } else if (budget != nullptr && budget->answer) {
    // The shape's answer includes its floor (the current value, in predictive mode).
    double value = std::max(*budget->answer, *d.peak);
    if (config.mode == Mode::kPredictive) value = std::max(value, *d.current);
    if (value > *d.peak) {
      d.reason = Reason::kCurrentAboveForecast;
      d.value = Sanitize(value);
      d.detail = current_text + " > forecast peak " + FormatNumber(*d.peak) +
                 ": answering the current value" + budget_text;
    } else {
      d.reason = Reason::kForecast;
      d.value = Sanitize(value);
      d.detail = "forecast peak " + FormatNumber(*d.peak) + " over the next " +
                 FormatSeconds(config.horizon_seconds) + " (" + current_text + ")" + budget_text;
    }
  } else if (config.mode == Mode::kPredictive && *d.current > *d.peak) {
    d.reason = Reason::kCurrentAboveForecast;
    d.value = Sanitize(*d.current);
    d.detail = "current " + FormatNumber(*d.current) + " > forecast peak " +
               FormatNumber(*d.peak) + ": answering the current value" + budget_text;
  } else {
    d.reason = Reason::kForecast;
    d.value = Sanitize(*d.peak);
    d.detail = "forecast peak " + FormatNumber(*d.peak) + " over the next " +
               FormatSeconds(config.horizon_seconds) + " (" + current_text + ")" + budget_text;
  }
  d.active = d.value > config.activation_threshold;
  return d;
}

ForecastErrorTracker::ForecastErrorTracker(size_t window)
    : window_(std::max<size_t>(window, 1)),
      pending_(kMaxPending),
      scored_(window_),
      abs_changes_(window_) {}

void ForecastErrorTracker::RecordForecast(double made_at, std::optional<double> current,
                                          const std::vector<double>& timestamps,
                                          const std::vector<double>& values) {
  // Without a value at forecast time there is no naive forecast to compare with.
  if (!current || !std::isfinite(*current)) return;
  const size_t n = std::min(timestamps.size(), values.size());
  for (size_t i = 0; i < n; ++i) {
    if (!(timestamps[i] > made_at) || !std::isfinite(values[i])) continue;
    // Past kMaxPending the oldest is dropped.
    pending_.push_back(Pending{timestamps[i], values[i], *current});
  }
}

void ForecastErrorTracker::Observe(const std::vector<double>& timestamps,
                                   const std::vector<double>& values, double step_seconds) {
  const double half_step = step_seconds > 0 ? step_seconds / 2 : 0;
  const size_t n = std::min(timestamps.size(), values.size());
  std::optional<double> newest;
  for (size_t i = 0; i < n; ++i) {
    const double t = timestamps[i];
    const double v = values[i];
    if (!std::isfinite(t) || !std::isfinite(v)) continue;
    if (last_observed_ && t <= last_observed_timestamp_) continue;  // already seen
    // One-step changes only: a change across a gap is not a one-step naive error.
    if (last_observed_ && (step_seconds <= 0 || t - last_observed_timestamp_ <= 1.5 * step_seconds)) {
      abs_changes_.push_back(std::fabs(v - *last_observed_));  // the newest window_ stay
    }
    last_observed_ = v;
    last_observed_timestamp_ = t;
    newest = t;

    // Every refresh forecasts the same upcoming targets again (at 30 s refreshes and a
    // 5-minute step, ten times each): the target is scored once, with the mean error of
    // the forecasts that predicted it, so that the window and the minimum count
    // observations, not how often they were forecast.
    double model_sum = 0, naive_sum = 0;
    size_t matched = 0;
    pending_.EraseIf([&](const Pending& p) {
      if (std::fabs(p.timestamp - t) > half_step) return false;
      model_sum += std::fabs(p.forecast - v);
      naive_sum += std::fabs(p.naive - v);
      ++matched;
      return true;
    });
    if (matched > 0) {
      scored_.push_back(Scored{model_sum / static_cast<double>(matched),
                               naive_sum / static_cast<double>(matched)});
    }
  }
  if (newest) {
    // Points the observations have passed without matching fell into a gap: drop them.
    const double cutoff = *newest - half_step;
    pending_.EraseIf([cutoff](const Pending& p) { return p.timestamp < cutoff; });
  }
}

std::optional<double> ForecastErrorTracker::Ratio() const {
  if (scored_.size() < kMinScoredForRatio) return std::nullopt;
  double model = 0, naive = 0;
  for (const Scored& s : scored_) {
    model += s.model_error;
    naive += s.naive_error;
  }
  if (naive <= 0) return std::nullopt;
  return model / naive;
}

std::optional<double> ForecastErrorTracker::Mase() const {
  if (scored_.empty() || abs_changes_.empty()) return std::nullopt;
  double model = 0;
  for (const Scored& s : scored_) model += s.model_error;
  double changes = 0;
  for (double c : abs_changes_) changes += c;
  const double scale = changes / abs_changes_.size();
  if (scale <= 0) return std::nullopt;
  return (model / scored_.size()) / scale;
}

}  // namespace scaler
