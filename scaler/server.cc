#include "scaler/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>

namespace scaler {

Server::Server(Tracker& tracker, const Clock& clock, ScalerMetrics* metrics,
               std::chrono::milliseconds stream_poll)
    : scaler_service_(tracker, clock, metrics, stream_poll),
      inspector_service_(tracker, clock, metrics),
      health_service_(clock, stream_poll) {}

bool Server::ready() const { return health_service_.IsServing("readiness"); }

Server::~Server() { Shutdown(std::chrono::milliseconds(0)); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      Tracker& tracker, const Clock& clock,
                                                      ScalerMetrics* metrics) {
  if (options.rpc_threads < 1 || options.rpc_threads > ServerOptions::kMaxRpcThreads) {
    return absl::InvalidArgumentError("--rpc-threads " + std::to_string(options.rpc_threads) +
                                      ": expected 1 to " +
                                      std::to_string(ServerOptions::kMaxRpcThreads));
  }
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  std::unique_ptr<ServerCertificates> certificates;
  const bool has_cert = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (has_cert || !options.tls_client_ca_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "TLS needs both --tls-cert and --tls-key (and --tls-client-ca only for mTLS)");
    }
    auto loaded = ServerCertificates::Load(
        {options.tls_cert_file, options.tls_key_file, options.tls_client_ca_file}, metrics);
    if (!loaded.ok()) return loaded.status();
    certificates = *std::move(loaded);
    credentials = certificates->Credentials();
  }

  std::unique_ptr<Server> server(new Server(tracker, clock, metrics, options.stream_poll));
  server->certificates_ = std::move(certificates);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // KEDA's calls are tiny: bandwidth-delay probing (an HTTP/2 PING on reads) buys nothing
  // and costs CPU per call at high rates (docs/scaler.md, "RPC performance").
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  if (!options.listen.empty()) builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.RegisterService(&server->scaler_service_);
  builder.RegisterService(&server->inspector_service_);
  builder.RegisterService(&server->health_service_);
  server->scaler_service_.AddUnaryQueues(builder, options.rpc_threads);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || (!options.listen.empty() && server->port_ == 0)) {
    if (server->server_) server->server_->Shutdown();
    server->scaler_service_.StopUnaryThreads(std::chrono::milliseconds(0));
    server->shut_down_ = true;
    return absl::UnavailableError("cannot listen on '" + options.listen +
                                  "' (--listen): address in use, not local, or malformed "
                                  "(expected host:port, e.g. 0.0.0.0:6000)");
  }
  server->scaler_service_.StartUnaryThreads();
  if (server->certificates_) server->certificates_->StartWatching(clock, options.tls_watch_period);
  for (const char* service : {"", "liveness", "readiness", "externalscaler.ExternalScaler",
                              "augur.v1.Inspector"}) {
    server->health_service_.SetServingStatus(service, true);
  }
  return server;
}

std::shared_ptr<grpc::Channel> Server::InProcessChannel() {
  return server_->InProcessChannel(grpc::ChannelArguments());
}

void Server::BeginDrain() {
  if (draining_ || shut_down_) return;
  draining_ = true;
  // "liveness" stays SERVING: the process is healthy and leaving on purpose; a failed
  // liveness probe would only have it killed early.
  for (const char* service : {"readiness", "", "externalscaler.ExternalScaler",
                              "augur.v1.Inspector"}) {
    health_service_.SetServingStatus(service, false);
  }
  scaler_service_.BeginShutdown();
}

void Server::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  BeginDrain();
  shut_down_ = true;
  health_service_.Shutdown();  // every service NOT_SERVING, health watches ended
  scaler_service_.WaitForStreams(grace);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  // Calls waiting for a first answer were ended by BeginShutdown; they finish (or, past
  // the grace period, are dropped) before the queues close.
  scaler_service_.StopUnaryThreads(grace);
}

void Server::Wait() {
  if (server_) server_->Wait();
}

}  // namespace scaler
