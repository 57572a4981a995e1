// augur-loadtest backfill: writes the load source (a pattern or a replayed trace) over a
// past window as OpenMetrics, for `promtool tsdb create-blocks-from openmetrics`.
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "loadtest/command_support.h"
#include "loadtest/openmetrics.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

namespace po = boost::program_options;

class BackfillCommand final : public Command {
 public:
  std::string Caption() const override {
    return "augur-loadtest backfill: write a pattern (or a replayed trace) over a past window as\n"
           "OpenMetrics for `promtool tsdb create-blocks-from openmetrics FILE DIR`";
  }

  void DefineFlags(common::FlagSet& flags) override {
    // clang-format off
    flags.Add()
        ("start", po::value(&start_),
         "window start (unix seconds, now-<d>, RFC 3339); default end - range")
        ("end", po::value(&end_), "window end; default now")
        ("range", po::value(&range_)->default_value(range_),
         "window length when --start is not given")
        ("step", po::value(&step_)->default_value(step_), "sample spacing")
        ("out", po::value(&out_path_), "write to FILE instead of stdout")
        ("json", po::bool_switch(&json_), "print a JSON summary (stdout with --out, else stderr)");
    // clang-format on
    source_flags_.Define(flags);
  }

  absl::Status Run(const common::FlagSet&, const CommandEnv& env) override;

 private:
  // The window the flags describe, on the step grid.
  absl::StatusOr<BackfillWindow> Window(double now) const;

  SourceFlags source_flags_;
  std::string start_, end_, range_ = "7d", step_ = "15s", out_path_;
  bool json_ = false;
};

absl::StatusOr<BackfillWindow> BackfillCommand::Window(double now) const {
  BackfillWindow window;
  window.end = now;
  if (!end_.empty()) {
    absl::StatusOr<double> t = common::TimeFlag("end", end_, now);
    if (!t.ok()) return t.status();
    window.end = *t;
  }
  if (start_.empty()) {
    absl::StatusOr<double> range = common::DurationFlagSeconds("range", range_);
    if (!range.ok()) return range.status();
    window.start = window.end - *range;
  } else {
    absl::StatusOr<double> t = common::TimeFlag("start", start_, now);
    if (!t.ok()) return t.status();
    window.start = *t;
  }
  absl::StatusOr<double> step = common::DurationFlagSeconds("step", step_);
  if (!step.ok()) return step.status();
  if (!(*step > 0)) {
    return common::UsageError(absl::StrCat("--step '", step_, "': expected a duration > 0"));
  }
  window.step = *step;
  // Align to the step grid so that repeated runs write the same timestamps.
  window.start = std::ceil(window.start / window.step) * window.step;
  absl::Status s = window.Validate();
  if (!s.ok()) return AsUsageError(s);
  return window;
}

absl::Status BackfillCommand::Run(const common::FlagSet&, const CommandEnv& env) {
  const double now = env.now();
  absl::StatusOr<BackfillWindow> window = Window(now);
  if (!window.ok()) return window.status();
  absl::StatusOr<LoadSource> source = source_flags_.Build(window->start, now);
  if (!source.ok()) return source.status();
  absl::StatusOr<LabelMap> labels = ParseLabels(source_flags_.labels);
  if (!labels.ok()) return AsUsageError(labels.status(), "labels");
  absl::Status s = ValidateMetricName(source_flags_.metric_name);
  if (!s.ok()) return AsUsageError(s, "metric-name");

  std::ofstream file;
  std::ostream* out = env.out;
  if (!out_path_.empty()) {
    file.open(out_path_, std::ios::binary | std::ios::trunc);
    if (!file) return absl::PermissionDeniedError(absl::StrCat("cannot write '", out_path_, "'"));
    out = &file;
  }
  const bool long_run = (window->end - window->start) / window->step > 200000;
  s = WriteOpenMetrics(
      *out, source_flags_.metric_name, *labels, *window,
      [&source](double t) { return source->ValueAt(t); },
      long_run ? FractionProgress(env, "backfill") : std::function<void(double)>());
  if (!s.ok()) return s;
  const auto samples =
      static_cast<int64_t>(std::floor((window->end - window->start) / window->step + 1e-9)) + 1;
  if (json_) {
    std::ostream& summary = out_path_.empty() ? *env.err : *env.out;
    summary << nlohmann::json{{"metric", source_flags_.metric_name},
                              {"start", window->start},
                              {"end", window->start + (samples - 1) * window->step},
                              {"step", window->step},
                              {"samples", samples},
                              {"out", out_path_.empty() ? "-" : out_path_}}
                   .dump()
            << std::endl;
  } else if (!out_path_.empty()) {
    *env.out << "wrote " << samples << " samples of " << source_flags_.metric_name << " to "
             << out_path_ << "\nload it: promtool tsdb create-blocks-from openmetrics "
             << out_path_ << " <prometheus data dir>" << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Command> NewBackfillCommand() { return std::make_unique<BackfillCommand>(); }

}  // namespace loadtest
