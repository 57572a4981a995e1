#include "loadtest/pattern.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace loadtest {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDay = 86400;
constexpr double kWeek = 7 * kDay;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A standard normal draw that depends only on (seed, bucket): Box-Muller on two
// hashed uniforms.
double HashedGaussian(uint64_t seed, int64_t bucket) {
  const uint64_t h1 = SplitMix64(seed * 0x100000001B3ULL ^ static_cast<uint64_t>(bucket));
  const uint64_t h2 = SplitMix64(h1);
  const double u1 = (static_cast<double>(h1 >> 11) + 1.0) / 9007199254740993.0;  // (0, 1]
  const double u2 = static_cast<double>(h2 >> 11) / 9007199254740992.0;          // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
}

double PositiveMod(double a, double m) {
  double r = std::fmod(a, m);
  return r < 0 ? r + m : r;
}

double Noiseless(const PatternParams& p, double t) {
  const double tp = t + p.phase_seconds;
  switch (p.kind) {
    case PatternKind::kConstant:
      return p.base;
    case PatternKind::kSpike: {
      const double in_period = PositiveMod(tp, p.period_seconds);
      return in_period < p.spike_width_seconds ? p.base + p.spike_height : p.base;
    }
    case PatternKind::kGradual: {
      const double x = PositiveMod(tp, p.period_seconds) / p.period_seconds;  // [0, 1)
      const double tri = x < 0.5 ? 2 * x : 2 * (1 - x);
      return p.base + p.amplitude * tri;
    }
    case PatternKind::kSustained: {
      const double x = PositiveMod(tp, p.period_seconds) / p.period_seconds;
      return x < 0.5 ? p.base + p.amplitude : p.base;
    }
    case PatternKind::kDiurnal: {
      // Daily: trough at 04:00 UTC, peak at 16:00 UTC. Weekly: 1970-01-01 was a
      // Thursday, so days 2 and 3 of the epoch week are Saturday and Sunday.
      const double daily = 0.5 * (1 - std::cos(2 * kPi * (PositiveMod(tp, kDay) - 4 * 3600) / kDay));
      const int day_of_week = static_cast<int>(PositiveMod(tp, kWeek) / kDay);
      const double weekly = (day_of_week == 2 || day_of_week == 3) ? 0.6 : 1.0;
      return p.base + p.amplitude * daily * weekly;
    }
  }
  return p.base;
}

}  // namespace

absl::StatusOr<PatternKind> ParsePatternKind(const std::string& name) {
  if (name == "constant") return PatternKind::kConstant;
  if (name == "spike") return PatternKind::kSpike;
  if (name == "gradual" || name == "ramp") return PatternKind::kGradual;
  if (name == "sustained") return PatternKind::kSustained;
  if (name == "diurnal") return PatternKind::kDiurnal;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown pattern '", name,
      "': expected one of constant, spike, gradual (or ramp), sustained, diurnal"));
}

const char* PatternKindName(PatternKind kind) {
  switch (kind) {
    case PatternKind::kConstant: return "constant";
    case PatternKind::kSpike: return "spike";
    case PatternKind::kGradual: return "gradual";
    case PatternKind::kSustained: return "sustained";
    case PatternKind::kDiurnal: return "diurnal";
  }
  return "unknown";
}

absl::Status PatternParams::Validate() const {
  auto finite_nonneg = [](const char* name, double v) -> absl::Status {
    if (!std::isfinite(v) || v < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " = ", v, ": expected a finite number >= 0"));
    }
    return absl::OkStatus();
  };
  for (const auto& [name, v] : std::vector<std::pair<const char*, double>>{
           {"base", base}, {"amplitude", amplitude}, {"spike height", spike_height},
           {"noise", noise}, {"spike width", spike_width_seconds}}) {
    absl::Status s = finite_nonneg(name, v);
    if (!s.ok()) return s;
  }
  if (!std::isfinite(phase_seconds)) {
    return absl::InvalidArgumentError("phase must be a finite duration");
  }
  if (!std::isfinite(period_seconds) || period_seconds <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("period = ", period_seconds, "s: expected a duration > 0"));
  }
  if (kind == PatternKind::kSpike && spike_width_seconds > period_seconds) {
    return absl::InvalidArgumentError(absl::StrCat("spike width ", spike_width_seconds,
                                                   "s is longer than the period ",
                                                   period_seconds, "s: expected width <= period"));
  }
  if (!std::isfinite(noise_step_seconds) || noise_step_seconds <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "noise step = ", noise_step_seconds, "s: expected a duration > 0"));
  }
  return absl::OkStatus();
}

double PatternValue(const PatternParams& params, double t) {
  double v = Noiseless(params, t);
  if (params.noise > 0) {
    const auto bucket = static_cast<int64_t>(std::floor(t / params.noise_step_seconds));
    v += v * params.noise * HashedGaussian(params.seed, bucket);
  }
  return std::max(0.0, v);
}

double Trace::MedianStep() const {
  if (timestamps.size() < 2) return 0;
  std::vector<double> d(timestamps.size() - 1);
  for (size_t i = 1; i < timestamps.size(); ++i) d[i - 1] = timestamps[i] - timestamps[i - 1];
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return d[d.size() / 2];
}

double Trace::ValueAt(double t) const {
  if (timestamps.empty()) return 0;
  auto it = std::upper_bound(timestamps.begin(), timestamps.end(), t);
  if (it == timestamps.begin()) return values.front();
  return values[static_cast<size_t>(it - timestamps.begin()) - 1];
}

absl::StatusOr<Trace> ParseTraceCsv(const std::string& text, const std::string& source_name) {
  std::map<double, std::pair<double, int>> rows;  // timestamp -> (sum, count)
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const size_t comma = line.find(',');
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat(source_name, ":", line_no, ": ", why, " in '",
                                                     line.substr(0, 80),
                                                     "': expected 'timestamp,value' rows "
                                                     "(unix seconds, number)"));
    };
    if (comma == std::string::npos) return bad("no comma");
    const std::string ts = line.substr(0, comma);
    const std::string vs = line.substr(comma + 1);
    char* end = nullptr;
    const double t = std::strtod(ts.c_str(), &end);
    if (end == ts.c_str() || ts.find_first_not_of(" \t", static_cast<size_t>(end - ts.c_str())) != std::string::npos) {
      if (line_no == 1 && rows.empty()) continue;  // header row
      return bad("timestamp is not a number");
    }
    const double v = std::strtod(vs.c_str(), &end);
    if (end == vs.c_str()) {
      if (vs.find_first_not_of(" \t") == std::string::npos) continue;  // empty value: skip
      return bad("value is not a number");
    }
    if (!std::isfinite(t)) return bad("timestamp is not finite");
    if (!std::isfinite(v)) continue;
    auto& cell = rows[t];
    cell.first += v;
    cell.second += 1;
  }
  if (rows.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        source_name, ": ", rows.size(), " usable sample(s): expected at least 2 rows of 'timestamp,value'"));
  }
  Trace trace;
  trace.timestamps.reserve(rows.size());
  trace.values.reserve(rows.size());
  for (const auto& [t, cell] : rows) {
    trace.timestamps.push_back(t);
    trace.values.push_back(cell.first / cell.second);
  }
  return trace;
}

absl::StatusOr<Trace> ReadTraceCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open trace file '", path, "'"));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseTraceCsv(text.str(), path);
}

absl::StatusOr<Replay> Replay::Make(std::shared_ptr<const Trace> trace, double anchor,
                                    double speed) {
  if (!trace || trace->timestamps.size() < 2) {
    return absl::InvalidArgumentError("replay needs a trace of at least 2 samples");
  }
  if (!std::isfinite(speed) || speed <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("speed = ", speed, ": expected a number > 0"));
  }
  Replay r;
  // Loop with one median step between the end and the next start, so that the last
  // sample keeps its own duration.
  r.loop_span = trace->duration() + std::max(trace->MedianStep(), 1e-9);
  r.trace = std::move(trace);
  r.anchor = anchor;
  r.speed = speed;
  return r;
}

double Replay::ValueAt(double t) const {
  if (!trace || trace->timestamps.empty()) return 0;
  const double t0 = trace->timestamps.front();
  double offset = (t - anchor) * speed;
  offset = PositiveMod(offset, loop_span);
  return trace->ValueAt(t0 + offset);
}

}  // namespace loadtest
