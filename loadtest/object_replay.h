#pragma once
// ObjectReplay: Augur's scaler for one object, replayed over a trace exactly as the
// scaler's Tracker drives it (scaler/object_model.h): at each refresh the samples the
// range query would return for [FetchStart, now] go to ObjectModel::Ingest, a refit runs
// when due, and ObjectModel::Update decides. The trace plays Prometheus: every sample is
// visible from its own timestamp on (no scrape lag).
//
// Thread-safety: none (one replay per simulation); the trace must outlive it.

#include <string>

#include "loadtest/pattern.h"
#include "scaler/object_model.h"

namespace loadtest {

class ObjectReplay {
 public:
  ObjectReplay(const Trace& trace, scaler::ObjectConfig config);

  struct Refresh {
    absl::Status status;           // the object's own error (no answer), e.g. a null result
    scaler::AnswerUpdate update;   // when status is OK
    bool fitted = false;           // a fit ran at this refresh
    bool fit_failed = false;
  };
  // One refresh at `now` (non-decreasing from call to call).
  Refresh RefreshAt(double now);

  scaler::ObjectModel& model() { return model_; }

 private:
  const Trace& trace_;
  scaler::ObjectModel model_;
};

}  // namespace loadtest
