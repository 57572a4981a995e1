#include "loadtest/command_support.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/flags.h"

namespace loadtest {

namespace po = boost::program_options;

absl::Status AsUsageError(const absl::Status& status, absl::string_view flag) {
  if (status.ok()) return status;
  return common::UsageError(flag.empty() ? std::string(status.message())
                                         : absl::StrCat("--", flag, ": ", status.message()));
}

void Progress(const CommandEnv& env, const std::string& line) {
  if (env.progress) *env.err << line << std::endl;
}

std::function<void(double)> FractionProgress(const CommandEnv& env, const std::string& what) {
  auto last = std::make_shared<int>(-1);
  return [&env, what, last](double f) {
    const int decile = static_cast<int>(f * 10);
    if (decile > *last) {
      *last = decile;
      Progress(env, absl::StrCat(what, ": ", decile * 10, " %"));
    }
  };
}

void SourceFlags::Define(common::FlagSet& flags) {
  // clang-format off
  flags.Add()
      ("pattern", po::value(&pattern)->default_value(pattern),
       "constant | spike | gradual (ramp) | sustained | diurnal")
      ("base", po::value(&base)->default_value(base), "baseline value")
      ("amplitude", po::value(&amplitude)->default_value(amplitude),
       "height of the gradual/sustained/diurnal shape above base")
      ("period", po::value(&period)->default_value(period),
       "period of spike/gradual/sustained (diurnal: 1d and 1w)")
      ("phase", po::value(&phase)->default_value(phase), "time shift of the shape")
      ("spike-height", po::value(&spike_height)->default_value(spike_height), "spike: added height")
      ("spike-width", po::value(&spike_width)->default_value(spike_width), "spike: duration")
      ("noise", po::value(&noise)->default_value(noise),
       "relative Gaussian noise (0.05 = 5 %), from a hash of (seed, time bucket)")
      ("noise-step", po::value(&noise_step)->default_value(noise_step), "noise bucket length")
      ("seed", po::value(&seed)->default_value(seed), "noise seed")
      ("replay", po::value(&replay), "replay a timestamp,value CSV trace instead of a pattern")
      ("speed", po::value(&speed)->default_value(speed), "replay: speed-up factor")
      ("anchor", po::value(&anchor),
       "replay: the time the trace's first sample maps to (unix seconds, now, now-<d>, RFC 3339)")
      ("metric-name", po::value(&metric_name)->default_value(metric_name), "metric name")
      ("labels", po::value(&labels)->default_value(labels), "labels k=v,k2=v2");
  // clang-format on
}

absl::StatusOr<LoadSource> SourceFlags::Build(double default_anchor, double now) const {
  LoadSource source;
  absl::StatusOr<PatternKind> kind = ParsePatternKind(pattern);
  if (!kind.ok()) return AsUsageError(kind.status(), "pattern");
  PatternParams& p = source.pattern;
  p.kind = *kind;
  p.base = base;
  p.amplitude = amplitude;
  p.spike_height = spike_height;
  p.noise = noise;
  p.seed = seed;
  absl::Status s = common::ParseDurationFlags({{"period", period, &p.period_seconds},
                                               {"phase", phase, &p.phase_seconds},
                                               {"spike-width", spike_width, &p.spike_width_seconds},
                                               {"noise-step", noise_step, &p.noise_step_seconds}});
  if (!s.ok()) return s;
  s = p.Validate();
  if (!s.ok()) return AsUsageError(s);
  if (!replay.empty()) {
    absl::StatusOr<Trace> trace = ReadTraceCsv(replay);
    if (!trace.ok()) return trace.status();
    double a = default_anchor;
    if (!anchor.empty()) {
      absl::StatusOr<double> t = common::TimeFlag("anchor", anchor, now);
      if (!t.ok()) return t.status();
      a = *t;
    }
    auto r = Replay::Make(std::make_shared<Trace>(std::move(*trace)), a, speed);
    if (!r.ok()) return AsUsageError(r.status(), "speed");
    source.replay = std::move(*r);
  }
  return source;
}

}  // namespace loadtest
