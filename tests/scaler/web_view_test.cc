// The web view (scaler/web_view.h, web_chart.h) and the tracker's recent record
// (Tracker::Recent) with a fake source, a fake clock and refreshes run inline. The same
// pages in a real browser: tests/e2e/webview.test.js.

#include "scaler/web_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "scaler/tracker.h"
#include "scaler/web_chart.h"
#include "tests/scaler/fakes.h"

namespace scaler {
namespace {

using ::scaler_testing::FakeClock;
using ::scaler_testing::FakeMetricSource;
using ::scaler_testing::InlineExecutor;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kT0 = 1700000100;
constexpr double kPi = 3.14159265358979323846;
const char kSecret[] = "s3cr3t-unit-token";

double Daily(double t) { return 100 + 50 * std::sin(2 * kPi * t / 86400); }

class WebViewTest : public ::testing::Test {
 protected:
  WebViewTest() {
    TrackerOptions options;
    options.trend_uncertainty = true;
    options.recent_capacity = 50;
    tracker_ = std::make_unique<Tracker>(options, source_, clock_, executor_, nullptr,
                                         SpecDefaults{"http://user:pw@prometheus:9090"});
    view_ = std::make_unique<WebView>(*tracker_, clock_);
  }
  ObjectRef Ref(std::string name, std::string ns = "shop") {
    return {std::move(ns),
            std::move(name),
            {{"query", "sum(rate(http_requests_total[2m]))"},
             {"targetValue", "10"},
             {"history", "2d"},
             {"step", "5m"},
             {"horizon", "30m"},
             {"refreshInterval", "60s"},
             {"customHeaders", std::string("Authorization=Bearer ") + kSecret},
             {"queryParameters", std::string("token=") + kSecret}}};
  }
  // Tracks `ref` and refreshes it `n` times, a minute apart.
  void TrackAndRefresh(const ObjectRef& ref, int n) {
    ASSERT_TRUE(tracker_->Get(ref).ok());
    for (int i = 1; i < n; ++i) {
      clock_.Advance(60);
      tracker_->Tick();
    }
  }
  HttpReply Get(const std::string& path) {
    auto r = view_->Handle(path);
    EXPECT_TRUE(r.has_value()) << path;
    return r.value_or(HttpReply{});
  }

  FakeClock clock_{kT0};
  FakeMetricSource source_{Daily};
  InlineExecutor executor_;
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<WebView> view_;
};

TEST_F(WebViewTest, RecentKeepsTheLastObservationsAndOneAnswerPerRefresh) {
  TrackAndRefresh(Ref("checkout"), 4);
  auto recent = tracker_->Recent("shop", "checkout");
  ASSERT_EQ(recent.size(), 1u);
  const RecentRecord& r = recent[0].second;
  // 2 days at 5 minutes is 577 samples; only the newest 50 are kept, oldest first.
  ASSERT_EQ(r.observations.size(), 50u);
  EXPECT_LT(r.observations.front().first, r.observations.back().first);
  EXPECT_NEAR(r.observations.back().second, Daily(r.observations.back().first), 1e-3);
  ASSERT_EQ(r.answers.size(), 4u);
  EXPECT_DOUBLE_EQ(r.answers.back().at, kT0 + 180);
  EXPECT_FLOAT_EQ(static_cast<float>(r.answers.back().value),
                  static_cast<float>(recent[0].first.answer->decision.value));

  // A failed refresh keeps the previous answer: no new record.
  source_.Fail(absl::UnavailableError("Prometheus down"));
  clock_.Advance(60);
  tracker_->Tick();
  EXPECT_EQ(tracker_->Recent("shop", "checkout")[0].second.answers.size(), 4u);
  EXPECT_TRUE(tracker_->Recent("shop", "nothing").empty());
}

TEST_F(WebViewTest, ListsObjectsWithLinksAndEscapesNames) {
  TrackAndRefresh(Ref("checkout"), 1);
  TrackAndRefresh(Ref("<img src=x onerror=alert(1)>", "a&b"), 1);
  HttpReply r = Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("text/html"));
  EXPECT_THAT(r.body, HasSubstr("<a href=\"/objects/shop/checkout\">checkout</a>"));
  EXPECT_THAT(r.body, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(r.body, HasSubstr("a&amp;b"));
  EXPECT_THAT(r.body, HasSubstr("/objects/a%26b/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"));
  EXPECT_THAT(r.body, Not(HasSubstr("<img")));
  EXPECT_THAT(r.body, Not(HasSubstr(kSecret)));
  // The shortfall budget (the default policy): its column and the default, half of
  // reactive scaling's shortfall (whose rate the record emulated over the history knows).
  EXPECT_THAT(r.body, HasSubstr("<th>Budget</th><th>Realised shortfall</th>"));
  EXPECT_THAT(r.body, HasSubstr("<td class=\"num\">0.5x reactive = "));
  bool csp = false;
  for (const auto& [name, value] : r.headers) {
    if (name == "Content-Security-Policy") csp = value.find("default-src 'none'") == 0;
  }
  EXPECT_TRUE(csp);
}

TEST_F(WebViewTest, ObjectPageHasTheChartSeriesAndNoSecret) {
  TrackAndRefresh(Ref("checkout"), 3);
  HttpReply r = Get("/objects/shop/checkout");
  EXPECT_EQ(r.status, 200);
  for (const char* series : {"observed", "forecast", "band", "returned", "now"}) {
    EXPECT_THAT(r.body, HasSubstr(std::string("data-series=\"") + series + "\"")) << series;
  }
  EXPECT_THAT(r.body, Not(HasSubstr("data-series=\"fallback\"")));  // 2 d > minHistory 1h
  EXPECT_THAT(r.body, Not(HasSubstr("data-series=\"quantile\"")));  // quantile 0.5 = median
  EXPECT_THAT(r.body, HasSubstr("Why (Inspector/Explain)"));
  EXPECT_THAT(r.body, HasSubstr("sum(rate(http_requests_total[2m]))"));
  EXPECT_THAT(r.body, HasSubstr("http://prometheus:9090"));  // user info redacted
  EXPECT_THAT(r.body, Not(HasSubstr("user:pw")));
  EXPECT_THAT(r.body, Not(HasSubstr(kSecret)));
  EXPECT_THAT(r.body, Not(HasSubstr("<script")));
}

TEST_F(WebViewTest, ObjectPageShowsEventEffectsAndExcludedPeriods) {
  // kT0 is 2023-11-14T22:15:00Z: the history (2 days) holds all of 2023-11-13.
  ObjectRef ref = Ref("sale");
  ref.metadata["holidays"] = "promo=2023-11-13";
  ref.metadata["excludePeriods"] = "2023-11-14T01:00Z/2023-11-14T02:00Z";
  TrackAndRefresh(ref, 2);
  HttpReply r = Get("/objects/shop/sale");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("event promo"));
  EXPECT_THAT(r.body, HasSubstr("on its first day: "));
  EXPECT_THAT(r.body, HasSubstr("(fitted on 288 points)"));
  EXPECT_THAT(r.body, HasSubstr("2023-11-14T01:00:00Z to 2023-11-14T02:00:00Z: 12 points left out "
                                "of the fit"));
  EXPECT_THAT(r.body, HasSubstr("promo=2023-11-13"));
}

TEST_F(WebViewTest, FallbackAnswersAreShadedWithTheirReason) {
  ObjectRef ref = Ref("young");
  ref.metadata["minHistory"] = "30d";
  TrackAndRefresh(ref, 3);
  HttpReply r = Get("/objects/shop/young");
  EXPECT_THAT(r.body, HasSubstr("data-series=\"fallback\""));
  EXPECT_THAT(r.body, HasSubstr("<title>fallback: short_history from "));
  EXPECT_THAT(r.body, HasSubstr("class=\"fallback\"><td>"));  // the answers table row
}

TEST_F(WebViewTest, MissingObjectsAndMalformedPathsAreErrors) {
  HttpReply r = Get("/objects/shop/<none>");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("Not tracked: shop/&lt;none&gt;"));
  EXPECT_EQ(Get("/objects/shop").status, 404);
  EXPECT_EQ(Get("/objects/shop/a/b").status, 404);
  EXPECT_EQ(Get("/objects/shop/%zz").status, 400);
  EXPECT_EQ(Get("/objects/shop/%00").status, 400);
  EXPECT_EQ(Get("/api/v1/objects/shop/none").status, 404);
  EXPECT_EQ(Get("/api/v2").status, 404);
  EXPECT_FALSE(view_->Handle("/metrics").has_value());
  EXPECT_FALSE(view_->Handle("/favicon.ico").has_value());
}

TEST_F(WebViewTest, JsonServesTheSameDataAsThePage) {
  TrackAndRefresh(Ref("checkout"), 3);
  HttpReply list = Get("/api/v1/objects");
  EXPECT_EQ(list.content_type, "application/json");
  auto j = nlohmann::json::parse(list.body);
  ASSERT_EQ(j["objects"].size(), 1u);
  EXPECT_EQ(j["objects"][0]["name"], "checkout");
  EXPECT_EQ(j["objects"][0]["links"]["html"], "/objects/shop/checkout");

  HttpReply one = Get("/api/v1/objects/shop/checkout");
  auto o = nlohmann::json::parse(one.body);
  ASSERT_EQ(o["triggers"].size(), 1u);
  const auto& t = o["triggers"][0];
  EXPECT_EQ(t["recent"]["answers"].size(), 3u);
  EXPECT_EQ(t["recent"]["observations"].size(), 50u);
  EXPECT_EQ(t["explanation"]["forecast"].size(), 6u);  // 30m at 5m
  EXPECT_EQ(t["explanation"]["reason"], t["summary"]["reason"]);
  EXPECT_EQ(t["explanation"]["settings"]["server_address"], "http://prometheus:9090");
  ASSERT_TRUE(t["budget"].is_object());
  EXPECT_EQ(t["budget"]["setting"], "0.5x reactive");
  // Reactive's rate on the record emulated over the two days of history: the share is half.
  ASSERT_TRUE(t["budget"]["reactive_rate"].is_number()) << t["budget"].dump();
  EXPECT_DOUBLE_EQ(t["budget"]["budget"].get<double>(),
                   std::max(0.5 * t["budget"]["reactive_rate"].get<double>(), 0.0005));
  EXPECT_THAT(one.body, Not(HasSubstr(kSecret)));
}

TEST(WebChart, EscapesAndPercentCodes) {
  EXPECT_EQ(web::HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(web::PercentEncode("a b/c%"), "a%20b%2Fc%25");
  EXPECT_EQ(web::PercentDecode("a%20b%2Fc%25"), std::optional<std::string>("a b/c%"));
  EXPECT_EQ(web::PercentDecode("%2"), std::nullopt);
  EXPECT_EQ(web::PercentDecode("%g0"), std::nullopt);
  EXPECT_EQ(web::FormatValue(std::nullopt), "-");
  EXPECT_EQ(web::FormatValue(1234.5678), "1234.57");
  EXPECT_EQ(web::FormatTime(kT0), "2023-11-14 22:15:00 UTC");
}

TEST(WebChart, LeavesOutSeriesWithoutPoints) {
  web::ChartData d;
  d.now = kT0;
  d.window_start = kT0 - 3600;
  std::string svg = web::ChartSvg(d);
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("data-series=\"now\""));
  for (const char* s : {"observed", "forecast", "band", "returned", "fallback"}) {
    EXPECT_THAT(svg, Not(HasSubstr(std::string("data-series=\"") + s + "\""))) << s;
  }
  // Points before the window are not drawn.
  d.observed = {{kT0 - 7200, 5}, {kT0 - 60, 6}, {kT0, 7}};
  svg = web::ChartSvg(d);
  EXPECT_THAT(svg, HasSubstr("data-series=\"observed\""));
}

}  // namespace
}  // namespace scaler
