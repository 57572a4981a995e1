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

// The shortest exact form: 90000ms -> "1m30s", 604800s -> "1w", 0 -> "0s". Augur's one
// way to write a duration for people (logs, errors, notes, Inspector, --help defaults).
std::string FormatDuration(std::chrono::milliseconds d);

// The same for seconds as a double (rounded to the millisecond): 5400 -> "1h30m",
// 0.25 -> "250ms", 90.5 -> "1m30s500ms"; NaN -> "NaN", infinities and durations beyond
// FormatDuration's range (about 292 million years) -> "inf" / "-inf".
std::string FormatSeconds(double seconds);

}  // namespace common
