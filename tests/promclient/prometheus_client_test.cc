// PrometheusClient against FakeHttpTransport: every result type, the error envelope,
// each HTTP status class, malformed bodies, range splitting and credentials.

#include "promclient/prometheus_client.h"

#include <cmath>
#include <chrono>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_http_transport.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_file.h"

namespace promclient {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing_support::FakeHttpTransport;
using ::testing_support::FormValue;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

constexpr char kBase[] = "http://prom.test:9090";
constexpr char kQueryUrl[] = "http://prom.test:9090/api/v1/query";
constexpr char kRangeUrl[] = "http://prom.test:9090/api/v1/query_range";

std::string Success(const std::string& type, const std::string& result,
                    const std::string& extra = "") {
  return absl::StrCat(R"({"status":"success",)", extra, R"("data":{"resultType":")", type,
                      R"(","result":)", result, "}}");
}

class PrometheusClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<PrometheusClient> MakeClient(ClientOptions options = {}) {
    if (options.base_url.empty()) options.base_url = kBase;
    auto client = PrometheusClient::Create(options, transport_);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::shared_ptr<FakeHttpTransport> transport_ = std::make_shared<FakeHttpTransport>();
};

TEST_F(PrometheusClientTest, ParsesVector) {
  transport_->SetJson(kQueryUrl, Success("vector", R"([
      {"metric":{"__name__":"up","job":"a"},"value":[1700000000.5,"1"]},
      {"metric":{},"value":[1700000000.5,"2.25e3"]}])"));
  auto result = MakeClient()->Query("up", 1700000000.5);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->type, ResultType::kVector);
  ASSERT_EQ(result->series.size(), 2u);
  EXPECT_EQ(result->series[0].labels, (Labels{{"__name__", "up"}, {"job", "a"}}));
  ASSERT_EQ(result->series[0].samples.size(), 1u);
  EXPECT_EQ(result->series[0].samples[0].timestamp, 1700000000.5);
  EXPECT_EQ(result->series[0].samples[0].value, 1);
  EXPECT_TRUE(result->series[1].labels.empty());
  EXPECT_EQ(result->series[1].samples[0].value, 2250);

  const std::vector<HttpRequest> requests = transport_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(FormValue(requests[0].body, "query"), "up");
  EXPECT_EQ(FormValue(requests[0].body, "time"), "1700000000.500");
}

TEST_F(PrometheusClientTest, ParsesMatrixWithNaNInfAndGaps) {
  transport_->SetJson(kRangeUrl, Success("matrix", R"([{"metric":{"job":"x"},"values":[
      [100,"1"],[160,"NaN"],[220,"+Inf"],[400,"-Inf"],[460,"-0.5"]]}])"));
  auto result = MakeClient()->QueryRange("x", 100, 460, 60.0);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->type, ResultType::kMatrix);
  ASSERT_EQ(result->series.size(), 1u);
  const std::vector<Sample>& s = result->series[0].samples;
  ASSERT_EQ(s.size(), 5u);  // 280 and 340 are missing: a gap stays a gap
  EXPECT_EQ(s[0].value, 1);
  EXPECT_TRUE(std::isnan(s[1].value));
  EXPECT_EQ(s[2].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(s[3].value, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s[3].timestamp, 400);
  EXPECT_EQ(s[4].value, -0.5);
}

TEST_F(PrometheusClientTest, ParsesScalarAndString) {
  transport_->SetJson(kQueryUrl, Success("scalar", R"([1700000000,"42.5"])"));
  auto scalar = MakeClient()->Query("42.5", std::nullopt);
  ASSERT_THAT(scalar, IsOk());
  EXPECT_EQ(scalar->type, ResultType::kScalar);
  ASSERT_TRUE(scalar->scalar.has_value());
  EXPECT_EQ(scalar->scalar->timestamp, 1700000000);
  EXPECT_EQ(scalar->scalar->value, 42.5);
  EXPECT_EQ(FormValue(transport_->requests()[0].body, "time"), "");

  transport_->SetJson(kQueryUrl, Success("string", R"([1700000000,"hello \"world\""])"));
  auto string = MakeClient()->Query("\"hello\"", std::nullopt);
  ASSERT_THAT(string, IsOk());
  EXPECT_EQ(string->type, ResultType::kString);
  EXPECT_EQ(string->string_value, "hello \"world\"");
  EXPECT_EQ(string->scalar->timestamp, 1700000000);
}

TEST_F(PrometheusClientTest, EmptyResultsAreEmpty) {
  transport_->SetJson(kQueryUrl, Success("vector", "[]"));
  auto vector = MakeClient()->Query("nothing", std::nullopt);
  ASSERT_THAT(vector, IsOk());
  EXPECT_TRUE(vector->series.empty());

  transport_->SetJson(kRangeUrl, Success("matrix", "null"));
  auto matrix = MakeClient()->QueryRange("nothing", 0, 600, 60.0);
  ASSERT_THAT(matrix, IsOk());
  EXPECT_TRUE(matrix->series.empty());
}

TEST_F(PrometheusClientTest, KeepsWarnings) {
  transport_->SetJson(kQueryUrl, Success("vector", "[]", R"("warnings":["partial response"],)"));
  auto result = MakeClient()->Query("up", std::nullopt);
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->warnings, ElementsAre("partial response"));
}

TEST_F(PrometheusClientTest, HugeNumbers) {
  transport_->SetJson(kQueryUrl, Success("vector", R"([{"metric":{},"value":[1e300,"1e308"]},
      {"metric":{},"value":[1700000000,"1e400"]},{"metric":{},"value":[1700000000,"-1e400"]},
      {"metric":{},"value":[18446744073709551615,"123456789012345678901234567890"]}])"));
  auto result = MakeClient()->Query("up", std::nullopt);
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->series.size(), 4u);
  EXPECT_EQ(result->series[0].samples[0].value, 1e308);
  EXPECT_EQ(result->series[1].samples[0].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(result->series[2].samples[0].value, -std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(result->series[3].samples[0].value, 1.2345678901234568e29);
  EXPECT_DOUBLE_EQ(result->series[3].samples[0].timestamp, 1.8446744073709552e19);

  // A number beyond double's range in the JSON itself is malformed JSON.
  transport_->SetJson(kQueryUrl, Success("vector", R"([{"metric":{},"value":[1e999,"1"]}])"));
  EXPECT_THAT(MakeClient()->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("malformed JSON")));
}

struct BadBody {
  std::string name;
  std::string body;
  std::string expected;  // in the message
};

void PrintTo(const BadBody& b, std::ostream* os) { *os << b.name; }

class MalformedBodyTest : public PrometheusClientTest,
                          public ::testing::WithParamInterface<BadBody> {};

TEST_P(MalformedBodyTest, IsInternalSayingWhere) {
  transport_->SetJson(kQueryUrl, GetParam().body);
  EXPECT_THAT(MakeClient()->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kInternal, HasSubstr(GetParam().expected)));
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, MalformedBodyTest,
    ::testing::Values(
        BadBody{"Empty", "", "malformed JSON"},
        BadBody{"Truncated", R"({"status":"success","data":{"resultType":"vector","res)",
                "column 55"},
        BadBody{"NotAnObject", "[1,2]", "not a JSON object"},
        BadBody{"NoData", R"({"status":"success"})", "no \"data\""},
        BadBody{"NoResultType", R"({"status":"success","data":{"result":[]}})",
                "data.resultType is missing"},
        BadBody{"UnknownResultType",
                R"({"status":"success","data":{"resultType":"tensor","result":[]}})", "\"tensor\""},
        BadBody{"ResultNotArray", Success("vector", "{}"), "data.result: expected an array"},
        BadBody{"LabelNotString", Success("vector", R"([{"metric":{"a":1},"value":[1,"1"]}])"),
                "data.result[0].metric.a: expected a string, got number"},
        BadBody{"ValueMissing", Success("vector", R"([{"metric":{}}])"),
                "data.result[0].value is missing"},
        BadBody{"TimestampString", Success("matrix", R"([{"values":[[1,"1"],["2","1"]]}])"),
                "data.result[0].values[1][0]: expected a number"},
        BadBody{"ValueNumber", Success("matrix", R"([{"values":[[1,"1"],[2,3]]}])"),
                "data.result[0].values[1][1]: expected a string, got number"},
        BadBody{"ValueNotNumeric", Success("vector", R"([{"value":[1,"12abc"]}])"),
                "\"12abc\" is not a number"},
        BadBody{"PairTooShort", Success("scalar", "[1]"), "pair, got an array of 1"},
        BadBody{"StringNotString", Success("string", "[1, 2]"),
                "data.result[1]: expected a string"}),
    [](const ::testing::TestParamInfo<BadBody>& info) { return info.param.name; });

TEST_F(PrometheusClientTest, NativeHistogramsAreRefusedClearly) {
  transport_->SetJson(kQueryUrl,
                      Success("vector", R"([{"metric":{},"histogram":[1,{"count":"2"}]}])"));
  EXPECT_THAT(MakeClient()->Query("h", std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("native histogram")));
}

struct HttpCase {
  std::string name;
  long status;
  std::string body;
  absl::StatusCode code;
  std::string expected;
};

void PrintTo(const HttpCase& c, std::ostream* os) { *os << c.name; }

class HttpStatusTest : public PrometheusClientTest,
                       public ::testing::WithParamInterface<HttpCase> {};

TEST_P(HttpStatusTest, MapsToStatus) {
  transport_->SetJson(kQueryUrl, GetParam().body, GetParam().status);
  EXPECT_THAT(MakeClient()->Query("up", std::nullopt),
              StatusIs(GetParam().code, HasSubstr(GetParam().expected)));
}

INSTANTIATE_TEST_SUITE_P(
    Codes, HttpStatusTest,
    ::testing::Values(
        HttpCase{
            "BadData", 400,
            R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"})",
            absl::StatusCode::kInvalidArgument,
            "HTTP 400 (bad_data): 1:5: parse error: unclosed left parenthesis"},
        HttpCase{
            "Execution", 422,
            R"({"status":"error","errorType":"execution","error":"many-to-many matching not allowed"})",
            absl::StatusCode::kInvalidArgument, "many-to-many matching not allowed"},
        HttpCase{"Unauthorized", 401, "Unauthorized\n", absl::StatusCode::kUnauthenticated,
                 "HTTP 401: Unauthorized"},
        HttpCase{"Forbidden", 403, "denied", absl::StatusCode::kPermissionDenied, "HTTP 403"},
        HttpCase{"NotFound", 404, "404 page not found", absl::StatusCode::kNotFound,
                 "404 page not found"},
        HttpCase{"TooMany", 429, "slow down", absl::StatusCode::kResourceExhausted, "HTTP 429"},
        HttpCase{"OtherClientError", 418, "teapot", absl::StatusCode::kInvalidArgument, "HTTP 418"},
        HttpCase{"ServerError", 500, "<html>oops</html>", absl::StatusCode::kUnavailable,
                 "HTTP 500: <html>oops</html>"},
        HttpCase{"BadGateway", 502, "", absl::StatusCode::kUnavailable, "HTTP 502"},
        HttpCase{"NotReady", 503, "Service Unavailable", absl::StatusCode::kUnavailable,
                 "Service Unavailable"},
        HttpCase{
            "QueryTimeout", 503,
            R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})",
            absl::StatusCode::kDeadlineExceeded, "query timed out"},
        HttpCase{"ErrorWith200", 200, R"({"status":"error","errorType":"internal","error":"boom"})",
                 absl::StatusCode::kInternal, "boom"},
        HttpCase{"Redirect", 302, "", absl::StatusCode::kInternal, "HTTP 302"}),
    [](const ::testing::TestParamInfo<HttpCase>& info) { return info.param.name; });

TEST_F(PrometheusClientTest, TransportErrorsKeepTheirCodeAndNameTheServer) {
  transport_->SetResponse(kQueryUrl, absl::UnavailableError("Connection refused"));
  EXPECT_THAT(MakeClient()->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("Connection refused"), HasSubstr(kQueryUrl))));
  transport_->SetResponse(kQueryUrl, absl::DeadlineExceededError("Operation timed out"));
  EXPECT_THAT(MakeClient()->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(PrometheusClientTest, BaseUrlWithPathPrefixParamsHeadersAndTimeout) {
  transport_->SetHandler([](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    HttpResponse r;
    r.status_code = 200;
    r.body = Success("vector", "[]");
    return r;
  });
  ClientOptions options;
  options.base_url = "https://mimir.test/prometheus/";
  options.headers = {{"X-Scope-OrgID", "tenant-1"}};
  options.params = {{"dedup", "true"}};
  options.timeout = std::chrono::milliseconds(1234);
  auto client = MakeClient(options);
  RequestOptions request;
  request.headers = {{"X-Extra", "yes"}};
  request.params = {{"partial_response", "a b&c"}};
  request.timeout = std::chrono::milliseconds(99);
  ASSERT_THAT(client->Query("sum(rate(x{a=\"b\"}[5m]))", std::nullopt, request), IsOk());
  ASSERT_THAT(client->Query("up", std::nullopt), IsOk());

  const std::vector<HttpRequest> requests = transport_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].url,
            "https://mimir.test/prometheus/api/v1/query?dedup=true&partial_response=a%20b%26c");
  EXPECT_EQ(FormValue(requests[0].body, "query"), "sum(rate(x{a=\"b\"}[5m]))");
  EXPECT_THAT(requests[0].headers, Contains(Pair("X-Scope-OrgID", "tenant-1")));
  EXPECT_THAT(requests[0].headers, Contains(Pair("X-Extra", "yes")));
  EXPECT_EQ(requests[0].timeout, std::chrono::milliseconds(99));
  EXPECT_EQ(requests[1].url, "https://mimir.test/prometheus/api/v1/query?dedup=true");
  EXPECT_THAT(requests[1].headers, Not(Contains(Pair("X-Extra", "yes"))));
  EXPECT_EQ(requests[1].timeout, std::chrono::milliseconds(1234));
}

TEST_F(PrometheusClientTest, PassesTlsOptionsToTheTransport) {
  transport_->SetJson(kQueryUrl, Success("vector", "[]"));
  ClientOptions options;
  options.tls.ca_file = "/etc/ca.pem";
  options.tls.client_cert_file = "/etc/cert.pem";
  options.tls.client_key_file = "/etc/key.pem";
  options.tls.insecure_skip_verify = true;
  ASSERT_THAT(MakeClient(options)->Query("up", std::nullopt), IsOk());
  const HttpRequest request = transport_->requests().at(0);
  EXPECT_EQ(request.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(request.tls.client_cert_file, "/etc/cert.pem");
  EXPECT_EQ(request.tls.client_key_file, "/etc/key.pem");
  EXPECT_TRUE(request.tls.insecure_skip_verify);
}

TEST(PrometheusClientCreate, RejectsUnusableOptions) {
  auto transport = std::make_shared<FakeHttpTransport>();
  auto create = [&](ClientOptions o) { return PrometheusClient::Create(o, transport); };
  ClientOptions o;
  o.base_url = "prom:9090";
  EXPECT_THAT(create(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("http://")));
  o.base_url = "http://";
  EXPECT_THAT(create(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host")));
  o.base_url = "http://prom/?x=1";
  EXPECT_THAT(create(o), StatusIs(absl::StatusCode::kInvalidArgument));
  o.base_url = "http://prom";
  o.timeout = std::chrono::milliseconds(0);
  EXPECT_THAT(create(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timeout")));
  o.timeout = std::chrono::milliseconds(1000);
  o.bearer_token_file = "/nonexistent/augur/token";
  EXPECT_THAT(create(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("/nonexistent/augur/token")));
  o.bearer_token_file.clear();
  o.basic_auth_user = "u";
  EXPECT_THAT(create(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("password")));
  o = ClientOptions();
  o.base_url = "http://p";
  EXPECT_THAT(PrometheusClient::Create(o, nullptr), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PrometheusClientTest, RejectsBadRanges) {
  auto client = MakeClient();
  EXPECT_THAT(client->QueryRange("x", 100, 50, 1.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start <= end")));
  EXPECT_THAT(client->QueryRange("x", NAN, 50, 1.0), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client->QueryRange("x", 0, 50, 0.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("step")));
  EXPECT_THAT(client->QueryRange("x", 0, 86400 * 365, 1.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger step")));
  EXPECT_THAT(client->Query("x", INFINITY), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client->Query("x", 1e300), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client->QueryRange("x", 0, 1e300, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("9e12")));
  EXPECT_THAT(client->QueryRange("x", -1e300, 0, 60.0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client->QueryRange("x", 0, 100, 1e300),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("step")));
  EXPECT_TRUE(transport_->requests().empty());
}

TEST(AutoStep, PicksTheSmallestNiceStepUnderTheLimit) {
  EXPECT_EQ(AutoStep(0), 1);
  EXPECT_EQ(AutoStep(3600), 1);
  EXPECT_EQ(AutoStep(10999), 1);
  EXPECT_EQ(AutoStep(11000), 2);
  EXPECT_EQ(AutoStep(86400), 10);
  EXPECT_EQ(AutoStep(7 * 86400), 60);  // 10,081 points
  EXPECT_EQ(AutoStep(30 * 86400), 300);
  EXPECT_EQ(AutoStep(3650 * 86400.0), 43200);
  EXPECT_EQ(AutoStep(40000 * 86400.0), 4 * 86400);
  for (double range : {1.0, 999.0, 86400.0, 604800.0, 2.6e6, 3.2e7}) {
    EXPECT_LE(std::floor(range / AutoStep(range)) + 1, 11000) << range;
  }
}

// Answers a range query from a synthetic series known at every second, honouring
// start/end/step as Prometheus does, refusing more than 11,000 points.
absl::StatusOr<HttpResponse> SyntheticRange(const HttpRequest& request, int* calls) {
  ++*calls;
  const double start = std::stod(FormValue(request.body, "start"));
  const double end = std::stod(FormValue(request.body, "end"));
  const double step = std::stod(FormValue(request.body, "step"));
  HttpResponse r;
  if ((end - start) / step > 11000) {
    r.status_code = 400;
    r.body =
        R"({"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"})";
    return r;
  }
  std::string a, b;
  for (double t = start; t <= end; t += step) {
    absl::StrAppend(&a, a.empty() ? "" : ",", "[", t, ",\"", t / 10, "\"]");
    // Series b exists only in the second half of the whole range.
    if (t >= 15000) absl::StrAppend(&b, b.empty() ? "" : ",", "[", t, ",\"1\"]");
  }
  std::string result = absl::StrCat(R"([{"metric":{"s":"a"},"values":[)", a, "]}");
  if (!b.empty()) absl::StrAppend(&result, R"(,{"metric":{"s":"b"},"values":[)", b, "]}");
  r.status_code = 200;
  r.body = Success("matrix", result + "]", *calls == 1 ? R"("warnings":["w"],)" : "");
  return r;
}

TEST_F(PrometheusClientTest, SplitsLongRangesAndStitchesSeamlessly) {
  int calls = 0;
  transport_->SetHandler([&](const HttpRequest& r) { return SyntheticRange(r, &calls); });
  // 30,001 points at 1 s: three requests (11,000 + 11,000 + 8,001).
  auto result = MakeClient()->QueryRange("x", 0, 30000, 1.0);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(result->series.size(), 2u);
  const std::vector<Sample>& a = result->series[0].samples;
  ASSERT_EQ(a.size(), 30001u);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].timestamp, static_cast<double>(i));
    ASSERT_EQ(a[i].value, static_cast<double>(i) / 10);
  }
  EXPECT_EQ(result->series[1].labels, (Labels{{"s", "b"}}));
  EXPECT_EQ(result->series[1].samples.size(), 15001u);
  EXPECT_EQ(result->series[1].samples.front().timestamp, 15000);
  EXPECT_THAT(result->warnings, ElementsAre("w"));

  const std::vector<HttpRequest> requests = transport_->requests();
  EXPECT_EQ(FormValue(requests[0].body, "start"), "0.000");
  EXPECT_EQ(FormValue(requests[0].body, "end"), "10999.000");
  EXPECT_EQ(FormValue(requests[1].body, "start"), "11000.000");
  EXPECT_EQ(FormValue(requests[2].body, "end"), "30000.000");
}

TEST_F(PrometheusClientTest, ExactlyElevenThousandPointsIsOneRequest) {
  int calls = 0;
  transport_->SetHandler([&](const HttpRequest& r) { return SyntheticRange(r, &calls); });
  auto result = MakeClient()->QueryRange("x", 0, 10999, 1.0);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result->series[0].samples.size(), 11000u);
}

TEST_F(PrometheusClientTest, SplitRangeFailureNamesThePart) {
  transport_->SetHandler([](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
    if (FormValue(r.body, "start") != "0.000") return absl::UnavailableError("refused");
    HttpResponse ok;
    ok.status_code = 200;
    ok.body = Success("matrix", "[]");
    return ok;
  });
  EXPECT_THAT(MakeClient()->QueryRange("x", 0, 20000, 1.0),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("request 2 of 2")));
}

// -- credentials ------------------------------------------------------------------

using ::testing_support::TempFile;

std::string AuthorizationOf(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (name == "Authorization") return value;
  }
  return "";
}

TEST_F(PrometheusClientTest, BearerTokenIsReReadWhenTheFileChanges) {
  transport_->SetJson(kQueryUrl, Success("vector", "[]"));
  TempFile token;
  token.Write("first-token\n", 1000);
  ClientOptions options;
  options.bearer_token_file = token.path();
  options.headers = {{"Authorization", "Bearer stray"}};
  auto client = MakeClient(options);
  ASSERT_THAT(client->Query("up", std::nullopt), IsOk());
  token.Write("second-token", 2000);  // Kubernetes rotated it
  ASSERT_THAT(client->Query("up", std::nullopt), IsOk());
  ASSERT_THAT(client->Query("up", std::nullopt), IsOk());

  const std::vector<HttpRequest> requests = transport_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(AuthorizationOf(requests[0]), "Bearer first-token");
  EXPECT_EQ(AuthorizationOf(requests[1]), "Bearer second-token");
  EXPECT_EQ(AuthorizationOf(requests[2]), "Bearer second-token");
  for (const HttpRequest& r : requests) {
    EXPECT_EQ(std::count_if(r.headers.begin(), r.headers.end(),
                            [](const auto& h) { return h.first == "Authorization"; }),
              1);
  }
}

TEST_F(PrometheusClientTest, TokenFileRemovedMidRotationKeepsTheLastToken) {
  transport_->SetJson(kQueryUrl, Success("vector", "[]"));
  auto token = std::make_unique<TempFile>();
  token->Write("kept-token", 1000);
  ClientOptions options;
  options.bearer_token_file = token->path();
  auto client = MakeClient(options);
  token.reset();
  ASSERT_THAT(client->Query("up", std::nullopt), IsOk());
  EXPECT_EQ(AuthorizationOf(transport_->requests().at(0)), "Bearer kept-token");
}

TEST_F(PrometheusClientTest, BasicAuth) {
  transport_->SetJson(kQueryUrl, Success("vector", "[]"));
  TempFile password;
  password.Write("s3cret\n", 1000);
  ClientOptions options;
  options.basic_auth_user = "augur";
  options.basic_auth_password_file = password.path();
  ASSERT_THAT(MakeClient(options)->Query("up", std::nullopt), IsOk());
  EXPECT_EQ(AuthorizationOf(transport_->requests().at(0)),
            "Basic " + absl::Base64Escape("augur:s3cret"));
}

TEST_F(PrometheusClientTest, NoSecretInAnyErrorMessage) {
  TempFile token;
  token.Write("TOPSECRET-TOKEN", 1000);
  ClientOptions options;
  options.base_url = "http://user:TOPSECRET-PASSWORD@prom.test:9090";
  options.bearer_token_file = token.path();
  options.headers = {{"X-Api-Key", "TOPSECRET-HEADER"}};
  auto client = MakeClient(options);
  const std::string url = "http://user:TOPSECRET-PASSWORD@prom.test:9090/api/v1/query";
  std::vector<absl::Status> errors;
  transport_->SetResponse(url, absl::UnavailableError("Connection refused"));
  errors.push_back(client->Query("up", std::nullopt).status());
  transport_->SetJson(url, "Unauthorized", 401);
  errors.push_back(client->Query("up", std::nullopt).status());
  transport_->SetJson(url, "{not json", 200);
  errors.push_back(client->Query("up", std::nullopt).status());
  transport_->SetJson(url, R"({"status":"error","errorType":"bad_data","error":"nope"})", 400);
  errors.push_back(client->Query("up", std::nullopt).status());
  for (const absl::Status& s : errors) {
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(std::string(s.message()),
                AllOf(Not(HasSubstr("TOPSECRET")), HasSubstr("http://***@prom.test:9090")));
  }
}

TEST_F(PrometheusClientTest, ConcurrentCallersGetTheirOwnAnswers) {
  transport_->SetHandler([](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
    HttpResponse response;
    response.status_code = 200;
    response.body = Success("scalar", absl::StrCat("[1,\"", FormValue(r.body, "query"), "\"]"));
    return response;
  });
  auto client = MakeClient();
  std::vector<int> wrong(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int n = t * 1000 + i;
        auto r = client->Query(std::to_string(n), std::nullopt);
        if (!r.ok() || !r->scalar || r->scalar->value != n) ++wrong[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(wrong, ::testing::Each(0));
}


// --- Retry-After (429 / 503) -------------------------------------------------------

class RetryAfterTest : public PrometheusClientTest {
 protected:
  using TimePoint = std::chrono::system_clock::time_point;
  // 2026-12-02T02:00:00Z
  static constexpr int64_t kT0 = 1796176800;

  std::unique_ptr<PrometheusClient> MakeClockedClient() {
    ClientOptions options;
    options.clock = [this] {
      std::lock_guard<std::mutex> lock(mu_);
      return now_;
    };
    return MakeClient(options);
  }
  void Advance(std::chrono::milliseconds by) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += by;
  }
  void Answer(long status, const std::string& body, const std::string& retry_after) {
    HttpResponse response;
    response.status_code = status;
    response.content_type = "text/plain";
    response.body = body;
    response.retry_after = retry_after;
    transport_->SetResponse(kQueryUrl, response);
  }
  size_t sent() const { return transport_->requests().size(); }

  std::mutex mu_;
  TimePoint now_ = TimePoint(std::chrono::seconds(kT0));
};

TEST_F(RetryAfterTest, SecondsHoldEveryQueryBackUntilThen) {
  auto client = MakeClockedClient();
  Answer(429, "rate limited", "30");
  EXPECT_THAT(client->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("answered HTTP 429: rate limited"),
                             HasSubstr("Retry-After: 30: no query to this server until "
                                       "2026-12-02T02:00:30Z, 30 s"))));
  EXPECT_EQ(sent(), 1u);
  ASSERT_TRUE(client->RetryNotBefore().has_value());
  EXPECT_EQ(*client->RetryNotBefore(), now_ + std::chrono::seconds(30));

  // Held back: nothing reaches the server, whatever the query or endpoint.
  transport_->SetJson(kQueryUrl, Success("scalar", R"([1,"7"])"));
  Advance(std::chrono::seconds(10));
  EXPECT_THAT(client->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("not querying Prometheus at http://prom.test:9090 until "
                                       "2026-12-02T02:00:30Z (20 s from now)"),
                             HasSubstr("answered HTTP 429: rate limited"))));
  EXPECT_THAT(client->QueryRange("up", kT0 - 3600, kT0, 60),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("Retry-After asked")));
  Advance(std::chrono::milliseconds(19999));
  EXPECT_THAT(client->Query("up", std::nullopt), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(sent(), 1u);

  // Then queries go out again.
  Advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(client->RetryNotBefore().has_value());
  auto ok = client->Query("up", std::nullopt);
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->scalar->value, 7);
  EXPECT_EQ(sent(), 2u);
}

TEST_F(RetryAfterTest, HttpDateOn503KeepsTheCode) {
  auto client = MakeClockedClient();
  Answer(503, "overloaded", "Wed, 02 Dec 2026 02:01:00 GMT");
  EXPECT_THAT(client->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("until 2026-12-02T02:01:00Z, 60 s")));
  Advance(std::chrono::seconds(59));
  EXPECT_THAT(client->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("(1 s from now)")));
  EXPECT_EQ(sent(), 1u);
  Advance(std::chrono::seconds(1));
  client->Query("up", std::nullopt).IgnoreError();
  EXPECT_EQ(sent(), 2u);
}

TEST_F(RetryAfterTest, AHugeDelayIsCappedAtMaxRetryAfter) {
  auto client = MakeClockedClient();
  Answer(429, "go away", "86400");
  EXPECT_THAT(client->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capped at 300 s")));
  EXPECT_EQ(*client->RetryNotBefore(), now_ + std::chrono::seconds(300));
  Answer(429, "go away", "99999999999999999999999");  // beyond any integer type
  Advance(std::chrono::seconds(300));
  client->Query("up", std::nullopt).IgnoreError();
  EXPECT_EQ(*client->RetryNotBefore(), now_ + std::chrono::seconds(300));
  EXPECT_EQ(sent(), 2u);
}

TEST_F(RetryAfterTest, UnreadablePastOrMisplacedRetryAfterHoldsNothing) {
  auto client = MakeClockedClient();
  Answer(429, "busy", "soon");
  EXPECT_THAT(client->Query("up", std::nullopt),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("Retry-After \"soon\" ignored: expected seconds or an "
                                 "HTTP-date")));
  Answer(429, "busy", "Wed, 02 Dec 2026 01:59:00 GMT");  // already past
  client->Query("up", std::nullopt).IgnoreError();
  Answer(429, "busy", "0");
  client->Query("up", std::nullopt).IgnoreError();
  Answer(500, "boom", "30");  // only 429 and 503 ask to come back later
  client->Query("up", std::nullopt).IgnoreError();
  HttpResponse fine;
  fine.status_code = 200;
  fine.body = Success("scalar", R"([1,"1"])");
  fine.retry_after = "30";
  transport_->SetResponse(kQueryUrl, fine);
  EXPECT_THAT(client->Query("up", std::nullopt), IsOk());
  EXPECT_FALSE(client->RetryNotBefore().has_value());
  EXPECT_EQ(sent(), 5u);
}

TEST(ParseRetryAfter, SecondsAndTheThreeHttpDateForms) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(784111777 - 100));
  const auto expected = std::chrono::system_clock::time_point(std::chrono::seconds(784111777));
  EXPECT_EQ(ParseRetryAfter("100", now), expected);
  EXPECT_EQ(ParseRetryAfter(" 100 ", now), expected);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), expected);
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), expected);
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", now), expected);
  for (const char* bad : {"", "-5", "1.5", "10s", "tomorrow", "Sun, 06 Nov 1994 08:49:37 CET",
                          "Sun, 32 Nov 1994 08:49:37 GMT"}) {
    EXPECT_EQ(ParseRetryAfter(bad, now), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace promclient
