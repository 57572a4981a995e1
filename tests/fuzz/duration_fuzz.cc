// Fuzz target: durations as users write them (common/duration.h), in flags, metadata
// and CLI options. Properties: an error is INVALID_ARGUMENT with a message; a parsed
// duration formats to text that parses back to the same duration.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/duration.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::chrono::milliseconds> d = common::ParseDuration(text);
  if (!d.ok()) {
    FUZZ_CHECK(d.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!d.status().message().empty());
    return 0;
  }
  const std::string formatted = common::FormatDuration(*d);
  absl::StatusOr<std::chrono::milliseconds> again = common::ParseDuration(formatted);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *d);
  return 0;
}
