// Fuzz target: the trace loader of augur-loadtest's simulate, workload --replay and
// backfill (loadtest/pattern.h ParseTraceCsv), and the replay over it. Properties: an
// error is INVALID_ARGUMENT with a message; a parsed trace has >= 2 samples with
// strictly increasing finite timestamps and finite values; replaying it gives finite
// values at any time.

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "loadtest/pattern.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<loadtest::Trace> trace = loadtest::ParseTraceCsv(text, "fuzz.csv");
  if (!trace.ok()) {
    FUZZ_CHECK(trace.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!trace.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(trace->timestamps.size() == trace->values.size());
  FUZZ_CHECK(trace->timestamps.size() >= 2);
  for (size_t i = 0; i < trace->timestamps.size(); ++i) {
    FUZZ_CHECK(std::isfinite(trace->timestamps[i]));
    FUZZ_CHECK(std::isfinite(trace->values[i]));
    if (i > 0) FUZZ_CHECK(trace->timestamps[i] > trace->timestamps[i - 1]);
  }
  auto shared = std::make_shared<const loadtest::Trace>(*trace);
  absl::StatusOr<loadtest::Replay> replay = loadtest::Replay::Make(shared, 1700000000.0, 60.0);
  if (replay.ok()) {
    for (double t : {1699999000.0, 1700000000.0, 1700000030.5, 1700086400.0, 1800000000.0}) {
      FUZZ_CHECK(std::isfinite(replay->ValueAt(t)));
    }
  }
  return 0;
}
