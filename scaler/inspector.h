#pragma once
// augur.v1.Inspector (scaler/inspector.proto): List and Explain, from the Tracker's
// published answers. No secret appears: headers and query parameters of the metadata
// are not echoed, and server URLs lose their user info.
//
// Thread-safety: gRPC calls the handlers from many threads at once.

#include "inspector.grpc.pb.h"  // generated from scaler/inspector.proto
#include "scaler/metrics.h"
#include "scaler/tracker.h"

namespace scaler {

// What Inspector/List says of one object (`answer` null: none yet), and what
// Inspector/Explain says of an object with an answer; also used by the web view, so that
// both show the same data and redact the same way. `now` in unix seconds.
void FillObjectSummary(const ScalerSpec& spec, const Answer* answer, bool in_flight, double now,
                       augur::v1::ObjectSummary* out);
void FillExplanation(const ScalerSpec& spec, const Answer& answer, bool in_flight, double now,
                     augur::v1::Explanation* out);

class InspectorService final : public augur::v1::Inspector::Service {
 public:
  // `tracker` (and `metrics`, if given) must outlive the service.
  InspectorService(Tracker& tracker, const Clock& clock, ScalerMetrics* metrics);

  grpc::Status List(grpc::ServerContext* context, const augur::v1::ListRequest* request,
                    augur::v1::ListResponse* response) override;
  grpc::Status Explain(grpc::ServerContext* context,
                       const externalscaler::ScaledObjectRef* request,
                       augur::v1::Explanation* response) override;

 private:
  Tracker& tracker_;
  const Clock& clock_;
  ScalerMetrics* metrics_;
};

}  // namespace scaler
