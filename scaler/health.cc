#include "scaler/health.h"

namespace scaler {

using grpc::health::v1::HealthCheckResponse;

HealthService::HealthService(const Clock& clock, std::chrono::milliseconds watch_poll)
    : clock_(clock), watch_poll_(watch_poll) {}

bool HealthService::IsServing(const std::string& service) const {
  MutexLock lock(mu_);
  return StatusOf(service) == HealthCheckResponse::SERVING;
}

void HealthService::SetServingStatus(const std::string& service, bool serving) {
  {
    MutexLock lock(mu_);
    if (shut_down_) return;
    auto [it, added] = serving_.emplace(service, serving);
    if (!added && it->second == serving) return;
    it->second = serving;
    ++version_;
  }
  changed_.notify_all();
}

void HealthService::SetAllServingStatus(bool serving) {
  {
    MutexLock lock(mu_);
    if (shut_down_) return;
    for (auto& [name, s] : serving_) s = serving;
    ++version_;
  }
  changed_.notify_all();
}

void HealthService::Shutdown() {
  {
    MutexLock lock(mu_);
    for (auto& [name, s] : serving_) s = false;
    shut_down_ = true;
    ++version_;
  }
  changed_.notify_all();
}

HealthService::Status HealthService::StatusOf(const std::string& service) const {
  auto it = serving_.find(service);
  if (it == serving_.end()) return HealthCheckResponse::SERVICE_UNKNOWN;
  return it->second ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

grpc::Status HealthService::Check(grpc::ServerContext*,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  MutexLock lock(mu_);
  const Status status = StatusOf(request->service());
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "unknown service '" + request->service() +
                            "': expected \"\" (the server), liveness, readiness or a service name");
  }
  response->set_status(status);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  MutexLock lock(mu_);
  bool first = true;
  Status sent = HealthCheckResponse::UNKNOWN;
  uint64_t seen = 0;
  while (!context->IsCancelled()) {
    const Status now = StatusOf(request->service());
    if (first || now != sent) {
      HealthCheckResponse message;
      message.set_status(now);
      lock.native().unlock();
      const bool written = writer->Write(message);
      lock.native().lock();
      if (!written) break;  // the client left
      first = false;
      sent = now;
      continue;  // re-read: the status may have changed while writing
    }
    if (shut_down_) break;  // only once the final status has been sent
    seen = version_;
    clock_.WaitFor(lock.native(), changed_, watch_poll_, [&] {
      mu_.AssertHeld();
      return version_ != seen;
    });
  }
  return grpc::Status::OK;
}

}  // namespace scaler
