// Records real Prometheus answers as seed inputs for the response parser fuzz targets:
//   build/fuzz_record_corpus tests/fuzz/corpus/response_parser
// Starts Debian's prometheus with the test fixture (tests/testing/prometheus_server.h) on
// 127.0.0.1, backfilled with a day of two gauges (one with NaN gaps), and writes the
// body of each query below, as Prometheus sent it, to <dir>/<name>.json. Not a test:
// run it by hand when Prometheus' answers change (e.g. a new Debian release).

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "promclient/curl_http_transport.h"
#include "tests/testing/prometheus_server.h"

namespace {

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k + '=';
    for (unsigned char c : v) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        out += buf;
      }
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const double end = 1700006400;  // fixed, so that re-recording gives the same bodies
  const double start = end - 86400;
  testing_support::PrometheusServerOptions options;
  options.openmetrics = testing_support::ConcatOpenMetrics(
      {testing_support::OpenMetricsGauge("fuzz_load", "{job=\"a\",pod=\"p-1\"}", start, end, 300,
                                         [](double t) { return 100 + std::fmod(t, 997) / 10; }),
       testing_support::OpenMetricsGauge("fuzz_load", "{job=\"a\",pod=\"p\\\"2\\\\\"}", start, end,
                                         300,
                                         [](double t) {
                                           return std::fmod(t, 7200) < 600 ? NAN : t / 1e7;
                                         })});
  auto prom = testing_support::PrometheusServer::Start(options);
  if (!prom.ok()) {
    std::fprintf(stderr, "prometheus: %s\n", std::string(prom.status().message()).c_str());
    return 1;
  }
  promclient::CurlHttpTransport http;
  struct Query {
    const char* name;
    const char* endpoint;
    std::vector<std::pair<std::string, std::string>> params;
  };
  const std::string t = std::to_string(static_cast<long long>(end));
  const std::string t0 = std::to_string(static_cast<long long>(end - 3600));
  const std::vector<Query> queries = {
      {"range_one_series", "query_range", {{"query", "sum(fuzz_load)"}, {"start", t0}, {"end", t}, {"step", "300"}}},
      {"range_two_series_nan", "query_range", {{"query", "fuzz_load"}, {"start", t0}, {"end", t}, {"step", "60"}}},
      {"range_inf", "query_range", {{"query", "sum(fuzz_load) / 0"}, {"start", t0}, {"end", t}, {"step", "600"}}},
      {"range_neg_inf_nan", "query_range", {{"query", "(fuzz_load - fuzz_load) / 0 or -sum(fuzz_load) / 0"}, {"start", t0}, {"end", t}, {"step", "900"}}},
      {"range_empty", "query_range", {{"query", "no_such_metric"}, {"start", t0}, {"end", t}, {"step", "60"}}},
      {"range_fractional_step", "query_range", {{"query", "sum(fuzz_load) * 1e-300"}, {"start", t0}, {"end", t0 + ".5"}, {"step", "0.1"}}},
      {"instant_vector", "query", {{"query", "fuzz_load"}, {"time", t}}},
      {"instant_scalar", "query", {{"query", "scalar(sum(fuzz_load))"}, {"time", t}}},
      {"instant_big_number", "query", {{"query", "sum(fuzz_load) * 1e300"}, {"time", t}}},
      {"instant_string", "query", {{"query", "\"caf\\u00e9 \\\"quoted\\\"\""}, {"time", t}}},
      {"error_bad_data", "query", {{"query", "sum(rate(fuzz_load[5m])"}, {"time", t}}},
      {"error_range_bad_step", "query_range", {{"query", "fuzz_load"}, {"start", t}, {"end", t0}, {"step", "60"}}},
      {"error_execution", "query", {{"query", "fuzz_load + on(job) fuzz_load"}, {"time", t}}},
  };
  for (const Query& q : queries) {
    promclient::HttpRequest request;
    request.method = "POST";
    request.url = (*prom)->url() + "/api/v1/" + q.endpoint;
    request.body = FormEncode(q.params);
    request.timeout = std::chrono::seconds(10);
    auto response = http.Send(request);
    if (!response.ok()) {
      std::fprintf(stderr, "%s: %s\n", q.name, std::string(response.status().message()).c_str());
      return 1;
    }
    std::ofstream(dir + "/" + q.name + ".json", std::ios::binary) << response->body;
    std::printf("%-24s HTTP %ld, %zu bytes\n", q.name, response->status_code,
                response->body.size());
  }
  return 0;
}
