#pragma once
// Durations as users write them in flags, metadata and CLI options.

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace common {

// Parses "30s", "5m", "2h", "7d", "1w", "250ms", combinations such as "1h30m", and
// fractional numbers ("1.5h"); a bare number is seconds.
// Errors: kInvalidArgument saying what is wrong and what is expected.
// Thread-safe (pure).
absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest exact form: 90000ms -> "1m30s", 604800s -> "1w".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace common
