#pragma once
// Synthetic load patterns and replayed traces, as pure functions of time.
//
// `workload` serves these values live and `backfill` writes them over a past window; both
// call ValueAt(t), so history and live data join seamlessly for the same parameters and
// seed. Noise comes from a hash of (seed, time bucket), never from a stateful RNG.
//
// Thread-safety: everything here is immutable after construction and pure.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loadtest {

enum class PatternKind {
  kConstant,   // base
  kSpike,      // base, plus spike_height during spike_width every period
  kGradual,    // triangle ramp between base and base + amplitude over each period
  kSustained,  // base + amplitude held for half of each period (a plateau), then base
  kDiurnal,    // base + amplitude * daily shape * weekly factor (weekends lower)
};

// "constant", "spike", "gradual" (alias "ramp"), "sustained", "diurnal".
// Errors: kInvalidArgument naming the value and listing the accepted ones.
absl::StatusOr<PatternKind> ParsePatternKind(const std::string& name);
const char* PatternKindName(PatternKind kind);

struct PatternParams {
  PatternKind kind = PatternKind::kDiurnal;
  double base = 10;                // the metric's unit
  double amplitude = 50;           // gradual, sustained, diurnal
  double period_seconds = 3600;    // spike, gradual, sustained (diurnal is 1 day + 1 week)
  double phase_seconds = 0;        // shifts the periodic shapes in time
  double spike_height = 100;       // spike
  double spike_width_seconds = 300;  // spike
  // Standard deviation of additive Gaussian noise, relative to the noiseless value
  // (0.05 = 5 %). Constant within each noise_step_seconds bucket of unix time.
  double noise = 0;
  double noise_step_seconds = 1;
  uint64_t seed = 1;

  // kInvalidArgument naming the field, its value and what is expected.
  absl::Status Validate() const;
};

// The pattern's value at unix time `t` (seconds). Never negative. Pure.
double PatternValue(const PatternParams& params, double t);

// A recorded `timestamp,value` trace (unix seconds; sorted, duplicates averaged).
struct Trace {
  std::vector<double> timestamps;
  std::vector<double> values;
  double duration() const { return timestamps.empty() ? 0 : timestamps.back() - timestamps.front(); }
  // Median spacing of the samples (seconds), 0 for fewer than 2 samples.
  double MedianStep() const;
  // The newest value at or before `t` (sample-and-hold); the first value before it.
  double ValueAt(double t) const;
};

// Reads a CSV of `timestamp,value` rows (a header row is allowed; blank lines and
// non-finite values are skipped). Timestamps are unix seconds.
// Errors: kNotFound (cannot open), kInvalidArgument (a malformed row: its line number and
// content; fewer than 2 samples).
absl::StatusOr<Trace> ReadTraceCsv(const std::string& path);
absl::StatusOr<Trace> ParseTraceCsv(const std::string& text, const std::string& source_name);

// A trace replayed on a new time axis: unix time `anchor` maps to the trace's first
// sample, and the trace runs `speed` times faster. Past its end it starts over (loops).
struct Replay {
  // Errors: kInvalidArgument for a null/short trace or a speed that is not > 0.
  static absl::StatusOr<Replay> Make(std::shared_ptr<const Trace> trace, double anchor,
                                     double speed);
  double ValueAt(double t) const;

  std::shared_ptr<const Trace> trace;
  double anchor = 0;
  double speed = 1;
  double loop_span = 0;  // trace duration + one median step
};

// What workload and backfill serve: a pattern or a replay.
struct LoadSource {
  PatternParams pattern;
  std::optional<Replay> replay;
  double ValueAt(double t) const {
    return replay ? replay->ValueAt(t) : PatternValue(pattern, t);
  }
};

}  // namespace loadtest
