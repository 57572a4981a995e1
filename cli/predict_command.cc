// augur-forecast predict: fits the model to a timestamp,value CSV history and prints the
// forecast for the steps after its last timestamp, as CSV
// `timestamp,yhat,yhat_lower,yhat_upper` (the interface bench/backtest.py drives).
#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "common/flags.h"
#include "forecast/forecast.h"

namespace cli {
namespace {

namespace po = boost::program_options;

class PredictCommand final : public Command {
 public:
  std::string Caption() const override {
    return "Usage: augur-forecast predict --input HISTORY.csv --horizon 1h [options]\n\n"
           "Fits the model to a timestamp,value CSV (unix seconds) and prints\n"
           "timestamp,yhat,yhat_lower,yhat_upper for every step after the last timestamp\n"
           "up to the horizon.\n\nOptions";
  }

  void DefineFlags(common::FlagSet& flags) override {
    // clang-format off
    flags.Add()
        ("input", po::value(&input_), "history CSV (timestamp,value); - for stdin")
        ("horizon", po::value(&horizon_text_), "how far to forecast, e.g. 10m, 1h")
        ("interval", po::value(&interval_)->default_value(interval_),
         "central interval width in (0, 1), e.g. 0.8 for the 10 % and 90 % quantiles")
        ("step", po::value(&step_text_), "forecast step (default: the history's median step)")
        ("components", po::bool_switch(&components_),
         "also print the model's components (trend, seasonalities, correction)");
    // clang-format on
    model_.Define(flags);
  }

  absl::Status Run(const common::FlagSet&, const CommandEnv& env) override;

 private:
  std::string input_, horizon_text_, step_text_;
  double interval_ = 0.8;
  bool components_ = false;
  ModelFlags model_;
};

absl::Status PredictCommand::Run(const common::FlagSet&, const CommandEnv& env) {
  if (input_.empty()) return common::UsageError("--input is required");
  if (horizon_text_.empty()) return common::UsageError("--horizon is required (e.g. 1h)");
  double horizon = 0, step_override = 0;
  absl::Status s = common::ParseOptionalDurationFlags(
      {{"horizon", horizon_text_, &horizon}, {"step", step_text_, &step_override}});
  if (!s.ok()) return s;
  if (!(horizon > 0)) return common::UsageError("--horizon must be > 0");
  if (!(interval_ > 0 && interval_ < 1)) {
    return common::UsageError("--interval must be in (0, 1), e.g. 0.8");
  }
  if (!step_text_.empty() && !(step_override > 0)) {
    return common::UsageError("--step must be > 0");
  }
  absl::StatusOr<forecast::Options> options = model_.ToOptions();
  if (!options.ok()) return options.status();

  absl::StatusOr<forecast::Series> series = ReadInput(input_, *env.in);
  if (!series.ok()) return series.status();
  auto fitted = forecast::Fit(*series, *options);
  if (!fitted.ok()) return fitted.status();
  const double step = step_override > 0 ? step_override : fitted->info().step_seconds;
  if (!(step > 0)) {
    return absl::FailedPreconditionError(
        "cannot tell the history's step (all timestamps equal?); pass --step");
  }
  const double steps = std::ceil(horizon / step - 1e-9);
  if (steps > 1e6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--horizon ", horizon_text_, " is ", FormatNumber(steps), " steps of ",
        FormatNumber(step), "s; at most 1000000 are allowed"));
  }
  std::vector<double> ts;
  for (double k = 1; k <= steps; ++k) ts.push_back(fitted->last_timestamp() + k * step);
  const double lo = (1 - interval_) / 2, hi = 1 - lo;
  auto fc = fitted->Predict(ts, {lo, hi});
  if (!fc.ok()) return fc.status();
  std::string out = "timestamp,yhat,yhat_lower,yhat_upper";
  if (components_) {
    for (const auto& c : fc->components) out += "," + c.name;
  }
  out += "\n";
  for (size_t j = 0; j < ts.size(); ++j) {
    out += FormatNumber(ts[j]) + "," + FormatNumber(fc->yhat[j]) + "," +
           FormatNumber(fc->quantiles[0][j]) + "," + FormatNumber(fc->quantiles[1][j]);
    if (components_) {
      for (const auto& c : fc->components) out += "," + FormatNumber(c.values[j]);
    }
    out += "\n";
  }
  *env.out << out;
  for (const std::string& note : fitted->info().notes) *env.err << "note: " << note << "\n";
  for (const forecast::FitInfo::EventEffect& e : fitted->info().event_effects) {
    *env.err << "event: " << e.name << " day " << (e.day > 0 ? "+" : "") << e.day << ": effect "
             << FormatNumber(e.effect) << " (" << e.points << " points)\n";
  }
  for (const forecast::FitInfo::Exclusion& x : fitted->info().exclusions) {
    *env.err << "excluded: " << forecast::FormatUtc(x.start) << "/" << forecast::FormatUtc(x.end)
             << ": " << x.points_removed << " points removed\n";
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Command> NewPredictCommand() { return std::make_unique<PredictCommand>(); }

}  // namespace cli
