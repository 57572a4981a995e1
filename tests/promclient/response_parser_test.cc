// promclient's response parser on its own (promclient/response_parser.h, internal):
// JSON corner cases the fake-transport tests do not reach.

#include "promclient/response_parser.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace promclient::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

constexpr char kMatrix[] =
    R"({"status":"success","data":{"resultType":"matrix","result":[)"
    R"({"metric":{"__name__":"up","job":"a\"b"},"values":[[1,"1"],[2,"NaN"],[3.5,"-Inf"]]},)"
    R"({"metric":{},"values":[]}]},"warnings":["w1"],"infos":["i"]})";

TEST(ResponseParser, ParsesAMatrix) {
  ParsedResponse p = ParseResponseBody(kMatrix);
  ASSERT_TRUE(p.json_ok) << p.syntax_error;
  ASSERT_THAT(p.data_error, IsOk());
  EXPECT_EQ(p.status, "success");
  EXPECT_THAT(p.warnings, ElementsAre("w1"));
  ASSERT_EQ(p.result.series.size(), 2u);
  EXPECT_EQ(p.result.series[0].labels.at("job"), "a\"b");
  ASSERT_EQ(p.result.series[0].samples.size(), 3u);
  EXPECT_TRUE(std::isnan(p.result.series[0].samples[1].value));
  EXPECT_EQ(p.result.series[0].samples[2].timestamp, 3.5);
  EXPECT_TRUE(p.result.series[1].samples.empty());
}

TEST(ResponseParser, ResultBeforeResultTypeAndUnknownKeysAndWhitespace) {
  ParsedResponse p = ParseResponseBody(
      " \n{ \"extra\" : {\"a\":[1,2,{\"b\":null}],\"c\":true} ,\r\n\t\"data\" : { \"result\" :"
      " [ { \"value\" : [ 10 , \"2e3\" ] , \"metric\" : { \"x\" : \"y\" } } ] ,"
      " \"resultType\" : \"vector\" } , \"status\" : \"success\" } \n");
  ASSERT_TRUE(p.json_ok) << p.syntax_error;
  ASSERT_THAT(p.data_error, IsOk());
  EXPECT_EQ(p.result.type, ResultType::kVector);
  ASSERT_EQ(p.result.series.size(), 1u);
  EXPECT_EQ(p.result.series[0].samples[0].value, 2000);
  EXPECT_EQ(p.result.series[0].labels.at("x"), "y");
}

TEST(ResponseParser, DecodesStringEscapes) {
  ParsedResponse p =
      ParseResponseBody(R"({"status":"success","data":{"resultType":"string",)"
                        R"("result":[1,"q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20ac \ud83d\ude00"]}})");
  ASSERT_TRUE(p.json_ok) << p.syntax_error;
  EXPECT_EQ(p.result.string_value, "q\" b\\ s/ \b\f\n\r\t \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(ResponseParser, ErrorEnvelope) {
  ParsedResponse p = ParseResponseBody(
      R"({"status":"error","errorType":"bad_data","error":"parse error: \"x\"","warnings":[1,"w"]})");
  ASSERT_TRUE(p.json_ok);
  EXPECT_EQ(p.status, "error");
  EXPECT_EQ(p.error_type, "bad_data");
  EXPECT_EQ(p.error, "parse error: \"x\"");
  EXPECT_FALSE(p.has_data);
  EXPECT_THAT(p.warnings, ElementsAre("w"));
}

struct Broken {
  const char* body;
  const char* expected;
};

TEST(ResponseParser, SaysWhereMalformedJsonBroke) {
  for (const Broken& b : {
           Broken{"", "empty"},
           Broken{"   ", "empty"},
           Broken{"[1,2]", "not a JSON object"},
           Broken{"{\"a\":1,}", "expected a string at byte 7 (line 1, column 8)"},
           Broken{"{\"a\":1", "unexpected end of input, expected ',' or '}' at byte 6"},
           Broken{"{\"a\":[1 2]}", "expected ',' or ']', found '2' at byte 8"},
           Broken{"{\"a\":\n\"x}", "unexpected end of input in a string at byte 9 (line 2"},
           Broken{"{\"a\":01}", "expected ',' or '}', found '1'"},
           Broken{"{\"a\":1.}", "digit expected after '.'"},
           Broken{"{\"a\":1e}", "exponent digits expected"},
           Broken{"{\"a\":-}", "invalid number"},
           Broken{"{\"a\":tru}", "invalid literal"},
           Broken{"{\"a\":\"\\x\"}", "invalid escape"},
           Broken{"{\"a\":\"\\u12G4\"}", "invalid \\u escape"},
           Broken{"{\"a\":\"\\ud800\"}", "unpaired UTF-16 surrogate"},
           Broken{"{\"a\":\"tab\there\"}", "control character"},
           Broken{"{\"a\":1e999}", "number out of range: 1e999"},
           Broken{"{} x", "unexpected data after the JSON object at byte 3"},
           Broken{"{\"data\":{\"resultType\":\"matrix\",\"result\":[{\"values\":[[1,\"1\"]]}]",
                  "unexpected end of input"},
           Broken{"{'a':1}", "expected a string"},
       }) {
    ParsedResponse p = ParseResponseBody(b.body);
    EXPECT_FALSE(p.json_ok) << b.body;
    EXPECT_THAT(p.syntax_error, StatusIs(absl::StatusCode::kInternal, HasSubstr(b.expected)))
        << b.body;
  }
}

TEST(ResponseParser, RejectsDeepNestingWithoutCrashing) {
  std::string body = "{\"a\":";
  for (int i = 0; i < 100000; ++i) body += '[';
  ParsedResponse p = ParseResponseBody(body);
  EXPECT_FALSE(p.json_ok);
  EXPECT_THAT(p.syntax_error,
              StatusIs(absl::StatusCode::kInternal, HasSubstr("nested too deeply")));
}

TEST(ResponseParser, ShapeErrorsKeepTheRestValidated) {
  ParsedResponse p = ParseResponseBody(
      R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,2]]}]},"x":[1,2]})");
  ASSERT_TRUE(p.json_ok);
  EXPECT_THAT(p.data_error,
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("data.result[0].values[0][1]: expected a string, got number")));
  // ... but a shape problem followed by broken JSON is malformed JSON.
  ParsedResponse q = ParseResponseBody(
      R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,2]]}]},"x":[1,)");
  EXPECT_FALSE(q.json_ok);
}

TEST(ResponseParser, EveryTruncationIsAnErrorNeverACrash) {
  const std::string body = kMatrix;
  for (size_t n = 0; n < body.size(); ++n) {
    ParsedResponse p = ParseResponseBody(std::string_view(body.data(), n));
    // A cut can only be well-formed JSON at the very end; everything shorter is broken.
    EXPECT_FALSE(p.json_ok) << "prefix of " << n << " bytes";
  }
  EXPECT_TRUE(ParseResponseBody(body).json_ok);
}

TEST(ResponseParser, SampleValues) {
  double v = 0;
  EXPECT_TRUE(ParseSampleValue("1.5", &v));
  EXPECT_EQ(v, 1.5);
  EXPECT_TRUE(ParseSampleValue("+2", &v));
  EXPECT_EQ(v, 2);
  EXPECT_TRUE(ParseSampleValue("-0", &v));
  EXPECT_TRUE(std::signbit(v));
  EXPECT_TRUE(ParseSampleValue("NaN", &v));
  EXPECT_TRUE(std::isnan(v));
  EXPECT_TRUE(ParseSampleValue("+Inf", &v));
  EXPECT_EQ(v, INFINITY);
  EXPECT_TRUE(ParseSampleValue("-Inf", &v));
  EXPECT_EQ(v, -INFINITY);
  EXPECT_TRUE(ParseSampleValue("1e400", &v));
  EXPECT_EQ(v, INFINITY);
  EXPECT_TRUE(ParseSampleValue("-1e400", &v));
  EXPECT_EQ(v, -INFINITY);
  EXPECT_TRUE(ParseSampleValue("1e-400", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(ParseSampleValue("1.7976931348623157e308", &v));
  EXPECT_EQ(v, 1.7976931348623157e308);
  // Lower-case spellings are accepted too (other TSDBs behind the same API write them).
  EXPECT_TRUE(ParseSampleValue("inf", &v));
  EXPECT_EQ(v, INFINITY);
  EXPECT_TRUE(ParseSampleValue("nan", &v));
  EXPECT_TRUE(std::isnan(v));
  for (const char* bad : {"", "+", "++1", "1x", " 1", "1 ", "0x10", "1,5", "Infinity1"}) {
    EXPECT_FALSE(ParseSampleValue(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace promclient::internal
