// promclient_bench: what reading a week of history costs the client.
//
// Starts a local Prometheus (the tests' fixture) backfilled with 7 days at 1-minute
// resolution, then reads them back (10,081 points) many times and prints a table:
//   prometheus  time to the first response byte (the server's evaluation + loopback)
//   transfer    first to last byte, as curl measured it
//   parse       JSON parse + copy into promclient::Series, on the captured body
//   client      end-to-end QueryRange wall time minus `prometheus`: the client's own
//               cost (transfer handling + parse + copy)
// Goals (issue 2): client <= 5 ms per query, parse >= 2 million samples/s.
// Usage: promclient_bench [iterations (default 50)]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "promclient/curl_http_transport.h"
#include "promclient/prometheus_client.h"
#include "tests/testing/fake_http_transport.h"
#include "tests/testing/prometheus_server.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kEnd = 1699999980;
constexpr double kStart = kEnd - 7 * 86400;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double median, p90, min;
};

Stats Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 9 / 10)], v.front()};
}

// Records the transport's timings of the last request.
class TimingTransport final : public promclient::HttpTransport {
 public:
  absl::StatusOr<promclient::HttpResponse> Send(const promclient::HttpRequest& r) override {
    auto response = inner_.Send(r);
    if (response.ok()) last_ = *response;
    return response;
  }
  const promclient::HttpResponse& last() const { return last_; }

 private:
  promclient::CurlHttpTransport inner_;
  promclient::HttpResponse last_;
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "promclient_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::max(5, std::atoi(argv[1])) : 50;
  std::printf("promclient_bench: backfilling 7 days at 1m into a local Prometheus...\n");
  testing_support::PrometheusServerOptions options;
  options.openmetrics = testing_support::OpenMetricsGauge(
      "bench_week", "{job=\"bench\"}", kStart, kEnd, 60,
      [](double t) { return 1000 + 500 * std::sin(2 * M_PI * t / 86400) + std::fmod(t, 7.3); });
  auto server = testing_support::PrometheusServer::Start(options);
  if (!server.ok()) return Fail(server.status().ToString());

  auto transport = std::make_shared<TimingTransport>();
  promclient::ClientOptions client_options;
  client_options.base_url = (*server)->url();
  auto client = promclient::PrometheusClient::Create(client_options, transport);
  if (!client.ok()) return Fail(client.status().ToString());

  // Warm up Prometheus' caches and the connection.
  for (int i = 0; i < 5; ++i) {
    auto r = (*client)->QueryRange("bench_week", kStart, kEnd, 60.0);
    if (!r.ok()) return Fail(r.status().ToString());
    if (r->series.size() != 1 || r->series[0].samples.size() != 10081) {
      return Fail("unexpected result shape");
    }
  }
  const std::string body = transport->last().body;
  const size_t samples = 10081;

  std::vector<double> total, prometheus, transfer, client_own;
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = Clock::now();
    auto r = (*client)->QueryRange("bench_week", kStart, kEnd, 60.0);
    const auto t1 = Clock::now();
    if (!r.ok()) return Fail(r.status().ToString());
    const double ttfb = transport->last().time_to_first_byte.count() / 1000.0;
    const double curl_total = transport->last().total_time.count() / 1000.0;
    total.push_back(Ms(t1 - t0));
    prometheus.push_back(ttfb);
    transfer.push_back(curl_total - ttfb);
    client_own.push_back(Ms(t1 - t0) - ttfb);
  }

  // Parse + copy alone, on the captured body, through the public API.
  auto fake = std::make_shared<testing_support::FakeHttpTransport>();
  fake->SetJson((*server)->url() + "/api/v1/query_range", body);
  auto parser = promclient::PrometheusClient::Create(client_options, fake);
  if (!parser.ok()) return Fail(parser.status().ToString());
  std::vector<double> parse;
  for (int i = 0; i < iterations * 4; ++i) {
    const auto t0 = Clock::now();
    auto r = (*parser)->QueryRange("bench_week", kStart, kEnd, 60.0);
    const auto t1 = Clock::now();
    if (!r.ok() || r->series[0].samples.size() != samples) return Fail("parse failed");
    parse.push_back(Ms(t1 - t0));
  }

  const Stats s_total = Summarize(total), s_prom = Summarize(prometheus),
              s_transfer = Summarize(transfer), s_client = Summarize(client_own),
              s_parse = Summarize(parse);
  std::printf("\nRead 7d at 1m: %zu samples, %zu-byte JSON body, %d iterations\n\n", samples,
              body.size(), iterations);
  std::printf("%-34s %10s %10s %10s\n", "", "median ms", "p90 ms", "min ms");
  auto row = [](const char* name, const Stats& s) {
    std::printf("%-34s %10.3f %10.3f %10.3f\n", name, s.median, s.p90, s.min);
  };
  row("end-to-end QueryRange", s_total);
  row("prometheus (time to first byte)", s_prom);
  row("transfer (first to last byte)", s_transfer);
  row("parse + copy (captured body)", s_parse);
  row("client own = end-to-end - prom", s_client);
  const double rate = samples / (s_parse.median / 1000.0);
  std::printf("\nparse throughput: %.2f million samples/s (goal >= 2), %.0f MB/s\n", rate / 1e6,
              body.size() / (s_parse.median / 1000.0) / 1e6);
  std::printf("client overhead:  %.3f ms per query (goal <= 5 ms)\n", s_client.median);
  const bool ok = rate >= 2e6 && s_client.median <= 5.0;
  std::printf("goals: %s\n", ok ? "met" : "NOT met");
  return 0;
}
