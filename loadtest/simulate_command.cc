// augur-loadtest simulate: replays a demand trace through the reactive policy and
// Augur's (the scaler's own forecast and policy code) with KEDA/HPA timing and pod
// start-up, and reports under-provisioned time, unserved demand, replica-hours and
// scaling events (loadtest/simulate.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/flags.h"
#include "forecast/forecast.h"
#include "loadtest/command_support.h"
#include "loadtest/frontier.h"
#include "loadtest/pattern.h"
#include "loadtest/simulate.h"
#include "scaler/spec.h"

namespace loadtest {
namespace {

namespace po = boost::program_options;

class SimulateCommand final : public Command {
 public:
  std::string Caption() const override {
    return "augur-loadtest simulate: replay a demand trace through the reactive policy and Augur's\n"
           "(the scaler's own forecast and policy code) with KEDA/HPA timing and pod start-up;\n"
           "report under-provisioned time, unserved demand, replica-hours and scaling events";
  }

  void DefineFlags(common::FlagSet& flags) override {
    // clang-format off
    flags.Add()
        ("trace", po::value(&trace_path_), "timestamp,value CSV of demand (required)")
        ("capacity", po::value(&capacity_), "demand one ready pod serves (required)")
        ("target", po::value(&target_),
         "HPA AverageValue target (default capacity / (1 + tolerance 0.1): the largest target\n"
         "whose tolerance band never leaves demand above the replicas' capacity)")
        ("startup", po::value(&startup_)->default_value(startup_), "pod start-up delay")
        ("sync", po::value(&sync_)->default_value(sync_), "HPA sync period (the tick)")
        ("min-replicas", po::value(&min_replicas_)->default_value(min_replicas_), "HPA minReplicas")
        ("max-replicas", po::value(&max_replicas_)->default_value(max_replicas_), "HPA maxReplicas")
        ("scale-down-stabilization", po::value(&stabilization_)->default_value(stabilization_), "HPA scale-down window")
        ("horizon", po::value(&horizon_), "Augur horizon (default startup + refresh)")
        ("shortfall", po::value(&shortfall_),
         "Augur shortfall budget: 2% (a share of time) or 0.5x (of reactive scaling's);\n"
         "default 0.5x when --quantile is not given")
        ("quantile", po::value(&quantile_),
         "Augur forecast quantile (instead of a shortfall budget)")
        ("mode", po::value(&mode_)->default_value(mode_), "predictive | forecast | shadow")
        ("history", po::value(&history_)->default_value(history_), "Augur history window")
        ("refresh", po::value(&refresh_)->default_value(refresh_), "Augur refreshInterval")
        ("refit", po::value(&refit_)->default_value(refit_), "Augur refitInterval")
        ("min-history", po::value(&min_history_)->default_value(min_history_), "Augur minHistory")
        ("max-forecast-error", po::value(&max_forecast_error_),
         "Augur maxForecastError (default 1 with --quantile, none with a budget)")
        ("seasonality", po::value(&seasonality_)->default_value(seasonality_), "auto | none | 1d,1w ...")
        ("no-trend-uncertainty", po::bool_switch(&no_trend_uncertainty_),
         "forecast intervals without the trend's uncertainty (the scaler has it)")
        ("uncertainty-samples", po::value(&uncertainty_samples_),
         "deprecated, nothing is sampled (the trend uncertainty is closed-form): 0 is\n"
         "--no-trend-uncertainty, any other count the default")
        ("warmup", po::value(&warmup_)->default_value(warmup_), "not scored at the trace's start")
        ("from", po::value(&from_)->default_value(from_),
         "start this long after the trace's start (earlier data is still history)")
        ("limit", po::value(&limit_)->default_value(limit_), "simulate only this long (0 = to the end)")
        ("values", po::value(&values_path_),
         "timestamp,value CSV scored as a third policy: the HPA gets its newest value at or\n"
         "before t (another autoscaler's recorded metric values, or an offline policy)")
        ("ignore-null-values", po::value(&ignore_null_values_)->default_value(true),
         "in a gap of the trace the reactive scaler's query is empty: 0 (true, as KEDA's\n"
         "ignoreNullValues) or an error the HPA holds on (false)")
        ("frontier", po::bool_switch(&frontier_),
         "the price of safety: Augur across shortfall budgets against reactive scaling with\n"
         "headroom and peak-hold, in one replay; the extra replica-hours each needs to reach\n"
         "0.5x and 0.25x of reactive's under-provisioned time (with --json: as JSON)")
        ("budgets", po::value(&budgets_),
         "--frontier's budgets, e.g. 0.5%,1%,2%,5% (default 0.1% ... 30%)")
        ("frontier-svg", po::value(&frontier_svg_), "--frontier: write a plot of both frontiers")
        ("csv", po::value(&csv_path_), "write the run as CSV")
        ("svg", po::value(&svg_path_), "write a plot of demand and ready capacity")
        ("svg-last", po::value(&svg_last_)->default_value(svg_last_),
         "plot only this last part of the run (0 = all of it)")
        ("json", po::bool_switch(&json_),
         "print {\"reactive\": {...}, \"augur\": {...}, \"run\": {...}} (and \"values\": {...})");
    // clang-format on
  }

  absl::Status Run(const common::FlagSet& flags, const CommandEnv& env) override;

 private:
  // The simulation the flags describe (without --values, read in Run).
  absl::StatusOr<SimulationConfig> Config(const common::FlagSet& flags) const;
  // --frontier: the replay across budgets instead of one run.
  absl::Status RunFrontierReport(const Trace& trace, const SimulationConfig& config,
                                 const CommandEnv& env) const;
  // --csv and --svg (the last --svg-last seconds of the run).
  absl::Status WriteFiles(const SimulationResult& result, double svg_last_seconds) const;
  // `horizon`: Augur's, in seconds (the report says it: its default follows --startup
  // and --refresh).
  void PrintReport(const SimulationResult& result, double horizon, std::ostream& out) const;

  std::string trace_path_, startup_ = "3m", sync_ = "15s", horizon_, history_ = "7d";
  std::string refresh_ = "30s", refit_ = "10m", min_history_ = "1h", warmup_ = "1d",
              limit_ = "0s";
  std::string from_ = "0s", svg_last_ = "0s";
  std::string mode_ = "predictive", seasonality_ = "auto", csv_path_, svg_path_,
              stabilization_ = "300s";
  std::string values_path_, shortfall_, frontier_svg_, budgets_;
  bool frontier_ = false, ignore_null_values_ = true, no_trend_uncertainty_ = false;
  double capacity_ = 0, target_ = 0, quantile_ = 0.5, max_forecast_error_ = 1.0;
  int min_replicas_ = 1, max_replicas_ = 1000, uncertainty_samples_ = 0;
  bool json_ = false;
};

absl::StatusOr<SimulationConfig> SimulateCommand::Config(const common::FlagSet& flags) const {
  if (trace_path_.empty()) return common::UsageError("--trace FILE is required");
  if (!flags.Given("capacity")) {
    return common::UsageError("--capacity is required (demand one pod serves)");
  }
  SimulationConfig config;
  config.capacity = capacity_;
  config.target = flags.Given("target") ? target_ : capacity_ / (1 + config.hpa.tolerance);
  config.hpa.min_replicas = min_replicas_;
  config.hpa.max_replicas = max_replicas_;
  absl::Status s = common::ParseDurationFlags(
      {{"startup", startup_, &config.startup_seconds},
       {"sync", sync_, &config.sync_seconds},
       {"scale-down-stabilization", stabilization_, &config.hpa.scale_down_stabilization_seconds},
       {"min-history", min_history_, &config.policy.min_history_seconds},
       {"history", history_, &config.history_seconds},
       {"refresh", refresh_, &config.refresh_seconds},
       {"refit", refit_, &config.refit_seconds},
       {"warmup", warmup_, &config.warmup_seconds},
       {"limit", limit_, &config.limit_seconds},
       {"from", from_, &config.from_seconds}});
  if (!s.ok()) return s;
  // The replay's physics: an answer is what the HPA reads until the next refresh, and the
  // pods it asks for are ready `startup` later, so it governs the capacity that becomes
  // ready from startup to startup + refresh after it was made (refreshes fall on syncs
  // here: no further delay). The horizon covers exactly that window.
  config.policy.horizon_seconds = config.startup_seconds + config.refresh_seconds;
  s = common::ParseOptionalDurationFlags({{"horizon", horizon_, &config.policy.horizon_seconds}});
  if (!s.ok()) return s;
  if (flags.Given("quantile") && flags.Given("shortfall")) {
    return common::UsageError("--quantile and --shortfall: give one (a budget, or a fixed quantile)");
  }
  if (flags.Given("quantile")) {
    config.policy.quantile = quantile_;
    config.policy.shortfall.reset();
  } else {
    absl::StatusOr<scaler::ShortfallBudget> budget =
        shortfall_.empty() ? absl::StatusOr<scaler::ShortfallBudget>(scaler::kDefaultShortfall)
                           : scaler::ParseShortfall(shortfall_);
    if (!budget.ok()) {
      return common::UsageError(absl::StrCat("--shortfall ", budget.status().message()));
    }
    config.policy.shortfall = *budget;
  }
  absl::StatusOr<scaler::Mode> mode = scaler::ParseMode(mode_);
  if (!mode.ok()) return common::UsageError(absl::StrCat("--mode ", mode.status().message()));
  config.policy.mode = *mode;
  config.ignore_null_values = ignore_null_values_;
  config.policy.max_forecast_error =
      flags.Given("max-forecast-error") ? max_forecast_error_
      : config.policy.shortfall          ? std::numeric_limits<double>::infinity()
                                         : 1.0;
  s = forecast::ParseSeasonality(seasonality_, config.forecast);
  if (!s.ok()) return AsUsageError(s, "seasonality");
  if (flags.Given("uncertainty-samples") && uncertainty_samples_ < 0) {
    return common::UsageError(
        "--uncertainty-samples must be >= 0 (deprecated: use --no-trend-uncertainty)");
  }
  config.forecast.trend_uncertainty =
      !no_trend_uncertainty_ && !(flags.Given("uncertainty-samples") && uncertainty_samples_ == 0);
  s = config.Validate();
  if (!s.ok()) return AsUsageError(s);
  return config;
}

absl::Status SimulateCommand::Run(const common::FlagSet& flags, const CommandEnv& env) {
  absl::StatusOr<SimulationConfig> config = Config(flags);
  if (!config.ok()) return config.status();
  absl::StatusOr<double> svg_last = common::DurationFlagSeconds("svg-last", svg_last_);
  if (!svg_last.ok()) return svg_last.status();
  absl::StatusOr<Trace> trace = ReadTraceCsv(trace_path_);
  if (!trace.ok()) return trace.status();
  if (!values_path_.empty()) {
    absl::StatusOr<Trace> values = ReadTraceCsv(values_path_);
    if (!values.ok()) {
      return absl::Status(values.status().code(),
                          absl::StrCat("--values: ", values.status().message()));
    }
    config->values = std::move(values).value();
  }
  if (frontier_) return RunFrontierReport(*trace, *config, env);
  // Rows for the CSV/plot: about one per trace step (at least one per tick).
  const int row_every =
      std::max(1, static_cast<int>(std::lround(trace->MedianStep() / config->sync_seconds)));
  const bool want_rows = !csv_path_.empty() || !svg_path_.empty();
  absl::StatusOr<SimulationResult> result = RunSimulation(
      *trace, *config, want_rows ? row_every : 0, FractionProgress(env, "simulate"));
  if (!result.ok()) return result.status();
  absl::Status s = WriteFiles(*result, *svg_last);
  if (!s.ok()) return s;
  if (json_) {
    *env.out << SimulationJson(*result) << "\n";
  } else {
    PrintReport(*result, config->policy.horizon_seconds, *env.out);
  }
  return absl::OkStatus();
}

absl::Status SimulateCommand::RunFrontierReport(const Trace& trace,
                                                const SimulationConfig& config,
                                                const CommandEnv& env) const {
  FrontierOptions options;
  if (!budgets_.empty()) {
    options.budgets.clear();
    for (absl::string_view part : absl::StrSplit(budgets_, ',')) {
      absl::StatusOr<scaler::ShortfallBudget> b = scaler::ParseShortfall(std::string(part));
      if (!b.ok()) return common::UsageError(absl::StrCat("--budgets: ", b.status().message()));
      if (b->relative) return common::UsageError("--budgets: expected shares of time such as 2%");
      options.budgets.push_back(b->value);
    }
  }
  absl::StatusOr<FrontierReport> report =
      RunFrontier(trace, config, options, FractionProgress(env, "simulate"));
  if (!report.ok()) return report.status();
  if (!frontier_svg_.empty()) {
    std::ofstream f(frontier_svg_, std::ios::trunc);
    WriteFrontierSvg(f, *report,
                     absl::StrCat(trace_path_.substr(trace_path_.find_last_of('/') + 1),
                                  ": the price of safety (capacity ", capacity_, "/pod, start-up ",
                                  startup_, ")"));
    if (!f) return absl::PermissionDeniedError(absl::StrCat("cannot write '", frontier_svg_, "'"));
  }
  if (json_) {
    *env.out << FrontierJson(*report) << "\n";
  } else {
    WriteFrontierText(*env.out, *report);
  }
  return absl::OkStatus();
}

absl::Status SimulateCommand::WriteFiles(const SimulationResult& result,
                                         double svg_last_seconds) const {
  if (!csv_path_.empty()) {
    std::ofstream f(csv_path_, std::ios::trunc);
    WriteSimulationCsv(f, result, capacity_);
    if (!f) return absl::PermissionDeniedError(absl::StrCat("cannot write '", csv_path_, "'"));
  }
  if (!svg_path_.empty()) {
    std::ofstream f(svg_path_, std::ios::trunc);
    const std::string title = absl::StrCat(trace_path_.substr(trace_path_.find_last_of('/') + 1),
                                           ": capacity ", capacity_, "/pod, start-up ", startup_);
    if (svg_last_seconds > 0 && !result.rows.empty()) {
      SimulationResult window = result;
      const double from_t = window.rows.back().time - svg_last_seconds;
      window.rows.erase(window.rows.begin(),
                        std::lower_bound(window.rows.begin(), window.rows.end(), from_t,
                                         [](const SimulationRow& r, double t) { return r.time < t; }));
      WriteSimulationSvg(f, window, capacity_, title);
    } else {
      WriteSimulationSvg(f, result, capacity_, title);
    }
    if (!f) return absl::PermissionDeniedError(absl::StrCat("cannot write '", svg_path_, "'"));
  }
  return absl::OkStatus();
}

void SimulateCommand::PrintReport(const SimulationResult& result, double horizon,
                                  std::ostream& out) const {
  auto line = [&](const char* name, const PolicyReport& r) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-9s %8.2f %% %9.3f %% %12.1f %8d %8.1f %6d\n", name,
                  r.underprovisioned_fraction * 100, r.unserved_fraction * 100, r.replica_hours,
                  r.scale_events, r.mean_replicas, r.max_replicas);
    out << buf;
  };
  out << "policy    under-prov  unserved   replica-h   events   mean-r    max\n";
  line("reactive", result.reactive);
  line("augur", result.augur);
  if (result.values) line("values", *result.values);
  out << "evaluated " << result.evaluated_seconds / 3600 << " h; " << result.fits << " fits ("
      << result.fit_failures << " failed), " << result.predictions
      << " predictions; augur reasons:";
  for (const auto& [reason, n] : result.augur_reasons) out << " " << reason << "=" << n;
  out << "\naugur horizon " << horizon << " s\n";
}

}  // namespace

std::unique_ptr<Command> NewSimulateCommand() { return std::make_unique<SimulateCommand>(); }

}  // namespace loadtest
