#include "loadtest/object_replay.h"

#include <algorithm>

namespace loadtest {

ObjectReplay::ObjectReplay(const Trace& trace, scaler::ObjectConfig config)
    : trace_(trace), model_(std::move(config)) {}

ObjectReplay::Refresh ObjectReplay::RefreshAt(double now) {
  constexpr double kEps = 1e-6;
  Refresh out;
  const double start = model_.FetchStart(now);
  const auto& ts = trace_.timestamps;
  const auto lo = std::lower_bound(ts.begin(), ts.end(), start - kEps);
  const auto hi = std::upper_bound(ts.begin(), ts.end(), now + kEps);
  forecast::Series samples;
  if (lo < hi) {
    samples.timestamps.assign(lo, hi);
    samples.values.assign(trace_.values.begin() + (lo - ts.begin()),
                          trace_.values.begin() + (hi - ts.begin()));
  }
  out.status = model_.Ingest(now, start, samples);
  if (!out.status.ok()) return out;
  if (model_.RefitDue(now)) {
    out.fitted = true;
    out.fit_failed = !model_.Refit(now).status.ok();
  }
  out.update = model_.Update(now);
  return out;
}

}  // namespace loadtest
