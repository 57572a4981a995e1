// Options::Validate and ParseSeasonality: the checks and the parsing of what users pass
// (flags, scalerMetadata), before anything is fitted.
#include <cctype>
#include <cmath>
#include <set>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/duration.h"
#include "forecast/forecast.h"
#include "forecast/internal/model_state.h"

namespace forecast {

using internal::kDay;
using internal::kWeek;

namespace {

// Names a user could take for another component in the forecast's components.
bool ReservedEventName(const std::string& name) {
  for (const char* r : {"trend", "daily", "weekly", "hourly", "profile", "correction"}) {
    if (name == r) return true;
  }
  return false;
}

bool ValidEventName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

absl::Status ValidateEvents(const Options& o) {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (!(o.event_prior_scale > 0) || !std::isfinite(o.event_prior_scale)) {
    return bad(absl::StrFormat("event_prior_scale must be > 0, got %g", o.event_prior_scale));
  }
  if (o.events.size() > static_cast<size_t>(kMaxEvents)) {
    return bad(absl::StrCat(o.events.size(), " event occurrences: at most ", kMaxEvents));
  }
  std::set<std::pair<std::string, int>> effects;
  for (const Event& e : o.events) {
    if (!ValidEventName(e.name)) {
      return bad(absl::StrCat("event name \"", e.name,
                              "\": expected a letter then letters, digits, _ or - (at most 63)"));
    }
    if (ReservedEventName(e.name)) {
      return bad(absl::StrCat("event name \"", e.name,
                              "\" is the name of another component: choose another"));
    }
    if (!std::isfinite(e.start)) {
      return bad(absl::StrCat("event ", e.name, ": start is not finite"));
    }
    if (e.days < 1 || e.days_before < 0 || e.days_after < 0 ||
        e.days + e.days_before + e.days_after > kMaxEventDays) {
      return bad(absl::StrFormat(
          "event %s: days=%d, days_before=%d, days_after=%d: expected days >= 1, windows >= 0 "
          "and at most %d days in all",
          e.name, e.days, e.days_before, e.days_after, kMaxEventDays));
    }
    for (int d = -e.days_before; d < e.days + e.days_after; ++d) effects.insert({e.name, d});
  }
  if (effects.size() > static_cast<size_t>(kMaxEventEffects)) {
    return bad(absl::StrCat("events have ", effects.size(), " distinct day effects: at most ",
                            kMaxEventEffects));
  }
  if (o.exclude_periods.size() > static_cast<size_t>(kMaxExcludedPeriods)) {
    return bad(absl::StrCat(o.exclude_periods.size(), " excluded periods: at most ",
                            kMaxExcludedPeriods));
  }
  for (const ExcludedPeriod& p : o.exclude_periods) {
    if (!std::isfinite(p.start) || !std::isfinite(p.end) || !(p.end > p.start)) {
      return bad(absl::StrFormat("excluded period [%g, %g): expected finite start < end",
                                 p.start, p.end));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Options::Validate() const {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (growth == Growth::kLogistic) {
    if (!cap.has_value()) {
      return bad("logistic growth needs a cap (the upper saturation, e.g. 100 for CPU %)");
    }
    const double f = floor.value_or(0.0);
    if (!std::isfinite(*cap) || !std::isfinite(f) || *cap <= f) {
      return bad(absl::StrFormat("logistic growth needs finite cap > floor, got cap=%g floor=%g",
                                 *cap, f));
    }
  }
  if (n_changepoints < 0 || n_changepoints > 1000) {
    return bad(absl::StrCat("n_changepoints must be in [0, 1000], got ", n_changepoints));
  }
  if (!(changepoint_range > 0 && changepoint_range <= 1)) {
    return bad(absl::StrFormat("changepoint_range must be in (0, 1], got %g", changepoint_range));
  }
  if (!(changepoint_prior_scale > 0) || !std::isfinite(changepoint_prior_scale)) {
    return bad(
        absl::StrFormat("changepoint_prior_scale must be > 0, got %g", changepoint_prior_scale));
  }
  if (!(seasonality_prior_scale > 0) || !std::isfinite(seasonality_prior_scale)) {
    return bad(
        absl::StrFormat("seasonality_prior_scale must be > 0, got %g", seasonality_prior_scale));
  }
  for (const Seasonality& s : seasonalities) {
    if (!(s.period_seconds > 0) || !std::isfinite(s.period_seconds)) {
      return bad(absl::StrFormat("seasonality \"%s\": period must be > 0 seconds, got %g", s.name,
                                 s.period_seconds));
    }
    if (s.fourier_order < 0 || s.fourier_order > 100) {
      return bad(absl::StrFormat("seasonality \"%s\": fourier_order must be in [0, 100], got %d",
                                 s.name, s.fourier_order));
    }
    if (s.prior_scale < 0 || !std::isfinite(s.prior_scale)) {
      return bad(absl::StrFormat("seasonality \"%s\": prior_scale must be >= 0, got %g", s.name,
                                 s.prior_scale));
    }
  }
  if (!(huber_threshold >= 0) || !std::isfinite(huber_threshold)) {
    return bad(absl::StrFormat("huber_threshold must be >= 0 (0 = off), got %g", huber_threshold));
  }
  if (max_fit_rows < 100) {
    return bad(absl::StrCat("max_fit_rows must be >= 100, got ", max_fit_rows));
  }
  if (robust_iterations < 0 || robust_iterations > 20) {
    return bad(absl::StrCat("robust_iterations must be in [0, 20], got ", robust_iterations));
  }
  if (!(recency_half_life_seconds >= 0) || !std::isfinite(recency_half_life_seconds)) {
    return bad(absl::StrFormat("recency_half_life_seconds must be >= 0 (0 = off), got %g",
                               recency_half_life_seconds));
  }
  if (ar_order < 0 || ar_order > 10) {
    return bad(absl::StrCat("ar_order must be in [0, 10], got ", ar_order));
  }
  if (!(ar_window_seconds > 0) || !std::isfinite(ar_window_seconds)) {
    return bad(absl::StrFormat("ar_window_seconds must be > 0, got %g", ar_window_seconds));
  }
  if (!(trend_damping_seconds >= 0) || !std::isfinite(trend_damping_seconds)) {
    return bad(absl::StrFormat("trend_damping_seconds must be >= 0 (0 = off), got %g",
                               trend_damping_seconds));
  }
  if (!(profile_half_life_days > 0) || !std::isfinite(profile_half_life_days)) {
    return bad(
        absl::StrFormat("profile_half_life_days must be > 0, got %g", profile_half_life_days));
  }
  if (!(interval_scale > 0) || !std::isfinite(interval_scale)) {
    return bad(absl::StrFormat("interval_scale must be > 0, got %g", interval_scale));
  }
  if (!(interval_level_power == -1 || (interval_level_power >= 0 && interval_level_power <= 1))) {
    return bad(absl::StrFormat(
        "interval_level_power must be in [0, 1] or -1 (choose from the data), got %g",
        interval_level_power));
  }
  return ValidateEvents(*this);
}

absl::Status ParseSeasonality(const std::string& text, Options& options) {
  std::vector<Seasonality> out;
  bool want_auto = false;
  if (text.empty()) {
    return absl::InvalidArgumentError(
        "empty seasonality: expected auto, none, or periods such as 1d,1w");
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    start = end + 1;
    if (item.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "seasonality \"", text, "\" has an empty element: expected comma-separated periods"));
    }
    if (item == "auto") {
      want_auto = true;
      continue;
    }
    if (item == "none") {
      if (text != "none") {
        return absl::InvalidArgumentError("seasonality \"none\" cannot be combined with others");
      }
      options.auto_seasonality = false;
      options.seasonalities.clear();
      return absl::OkStatus();
    }
    int order = 0;
    std::string period_text = item;
    const size_t colon = item.find(':');
    if (colon != std::string::npos) {
      period_text = item.substr(0, colon);
      const std::string order_text = item.substr(colon + 1);
      char* e = nullptr;
      const long v = std::strtol(order_text.c_str(), &e, 10);
      if (order_text.empty() || *e != '\0' || v < 1 || v > 100) {
        return absl::InvalidArgumentError(
            absl::StrCat("seasonality \"", item, "\": Fourier order \"", order_text,
                         "\" must be an integer in [1, 100] (e.g. 1d:10)"));
      }
      order = static_cast<int>(v);
    }
    Seasonality s;
    s.fourier_order = order;
    if (period_text == "daily") {
      s.period_seconds = kDay;
    } else if (period_text == "weekly") {
      s.period_seconds = kWeek;
    } else if (period_text == "hourly") {
      s.period_seconds = 3600;
    } else {
      auto d = common::ParseDuration(period_text);
      if (!d.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "seasonality element \"", item,
            "\" is not a period: expected daily, weekly, hourly or a duration such as 1h, "
            "1d, 1w (",
            d.status().message(), ")"));
      }
      s.period_seconds = static_cast<double>(d->count()) / 1000.0;
      if (!(s.period_seconds > 0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("seasonality element \"", item, "\": the period must be > 0"));
      }
    }
    if (std::abs(s.period_seconds - kDay) < 1e-6) {
      s.name = "daily";
    } else if (std::abs(s.period_seconds - kWeek) < 1e-6) {
      s.name = "weekly";
    } else {
      s.name = common::FormatDuration(
          std::chrono::milliseconds(static_cast<int64_t>(std::llround(s.period_seconds * 1000))));
    }
    for (const auto& o : out) {
      if (std::abs(o.period_seconds - s.period_seconds) < 1e-6) {
        return absl::InvalidArgumentError(
            absl::StrCat("seasonality \"", s.name, "\" is listed twice"));
      }
    }
    out.push_back(std::move(s));
    if (end == text.size()) break;
  }
  options.auto_seasonality = want_auto;
  options.seasonalities = std::move(out);
  return absl::OkStatus();
}

}  // namespace forecast
