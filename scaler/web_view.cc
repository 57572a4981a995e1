#include "scaler/web_view.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/duration.h"
#include "scaler/inspector.h"
#include "scaler/policy.h"
#include "scaler/spec.h"
#include "scaler/web_chart.h"

namespace scaler {
namespace {

using web::FormatTime;
using web::FormatValue;
using web::HtmlEscape;
using web::PercentEncode;

// How many recent answers the object page lists (the JSON has them all).
constexpr size_t kAnswersListed = 30;

const char kStyle[] = R"css(
body{font-family:system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
header{background:#1f2937;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:baseline}
header a{color:#fff;text-decoration:none}header .brand{font-weight:700;font-size:18px}
header nav a{color:#cbd5e1;font-size:14px}
main{padding:16px 20px;max-width:1200px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:18px;margin:24px 0 8px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;background:#fff;font-size:14px}
th,td{border:1px solid #dde1e6;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fallback td{background:#fdeaea}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:3px 14px;background:#fff;padding:10px 14px;border:1px solid #dde1e6;margin:0}
dl.summary dt{color:#555}dl.summary dd{margin:0}
.why{background:#fff;border-left:4px solid #7b3fb0;padding:8px 12px;margin:0}
.bad{color:#b91c1c}.muted{color:#666}
figure{margin:12px 0;background:#fff;border:1px solid #dde1e6;padding:6px;overflow-x:auto}
figcaption{font-size:13px;color:#555;padding:4px}
code{background:#eef1f4;padding:1px 4px;border-radius:3px;word-break:break-all}
section.trigger{border-top:2px solid #dde1e6;margin-top:18px}
)css";

std::string Age(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  return common::FormatDuration(
      std::chrono::milliseconds(static_cast<long long>(std::llround(seconds)) * 1000));
}

std::string Percent(double share) { return FormatValue(std::round(share * 100000) / 1000) + " %"; }

std::string ObjectPath(const std::string& namespace_, const std::string& name) {
  return "/objects/" + PercentEncode(namespace_) + "/" + PercentEncode(name);
}

// Nothing the view serves loads anything from elsewhere, and the browser is told so.
void SecurityHeaders(HttpReply& r) {
  r.headers = {{"Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-store"}};
}

HttpReply Page(int status, const std::string& title, const std::string& body, bool auto_refresh) {
  HttpReply r;
  SecurityHeaders(r);
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  if (auto_refresh) r.body += "<meta http-equiv=\"refresh\" content=\"30\">";
  r.body += "<title>" + HtmlEscape(title) + " - Augur</title><style>" + kStyle +
            "</style></head><body><header><a class=\"brand\" href=\"/\">Augur</a><nav>"
            "<a href=\"/\">Tracked objects</a> <a href=\"/api/v1/objects\">JSON</a> "
            "<a href=\"/metrics\">/metrics</a></nav></header><main>\n" +
            body + "</main></body></html>\n";
  return r;
}

HttpReply Json(int status, const nlohmann::json& j) {
  HttpReply r;
  SecurityHeaders(r);
  r.status = status;
  r.content_type = "application/json";
  // Names and messages come from outside: never fail on bytes that are not UTF-8.
  r.body = j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

nlohmann::json ProtoJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, options).ok()) return nullptr;
  return nlohmann::json::parse(out, nullptr, false);
}

nlohmann::json Optional(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

// The list's columns: escaped HTML from Inspector/List's summary and the answer (null
// while there is none).
struct Column {
  const char* title;
  bool numeric;
  std::function<std::string(const augur::v1::ObjectSummary&, const Answer*)> cell;
};

const BudgetState* Budget(const Answer* a) {
  return a != nullptr && a->status.ok() && a->budget ? &*a->budget : nullptr;
}

const std::vector<Column>& Columns() {
  static const std::vector<Column> kColumns = {
      {"Namespace", false, [](const auto& s, const Answer*) { return HtmlEscape(s.namespace_()); }},
      {"Name", false,
       [](const auto& s, const Answer*) {
         return "<a href=\"" + HtmlEscape(ObjectPath(s.namespace_(), s.name())) + "\">" +
                HtmlEscape(s.name()) + "</a>";
       }},
      {"Metric", false, [](const auto& s, const Answer*) { return HtmlEscape(s.metric_name()); }},
      {"Trigger", false,
       [](const auto& s, const Answer*) { return "<code>" + HtmlEscape(s.trigger()) + "</code>"; }},
      {"Mode", false, [](const auto& s, const Answer*) { return HtmlEscape(s.mode()); }},
      {"Value", true,
       [](const auto& s, const Answer*) {
         return s.has_answer() ? HtmlEscape(FormatValue(s.value())) : std::string("-");
       }},
      {"Reason", false,
       [](const auto& s, const Answer*) {
         return s.has_answer() ? HtmlEscape(s.reason()) : std::string("-");
       }},
      {"Budget", true,
       [](const auto&, const Answer* a) {
         const BudgetState* b = Budget(a);
         if (b == nullptr) return std::string("-");
         // A relative budget shows its share once the record knows reactive's rate.
         std::string text = b->setting.empty() ? Percent(b->budget) : b->setting;
         if (b->budget > 0 && !b->setting.empty() && b->setting.back() != '%') {
           text += " = " + Percent(b->budget);
         }
         return HtmlEscape(text);
       }},
      {"Realised shortfall", true,
       [](const auto&, const Answer* a) {
         const BudgetState* b = Budget(a);
         if (b == nullptr) return std::string("-");
         if (!b->realised_rate) return std::string("<span class=\"muted\">not yet</span>");
         const bool over = b->budget > 0 && *b->realised_rate > b->budget;
         return std::string(over ? "<span class=\"bad\">" : "<span>") +
                HtmlEscape(Percent(*b->realised_rate)) + "</span> <span class=\"muted\">over " +
                HtmlEscape(Age(b->window_seconds)) + "</span>";
       }},
      {"Answer age", true,
       [](const auto& s, const Answer*) {
         return s.has_answer() ? HtmlEscape(Age(s.answer_age_seconds())) : std::string("-");
       }},
      {"Status", false,
       [](const auto& s, const Answer*) {
         std::string out = s.status() == "ok"
                               ? "ok"
                               : "<span class=\"bad\">" + HtmlEscape(s.status()) + "</span>";
         if (!s.last_error().empty()) {
           out += "<br><span class=\"bad\">last refresh: " + HtmlEscape(s.last_error()) + "</span>";
         }
         return out;
       }},
  };
  return kColumns;
}

std::string Row(const char* key, const std::string& escaped_value) {
  return std::string("<dt>") + key + "</dt><dd>" + escaped_value + "</dd>";
}

std::string TableRow(std::initializer_list<std::string> cells, const char* cls = nullptr) {
  std::string r = cls ? std::string("<tr class=\"") + cls + "\">" : "<tr>";
  for (const std::string& c : cells) r += "<td>" + c + "</td>";
  return r + "</tr>\n";
}

// The "Shortfall" row: the budget as set, the realised rate and the headroom in use.
std::string BudgetText(const BudgetState& b) {
  return "budget " + (b.setting.empty() ? Percent(b.budget) : b.setting) +
         (b.budget > 0 && !b.setting.empty() && b.setting.back() != '%' ? " = " + Percent(b.budget)
                                                                         : std::string()) +
         (b.reactive_rate ? " (reactive scaling: " + Percent(*b.reactive_rate) + ")"
                          : std::string()) +
         ", realised " +
         (b.realised_rate ? Percent(*b.realised_rate) + " over " + Age(b.window_seconds)
                          : std::string("not yet scored")) +
         "; expected " + Percent(b.expected_rate) + " at headroom " + FormatValue(b.headroom) +
         " (" + b.shape + ", " +
         (b.calibrated ? "calibrated" : "cold start: the model's own intervals") +
         (b.reachable ? "" : "; no headroom meets the budget") + ")";
}

// The summary list of an object that has an answer (the <dl> body).
std::string AnswerRows(const augur::v1::Explanation& ex, const augur::v1::ObjectSummary& summary,
                       const Answer& a) {
  std::string h;
  h += Row("Returned to KEDA", "<strong>" + HtmlEscape(FormatValue(ex.value())) + "</strong>" +
                                   (ex.active() ? " (active)" : " (inactive)"));
  h += Row("Reason", HtmlEscape(ex.reason()) + (ex.fallback() ? " <span class=\"bad\">(fallback: "
                                                                "answering reactively)</span>"
                                                              : ""));
  h += Row("Observed now",
           HtmlEscape(
               FormatValue(ex.has_current() ? std::optional<double>(ex.current()) : std::nullopt)));
  h +=
      Row("Forecast peak",
          HtmlEscape(FormatValue(ex.has_peak() ? std::optional<double>(ex.peak()) : std::nullopt)) +
              " over the next " + HtmlEscape(ex.settings().horizon()) + " at quantile " +
              HtmlEscape(FormatValue(ex.settings().quantile())));
  if (const BudgetState* b = Budget(&a)) h += Row("Shortfall", HtmlEscape(BudgetText(*b)));
  h += Row("Answer age", HtmlEscape(Age(summary.answer_age_seconds())) + " (computed " +
                             HtmlEscape(FormatTime(a.computed_at)) + ")");
  return h;
}

std::string ChartFigure(const ScalerSpec& spec, const Answer& a, const RecentRecord& recent,
                        const std::string& step, double now) {
  web::ChartData chart;
  chart.observed = recent.observations;
  chart.forecast_t = a.forecast_timestamps;
  chart.yhat = a.yhat;
  chart.lower = a.lower;
  chart.upper = a.upper;
  chart.at_quantile = a.at_quantile;
  chart.quantile = spec.policy.quantile;
  chart.answers = recent.answers;
  chart.now = now;
  const double window = std::max(12 * spec.horizon_seconds, 60 * spec.step_seconds);
  chart.window_start = now - window;
  return "<figure>" + web::ChartSvg(chart) + "<figcaption>The last " + HtmlEscape(Age(window)) +
         " of history (step " + HtmlEscape(step) +
         "), the latest forecast over the horizon with its 10-90 % band, what Augur returned to "
         "KEDA at each refresh, and where it answered reactively (shaded). Times in "
         "UTC.</figcaption></figure>\n";
}

std::string ModelTable(const augur::v1::Explanation& ex) {
  const augur::v1::ModelSummary& m = ex.model();
  std::string h = "<h3>Model</h3><table class=\"model\">";
  if (m.fitted()) {
    std::string seasonalities;
    for (const auto& s : m.seasonalities())
      seasonalities += (seasonalities.empty() ? "" : ", ") + s;
    h += TableRow({"fitted", HtmlEscape(FormatTime(m.fitted_at())) + " in " +
                                 HtmlEscape(FormatValue(m.fit_seconds() * 1000)) + " ms"});
    h += TableRow({"points used", std::to_string(m.points_used()) + " over " +
                                      HtmlEscape(Age(m.history_seconds()))});
    h += TableRow({"seasonalities", seasonalities.empty() ? "none" : HtmlEscape(seasonalities)});
    h += TableRow({"trend changepoints", std::to_string(m.changepoints_size())});
    h += TableRow({"residual scale", HtmlEscape(FormatValue(m.residual_scale()))});
  } else {
    h += TableRow({"fitted", "no"});
  }
  if (m.has_error_ratio()) {
    h += TableRow({"recent error / naive error",
                   HtmlEscape(FormatValue(m.error_ratio())) + " (maxForecastError " +
                       HtmlEscape(FormatValue(ex.settings().max_forecast_error())) + ")"});
  }
  if (m.has_mase()) h += TableRow({"recent MASE", HtmlEscape(FormatValue(m.mase()))});
  for (const auto& e : m.event_effects()) {
    const std::string day = e.day() == 0  ? "on its first day"
                            : e.day() < 0 ? std::to_string(-e.day()) + " day(s) before it"
                                          : std::to_string(e.day()) + " day(s) after its first day";
    h += TableRow({"event " + HtmlEscape(e.event()),
                   HtmlEscape(day + ": " + (e.effect() >= 0 ? "+" : "") + FormatValue(e.effect()) +
                              " (fitted on " + std::to_string(e.points()) + " points)")});
  }
  for (const auto& x : m.excluded_periods()) {
    h += TableRow({"excluded period", HtmlEscape(x.start() + " to " + x.end() + ": " +
                                                 std::to_string(x.points_removed()) +
                                                 " points left out of the fit")});
  }
  for (const auto& note : m.notes()) h += TableRow({"note", HtmlEscape(note)});
  if (!m.fit_error().empty()) {
    h += TableRow({"fit error", "<span class=\"bad\">" + HtmlEscape(m.fit_error()) + "</span>"});
  }
  return h + "</table>\n";
}

std::string ComponentsTable(const augur::v1::Explanation& ex) {
  if (ex.components_size() == 0) return "";
  std::string h =
      "<h3>Components over the horizon</h3><table class=\"components\"><tr><th>component</th>"
      "<th>first step</th><th>last step</th><th>min</th><th>max</th></tr>\n";
  for (const auto& c : ex.components()) {
    if (c.values().empty()) continue;
    const auto [lo, hi] = std::minmax_element(c.values().begin(), c.values().end());
    h += "<tr><td>" + HtmlEscape(c.name()) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(c.values(0))) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(c.values(c.values_size() - 1))) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(*lo)) + "</td><td class=\"num\">" + HtmlEscape(FormatValue(*hi)) +
         "</td></tr>\n";
  }
  return h + "</table>\n";
}

std::string SettingsTable(const augur::v1::Settings& s) {
  std::string h = "<h3>Settings</h3><table class=\"settings\">";
  h += TableRow({"query", "<code>" + HtmlEscape(s.query()) + "</code>"});
  h += TableRow({"server", HtmlEscape(s.server_address())});
  h += TableRow({"targetValue", HtmlEscape(FormatValue(s.target_value()))});
  h += TableRow({"activationThreshold", HtmlEscape(FormatValue(s.activation_threshold()))});
  h += TableRow({"horizon / history / step",
                 HtmlEscape(s.horizon() + " / " + s.history() + " / " + s.step())});
  h += TableRow({"seasonality", HtmlEscape(s.seasonality())});
  if (!s.shortfall().empty()) h += TableRow({"shortfall", HtmlEscape(s.shortfall())});
  if (!s.holidays().empty()) h += TableRow({"holidays", HtmlEscape(s.holidays())});
  if (!s.exclude_periods().empty()) {
    h += TableRow({"excludePeriods", HtmlEscape(s.exclude_periods())});
  }
  h += TableRow({"quantile", HtmlEscape(FormatValue(s.quantile()))});
  h += TableRow({"refresh / refit", HtmlEscape(s.refresh_interval() + " / " + s.refit_interval())});
  h += TableRow({"minHistory", HtmlEscape(s.min_history())});
  return h + "</table>\n";
}

std::string ForecastTable(const augur::v1::Explanation& ex) {
  std::string h = "<details><summary>Forecast points (" + std::to_string(ex.forecast_size()) +
                  ")</summary><table class=\"forecast\"><tr><th>time</th><th>median</th>"
                  "<th>10 %</th><th>90 %</th><th>at quantile</th></tr>\n";
  for (const auto& p : ex.forecast()) {
    h += "<tr><td>" + HtmlEscape(FormatTime(p.timestamp())) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(p.yhat())) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(p.lower())) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(p.upper())) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(p.at_quantile())) + "</td></tr>\n";
  }
  return h + "</table></details>\n";
}

std::string AnswersTable(const RecentRecord& recent) {
  std::string h = "<details open><summary>Recent answers (newest first; " +
                  std::to_string(std::min(kAnswersListed, recent.answers.size())) + " of " +
                  std::to_string(recent.answers.size()) +
                  ")</summary><table class=\"answers\"><tr><th>computed</th><th>observed</th>"
                  "<th>forecast peak</th><th>returned</th><th>reason</th></tr>\n";
  size_t listed = 0;
  for (auto it = recent.answers.rbegin(); it != recent.answers.rend() && listed < kAnswersListed;
       ++it, ++listed) {
    h += "<tr" + std::string(IsFallback(it->reason) ? " class=\"fallback\"" : "") + "><td>" +
         HtmlEscape(FormatTime(it->at)) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(it->current)) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(it->peak)) + "</td><td class=\"num\">" +
         HtmlEscape(FormatValue(it->value)) + "</td><td>" + HtmlEscape(ReasonName(it->reason)) +
         "</td></tr>\n";
  }
  return h + "</table></details>\n";
}

std::string LastErrorRow(const augur::v1::ObjectSummary& summary) {
  if (summary.last_error().empty()) return "";
  return Row("Last refresh error",
             "<span class=\"bad\">" + HtmlEscape(summary.last_error()) + "</span>");
}

// One trigger of an object: its summary, chart, explanation, model, settings and record.
std::string TriggerSection(const TrackedObjectState& state, const RecentRecord& recent,
                           double now) {
  const ScalerSpec& spec = *state.spec;
  const Answer* a = state.answer.get();
  augur::v1::ObjectSummary summary;
  FillObjectSummary(spec, a, state.refresh_in_flight, now, &summary);
  std::string h = "<section class=\"trigger\" data-metric=\"" + HtmlEscape(spec.metric_name) +
                  "\"><h2>Trigger <code>" + HtmlEscape(spec.metric_name) +
                  "</code> <span class=\"muted\">id " + HtmlEscape(summary.trigger()) +
                  "</span></h2>\n";
  h += "<dl class=\"summary\">";
  h += Row("Mode", HtmlEscape(summary.mode()));
  if (!summary.has_answer()) {
    h += Row("Status", "<span class=\"bad\">" + HtmlEscape(summary.status()) + "</span>");
    return h + LastErrorRow(summary) + "</dl></section>\n";
  }
  augur::v1::Explanation ex;
  FillExplanation(spec, *a, state.refresh_in_flight, now, &ex);
  h += AnswerRows(ex, summary, *a) + LastErrorRow(summary) + "</dl>\n";
  h += ChartFigure(spec, *a, recent, ex.settings().step(), now);
  h += "<h3>Why (Inspector/Explain)</h3><p class=\"why\">" + HtmlEscape(ex.detail()) + "</p>\n";
  h += ModelTable(ex) + ComponentsTable(ex) + SettingsTable(ex.settings()) + ForecastTable(ex) +
       AnswersTable(recent);
  return h + "</section>\n";
}

bool SplitObjectPath(const std::string& rest, std::string* namespace_, std::string* name,
                     bool* malformed) {
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size() ||
      rest.find('/', slash + 1) != std::string::npos) {
    return false;
  }
  auto ns = web::PercentDecode(rest.substr(0, slash));
  auto n = web::PercentDecode(rest.substr(slash + 1));
  if (!ns || !n) {
    *malformed = true;
    return false;
  }
  *namespace_ = *ns;
  *name = *n;
  return true;
}

}  // namespace

WebView::WebView(const Tracker& tracker, const Clock& clock) : tracker_(tracker), clock_(clock) {}

std::optional<HttpReply> WebView::Handle(const std::string& path) const {
  static const std::string kObjects = "/objects/";
  static const std::string kApiObjects = "/api/v1/objects";
  if (path == "/") return ListPage();
  std::string ns, name;
  bool malformed = false;
  if (path.rfind(kObjects, 0) == 0) {
    if (SplitObjectPath(path.substr(kObjects.size()), &ns, &name, &malformed)) {
      return ObjectPage(ns, name);
    }
    return Page(malformed ? 400 : 404, "Not found",
                "<h1>Not found</h1><p>" +
                    std::string(malformed ? "The path has a malformed %-escape. "
                                          : "Object pages are /objects/&lt;namespace&gt;/&lt;"
                                            "name&gt;. ") +
                    "<a href=\"/\">All tracked objects</a>.</p>\n",
                false);
  }
  if (path == kApiObjects || path == kApiObjects + "/") return ListJson();
  if (path.rfind(kApiObjects + "/", 0) == 0 &&
      SplitObjectPath(path.substr(kApiObjects.size() + 1), &ns, &name, &malformed)) {
    return ObjectJson(ns, name);
  }
  if (path.rfind("/api/", 0) == 0) {
    return Json(malformed ? 400 : 404,
                {{"error", malformed ? "malformed %-escape in the path"
                                     : "no such endpoint: try /api/v1/objects or "
                                       "/api/v1/objects/<namespace>/<name>"}});
  }
  return std::nullopt;
}

HttpReply WebView::ListPage() const {
  const double now = clock_.Now();
  const std::vector<TrackedObjectState> objects = tracker_.List();
  std::string b = "<h1>Tracked objects</h1>\n";
  if (objects.empty()) {
    b += "<p class=\"muted\" id=\"empty\">No object is tracked yet: KEDA's first call for a "
         "ScaledObject with an Augur trigger starts tracking it.</p>\n";
    return Page(200, "Tracked objects", b, true);
  }
  b += "<table id=\"objects\"><thead><tr>";
  for (const Column& c : Columns()) b += std::string("<th>") + c.title + "</th>";
  b += "</tr></thead><tbody>\n";
  for (const TrackedObjectState& s : objects) {
    augur::v1::ObjectSummary summary;
    FillObjectSummary(*s.spec, s.answer.get(), s.refresh_in_flight, now, &summary);
    b += "<tr>";
    for (const Column& c : Columns()) {
      b += std::string(c.numeric ? "<td class=\"num\">" : "<td>") +
           c.cell(summary, s.answer.get()) + "</td>";
    }
    b += "</tr>\n";
  }
  b += "</tbody></table>\n<p class=\"muted\">" + std::to_string(objects.size()) +
       " tracked (one row per trigger), as of " + HtmlEscape(FormatTime(now)) +
       "; this page refreshes every 30 s.</p>\n";
  return Page(200, "Tracked objects", b, true);
}

HttpReply WebView::ObjectPage(const std::string& namespace_, const std::string& name) const {
  const double now = clock_.Now();
  const auto found = tracker_.Recent(namespace_, name);
  const std::string who = namespace_ + "/" + name;
  if (found.empty()) {
    return Page(404, "Not tracked: " + who,
                "<h1 id=\"not-found\">Not tracked: " + HtmlEscape(who) +
                    "</h1><p>Augur tracks no ScaledObject named <code>" + HtmlEscape(name) +
                    "</code> in namespace <code>" + HtmlEscape(namespace_) +
                    "</code>. An object is tracked from KEDA's first call for it and dropped "
                    "after --idle-ttl without calls. <a href=\"/\">All tracked objects</a>.</p>\n",
                false);
  }
  std::string b = "<h1>" + HtmlEscape(who) + "</h1>\n<p class=\"muted\">As of " +
                  HtmlEscape(FormatTime(now)) + "; " + std::to_string(found.size()) +
                  (found.size() == 1 ? " trigger" : " triggers") + ". JSON: <a href=\"/api/v1" +
                  HtmlEscape(ObjectPath(namespace_, name)) + "\">/api/v1" +
                  HtmlEscape(ObjectPath(namespace_, name)) + "</a></p>\n";
  for (const auto& [state, recent] : found) b += TriggerSection(state, recent, now);
  return Page(200, who, b, true);
}

HttpReply WebView::ListJson() const {
  const double now = clock_.Now();
  nlohmann::json objects = nlohmann::json::array();
  for (const TrackedObjectState& s : tracker_.List()) {
    augur::v1::ObjectSummary summary;
    FillObjectSummary(*s.spec, s.answer.get(), s.refresh_in_flight, now, &summary);
    nlohmann::json j = ProtoJson(summary);
    j["links"] = {{"html", ObjectPath(s.spec->namespace_, s.spec->name)},
                  {"api", "/api/v1" + ObjectPath(s.spec->namespace_, s.spec->name)}};
    objects.push_back(std::move(j));
  }
  return Json(200, {{"now", now}, {"objects", std::move(objects)}});
}

HttpReply WebView::ObjectJson(const std::string& namespace_, const std::string& name) const {
  const double now = clock_.Now();
  const auto found = tracker_.Recent(namespace_, name);
  if (found.empty()) {
    return Json(404, {{"error", "not tracked: " + namespace_ + "/" + name},
                      {"namespace", namespace_},
                      {"name", name}});
  }
  nlohmann::json triggers = nlohmann::json::array();
  for (const auto& [state, recent] : found) {
    augur::v1::ObjectSummary summary;
    FillObjectSummary(*state.spec, state.answer.get(), state.refresh_in_flight, now, &summary);
    nlohmann::json t = {{"summary", ProtoJson(summary)}, {"explanation", nullptr}};
    if (state.answer != nullptr && state.answer->status.ok()) {
      augur::v1::Explanation ex;
      FillExplanation(*state.spec, *state.answer, state.refresh_in_flight, now, &ex);
      t["explanation"] = ProtoJson(ex);
    }
    nlohmann::json obs = nlohmann::json::array();
    for (const auto& [ts, v] : recent.observations) obs.push_back({ts, v});
    nlohmann::json answers = nlohmann::json::array();
    for (const RecentAnswer& a : recent.answers) {
      answers.push_back({{"at", a.at},
                         {"current", Optional(a.current)},
                         {"peak", Optional(a.peak)},
                         {"value", Optional(a.value)},
                         {"reason", ReasonName(a.reason)},
                         {"fallback", IsFallback(a.reason)},
                         {"active", a.active}});
    }
    t["recent"] = {{"observations", std::move(obs)}, {"answers", std::move(answers)}};
    t["budget"] = nullptr;
    if (const BudgetState* b = Budget(state.answer.get())) {
      t["budget"] = {{"setting", b->setting},
                     {"budget", b->budget},
                     {"reactive_rate", Optional(b->reactive_rate)},
                     {"calibrated", b->calibrated},
                     {"shape", b->shape},
                     {"theta", b->theta},
                     {"record_theta", b->record_theta},
                     {"headroom", b->headroom},
                     {"reachable", b->reachable},
                     {"expected_rate", b->expected_rate},
                     {"realised_rate", Optional(b->realised_rate)},
                     {"window_seconds", b->window_seconds},
                     {"total_scored_seconds", b->total_scored_seconds},
                     {"total_short_seconds", b->total_short_seconds}};
    }
    triggers.push_back(std::move(t));
  }
  return Json(
      200,
      {{"now", now}, {"namespace", namespace_}, {"name", name}, {"triggers", std::move(triggers)}});
}

}  // namespace scaler
