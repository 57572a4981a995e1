// forecast::ReadSeriesCsv: the timestamp,value format of augur-forecast's --input.
#include "forecast/csv.h"

#include <cmath>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace forecast {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

TEST(SeriesCsv, ReadsHeaderAndRows) {
  std::istringstream in(
      "timestamp,value\r\n1700000000,1.5\n1700000060, 2\n\n# comment\n1700000120,-3e2\n");
  auto s = ReadSeriesCsv(in);
  ASSERT_THAT(s, IsOk());
  EXPECT_THAT(s->timestamps, ElementsAre(1700000000, 1700000060, 1700000120));
  EXPECT_THAT(s->values, ElementsAre(1.5, 2, -300));
}

TEST(SeriesCsv, HeaderIsOptionalAndRowsMayBeUnsorted) {
  auto s = ParseSeriesCsv("20,1\n10,2\n10,3\n");
  ASSERT_THAT(s, IsOk());
  EXPECT_THAT(s->timestamps, ElementsAre(20, 10, 10));
}

TEST(SeriesCsv, MissingAndNonFiniteValuesAreKeptAsNaNOrInf) {
  auto s = ParseSeriesCsv("t,v\n1,\n2,NaN\n3,inf\n4,5\n");
  ASSERT_THAT(s, IsOk());
  ASSERT_EQ(s->values.size(), 4u);
  EXPECT_TRUE(std::isnan(s->values[0]));
  EXPECT_TRUE(std::isnan(s->values[1]));
  EXPECT_TRUE(std::isinf(s->values[2]));
}

TEST(SeriesCsv, ErrorsNameTheLine) {
  EXPECT_THAT(ParseSeriesCsv("timestamp,value\n1,2\n3,4,5\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 3: expected 2 fields timestamp,value, got 3")));
  EXPECT_THAT(ParseSeriesCsv("timestamp,value\n1,2\n3\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3")));
  EXPECT_THAT(ParseSeriesCsv("1,2\nyesterday,4\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 2: timestamp \"yesterday\" is not a number")));
  EXPECT_THAT(ParseSeriesCsv("1,2\n2,lots\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 2: value \"lots\" is not a number")));
  EXPECT_THAT(ParseSeriesCsv("1,2\nnan,4\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not finite")));
}

TEST(SeriesCsv, NoRowsIsAnError) {
  EXPECT_THAT(ParseSeriesCsv(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no data")));
  EXPECT_THAT(ParseSeriesCsv("timestamp,value\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no data")));
}

}  // namespace
}  // namespace forecast
