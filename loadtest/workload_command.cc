// augur-loadtest workload: serves a synthetic load metric on /metrics for Prometheus to
// scrape; the value at scrape time t is what `backfill` writes for t with the same flags.
#include <algorithm>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "loadtest/command_support.h"
#include "loadtest/openmetrics.h"
#include "loadtest/workload.h"
#include "nlohmann/json.hpp"

namespace loadtest {
namespace {

namespace po = boost::program_options;

class WorkloadCommand final : public Command {
 public:
  std::string Caption() const override {
    return "augur-loadtest workload: serve a synthetic load metric on /metrics for Prometheus.\n"
           "The value at scrape time t equals what `backfill` writes for t (same flags)";
  }

  void DefineFlags(common::FlagSet& flags) override {
    // clang-format off
    flags.Add()
        ("listen", po::value(&listen_)->default_value(listen_),
         "host:port to serve /metrics on (port 0 = any)")
        ("duration", po::value(&duration_)->default_value(duration_), "serve this long, then exit")
        ("report-every", po::value(&report_)->default_value(report_), "progress line interval")
        ("json", po::bool_switch(&json_), "machine-readable start and end records on stdout");
    // clang-format on
    source_flags_.Define(flags);
  }

  absl::Status Run(const common::FlagSet&, const CommandEnv& env) override;

 private:
  SourceFlags source_flags_;
  std::string listen_ = "127.0.0.1:9464", duration_ = "1h", report_ = "10s";
  bool json_ = false;
};

absl::Status WorkloadCommand::Run(const common::FlagSet&, const CommandEnv& env) {
  const double now = env.now();
  absl::StatusOr<LoadSource> source = source_flags_.Build(now, now);
  if (!source.ok()) return source.status();
  absl::StatusOr<LabelMap> labels = ParseLabels(source_flags_.labels);
  if (!labels.ok()) return AsUsageError(labels.status(), "labels");
  absl::Status s = ValidateMetricName(source_flags_.metric_name);
  if (!s.ok()) return AsUsageError(s, "metric-name");
  double run_seconds = 0, report_seconds = 0;
  s = common::ParseDurationFlags(
      {{"duration", duration_, &run_seconds}, {"report-every", report_, &report_seconds}});
  if (!s.ok()) return s;
  report_seconds = std::max(1.0, report_seconds);
  auto collectable = std::make_shared<LoadCollectable>(source_flags_.metric_name, *labels,
                                                       *source, env.now);
  auto server = WorkloadServer::Start(listen_, collectable);
  if (!server.ok()) return server.status();
  const int port = (*server)->port();
  if (json_) {
    *env.out << nlohmann::json{{"event", "listening"},
                               {"port", port},
                               {"metric", source_flags_.metric_name}}
                    .dump()
             << std::endl;
  } else {
    *env.out << "serving " << source_flags_.metric_name << " on http://"
             << listen_.substr(0, listen_.rfind(':')) << ":" << port << "/metrics for "
             << duration_ << std::endl;
  }
  const double end = now + run_seconds;
  double next_report = now + report_seconds;
  // Bounded by --duration; a signal ends it early.
  while (!env.stop->load() && env.now() < end) {
    env.sleep_until(std::min(end, next_report));
    const double t = env.now();
    if (t >= next_report && t < end) {
      Progress(env, absl::StrCat("workload: ", static_cast<int>(t - now), "s of ",
                                 static_cast<int>(run_seconds), "s, value ", source->ValueAt(t),
                                 ", scrapes ", collectable->scrapes()));
      next_report += report_seconds;
    }
  }
  if (json_) {
    *env.out << nlohmann::json{{"event", "done"},
                               {"seconds", env.now() - now},
                               {"scrapes", collectable->scrapes()}}
                    .dump()
             << std::endl;
  } else {
    *env.out << "done: " << collectable->scrapes() << " scrapes" << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Command> NewWorkloadCommand() { return std::make_unique<WorkloadCommand>(); }

}  // namespace loadtest
