#include "scaler/health.h"

namespace scaler {

using grpc::health::v1::HealthCheckResponse;

HealthService::HealthService(std::chrono::milliseconds watch_poll) : watch_poll_(watch_poll) {}

void HealthService::SetServingStatus(const std::string& service, bool serving) {
  {
    std::lock_guard<std::mutex> lock(mu_);
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
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    for (auto& [name, s] : serving_) s = serving;
    ++version_;
  }
  changed_.notify_all();
}

void HealthService::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
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
  std::lock_guard<std::mutex> lock(mu_);
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
  std::unique_lock<std::mutex> lock(mu_);
  bool first = true;
  Status sent = HealthCheckResponse::UNKNOWN;
  uint64_t seen = 0;
  while (!context->IsCancelled()) {
    const Status now = StatusOf(request->service());
    if (first || now != sent) {
      HealthCheckResponse message;
      message.set_status(now);
      lock.unlock();
      const bool written = writer->Write(message);
      lock.lock();
      if (!written) break;  // the client left
      first = false;
      sent = now;
      continue;  // re-read: the status may have changed while writing
    }
    if (shut_down_) break;  // only once the final status has been sent
    seen = version_;
    changed_.wait_for(lock, watch_poll_, [&] { return version_ != seen; });
  }
  return grpc::Status::OK;
}

}  // namespace scaler
