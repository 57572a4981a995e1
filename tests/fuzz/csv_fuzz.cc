// Fuzz target: the `timestamp,value` CSV reader (forecast/csv.h) behind
// augur-forecast's --input (predict, backtest). Properties: an error is
// INVALID_ARGUMENT with a message; a parsed series has as many values as timestamps,
// at least one row, and finite timestamps.

#include <cmath>
#include <cstdint>
#include <string>

#include "forecast/csv.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<forecast::Series> series = forecast::ParseSeriesCsv(text);
  if (!series.ok()) {
    FUZZ_CHECK(series.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!series.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(series->timestamps.size() == series->values.size());
  FUZZ_CHECK(!series->timestamps.empty());
  for (double t : series->timestamps) FUZZ_CHECK(std::isfinite(t));
  return 0;
}
