#include "scaler/log.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace scaler {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing_support::StatusIs;

std::chrono::system_clock::time_point FixedTime() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1795420800123LL));
}

TEST(Logger, WritesLogfmtWithQuotingWhereNeeded) {
  std::ostringstream out;
  Logger logger(out, LogLevel::kInfo, LogFormat::kText, FixedTime);
  logger.Log(LogLevel::kInfo, "listening",
             {{"grpc", "127.0.0.1:6000"}, {"reason", "a b \"c\""}, {"seconds", 1.5}});
  EXPECT_EQ(out.str(),
            "ts=2026-11-23T08:00:00.123Z level=info event=listening grpc=127.0.0.1:6000 "
            "reason=\"a b \\\"c\\\"\" seconds=1.5\n");
}

TEST(Logger, WritesOneJsonObjectPerLine) {
  std::ostringstream out;
  Logger logger(out, LogLevel::kDebug, LogFormat::kJson, FixedTime);
  logger.Log(LogLevel::kWarn, "fallback", {{"scaledobject", "web"}, {"detail", "line\nbreak"}});
  EXPECT_EQ(out.str(),
            "{\"ts\":\"2026-11-23T08:00:00.123Z\",\"level\":\"warn\",\"event\":\"fallback\","
            "\"scaledobject\":\"web\",\"detail\":\"line\\nbreak\"}\n");
}

TEST(Logger, DropsLinesBelowTheLevel) {
  std::ostringstream out;
  Logger logger(out, LogLevel::kWarn, LogFormat::kText, FixedTime);
  logger.Log(LogLevel::kInfo, "fit", {});
  logger.Log(LogLevel::kDebug, "fit", {});
  EXPECT_EQ(out.str(), "");
  logger.Log(LogLevel::kError, "source_error", {});
  EXPECT_THAT(out.str(), HasSubstr("level=error event=source_error"));
}

TEST(Logger, FormatsSpecialNumbers) {
  std::ostringstream out;
  Logger logger(out, LogLevel::kInfo, LogFormat::kText, FixedTime);
  logger.Log(LogLevel::kInfo, "x", {{"nan", std::nan("")}, {"inf", -1.0 / 0.0}, {"ok", true}});
  EXPECT_THAT(out.str(), HasSubstr("nan=NaN inf=-Inf ok=true"));
}

TEST(LogParsing, AcceptsLevelsAndFormatsAndNamesTheBadOnes) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_THAT(ParseLogLevel("verbose"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"verbose\"")));
  EXPECT_THAT(ParseLogFormat("xml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text or json")));
}

TEST(RedactUrl, RemovesUserInfoOnly) {
  EXPECT_EQ(RedactUrl("https://user:s3cret@prom:9090/api?q=a@b"), "https://prom:9090/api?q=a@b");
  EXPECT_EQ(RedactUrl("http://prom:9090/x@y"), "http://prom:9090/x@y");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
  EXPECT_THAT(RedactUrl("http://a:b@h/"), Not(HasSubstr("b@")));
}

}  // namespace
}  // namespace scaler
