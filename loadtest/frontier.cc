#include "loadtest/frontier.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

std::string Trimmed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string BudgetName(double share) { return Trimmed(share * 100) + "%"; }

std::string WindowName(double seconds) {
  return seconds >= 60 && std::fmod(seconds, 60) == 0 ? Trimmed(seconds / 60) + "m"
                                                      : Trimmed(seconds) + "s";
}

FrontierPoint Point(std::string setting, const PolicyReport& r, const PolicyReport& reactive) {
  FrontierPoint p;
  p.setting = std::move(setting);
  p.underprovisioned = r.underprovisioned_fraction;
  p.replica_hours = r.replica_hours;
  p.ratio = reactive.underprovisioned_fraction > 0
                ? r.underprovisioned_fraction / reactive.underprovisioned_fraction
                : 0;
  p.extra = reactive.replica_hours > 0 ? r.replica_hours / reactive.replica_hours - 1 : 0;
  return p;
}

FrontierCost Cost(const FrontierReport& r, double target) {
  FrontierCost c;
  c.target = target;
  c.augur = CostAt(r.augur, target);
  c.alternative = CostAt(r.alternatives, target);
  if (c.augur && c.alternative && *c.alternative > 0) c.ratio = *c.augur / *c.alternative;
  return c;
}

}  // namespace

Trace Scaled(const Trace& trace, double factor) {
  Trace out = trace;
  for (double& v : out.values) v *= factor;
  return out;
}

Trace PeakHold(const Trace& trace, double window_seconds, double factor) {
  Trace out;
  out.timestamps = trace.timestamps;
  out.values.reserve(trace.values.size());
  // Monotone deque of (time, value): the window (t - W, t]'s maximum at its front.
  std::deque<std::pair<double, double>> dq;
  for (size_t i = 0; i < trace.timestamps.size(); ++i) {
    const double t = trace.timestamps[i];
    const double v = trace.values[i];
    while (!dq.empty() && dq.back().second <= v) dq.pop_back();
    dq.emplace_back(t, v);
    while (dq.front().first <= t - window_seconds) dq.pop_front();
    out.values.push_back(dq.front().second * factor);
  }
  return out;
}

std::optional<double> CostAt(const std::vector<FrontierPoint>& points, double target) {
  std::vector<std::pair<double, double>> pts = {{1.0, 0.0}};
  for (const FrontierPoint& p : points) pts.emplace_back(p.ratio, p.extra);
  std::sort(pts.begin(), pts.end());
  std::optional<double> best;
  // Any segment between two points of the sweep that spans the target (the lower
  // envelope of all of them), or a point on it.
  for (const auto& [r1, c1] : pts) {
    for (const auto& [r2, c2] : pts) {
      std::optional<double> c;
      if (r1 <= target && target <= r2 && r1 != r2) {
        c = c1 + (c2 - c1) * (target - r1) / (r2 - r1);
      } else if (r1 == target) {
        c = c1;
      }
      if (c && (!best || *c < *best)) best = c;
    }
  }
  return best;
}

absl::StatusOr<FrontierReport> RunFrontier(const Trace& trace, const SimulationConfig& base,
                                           const FrontierOptions& options,
                                           const std::function<void(double)>& progress) {
  if (base.values || !base.extra_policies.empty() || !base.alternatives.empty()) {
    return absl::InvalidArgumentError(
        "the frontier builds its own policies: expected no --values");
  }
  SimulationConfig config = base;
  for (double b : options.budgets) {
    if (!(b > 0 && b <= 0.5)) {
      return absl::InvalidArgumentError(
          absl::StrCat("budget ", b, ": expected a share of time in (0, 0.5]"));
    }
    scaler::PolicyConfig p = base.policy;
    p.shortfall = scaler::ShortfallBudget{b, false};
    p.max_forecast_error = std::numeric_limits<double>::infinity();
    config.extra_policies.push_back(p);
  }
  std::vector<std::string> names;
  for (double f : options.headroom) {
    if (!(f > 0)) return absl::InvalidArgumentError(absl::StrCat("headroom ", f, ": expected > 0"));
    config.alternatives.push_back({"headroom " + Trimmed(f), Scaled(trace, f)});
  }
  for (const auto& ph : options.peak_hold) {
    if (!(ph.window_seconds > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("peak-hold window ", ph.window_seconds, "s: expected > 0"));
    }
    for (double f : ph.factors) {
      if (!(f > 0)) {
        return absl::InvalidArgumentError(absl::StrCat("peak-hold factor ", f, ": expected > 0"));
      }
      config.alternatives.push_back(
          {"peak-hold " + WindowName(ph.window_seconds) + " x " + Trimmed(f),
           PeakHold(trace, ph.window_seconds, f)});
    }
  }
  absl::StatusOr<SimulationResult> run = RunSimulation(trace, config, 0, progress);
  if (!run.ok()) return run.status();
  FrontierReport r;
  r.reactive = run->reactive;
  r.evaluated_seconds = run->evaluated_seconds;
  r.gap_seconds = run->gap_seconds;
  r.configured = Point(base.policy.shortfall
                           ? "configured (" + scaler::ShortfallName(*base.policy.shortfall) + ")"
                           : "configured (quantile " + Trimmed(base.policy.quantile) + ")",
                       run->augur, r.reactive);
  for (size_t i = 0; i < options.budgets.size(); ++i) {
    r.augur.push_back(Point(BudgetName(options.budgets[i]), run->extra_policies[i], r.reactive));
  }
  for (size_t i = 0; i < config.alternatives.size(); ++i) {
    r.alternatives.push_back(Point(config.alternatives[i].name, run->alternatives[i], r.reactive));
  }
  r.half = Cost(r, 0.5);
  r.quarter = Cost(r, 0.25);
  return r;
}

std::string FrontierJson(const FrontierReport& r) {
  auto point = [](const FrontierPoint& p) {
    return nlohmann::json{{"setting", p.setting},
                          {"underprovisioned_fraction", p.underprovisioned},
                          {"replica_hours", p.replica_hours},
                          {"ratio", p.ratio},
                          {"extra", p.extra}};
  };
  auto points = [&](const std::vector<FrontierPoint>& ps) {
    nlohmann::json a = nlohmann::json::array();
    for (const FrontierPoint& p : ps) a.push_back(point(p));
    return a;
  };
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  auto cost = [&](const FrontierCost& c) {
    return nlohmann::json{{"target", c.target},
                          {"augur", opt(c.augur)},
                          {"best_alternative", opt(c.alternative)},
                          {"ratio", opt(c.ratio)}};
  };
  nlohmann::json j{{"reactive",
                    {{"underprovisioned_fraction", r.reactive.underprovisioned_fraction},
                     {"replica_hours", r.reactive.replica_hours}}},
                   {"configured", point(r.configured)},
                   {"augur", points(r.augur)},
                   {"alternatives", points(r.alternatives)},
                   {"cost_0.5", cost(r.half)},
                   {"cost_0.25", cost(r.quarter)},
                   {"evaluated_hours", r.evaluated_seconds / 3600},
                   {"gap_hours", r.gap_seconds / 3600}};
  return j.dump();
}

void WriteFrontierText(std::ostream& out, const FrontierReport& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "reactive: under-provisioned %.2f %% of %.1f h scored (%.1f h of gaps not "
                "scored), %.1f replica-hours\n",
                r.reactive.underprovisioned_fraction * 100, r.evaluated_seconds / 3600,
                r.gap_seconds / 3600, r.reactive.replica_hours);
  out << buf;
  auto table = [&](const char* title, const std::vector<FrontierPoint>& ps) {
    out << title << "\n  setting                  under-prov  x reactive  extra replica-h\n";
    for (const FrontierPoint& p : ps) {
      std::snprintf(buf, sizeof buf, "  %-24s %8.2f %%  %10.3f  %+13.1f %%\n", p.setting.c_str(),
                    p.underprovisioned * 100, p.ratio, p.extra * 100);
      out << buf;
    }
  };
  table("augur (shortfall budgets):", r.augur);
  table("alternatives without a forecast:", r.alternatives);
  std::snprintf(buf, sizeof buf, "augur as configured: %s, %.2f %% under-provisioned (%.3f x), %+.1f %% replica-hours\n",
                r.configured.setting.c_str(), r.configured.underprovisioned * 100,
                r.configured.ratio, r.configured.extra * 100);
  out << buf;
  out << "price of safety (extra replica-hours to reach a share of reactive's under-provisioned time):\n";
  for (const FrontierCost* c : {&r.half, &r.quarter}) {
    auto pct = [](const std::optional<double>& v) {
      char b[32];
      if (!v) return std::string("not reached");
      std::snprintf(b, sizeof b, "%+.1f %%", *v * 100);
      return std::string(b);
    };
    std::snprintf(buf, sizeof buf, "  at %.2fx: augur %s, best alternative %s, ratio %s\n",
                  c->target, pct(c->augur).c_str(), pct(c->alternative).c_str(),
                  c->ratio ? Trimmed(std::round(*c->ratio * 1000) / 1000).c_str() : "-");
    out << buf;
  }
}

void WriteFrontierSvg(std::ostream& out, const FrontierReport& r, const std::string& title) {
  constexpr int kWidth = 760, kHeight = 520, kLeft = 70, kRight = 30, kTop = 70, kBottom = 55;
  const int pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  double x_max = 0.05;
  for (const auto* ps : {&r.augur, &r.alternatives}) {
    for (const FrontierPoint& p : *ps) {
      if (p.ratio <= 1.05) x_max = std::max(x_max, p.extra);
    }
  }
  x_max = std::min(x_max * 1.05, 3.0);
  const double y_max = 1.05;
  auto px = [&](double extra) { return kLeft + std::clamp(extra, 0.0, x_max) / x_max * pw; };
  auto py = [&](double ratio) { return kTop + ph - std::clamp(ratio, 0.0, y_max) / y_max * ph; };
  std::string escaped;
  for (char c : title) {
    if (c == '<') escaped += "&lt;";
    else if (c == '>') escaped += "&gt;";
    else if (c == '&') escaped += "&amp;";
    else escaped += c;
  }
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" viewBox=\"0 0 " << kWidth << ' ' << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
         "fill=\"white\"/>\n<text x=\""
      << kLeft << "\" y=\"22\" font-size=\"15\">" << escaped << "</text>\n";
  const char* colors[] = {"#1f77b4", "#d62728"};
  const char* names[] = {"augur: shortfall budgets", "alternatives: headroom, peak-hold"};
  for (int i = 0; i < 2; ++i) {
    const int x = kLeft + i * 260;
    out << "<circle cx=\"" << x + 6 << "\" cy=\"42\" r=\"4\" fill=\"" << colors[i]
        << "\"/><text x=\"" << x + 16 << "\" y=\"46\">" << names[i] << "</text>\n";
  }
  out << "<g stroke=\"#ddd\">\n";
  for (int i = 0; i <= 4; ++i) {
    const double y = py(i * 0.25);
    out << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + pw << "\" y1=\"" << y << "\" y2=\"" << y
        << "\"/>\n";
  }
  out << "</g>\n<g stroke=\"#999\" stroke-dasharray=\"4 3\">\n";
  for (double t : {0.5, 0.25}) {
    out << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + pw << "\" y1=\"" << py(t) << "\" y2=\""
        << py(t) << "\"/>\n";
  }
  out << "</g>\n<g fill=\"#333\">\n";
  for (int i = 0; i <= 4; ++i) {
    out << "<text x=\"" << kLeft - 6 << "\" y=\"" << py(i * 0.25) + 4 << "\" text-anchor=\"end\">"
        << Trimmed(i * 0.25) << "</text>\n";
  }
  for (int i = 0; i <= 5; ++i) {
    const double e = x_max * i / 5;
    out << "<text x=\"" << px(e) << "\" y=\"" << kTop + ph + 18 << "\" text-anchor=\"middle\">+"
        << Trimmed(std::round(e * 1000) / 10) << "%</text>\n";
  }
  out << "<text x=\"" << kLeft + pw / 2 << "\" y=\"" << kHeight - 12
      << "\" text-anchor=\"middle\">extra replica-hours (relative to reactive)</text>\n"
      << "<text transform=\"translate(18," << kTop + ph / 2
      << ") rotate(-90)\" text-anchor=\"middle\">under-provisioned time (x reactive)</text>\n</g>\n";
  auto series = [&](const std::vector<FrontierPoint>& ps, const char* color, bool line) {
    std::vector<FrontierPoint> sorted = ps;
    std::sort(sorted.begin(), sorted.end(),
              [](const FrontierPoint& a, const FrontierPoint& b) { return a.extra < b.extra; });
    if (line) {
      out << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"";
      for (const FrontierPoint& p : sorted) out << px(p.extra) << ',' << py(p.ratio) << ' ';
      out << "\"/>\n";
    }
    for (const FrontierPoint& p : sorted) {
      out << "<circle cx=\"" << px(p.extra) << "\" cy=\"" << py(p.ratio) << "\" r=\"3.5\" fill=\""
          << color << "\"><title>" << p.setting << "</title></circle>\n";
    }
  };
  series(r.alternatives, colors[1], false);
  series(r.augur, colors[0], true);
  out << "<circle cx=\"" << px(r.configured.extra) << "\" cy=\"" << py(r.configured.ratio)
      << "\" r=\"7\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"><title>"
      << r.configured.setting << "</title></circle>\n";
  out << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << pw << "\" height=\"" << ph
      << "\" fill=\"none\" stroke=\"#888\"/>\n</svg>\n";
}

}  // namespace loadtest
