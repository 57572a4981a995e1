#include "scaler/web_chart.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "scaler/policy.h"

namespace scaler::web {
namespace {

constexpr int kLeft = 64, kRight = 16, kTop = 34, kBottom = 28;

const char* const kColorObserved = "#1f5fa8";
const char* const kColorForecast = "#7b3fb0";
const char* const kColorBand = "#cdb6e6";
const char* const kColorReturned = "#c2410c";
const char* const kColorFallback = "#fde2e2";

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

// A step of about span/target on the 1-2-5 ladder.
double NiceStep(double span, int target) {
  if (!(span > 0)) return 1;
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

// A time step of about span/target from the ones clocks read well.
double TimeStep(double span, int target) {
  static const double kSteps[] = {1,     2,     5,     10,    15,     30,    60,
                                  120,   300,   600,   900,   1800,   3600,  7200,
                                  10800, 21600, 43200, 86400, 172800, 604800};
  const double raw = span / target;
  for (double s : kSteps) {
    if (raw <= s) return s;
  }
  return 604800 * std::ceil(raw / 604800);
}

class Frame {
 public:
  Frame(double x0, double x1, double y0, double y1, int w, int h)
      : x0_(x0), x1_(x1), y0_(y0), y1_(y1), w_(w), h_(h) {}
  double X(double t) const { return kLeft + (t - x0_) / (x1_ - x0_) * (w_ - kLeft - kRight); }
  double Y(double v) const { return kTop + (y1_ - v) / (y1_ - y0_) * (h_ - kTop - kBottom); }
  double bottom() const { return h_ - kBottom; }
  double right() const { return w_ - kRight; }

 private:
  double x0_, x1_, y0_, y1_;
  int w_, h_;
};

std::string Polyline(const Frame& f, const std::vector<std::pair<double, double>>& pts) {
  std::string d;
  for (const auto& [t, v] : pts) {
    d += (d.empty() ? "M" : " L") + Num(f.X(t)) + "," + Num(f.Y(v));
  }
  return d;
}

void Path(std::string& svg, const char* series, const std::string& d, const char* stroke,
          const char* extra) {
  if (d.empty()) return;
  svg += "<path data-series=\"" + std::string(series) + "\" class=\"series " + series + "\" d=\"" +
         d + "\" fill=\"none\" stroke=\"" + stroke + "\" stroke-width=\"2\"" + extra + "/>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string PercentEncode(std::string_view segment) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> PercentDecode(std::string_view segment) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    if (i + 2 >= segment.size()) return std::nullopt;
    const int hi = hex(segment[i + 1]), lo = hex(segment[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

std::string FormatTime(double unix_seconds, bool clock_only) {
  if (!std::isfinite(unix_seconds)) return "-";
  const std::time_t t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), clock_only ? "%H:%M" : "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string FormatValue(std::optional<double> value) {
  if (!value) return "-";
  if (!std::isfinite(*value)) return std::isnan(*value) ? "NaN" : (*value > 0 ? "+Inf" : "-Inf");
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", *value);
  return buf;
}

std::string ChartSvg(const ChartData& d, int width, int height) {
  // The window: from window_start to the forecast's end (or now).
  double x0 = d.window_start, x1 = d.now;
  if (!d.forecast_t.empty()) x1 = std::max(x1, d.forecast_t.back());
  std::vector<std::pair<double, double>> observed, forecast, quantile, lower, upper;
  for (const auto& p : d.observed) {
    if (p.first >= x0 && std::isfinite(p.second)) observed.push_back(p);
  }
  const bool show_quantile = std::fabs(d.quantile - 0.5) > 1e-9;
  for (size_t i = 0; i < d.forecast_t.size(); ++i) {
    const double t = d.forecast_t[i];
    if (i < d.yhat.size()) forecast.emplace_back(t, d.yhat[i]);
    if (i < d.lower.size() && i < d.upper.size()) {
      lower.emplace_back(t, d.lower[i]);
      upper.emplace_back(t, d.upper[i]);
    }
    if (show_quantile && i < d.at_quantile.size()) quantile.emplace_back(t, d.at_quantile[i]);
  }
  // The returned values as a step line: each answer holds until the next one (the last
  // until now); fallback answers as spans.
  std::vector<std::pair<double, double>> returned;
  struct Span {
    double from, to;
    Reason reason;
  };
  std::vector<Span> fallbacks;
  for (size_t i = 0; i < d.answers.size(); ++i) {
    const RecentAnswer& a = d.answers[i];
    const double until = i + 1 < d.answers.size() ? d.answers[i + 1].at : d.now;
    if (until < x0) continue;
    const double from = std::max(a.at, x0);
    if (std::isfinite(a.value)) {
      returned.emplace_back(from, a.value);
      returned.emplace_back(std::max(from, until), a.value);
    }
    if (IsFallback(a.reason)) {
      if (!fallbacks.empty() && fallbacks.back().reason == a.reason &&
          std::fabs(fallbacks.back().to - a.at) < 1e-6) {
        fallbacks.back().to = until;
      } else {
        fallbacks.push_back({from, until, a.reason});
      }
    }
  }
  if (!observed.empty()) x0 = std::min(x0, observed.front().first);
  if (!(x1 > x0)) x1 = x0 + 60;

  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto* series : {&observed, &forecast, &quantile, &lower, &upper, &returned}) {
    for (const auto& p : *series) {
      if (!std::isfinite(p.second)) continue;
      lo = std::min(lo, p.second);
      hi = std::max(hi, p.second);
    }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (lo >= 0 && lo < 0.25 * hi) lo = 0;  // near zero: start the axis at zero
  if (hi - lo < 1e-9) hi = lo + std::max(1.0, std::fabs(lo) * 0.1);
  const double pad = (hi - lo) * 0.05;
  const double ystep = NiceStep(hi - lo + 2 * pad, 5);
  const double y0 = lo == 0 ? 0 : std::floor((lo - pad) / ystep) * ystep;
  const double y1 = std::ceil((hi + pad) / ystep) * ystep;
  const Frame f(x0, x1, y0, y1, width, height);

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 " +
                    std::to_string(width) + " " + std::to_string(height) + "\" width=\"" +
                    std::to_string(width) + "\" height=\"" + std::to_string(height) +
                    "\" role=\"img\" aria-label=\"history, forecast and answers\" "
                    "font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(kTop) + "\" width=\"" +
         Num(f.right() - kLeft) + "\" height=\"" + Num(f.bottom() - kTop) +
         "\" fill=\"#fff\" stroke=\"#ccc\"/>\n";
  for (const Span& s : fallbacks) {
    svg += "<rect data-series=\"fallback\" class=\"fallback\" x=\"" + Num(f.X(s.from)) + "\" y=\"" +
           std::to_string(kTop) + "\" width=\"" + Num(std::max(1.0, f.X(s.to) - f.X(s.from))) +
           "\" height=\"" + Num(f.bottom() - kTop) + "\" fill=\"" + kColorFallback +
           "\"><title>fallback: " + HtmlEscape(ReasonName(s.reason)) + " from " +
           FormatTime(s.from) + "</title></rect>\n";
  }
  // Grid and axes.
  for (double v = y0; v <= y1 + ystep * 1e-6; v += ystep) {
    svg += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" + Num(f.right()) + "\" y1=\"" +
           Num(f.Y(v)) + "\" y2=\"" + Num(f.Y(v)) + "\" stroke=\"#eee\"/><text x=\"" +
           std::to_string(kLeft - 6) + "\" y=\"" + Num(f.Y(v) + 4) + "\" text-anchor=\"end\">" +
           HtmlEscape(FormatValue(std::abs(v) < ystep * 1e-6 ? 0.0 : v)) + "</text>\n";
  }
  const double tstep = TimeStep(x1 - x0, 8);
  for (double t = std::ceil(x0 / tstep) * tstep; t <= x1; t += tstep) {
    svg += "<line x1=\"" + Num(f.X(t)) + "\" x2=\"" + Num(f.X(t)) + "\" y1=\"" + Num(f.bottom()) +
           "\" y2=\"" + Num(f.bottom() + 4) + "\" stroke=\"#888\"/><text x=\"" + Num(f.X(t)) +
           "\" y=\"" + Num(f.bottom() + 17) + "\" text-anchor=\"middle\">" + FormatTime(t, true) +
           "</text>\n";
  }
  // The band as one closed shape: upper edge forward, lower edge back.
  if (!upper.empty()) {
    std::string d = Polyline(f, upper);
    for (auto it = lower.rbegin(); it != lower.rend(); ++it) {
      d += " L" + Num(f.X(it->first)) + "," + Num(f.Y(it->second));
    }
    svg += "<path data-series=\"band\" class=\"band\" d=\"" + d + " Z\" fill=\"" + kColorBand +
           "\" fill-opacity=\"0.6\" stroke=\"none\"><title>forecast 10-90 % band</title></path>\n";
  }
  Path(svg, "observed", Polyline(f, observed), kColorObserved, "");
  Path(svg, "forecast", Polyline(f, forecast), kColorForecast, " stroke-dasharray=\"6 4\"");
  Path(svg, "quantile", Polyline(f, quantile), kColorForecast, " stroke-dasharray=\"2 3\"");
  Path(svg, "returned", Polyline(f, returned), kColorReturned, " stroke-linejoin=\"miter\"");
  svg += "<line data-series=\"now\" class=\"now\" x1=\"" + Num(f.X(d.now)) + "\" x2=\"" +
         Num(f.X(d.now)) + "\" y1=\"" + std::to_string(kTop) + "\" y2=\"" + Num(f.bottom()) +
         "\" stroke=\"#444\" stroke-dasharray=\"3 3\"/><text x=\"" + Num(f.X(d.now) + 3) +
         "\" y=\"" + std::to_string(kTop + 12) + "\" fill=\"#444\">now</text>\n";

  // Legend, on one line above the plot.
  struct Key {
    const char* label;
    const char* color;
    bool shown;
  };
  const std::string qlabel = "forecast at quantile " + FormatValue(d.quantile);
  const Key keys[] = {{"observed", kColorObserved, !observed.empty()},
                      {"forecast (median)", kColorForecast, !forecast.empty()},
                      {"10-90 % band", kColorBand, !upper.empty()},
                      {qlabel.c_str(), kColorForecast, !quantile.empty()},
                      {"returned to KEDA", kColorReturned, !returned.empty()},
                      {"fallback", "#f5b5b5", !fallbacks.empty()}};
  double x = kLeft;
  for (const Key& k : keys) {
    if (!k.shown) continue;
    svg += "<rect x=\"" + Num(x) + "\" y=\"12\" width=\"14\" height=\"10\" fill=\"" + k.color +
           "\"/><text x=\"" + Num(x + 18) + "\" y=\"21\">" + HtmlEscape(k.label) + "</text>\n";
    x += 30 + 6.6 * std::string_view(k.label).size();
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace scaler::web
