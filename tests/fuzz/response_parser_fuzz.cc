// Fuzz target: Prometheus' API response bodies, the bytes augur reads from the network.
// Parses the body directly (promclient/response_parser.h) and through PrometheusClient
// (the HTTP status and envelope mapping) as a 200 and as a 503 answer. Properties: no
// crash, no sanitizer report, and every failure is a Status with a message (never an
// exception, never an OK without a result).

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "promclient/prometheus_client.h"
#include "promclient/response_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

class CannedTransport final : public promclient::HttpTransport {
 public:
  absl::StatusOr<promclient::HttpResponse> Send(const promclient::HttpRequest&) override {
    return response;
  }
  promclient::HttpResponse response;
};

void CheckParsed(const promclient::internal::ParsedResponse& p) {
  if (!p.json_ok) {
    FUZZ_CHECK(!p.syntax_error.ok());
    FUZZ_CHECK(p.syntax_error.code() == absl::StatusCode::kInternal);
    FUZZ_CHECK(!p.syntax_error.message().empty());
    return;
  }
  FUZZ_CHECK(p.syntax_error.ok());
  if (!p.data_error.ok()) {
    FUZZ_CHECK(!p.data_error.message().empty());
    FUZZ_CHECK(p.result.series.empty());
    return;
  }
  if (p.has_data) {
    const auto type = p.result.type;
    if (type == promclient::ResultType::kScalar || type == promclient::ResultType::kString) {
      FUZZ_CHECK(p.result.scalar.has_value());
      FUZZ_CHECK(p.result.series.empty());
    }
    if (type == promclient::ResultType::kVector) {
      for (const auto& s : p.result.series) FUZZ_CHECK(s.samples.size() == 1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  CheckParsed(promclient::internal::ParseResponseBody(body));

  double value = 0;
  if (size <= 64) (void)promclient::internal::ParseSampleValue(body, &value);

  static const auto transport = std::make_shared<CannedTransport>();
  static const auto client = [] {
    promclient::ClientOptions options;
    options.base_url = "http://127.0.0.1:9";
    return promclient::PrometheusClient::Create(options, transport).value();
  }();
  transport->response.body = body;
  for (long code : {200L, 503L}) {
    transport->response.status_code = code;
    auto instant = client->Query("up", 1700000000.0);
    if (!instant.ok()) FUZZ_CHECK(!instant.status().message().empty());
    if (code == 503) FUZZ_CHECK(!instant.ok());
    auto range = client->QueryRange("up", 1700000000.0, 1700003600.0, 60.0);
    if (range.ok()) {
      FUZZ_CHECK(range->type == promclient::ResultType::kMatrix);
    } else {
      FUZZ_CHECK(!range.status().message().empty());
    }
  }
  return 0;
}
