// Fault injection between augur and Prometheus (docs/reliability.md, the fault table):
// the real `augur` binary reads a real Prometheus through a FaultProxy
// (tests/testing/fault_proxy.h); each test injects one fault and asserts what KEDA sees
// (the last answer while younger than --max-staleness, then UNAVAILABLE naming the
// cause; never a wrong value), what the metrics and logs say, and the recovery.

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_fixture.h"
#include "tests/testing/fake_http_transport.h"

namespace faults {
namespace {

using ::testing::HasSubstr;
using testing_support::FaultProxy;
using testing_support::ProxyRequest;
using testing_support::ProxyResponse;

// A behaviour that forwards and rewrites Prometheus' JSON answer with `edit`.
FaultProxy::Behavior Rewrite(std::function<void(nlohmann::json&)> edit) {
  return [edit](const ProxyRequest& request, FaultProxy& proxy) {
    ProxyResponse r = proxy.Forward(request);
    nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
    if (!body.is_discarded()) {
      edit(body);
      r.body = body.dump();
    }
    return r;
  };
}

// Calls `fn` on every [timestamp, "value"] pair of a matrix answer.
void ForEachSample(nlohmann::json& body, const std::function<void(nlohmann::json&)>& fn) {
  if (!body.contains("data") || !body["data"].contains("result")) return;
  for (auto& series : body["data"]["result"]) {
    if (!series.contains("values")) continue;
    for (auto& pair : series["values"]) fn(pair);
  }
}

using FaultTest = FaultFixture;

TEST_F(FaultTest, ConnectionRefused) {
  RunFaultCycle("connection refused", nullptr, "Connection refused", "unavailable", {},
                [&] { proxy_->Refuse(); }, [&] { ASSERT_TRUE(proxy_->Listen().ok()); });
}

TEST_F(FaultTest, ResetMidBody) {
  RunFaultCycle(
      "connection reset mid-body",
      [](const ProxyRequest& request, FaultProxy& proxy) {
        ProxyResponse r = proxy.Forward(request);
        r.reset_after = r.body.size() / 2;
        return r;
      },
      "reset", "unavailable");
}

TEST_F(FaultTest, ResponseSlowerThanTimeout) {
  RunFaultCycle(
      "response slower than `timeout` (500 ms)",
      [](const ProxyRequest& request, FaultProxy& proxy) {
        ProxyResponse r = proxy.Forward(request);
        r.delay = std::chrono::seconds(5);
        return r;
      },
      "timed out", "deadline_exceeded", {{"timeout", "500"}});
}

TEST_F(FaultTest, StalledBody) {
  RunFaultCycle(
      "stalled body (slow-loris: headers and half the body, then nothing)",
      [](const ProxyRequest& request, FaultProxy& proxy) {
        ProxyResponse r = proxy.Forward(request);
        r.stall_after = r.body.size() / 2;
        return r;
      },
      "timed out", "deadline_exceeded", {{"timeout", "500"}});
}

TEST_F(FaultTest, Http503) {
  RunFaultCycle(
      "HTTP 503",
      [](const ProxyRequest&, FaultProxy&) {
        ProxyResponse r;
        r.status = 503;
        r.body = R"({"status":"error","errorType":"unavailable","error":"injected: TSDB not ready"})";
        return r;
      },
      "answered HTTP 503 (unavailable): injected: TSDB not ready", "unavailable");
}

// A rate-limited Prometheus (or a proxy in front of it) answers one query 429 with a
// Retry-After; every later query is forwarded. Augur must send nothing until that time
// (observed at the proxy: when the next query arrives), keep the last answer while it is
// younger than --max-staleness (3 s, shorter than the 5 s asked for: it then turns
// UNAVAILABLE saying why), and answer again from the first query after it.
class RetryAfterTest : public FaultFixture {
 protected:
  void Run(const std::string& fault_name, const std::function<std::string()>& retry_after,
           double min_gap_seconds) {
    augur_ = StartAugur();
    const auto ref = Ref("cycle");
    const Answer warm = Warm(ref);
    ASSERT_TRUE(warm.ok()) << warm.message;

    using Clock = std::chrono::steady_clock;
    std::mutex mu;
    std::vector<Clock::time_point> arrivals;  // every query since the fault was set
    std::string sent_header;
    proxy_->SetBehavior([&](const ProxyRequest& request, FaultProxy& p) {
      {
        std::lock_guard<std::mutex> lock(mu);
        arrivals.push_back(Clock::now());
        if (arrivals.size() > 1) return p.Forward(request);
        sent_header = retry_after();
      }
      ProxyResponse r;
      r.status = 429;
      r.headers = {{"Retry-After", sent_header}, {"Content-Type", "text/plain"}};
      r.body = "rate limited: too many queries\n";
      return r;
    });
    auto count = [&] {
      std::lock_guard<std::mutex> lock(mu);
      return arrivals.size();
    };
    ASSERT_TRUE(testing_support::PollUntil(20, [&] { return count() >= 1; }))
        << "no query reached the proxy";

    // Until the next query arrives: the kept answer exactly, then UNAVAILABLE.
    Answer last, unavailable;
    std::string summary_error;
    int ok_answers = 0;
    std::optional<Clock::time_point> unavailable_at;
    const bool resumed = testing_support::PollUntil(30, [&] {
      last = GetMetrics(ref);
      // Judged only while no second query has arrived (else augur may have a new answer).
      if (count() >= 2) return true;
      if (last.ok()) {
        ++ok_answers;
        EXPECT_EQ(last.value, warm.value) << "a new value while Prometheus refuses";
        EXPECT_FALSE(unavailable_at.has_value()) << "OK again before any new query";
      } else if (!unavailable_at) {
        unavailable_at = Clock::now();
        unavailable = last;
        summary_error = Summary(ref.name()).last_error();
      }
      return false;
    });
    ASSERT_TRUE(resumed) << "augur never queried again after the 429";
    Clock::time_point first, second;
    {
      std::lock_guard<std::mutex> lock(mu);
      first = arrivals[0];
      second = arrivals[1];
    }
    const double gap = std::chrono::duration<double>(second - first).count();
    EXPECT_GE(gap, min_gap_seconds) << "queried again before Retry-After: " << sent_header;
    // Not held much longer either: the next refresh after the hold (refreshInterval 1 s).
    EXPECT_LE(gap, min_gap_seconds + 1 + 6);
    ASSERT_TRUE(unavailable_at.has_value()) << "the answer outlived --max-staleness";
    EXPECT_GE(std::chrono::duration<double>(*unavailable_at - first).count(),
              kMaxStalenessSeconds - 1.5);
    EXPECT_EQ(unavailable.code, grpc::StatusCode::UNAVAILABLE) << unavailable.message;
    EXPECT_THAT(unavailable.message, HasSubstr("--max-staleness"));
    EXPECT_THAT(unavailable.message, HasSubstr("answered HTTP 429"));
    EXPECT_THAT(unavailable.message, HasSubstr("Retry-After"));
    // Why, in the metrics, the log and Inspector.
    EXPECT_GE(MetricValue("augur_prometheus_query_errors_total{reason=\"resource_exhausted\"}"), 1);
    EXPECT_GE(CountLogLines("code=resource_exhausted"), 1);
    EXPECT_GE(CountLogLines("no query to this server until"), 1) << augur_->log();
    EXPECT_THAT(summary_error, HasSubstr("Retry-After")) << "Inspector/List names it";

    Answer again;
    ASSERT_TRUE(testing_support::PollUntil(30, [&] {
      again = GetMetrics(ref);
      return again.ok();
    })) << "no recovery: " << again.message;
    const double to_recover =
        std::chrono::duration<double>(Clock::now() - second).count();
    EXPECT_NEAR(again.value, warm.value, 0.05 * warm.value);
    EXPECT_TRUE(testing_support::PollUntil(10, [&] {
      return CountLogLines("event=source_recovered") >= 1;
    }));

    char keda[320], recovery[160];
    std::snprintf(keda, sizeof keda,
                  "the last answer (%d calls, unchanged), then UNAVAILABLE after %.1f s: "
                  "`... > --max-staleness 3s): last refresh error: not querying Prometheus "
                  "at ... until ..., as its Retry-After asked: ...answered HTTP 429...`",
                  ok_answers, std::chrono::duration<double>(*unavailable_at - first).count());
    std::snprintf(recovery, sizeof recovery,
                  "no query for %.2f s after the 429 (Retry-After `%s`); OK again %.1f s after "
                  "the next query",
                  gap, sent_header.c_str(), to_recover);
    Row(fault_name, keda,
        "`augur_prometheus_query_errors_total{reason=\"resource_exhausted\"}` counts; log "
        "`event=source_error code=resource_exhausted` with `Retry-After: ...: no query to "
        "this server until <time>`, then `event=source_recovered`",
        recovery);
  }
};

TEST_F(RetryAfterTest, Http429WithRetryAfterSeconds) {
  Run("HTTP 429 with Retry-After: 5 (seconds)", [] { return std::string("5"); }, 5.0);
}

TEST_F(RetryAfterTest, Http429WithRetryAfterHttpDate) {
  // An HTTP-date 5 s ahead, in whole seconds: augur holds back for more than 4 s.
  Run("HTTP 429 with Retry-After: an HTTP-date 5 s ahead",
      [] {
        const std::time_t at = std::time(nullptr) + 5;
        std::tm tm{};
        gmtime_r(&at, &tm);
        char text[64];
        std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        return std::string(text);
      },
      4.0);
}

TEST_F(FaultTest, TruncatedJson) {
  RunFaultCycle(
      "truncated JSON (200, body cut in half)",
      [](const ProxyRequest& request, FaultProxy& proxy) {
        ProxyResponse r = proxy.Forward(request);
        r.body.resize(r.body.size() / 2);
        return r;
      },
      "malformed JSON from Prometheus", "internal");
}

TEST_F(FaultTest, ValidJsonOfTheWrongShape) {
  RunFaultCycle(
      "valid JSON of the wrong shape",
      [](const ProxyRequest&, FaultProxy&) {
        ProxyResponse r;
        r.body = R"({"status":"success","data":{"resultType":"matrix","result":{"oops":[1,2]}}})";
        return r;
      },
      "data.result: expected an array, got object", "internal");
}

TEST_F(FaultTest, HugeBodyIsCutAtTheLimitWithBoundedMemory) {
  long rss_before = 0, rss_max = 0;
  RunFaultCycle(
      "huge body (1 GiB of valid JSON; limit --prometheus-max-response-bytes 16 MiB)",
      [](const ProxyRequest& request, FaultProxy& proxy) {
        ProxyResponse r = proxy.Forward(request);
        r.padding = size_t{1} << 30;
        return r;
      },
      "the response is larger than 16777216 bytes", "resource_exhausted", {},
      [&] { rss_before = augur_->rss_kib(); },
      [&] { rss_max = augur_->rss_kib(); });
  // Memory stays bounded: the body buffer stops at the limit (16 MiB, grown by doubling).
  EXPECT_GT(rss_before, 0);
#ifndef AUGUR_SANITIZED
  EXPECT_LT(rss_max - rss_before, 48 * 1024) << "RSS " << rss_before << " -> " << rss_max << " KiB";
#else
  // Under a sanitizer freed memory is kept in quarantine (ASan: 256 MiB) or shadowed
  // (TSan): RSS says nothing about the body buffer. The release build checks the bound.
#endif
  std::printf("huge body: augur RSS %ld KiB before, %ld KiB after the fault\n", rss_before, rss_max);
}

TEST_F(FaultTest, ThousandsOfSeries) {
  RunFaultCycle(
      "a query returning 5,000 series",
      Rewrite([](nlohmann::json& body) {
        auto& result = body["data"]["result"];
        if (!result.is_array() || result.empty()) return;
        nlohmann::json one = result[0];
        result = nlohmann::json::array();
        for (int i = 0; i < 5000; ++i) {
          one["metric"]["instance"] = "pod-" + std::to_string(i);
          result.push_back(one);
        }
      }),
      "the query returned 5000 series, expected exactly one", "invalid_argument");
}

// NaN and infinities are not errors: they never enter the history; with the default
// ignoreNullValues the newest sample reads as 0 (as KEDA's prometheus scaler), and the
// predictive answer is max(0, forecast peak): the forecast's, not 0. A 10 s step, so
// that new steps (the ones the proxy turns into NaN) arrive within seconds.
TEST_F(FaultTest, NanAndInfSamples) {
  augur_ = StartAugur();
  const std::map<std::string, std::string> fast = {{"history", "1d"}, {"step", "10s"}};
  auto strict_md = fast;
  strict_md["ignoreNullValues"] = "false";
  const auto ref = Ref("nan", fast);
  const auto strict = Ref("nan-strict", strict_md);
  const Answer warm = Warm(ref);
  ASSERT_TRUE(warm.ok()) << warm.message;
  ASSERT_TRUE(Warm(strict).ok());
  const auto history_before = Explain(ref).history();
  // The proxy serves each connection on its own thread: the two objects' queries may be
  // rewritten at once.
  std::atomic<int> k{0};
  proxy_->SetBehavior(Rewrite([&k](nlohmann::json& body) {
    static const char* kValues[] = {"NaN", "+Inf", "-Inf"};
    ForEachSample(body, [&k](nlohmann::json& pair) { pair[1] = kValues[k++ % 3]; });
  }));
  // The next new step is NaN or Inf: the strict object says so at once.
  Answer s;
  ASSERT_TRUE(testing_support::PollUntil(30, [&] {
    s = GetMetrics(strict);
    return !s.ok();
  })) << "no new step read in 30 s";
  EXPECT_EQ(s.code, grpc::StatusCode::FAILED_PRECONDITION) << s.message;
  EXPECT_THAT(s.message, HasSubstr("newest sample is NaN or Inf (ignoreNullValues is false)"));
  augur::v1::Explanation e;
  EXPECT_TRUE(testing_support::PollUntil(15, [&] {
    e = Explain(ref);
    return e.has_current() && e.current() == 0;
  })) << "the newest sample (NaN or Inf) reads as 0: " << e.detail();
  const Answer a = GetMetrics(ref);
  ASSERT_TRUE(a.ok()) << a.message;
  EXPECT_NEAR(a.value, warm.value, 0.05 * warm.value) << "the forecast peak, not 0";
  EXPECT_EQ(e.reason(), "forecast") << e.detail();
  EXPECT_TRUE(std::isfinite(e.history().max()) && std::isfinite(e.history().min()));
  EXPECT_LE(e.history().max(), 150.5);
  EXPECT_GE(e.history().min(), 49.5);
  EXPECT_GE(e.history().points(), history_before.points() - 1);
  EXPECT_EQ(CountLogLines("event=source_error"), 0) << "NaN is data, not a source error";

  proxy_->SetBehavior(nullptr);
  Answer back;
  ASSERT_TRUE(testing_support::PollUntil(30, [&] {
    back = GetMetrics(strict);
    return back.ok();
  })) << back.message;
  EXPECT_NEAR(GetMetrics(ref).value, warm.value, 0.05 * warm.value);
  EXPECT_TRUE(testing_support::PollUntil(15, [&] { return Explain(ref).current() > 40; }))
      << "the observed value is back";
  Row("NaN, +Inf, -Inf samples",
      "default: OK, the forecast peak (NaN/Inf never enter the history; the newest reads as 0 "
      "as in KEDA, and predictive answers max(0, peak)); `ignoreNullValues: \"false\"`: "
      "FAILED_PRECONDITION `the query's newest sample is NaN or Inf` at once",
      "no source error (the query succeeded); Explain: current 0, history min/max finite",
      "OK with the observed value at the next new step");
}

// A server that answers samples older than (and in reverse order of) what augur holds:
// they are ignored, the history never goes back, and the answers go on.
TEST_F(FaultTest, TimestampsGoingBackwards) {
  augur_ = StartAugur();
  const auto ref = Ref("backwards");
  const Answer warm = Warm(ref);
  ASSERT_TRUE(warm.ok()) << warm.message;
  const auto before = Explain(ref).history();
  const int requests = proxy_->requests();
  proxy_->SetBehavior(Rewrite([](nlohmann::json& body) {
    if (!body.contains("data")) return;
    for (auto& series : body["data"]["result"]) {
      auto& values = series["values"];
      std::reverse(values.begin(), values.end());
      for (auto& pair : values) pair[0] = pair[0].get<double>() - 3600;
    }
  }));
  ASSERT_TRUE(testing_support::PollUntil(20, [&] { return proxy_->requests() >= requests + 5; }));
  const Answer a = GetMetrics(ref);
  ASSERT_TRUE(a.ok()) << a.message;
  EXPECT_NEAR(a.value, warm.value, 0.05 * warm.value);
  const auto after = Explain(ref).history();
  EXPECT_GE(after.last_timestamp(), before.last_timestamp());
  EXPECT_GE(after.points(), before.points() - 1);
  EXPECT_EQ(CountLogLines("event=source_error"), 0);
  proxy_->SetBehavior(nullptr);
  ASSERT_TRUE(testing_support::PollUntil(10, [&] { return GetMetrics(ref).ok(); }));
  Row("timestamps going backwards (samples an hour older than augur's, in reverse order)",
      "OK, the same answer: older samples are ignored, the history never goes back",
      "no error; Explain's history.last_timestamp never decreases",
      "nothing to recover: new samples are taken again");
}

// Prometheus restarted with less data: augur keeps the history it has (its queries are
// incremental); a restarted augur sees the short history and answers reactively.
TEST_F(FaultTest, HistoryShrinks) {
  augur_ = StartAugur();
  const auto ref = Ref("shrink");
  const Answer warm = Warm(ref);
  ASSERT_TRUE(warm.ok()) << warm.message;
  const auto before = Explain(ref);
  auto small = StartPrometheus(40 * 60);  // 40 minutes: less than minHistory (1 h)
  ASSERT_TRUE(small.ok()) << small.status();
  const int requests = proxy_->requests();
  proxy_->SetUpstream((*small)->url());
  ASSERT_TRUE(testing_support::PollUntil(20, [&] { return proxy_->requests() >= requests + 4; }));
  const Answer a = GetMetrics(ref);
  ASSERT_TRUE(a.ok()) << a.message;
  EXPECT_NEAR(a.value, warm.value, 0.05 * warm.value);
  const auto after = Explain(ref);
  EXPECT_GE(after.history().points(), before.history().points() - 1);
  // Not a fallback: the forecast, or a shape the budget chose (trend, headroom).
  EXPECT_THAT(after.reason(), ::testing::AnyOf("forecast", "trend", "headroom"));

  augur_ = StartAugur();  // a restart sees only the short history
  channel_.reset();
  const Answer fresh = Warm(ref);
  ASSERT_TRUE(fresh.ok()) << fresh.message;
  const auto e = Explain(ref);
  EXPECT_EQ(e.reason(), "short_history") << e.detail();
  ASSERT_TRUE(e.has_current());
  EXPECT_DOUBLE_EQ(fresh.value, e.current()) << "reactive: the observed value";
  EXPECT_NEAR(e.current(), Load(t0_ - 60, t0_), 1.0);
  EXPECT_EQ(MetricValue("augur_answer_reason{metric=\"augur-shrink\",namespace=\"faults\","
                        "reason=\"short_history\",scaledobject=\"shrink\"}"),
            1)
      << Metrics();
  proxy_->SetUpstream(prom_->url());
  Row("history that shrinks (Prometheus replaced by one holding 40 min)",
      "a warm augur: OK, the same answer (it keeps its own history); a restarted augur: OK, "
      "the observed value (reason `short_history`)",
      "`augur_answer_reason{reason=\"short_history\"}` 1 after a restart; Explain says why",
      "forecasts again once Prometheus holds `minHistory`");
}

// augur's clock ahead of or behind Prometheus': the proxy makes Prometheus' data look
// `skew` seconds older (or newer) to augur, honestly: it moves the query window by
// `skew` and the answer's timestamps back by as much, so augur sees what a Prometheus
// whose clock is `skew` behind its own would answer.
void RunClockSkew(FaultProxy& proxy, double skew,
                  const std::function<Answer()>& get, const std::function<augur::v1::Explanation()>& explain,
                  const std::string& name) {
  const Answer warm = get();
  ASSERT_TRUE(warm.ok()) << warm.message;
  const int requests = proxy.requests();
  proxy.SetBehavior([skew](const ProxyRequest& request, FaultProxy& p) {
    ProxyRequest shifted = request;
    auto form = testing_support::ParseForm(request.body);
    for (auto& [k, v] : form) {
      if (k == "start" || k == "end" || k == "time") {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", std::strtod(v.c_str(), nullptr) + skew);
        v = buf;
      }
    }
    shifted.body = testing_support::EncodeForm(form);
    ProxyResponse r = p.Forward(shifted);
    nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
    if (!body.is_discarded()) {
      ForEachSample(body, [skew](nlohmann::json& pair) { pair[0] = pair[0].get<double>() - skew; });
      r.body = body.dump();
    }
    return r;
  });
  ASSERT_TRUE(testing_support::PollUntil(20, [&] { return proxy.requests() >= requests + 5; }));
  const Answer a = get();
  ASSERT_TRUE(a.ok()) << a.message;
  EXPECT_NEAR(a.value, warm.value, 0.05 * warm.value);
  const auto e = explain();
  // Not a fallback: the forecast, or a shape the budget chose (trend, headroom).
  EXPECT_THAT(e.reason(), ::testing::AnyOf("forecast", "trend", "headroom")) << e.detail();
  ASSERT_TRUE(e.has_current());
  proxy.SetBehavior(nullptr);
  char keda[240];
  std::snprintf(keda, sizeof keda,
                "OK: %.1f vs %.1f unskewed (reason `%s`; Prometheus' samples are stamped "
                "%.0f s %s than augur's clock, within 2 steps)",
                a.value, warm.value, e.reason().c_str(), std::fabs(skew),
                skew > 0 ? "earlier" : "later");
  FaultFixture::Row(name, keda, "no error", "nothing to recover");
}

TEST_F(FaultTest, AugurClockAheadOfPrometheus) {
  augur_ = StartAugur();
  const auto ref = Ref("ahead");
  ASSERT_TRUE(Warm(ref).ok());
  RunClockSkew(*proxy_, 180, [&] { return GetMetrics(ref); }, [&] { return Explain(ref); },
               "augur's clock 3 min ahead of Prometheus'");
}

TEST_F(FaultTest, AugurClockBehindPrometheus) {
  augur_ = StartAugur();
  const auto ref = Ref("behind");
  ASSERT_TRUE(Warm(ref).ok());
  RunClockSkew(*proxy_, -180, [&] { return GetMetrics(ref); }, [&] { return Explain(ref); },
               "augur's clock 3 min behind Prometheus'");
}

}  // namespace
}  // namespace faults
