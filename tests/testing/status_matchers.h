#pragma once
// IsOk() / StatusIs() for absl::Status and absl::StatusOr (abseil 20220623 ships none).

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace testing_support {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

// StatusIs(absl::StatusCode::kInvalidArgument) or
// StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("query"))
MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code) + " and a matching message") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code &&
         testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

}  // namespace testing_support

namespace absl {
// Readable failure output for gtest.
void PrintTo(const Status& status, std::ostream* os);
}  // namespace absl
