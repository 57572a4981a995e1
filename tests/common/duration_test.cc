#include "common/duration.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace common {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing_support::StatusIs;

struct Case {
  const char* text;
  long long ms;
};

class ParseDurationTest : public testing::TestWithParam<Case> {};

TEST_P(ParseDurationTest, ParsesEveryUnitAndCombination) {
  auto got = ParseDuration(GetParam().text);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->count(), GetParam().ms) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Units, ParseDurationTest,
    testing::Values(Case{"250ms", 250}, Case{"30s", 30000}, Case{"5m", 300000},
                    Case{"2h", 7200000}, Case{"7d", 604800000}, Case{"1w", 604800000},
                    Case{"1h30m", 5400000}, Case{"1.5h", 5400000}, Case{"45", 45000},
                    Case{"0s", 0}));

TEST(ParseDuration, RejectsMalformedTextSayingWhatIsExpected) {
  for (const char* bad : {"", "m", "5x", "5m3", "1..5s", "-5m", "5 m", "."}) {
    EXPECT_THAT(ParseDuration(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected a number")))
        << bad;
  }
  EXPECT_THAT(ParseDuration("5y"), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("unknown unit \"y\"")));
  EXPECT_THAT(ParseDuration("99999999999w"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too large")));
}

// Found by the duration fuzz target: std::stod threw out_of_range on these (an
// exception out of a parser that promises a Status; `augur --max-staleness <400 digits>s`
// died of it).
TEST(ParseDuration, NumbersBeyondDoubleAreAnErrorNotAnException) {
  EXPECT_THAT(ParseDuration(std::string(400, '9') + "h"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too large")));
  EXPECT_THAT(ParseDuration("9999915h" + std::string(330, '0')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto tiny = ParseDuration("0." + std::string(400, '0') + "1s");
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ(tiny->count(), 0);
}

TEST(FormatDuration, PrintsTheShortestExactForm) {
  EXPECT_EQ(FormatDuration(milliseconds(90000)), "1m30s");
  EXPECT_EQ(FormatDuration(milliseconds(604800000)), "1w");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1s500ms");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (long long ms : {1LL, 999LL, 61000LL, 86400000LL * 9 + 5}) {
    auto back = ParseDuration(FormatDuration(milliseconds(ms)));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->count(), ms);
  }
}

TEST(FormatSeconds, RoundsToTheMillisecondAndFormatsAsFormatDuration) {
  EXPECT_EQ(FormatSeconds(5400), "1h30m");
  EXPECT_EQ(FormatSeconds(0.25), "250ms");
  EXPECT_EQ(FormatSeconds(90.5), "1m30s500ms");
  EXPECT_EQ(FormatSeconds(0.0004), "0s");
  EXPECT_EQ(FormatSeconds(-60), "-1m");
  EXPECT_EQ(FormatSeconds(21600), "6h");
  EXPECT_EQ(FormatSeconds(std::nan("")), "NaN");
  EXPECT_EQ(FormatSeconds(1e300), "inf");
  EXPECT_EQ(FormatSeconds(-HUGE_VAL), "-inf");
}

}  // namespace
}  // namespace common
