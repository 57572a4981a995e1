#pragma once
// Server-side rendering helpers of the web view (scaler/web_view.h): HTML escaping, URL
// path segments, and an object's chart as inline SVG. The SVG is self-contained (no
// script, no font or other external reference) and every text in it is escaped.
//
// Thread-safety: pure functions.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scaler/tracker.h"

namespace scaler::web {

// & < > " ' as character references: safe in element content and quoted attributes.
std::string HtmlEscape(std::string_view text);
// Percent-encodes everything but unreserved characters (RFC 3986), for one path segment.
std::string PercentEncode(std::string_view segment);
// Decodes %XX; nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> PercentDecode(std::string_view segment);

// What one object's chart shows; times in unix seconds.
struct ChartData {
  std::vector<std::pair<double, double>> observed;                  // history samples, oldest first
  std::vector<double> forecast_t, yhat, lower, upper, at_quantile;  // the latest forecast
  double quantile = 0.5;                                            // the level at_quantile is at
  std::vector<RecentAnswer> answers;                                // oldest first
  double now = 0;
  double window_start = 0;  // earlier points are not drawn
};

// The chart: observed history (series "observed"), the forecast median ("forecast") and
// its 10-90 % band ("band"), the policy's quantile when it is not the median
// ("quantile"), the values returned to KEDA as a step line ("returned"), the answers
// given as fallbacks as shaded spans ("fallback", each titled with its reason), and
// "now". Every drawn series is an element with data-series="<name>"; series with no point
// in the window are left out. Axes in the data's units and UTC clock times.
std::string ChartSvg(const ChartData& data, int width = 960, int height = 360);

// A unix time as "2026-12-01 23:14:05 UTC"; "HH:MM" with `clock_only`.
std::string FormatTime(double unix_seconds, bool clock_only = false);
// A value for people: up to 6 significant digits, no trailing zeros; "-" for nullopt.
std::string FormatValue(std::optional<double> value);

}  // namespace scaler::web
