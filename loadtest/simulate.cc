#include "loadtest/simulate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>

#include "absl/strings/str_cat.h"
#include "loadtest/object_replay.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

constexpr double kEps = 1e-6;

// A Deployment's pods: ready ones and requested ones with the time they become ready.
class Pods {
 public:
  explicit Pods(int ready) : ready_(ready) {}
  int spec() const { return ready_ + static_cast<int>(pending_.size()); }
  int ready() const { return ready_; }
  void Advance(double t) {
    while (!pending_.empty() && pending_.front() <= t + kEps) {
      pending_.pop_front();
      ++ready_;
    }
  }
  // Scale-down removes not-yet-ready pods first (the ReplicaSet controller deletes
  // unready pods before ready ones), newest first.
  void Scale(double t, int desired, double startup) {
    while (spec() < desired) pending_.push_back(t + startup);
    while (spec() > desired) {
      if (!pending_.empty()) {
        pending_.pop_back();
      } else {
        --ready_;
      }
    }
  }

 private:
  int ready_;
  std::deque<double> pending_;
};

struct PolicyRun {
  PolicyRun(const HpaConfig& config, int initial) : hpa(config, initial), pods(hpa.replicas()) {}
  Hpa hpa;
  Pods pods;
  PolicyReport report;
  double time = 0, under_time = 0, unserved = 0, demand_integral = 0, replica_seconds = 0;

  // One HPA sync at t with the scaler's value; then the tick [t, t + dt) is scored.
  // `value` nullopt = the metric failed this sync (the HPA holds).
  void Tick(double t, double dt, std::optional<double> value, double demand, double capacity,
            double startup, bool scored) {
    pods.Advance(t);
    const HpaDecision d = hpa.Sync(t, value, pods.ready());
    if (d.desired != pods.spec()) {
      pods.Scale(t, d.desired, startup);
      if (scored) ++report.scale_events;
    }
    pods.Advance(t);
    if (!scored) return;
    const double ready_capacity = pods.ready() * capacity;
    time += dt;
    if (demand > ready_capacity + kEps) {
      under_time += dt;
      unserved += (demand - ready_capacity) * dt;
    }
    demand_integral += demand * dt;
    replica_seconds += pods.spec() * dt;
    report.max_replicas = std::max(report.max_replicas, pods.spec());
  }

  void Finish() {
    report.underprovisioned_fraction = time > 0 ? under_time / time : 0;
    report.unserved_fraction = demand_integral > 0 ? unserved / demand_integral : 0;
    report.replica_hours = replica_seconds / 3600;
    report.mean_replicas = time > 0 ? replica_seconds / time : 0;
  }
};

std::string Fmt(double v, int precision = 6) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

}  // namespace

absl::Status SimulationConfig::Validate() const {
  auto positive = [](const char* name, double v) -> absl::Status {
    if (!std::isfinite(v) || v <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(name, " = ", v, ": expected a number > 0"));
    }
    return absl::OkStatus();
  };
  for (const auto& [name, v] : std::vector<std::pair<const char*, double>>{
           {"capacity", capacity},
           {"target", target.value_or(capacity)},
           {"sync period", sync_seconds},
           {"refresh interval", refresh_seconds},
           {"refit interval", refit_seconds},
           {"history", history_seconds}}) {
    absl::Status s = positive(name, v);
    if (!s.ok()) return s;
  }
  if (!std::isfinite(startup_seconds) || startup_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("startup = ", startup_seconds, "s: expected a duration >= 0"));
  }
  if (!std::isfinite(warmup_seconds) || warmup_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("warmup = ", warmup_seconds, "s: expected a duration >= 0"));
  }
  if (!(policy.quantile > 0 && policy.quantile < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("quantile = ", policy.quantile, ": expected a number in (0, 1)"));
  }
  if (!std::isfinite(policy.horizon_seconds) || policy.horizon_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("horizon = ", policy.horizon_seconds, "s: expected a duration >= 0"));
  }
  HpaConfig h = hpa;
  h.target = target.value_or(capacity);
  absl::Status s = h.Validate();
  if (!s.ok()) return s;
  return forecast.Validate();
}

absl::StatusOr<SimulationResult> RunSimulation(const Trace& trace, const SimulationConfig& config,
                                               int row_every,
                                               const std::function<void(double)>& progress) {
  absl::Status s = config.Validate();
  if (!s.ok()) return s;
  if (trace.timestamps.size() < 2) {
    return absl::InvalidArgumentError("the trace has fewer than 2 samples");
  }
  SimulationResult result;
  const double step = trace.MedianStep();
  result.step_seconds = step;
  // The HPA's sync period is the tick; the policy periods default to it.
  const double dt = config.sync_seconds;
  if (!std::isfinite(config.from_seconds) || config.from_seconds < 0) {
    return absl::InvalidArgumentError("--from must be a duration >= 0");
  }
  const double t0 = trace.timestamps.front() + config.from_seconds;
  double t_end = trace.timestamps.back() + step;
  if (config.limit_seconds > 0) t_end = std::min(t_end, t0 + config.limit_seconds);
  const double eval_start = t0 + config.warmup_seconds;
  if (eval_start >= t_end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the warm-up (", config.warmup_seconds, "s) covers the whole trace (",
        t_end - t0, "s): expected a shorter --warmup or a longer trace"));
  }

  auto check_series = [&](const std::string& what, const Trace& v) -> absl::Status {
    if (v.timestamps.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " is empty: expected timestamp,value rows"));
    }
    for (size_t i = 0; i < v.values.size(); ++i) {
      if (!(v.values[i] >= 0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, " has ", v.values[i], " at ", Fmt(v.timestamps[i], 12),
            ": expected metric values >= 0"));
      }
    }
    if (v.timestamps.front() > eval_start + kEps) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " starts at ", Fmt(v.timestamps.front(), 12),
          ", after the scored window's start ", Fmt(eval_start, 12),
          ": expected values from the end of the warm-up on"));
    }
    const double reach = v.timestamps.back() + 2 * std::max(v.MedianStep(), config.sync_seconds);
    if (reach < t_end - dt - kEps) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ends at ", Fmt(v.timestamps.back(), 12), ", before the run's end ",
          Fmt(t_end, 12), ": expected values up to the end of the trace"));
    }
    return absl::OkStatus();
  };
  if (config.values) {
    absl::Status vs = check_series("the values series", *config.values);
    if (!vs.ok()) return vs;
  }
  for (const auto& alt : config.alternatives) {
    absl::Status vs = check_series("the alternative '" + alt.name + "'", alt.series);
    if (!vs.ok()) return vs;
  }

  HpaConfig hpa = config.hpa;
  hpa.target = config.target.value_or(config.capacity);
  const int initial = static_cast<int>(std::ceil(trace.ValueAt(t0) / hpa.target - 1e-9));
  PolicyRun reactive(hpa, initial);
  PolicyRun augur(hpa, initial);
  std::optional<PolicyRun> values;
  if (config.values) values.emplace(hpa, initial);
  std::vector<PolicyRun> extra(config.extra_policies.size(), PolicyRun(hpa, initial));
  std::vector<PolicyRun> alternatives(config.alternatives.size(), PolicyRun(hpa, initial));
  scaler::ObjectConfig model_config;
  model_config.step_seconds = step;
  model_config.history_seconds = config.history_seconds;
  model_config.refit_interval_seconds = config.refit_seconds;
  model_config.refresh_interval_seconds = config.refresh_seconds;
  model_config.target_value = hpa.target;
  // The replay's pods serve `capacity`: Augur is told so, as a user tells it with the
  // podCapacity key (its default, targetValue x 1.1, is the same for simulate's default
  // target).
  model_config.pod_capacity = config.capacity;
  model_config.ignore_null_values = config.ignore_null_values;
  model_config.policy = config.policy;
  model_config.fit_options = config.forecast;
  ObjectReplay replay(trace, model_config);
  std::vector<size_t> extra_index;
  for (const scaler::PolicyConfig& p : config.extra_policies) {
    extra_index.push_back(replay.model().AddExtraPolicy(p));
  }

  // A value series as KEDA would serve it: its newest value at or before t while it is
  // at most two of its own steps old; past that an empty result (0, or an error).
  struct SeriesCursor {
    const Trace* series;
    double step;
    size_t newest = 0;  // index past the newest value at or before t
    std::optional<double> At(double t, bool ignore_null) {
      while (newest < series->timestamps.size() && series->timestamps[newest] <= t + kEps) {
        ++newest;
      }
      // Before its first sample (in the warm-up) the HPA sees a metric error and holds.
      if (newest == 0) return std::nullopt;
      if (t - series->timestamps[newest - 1] > 2 * step + kEps) {
        return ignore_null ? std::optional<double>(0.0) : std::nullopt;
      }
      return series->values[newest - 1];
    }
  };
  std::optional<SeriesCursor> values_cursor;
  if (config.values) values_cursor = SeriesCursor{&*config.values, config.values->MedianStep()};
  std::vector<SeriesCursor> alt_cursors;
  for (const auto& alt : config.alternatives) {
    alt_cursors.push_back(SeriesCursor{&alt.series, alt.series.MedianStep()});
  }
  SeriesCursor demand_cursor{&trace, step};

  std::map<scaler::Reason, int> reasons;
  std::map<std::string, int> shapes;
  const auto n_ticks = static_cast<int64_t>(std::floor((t_end - t0) / dt + kEps));
  const int64_t report_every = std::max<int64_t>(1, n_ticks / 100);
  size_t newest = 0;
  while (newest + 1 < trace.timestamps.size() && trace.timestamps[newest + 1] <= t0 + kEps) ++newest;
  double last_refresh = -1e300;
  scaler::Decision decision;
  std::optional<double> augur_value;  // nullopt: the object has no answer (the HPA holds)
  std::vector<std::optional<double>> extra_values(extra.size());
  std::string shape;
  for (int64_t k = 0; k < n_ticks; ++k) {
    const double t = t0 + static_cast<double>(k) * dt;
    while (newest + 1 < trace.timestamps.size() && trace.timestamps[newest + 1] <= t + kEps) {
      ++newest;
    }
    const double demand = trace.values[newest];
    const bool gap = t - trace.timestamps[newest] > 2 * step + kEps;
    if (t - last_refresh >= config.refresh_seconds - kEps) {
      const ObjectReplay::Refresh r = replay.RefreshAt(t);
      if (r.fitted) ++result.fits;
      if (r.fit_failed) ++result.fit_failures;
      if (r.status.ok()) {
        if (r.update.predicted) ++result.predictions;
        decision = r.update.answer->decision;
        augur_value = decision.has_value ? std::optional<double>(decision.value) : std::nullopt;
        shape = r.update.answer->budget ? r.update.answer->budget->shape : "";
        for (size_t i = 0; i < extra.size(); ++i) {
          const scaler::Decision& e = replay.model().ExtraDecision(extra_index[i]);
          extra_values[i] = e.has_value ? std::optional<double>(e.value) : std::nullopt;
        }
      } else {
        augur_value.reset();
        for (auto& v : extra_values) v.reset();
      }
      last_refresh = t;
    }
    const bool in_window = t >= eval_start - kEps;
    const bool scored = in_window && !gap;
    if (in_window && gap) result.gap_seconds += dt;
    reactive.Tick(t, dt, demand_cursor.At(t, config.ignore_null_values), demand, config.capacity,
                  config.startup_seconds, scored);
    augur.Tick(t, dt, augur_value, demand, config.capacity, config.startup_seconds, scored);
    for (size_t i = 0; i < extra.size(); ++i) {
      extra[i].Tick(t, dt, extra_values[i], demand, config.capacity, config.startup_seconds, scored);
    }
    for (size_t i = 0; i < alternatives.size(); ++i) {
      alternatives[i].Tick(t, dt, alt_cursors[i].At(t, config.ignore_null_values), demand,
                           config.capacity, config.startup_seconds, scored);
    }
    std::optional<double> values_value;
    if (values) {
      values_value = values_cursor->At(t, config.ignore_null_values);
      values->Tick(t, dt, values_value, demand, config.capacity, config.startup_seconds, scored);
    }
    if (scored) {
      ++reasons[decision.reason];
      if (!shape.empty()) ++shapes[shape];
    }
    if (row_every > 0 && k % row_every == 0) {
      SimulationRow row;
      row.time = t;
      row.demand = demand;
      row.reactive_value = demand;
      row.reactive_replicas = reactive.pods.spec();
      row.reactive_ready = reactive.pods.ready();
      row.augur_value = decision.value;
      row.augur_replicas = augur.pods.spec();
      row.augur_ready = augur.pods.ready();
      row.augur_reason = decision.reason;
      if (values) {
        row.values_value = values_value.value_or(std::nan(""));
        row.values_replicas = values->pods.spec();
        row.values_ready = values->pods.ready();
      }
      result.rows.push_back(row);
    }
    if (progress && k % report_every == 0) {
      progress(static_cast<double>(k) / static_cast<double>(n_ticks));
    }
  }
  reactive.Finish();
  augur.Finish();
  result.reactive = reactive.report;
  result.augur = augur.report;
  if (values) {
    values->Finish();
    result.values = values->report;
  }
  for (PolicyRun& e : extra) {
    e.Finish();
    result.extra_policies.push_back(e.report);
  }
  for (PolicyRun& a : alternatives) {
    a.Finish();
    result.alternatives.push_back(a.report);
  }
  result.evaluated_seconds = reactive.time;
  for (const auto& [reason, count] : reasons) {
    result.augur_reasons.emplace_back(scaler::ReasonName(reason), count);
  }
  for (const auto& [name, count] : shapes) result.augur_shapes.emplace_back(name, count);
  if (progress) progress(1.0);
  return result;
}

void WriteSimulationCsv(std::ostream& out, const SimulationResult& result, double capacity) {
  out << "timestamp,demand,reactive_value,reactive_replicas,reactive_ready_capacity,"
         "augur_value,augur_replicas,augur_ready_capacity,augur_reason"
      << (result.values ? ",values_value,values_replicas,values_ready_capacity" : "") << '\n';
  for (const SimulationRow& r : result.rows) {
    out << Fmt(r.time, 12) << ',' << Fmt(r.demand) << ',' << Fmt(r.reactive_value) << ','
        << r.reactive_replicas << ',' << Fmt(r.reactive_ready * capacity) << ','
        << Fmt(r.augur_value) << ',' << r.augur_replicas << ',' << Fmt(r.augur_ready * capacity)
        << ',' << scaler::ReasonName(r.augur_reason);
    if (result.values) {
      out << ',' << (std::isnan(r.values_value) ? std::string() : Fmt(r.values_value)) << ','
          << r.values_replicas << ',' << Fmt(r.values_ready * capacity);
    }
    out << '\n';
  }
}

void WriteSimulationSvg(std::ostream& out, const SimulationResult& result, double capacity,
                        const std::string& title) {
  constexpr int kWidth = 1200, kHeight = 420, kLeft = 70, kRight = 20, kTop = 60, kBottom = 50;
  const int plot_w = kWidth - kLeft - kRight;
  const int plot_h = kHeight - kTop - kBottom;
  const auto& rows = result.rows;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\""
      << kHeight << "\" viewBox=\"0 0 " << kWidth << ' ' << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::string escaped;
  for (char c : title) {
    if (c == '<') escaped += "&lt;";
    else if (c == '>') escaped += "&gt;";
    else if (c == '&') escaped += "&amp;";
    else escaped += c;
  }
  out << "<text x=\"" << kLeft << "\" y=\"22\" font-size=\"15\">" << escaped << "</text>\n";
  if (rows.empty()) {
    out << "</svg>\n";
    return;
  }
  const double x0 = rows.front().time;
  const double x1 = std::max(rows.back().time, x0 + 1);
  // Per pixel column: max demand, min ready capacity of each policy.
  std::vector<double> dem(plot_w, -1), rea(plot_w, -1), aug(plot_w, -1), val(plot_w, -1);
  const bool with_values = result.values.has_value();
  double y_max = 0;
  for (const SimulationRow& r : rows) {
    const int col = std::min(plot_w - 1, static_cast<int>((r.time - x0) / (x1 - x0) * (plot_w - 1)));
    const double rc = r.reactive_ready * capacity, ac = r.augur_ready * capacity;
    dem[col] = std::max(dem[col], r.demand);
    rea[col] = rea[col] < 0 ? rc : std::min(rea[col], rc);
    aug[col] = aug[col] < 0 ? ac : std::min(aug[col], ac);
    y_max = std::max({y_max, r.demand, rc, ac});
    if (with_values) {
      const double vc = r.values_ready * capacity;
      val[col] = val[col] < 0 ? vc : std::min(val[col], vc);
      y_max = std::max(y_max, vc);
    }
  }
  y_max = y_max > 0 ? y_max * 1.05 : 1;
  auto px = [&](int col) { return kLeft + col; };
  auto py = [&](double v) { return kTop + plot_h - v / y_max * plot_h; };
  // Axes and grid.
  out << "<g stroke=\"#ccc\" stroke-width=\"1\">\n";
  for (int i = 0; i <= 5; ++i) {
    const double v = y_max * i / 5;
    out << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + plot_w << "\" y1=\"" << Fmt(py(v), 5)
        << "\" y2=\"" << Fmt(py(v), 5) << "\"/>\n";
  }
  out << "</g>\n<g fill=\"#333\">\n";
  for (int i = 0; i <= 5; ++i) {
    const double v = y_max * i / 5;
    out << "<text x=\"" << kLeft - 6 << "\" y=\"" << Fmt(py(v) + 4, 5)
        << "\" text-anchor=\"end\">" << Fmt(v, 4) << "</text>\n";
  }
  const double span_h = (x1 - x0) / 3600;
  const bool in_days = span_h > 48;
  for (int i = 0; i <= 8; ++i) {
    const double frac = i / 8.0;
    const double label = frac * (in_days ? span_h / 24 : span_h);
    out << "<text x=\"" << Fmt(kLeft + frac * plot_w, 5) << "\" y=\"" << kTop + plot_h + 18
        << "\" text-anchor=\"middle\">" << Fmt(label, 3) << "</text>\n";
  }
  out << "<text x=\"" << kLeft + plot_w / 2 << "\" y=\"" << kHeight - 10
      << "\" text-anchor=\"middle\">" << (in_days ? "days" : "hours")
      << " since the plot's start</text>\n</g>\n";
  auto polyline = [&](const std::vector<double>& ys, const char* color, double width) {
    out << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"" << width
        << "\" points=\"";
    for (int col = 0; col < plot_w; ++col) {
      if (ys[col] < 0) continue;
      out << px(col) << ',' << Fmt(py(ys[col]), 5) << ' ';
    }
    out << "\"/>\n";
  };
  polyline(dem, "#222", 1.2);
  polyline(rea, "#d62728", 1.2);
  polyline(aug, "#1f77b4", 1.2);
  if (with_values) polyline(val, "#2ca02c", 1.2);
  const char* names[] = {"demand", "reactive: ready capacity", "augur: ready capacity",
                         "values: ready capacity"};
  const char* colors[] = {"#222", "#d62728", "#1f77b4", "#2ca02c"};
  // The legend has its own line under the title, so a long title cannot run into it.
  const int legend_items = with_values ? 4 : 3;
  for (int i = 0; i < legend_items; ++i) {
    const int x = kLeft + i * 220;
    out << "<line x1=\"" << x << "\" x2=\"" << x + 24 << "\" y1=\"40\" y2=\"40\" stroke=\""
        << colors[i] << "\" stroke-width=\"3\"/><text x=\"" << x + 30 << "\" y=\"44\">" << names[i]
        << "</text>\n";
  }
  out << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << plot_w << "\" height=\""
      << plot_h << "\" fill=\"none\" stroke=\"#888\"/>\n</svg>\n";
}

std::string SimulationJson(const SimulationResult& result) {
  auto policy = [](const PolicyReport& r) {
    return nlohmann::json{{"underprovisioned_fraction", r.underprovisioned_fraction},
                          {"unserved_fraction", r.unserved_fraction},
                          {"replica_hours", r.replica_hours},
                          {"scale_events", r.scale_events},
                          {"max_replicas", r.max_replicas},
                          {"mean_replicas", r.mean_replicas}};
  };
  nlohmann::json reasons = nlohmann::json::object();
  for (const auto& [name, count] : result.augur_reasons) reasons[name] = count;
  nlohmann::json shapes = nlohmann::json::object();
  for (const auto& [name, count] : result.augur_shapes) shapes[name] = count;
  nlohmann::json j{{"reactive", policy(result.reactive)},
                   {"augur", policy(result.augur)},
                   {"run",
                    {{"evaluated_hours", result.evaluated_seconds / 3600},
                     {"trace_step_seconds", result.step_seconds},
                     {"fits", result.fits},
                     {"fit_failures", result.fit_failures},
                     {"predictions", result.predictions},
                     {"gap_hours", result.gap_seconds / 3600},
                     {"augur_reason_ticks", reasons},
                     {"augur_shape_ticks", shapes}}}};
  if (result.values) j["values"] = policy(*result.values);
  return j.dump();
}

}  // namespace loadtest
