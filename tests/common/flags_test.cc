// The flag value parsers shared by augur-forecast and augur-loadtest.

#include "common/flags.h"

#include <string>

#include "common/cli.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace common {
namespace {

using ::testing::HasSubstr;

TEST(DurationFlagSeconds, ReadsDurationsAndNamesTheFlagOnError) {
  EXPECT_EQ(*DurationFlagSeconds("step", "90s"), 90);
  EXPECT_EQ(*DurationFlagSeconds("step", "1h30m"), 5400);
  EXPECT_EQ(*DurationFlagSeconds("step", "250ms"), 0.25);
  absl::StatusOr<double> bad = DurationFlagSeconds("step", "fast");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(IsUsageError(bad.status()));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("--step: invalid duration \"fast\""));
}

TEST(ParseDurationFlags, FillsEveryFlagOrStopsAtTheFirstBadOne) {
  double a = -1, b = -1;
  const std::string one = "1m", two = "2h", bad = "soon", empty;
  ASSERT_TRUE(ParseDurationFlags({{"a", one, &a}, {"b", two, &b}}).ok());
  EXPECT_EQ(a, 60);
  EXPECT_EQ(b, 7200);
  absl::Status s = ParseDurationFlags({{"a", bad, &a}, {"b", one, &b}});
  EXPECT_TRUE(IsUsageError(s));
  EXPECT_THAT(std::string(s.message()), HasSubstr("--a:"));
  EXPECT_EQ(b, 7200);  // untouched after the error
  // An empty value of a flag with a default is an error, not "the default".
  s = ParseDurationFlags({{"a", empty, &a}});
  EXPECT_TRUE(IsUsageError(s));
  EXPECT_THAT(std::string(s.message()), HasSubstr("empty"));
}

TEST(ParseOptionalDurationFlags, LeavesFlagsThatWereNotGiven) {
  double a = 42, b = -1;
  const std::string empty, one = "1m";
  ASSERT_TRUE(ParseOptionalDurationFlags({{"a", empty, &a}, {"b", one, &b}}).ok());
  EXPECT_EQ(a, 42);
  EXPECT_EQ(b, 60);
}

TEST(TimeFlag, ReadsUnixSecondsNowRelativeTimesAndRfc3339) {
  const double now = 1763856000;
  EXPECT_EQ(*TimeFlag("end", "1700000000", now), 1700000000);
  EXPECT_EQ(*TimeFlag("end", "1700000000.5", now), 1700000000.5);
  EXPECT_EQ(*TimeFlag("end", "now", now), now);
  EXPECT_EQ(*TimeFlag("end", "now-1h", now), now - 3600);
  EXPECT_EQ(*TimeFlag("end", "2025-11-23T00:00:00Z", now), 1763856000);
  EXPECT_EQ(*TimeFlag("end", "2025-11-23T01:00:00.250+01:00", now), 1763856000.25);
  for (const char* bad : {"yesterday", "", "now-", "now-soon", "1e999"}) {
    absl::StatusOr<double> t = TimeFlag("end", bad, now);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_TRUE(IsUsageError(t.status())) << bad;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("--end")) << bad;
  }
  EXPECT_THAT(std::string(TimeFlag("start", "yesterday", now).status().message()),
              HasSubstr("RFC 3339"));
}

TEST(KeyValueFlag, SplitsAtTheFirstEqualsAndNeverEchoesTheItem) {
  auto pairs = KeyValueFlag("header", {"A=1", "B=x=y", "C="}, "X-Scope-OrgID=tenant1");
  ASSERT_TRUE(pairs.ok());
  EXPECT_EQ(pairs->size(), 3u);
  EXPECT_EQ((*pairs)[1], (std::pair<std::string, std::string>{"B", "x=y"}));
  EXPECT_EQ((*pairs)[2].second, "");
  for (const char* bad : {"Authorization: Bearer s3cret", "=s3cret"}) {
    auto r = KeyValueFlag("header", {bad}, "X-Scope-OrgID=tenant1");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(IsUsageError(r.status()));
    EXPECT_EQ(r.status().message(),
              "--header expects NAME=VALUE (e.g. --header X-Scope-OrgID=tenant1)");
  }
}

}  // namespace
}  // namespace common
