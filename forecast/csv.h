#pragma once
// Reading `timestamp,value` CSV traces (the format of augur-forecast's --input and of
// the benchmark series) into a forecast::Series. Pure parsing: no file access here.
//
// Format: an optional header line whose first field is not a number (e.g.
// "timestamp,value"); then one `timestamp,value` row per line, timestamp in unix
// seconds (integer or decimal), value a decimal number, "NaN", "Inf" or empty (missing:
// kept as NaN, Fit drops it). Blank lines and lines starting with '#' are skipped;
// surrounding spaces and a trailing '\r' are ignored. Rows need not be sorted or unique.
//
// Thread-safety: reentrant.

#include <istream>
#include <string>

#include "absl/status/statusor.h"
#include "forecast/forecast.h"

namespace forecast {

// Errors: kInvalidArgument naming the line number and what is wrong ("line 7: expected
// 2 fields timestamp,value, got 3"), kInvalidArgument when there are no rows at all.
absl::StatusOr<Series> ReadSeriesCsv(std::istream& in);

// Same, from a string (convenient for tests and in-memory data).
absl::StatusOr<Series> ParseSeriesCsv(const std::string& text);

}  // namespace forecast
