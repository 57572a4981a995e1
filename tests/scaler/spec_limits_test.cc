// ParseSpec's input-size limits (scaler/spec.h): metadata keys, metadata bytes, query
// length. Each is refused with INVALID_ARGUMENT saying which limit, before any other
// check; what is at the limit is accepted.

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scaler/spec.h"
#include "tests/testing/status_matchers.h"

namespace scaler {
namespace {

using ::testing::HasSubstr;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

std::map<std::string, std::string> Minimal() { return {{"query", "sum(up)"}, {"targetValue", "10"}}; }

TEST(SpecLimits, TooManyKeysAreRefusedBeforeTheUnknownKeyCheck) {
  auto md = Minimal();
  for (size_t i = md.size(); i < kMaxMetadataKeys + 1; ++i) md["k" + std::to_string(i)] = "v";
  EXPECT_THAT(ParseSpec("a", "b", md, {"http://p:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("65 keys: expected at most 64")));
}

TEST(SpecLimits, MetadataBytesAreBounded) {
  auto md = Minimal();
  md["customHeaders"] = "X-A=" + std::string(kMaxMetadataBytes, 'a');
  EXPECT_THAT(ParseSpec("a", "b", md, {"http://p:9090"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bytes of keys and values: expected at most 65536")));
  md["customHeaders"] = "X-A=" + std::string(kMaxMetadataBytes - 200, 'a');
  EXPECT_THAT(ParseSpec("a", "b", md, {"http://p:9090"}), IsOk());
}

TEST(SpecLimits, QueryLengthIsBounded) {
  auto md = Minimal();
  md["query"] = "sum(up) + " + std::string(kMaxQueryBytes, '1');
  auto spec = ParseSpec("a", "b", md, {"http://p:9090"});
  EXPECT_THAT(spec, StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("metadata key 'query' is 16394 bytes long: expected PromQL "
                                       "of at most 16384 bytes")));
  md["query"] = "sum(up) + " + std::string(kMaxQueryBytes - 10, '1');
  EXPECT_THAT(ParseSpec("a", "b", md, {"http://p:9090"}), IsOk());
}

// Found by the spec fuzz target's speed: an unknown key of 60 kB made the closest-key
// search cost ~25 ms and was echoed whole into the error (and the log).
TEST(SpecLimits, ALongUnknownKeyIsCutInTheError) {
  auto md = Minimal();
  md[std::string(60000, 'x')] = "1";
  auto spec = ParseSpec("a", "b", md, {"http://p:9090"});
  ASSERT_THAT(spec, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown metadata key")));
  EXPECT_LT(spec.status().message().size(), 400u);
  EXPECT_THAT(spec.status().message(), HasSubstr(std::string(64, 'x') + "...'"));
}

}  // namespace
}  // namespace scaler
