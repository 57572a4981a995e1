#pragma once
// Augur's built-in web view, served on the HTTP port beside /metrics (docs/scaler.md,
// "Web view"). Read-only; every page and answer is made by augur itself and needs no
// network (no script, font or style from elsewhere; a Content-Security-Policy says so).
//   /                              the tracked objects, one row per trigger
//   /objects/<namespace>/<name>    one object: chart of recent history, forecast and band,
//                                  values returned to KEDA and fallbacks; model, settings,
//                                  components and Explain's why; 404 page if not tracked
//   /api/v1/objects                the list as JSON
//   /api/v1/objects/<namespace>/<name>   one object as JSON: Inspector/Explain's fields
//                                  plus its recent record (observations, answers)
// Path segments are percent-decoded; everything echoed is escaped (HTML) or encoded
// (JSON). What Inspector redacts is redacted here too (FillExplanation): no header, query
// parameter or URL user info of the metadata is shown.
//
// Thread-safety: Handle() may be called from many threads at once.

#include <optional>
#include <string>

#include "scaler/clock.h"
#include "scaler/http_server.h"
#include "scaler/tracker.h"

namespace scaler {

class WebView {
 public:
  // `tracker` and `clock` must outlive the view.
  WebView(const Tracker& tracker, const Clock& clock);

  // The reply for `path` when it is one of the web view's, nullopt otherwise (the caller
  // serves its other endpoints). Errors are replies: 404 (no such object or page), 400
  // (a malformed path escape).
  std::optional<HttpReply> Handle(const std::string& path) const;

 private:
  HttpReply ListPage() const;
  HttpReply ObjectPage(const std::string& namespace_, const std::string& name) const;
  HttpReply ListJson() const;
  HttpReply ObjectJson(const std::string& namespace_, const std::string& name) const;

  const Tracker& tracker_;
  const Clock& clock_;
};

}  // namespace scaler
