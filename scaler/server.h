#pragma once
// Server: the augur gRPC server — ExternalScaler, augur.v1.Inspector,
// grpc.health.v1.Health (services "", "liveness", "readiness" and each service's own name;
// scaler/health.h) and server reflection —
// with optional TLS or mTLS, whose files are re-read when they change
// (scaler/server_certificates.h).
//
// Thread-safety: Start/BeginDrain/Shutdown from one thread; the rest from any thread.
// Ownership: the tracker, clock and metrics must outlive the server.

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "scaler/health.h"
#include "scaler/inspector.h"
#include "scaler/server_certificates.h"
#include "scaler/service.h"
#include "scaler/tracker.h"

namespace scaler {

struct ServerOptions {
  std::string listen = "0.0.0.0:6000";  // port 0 = any free port; "" = in-process only
  // PEM files; TLS when cert and key are set, mTLS (client certificates required and
  // verified) when client_ca is set too.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // How often the TLS files are checked for changes besides before each handshake (for
  // the log and metrics); 0 = only before handshakes.
  std::chrono::milliseconds tls_watch_period{10000};
  std::chrono::milliseconds stream_poll{500};
  // Threads (each with its own completion queue) that serve GetMetricSpec, GetMetrics and
  // IsActive. One costs the least CPU per call; two keep the latency tail steadier when
  // the machine is busy (a thread that waits for a core no longer holds every call up).
  int rpc_threads = 2;
  static constexpr int kMaxRpcThreads = 64;  // rpc_threads is 1..kMaxRpcThreads
};

class Server {
 public:
  // Builds and starts the server; health is SERVING once it returns.
  // Errors: kInvalidArgument (unreadable or invalid TLS files, client CA without
  // cert/key, rpc_threads outside 1..64), kUnavailable (the address could not be bound).
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       Tracker& tracker, const Clock& clock,
                                                       ScalerMetrics* metrics);
  ~Server();

  int port() const { return port_; }
  // The TLS material being served; null without TLS.
  ServerCertificates* certificates() { return certificates_.get(); }
  // A channel to this server that bypasses the network (tests).
  std::shared_ptr<grpc::Channel> InProcessChannel();
  // Whether the server is ready for calls: its health service's "readiness" is SERVING
  // (from Start() until BeginDrain() or Shutdown() begins). Any thread (the HTTP
  // server's /readyz).
  bool ready() const;

  // The drain before a shutdown (docs/scaler.md, "Shutdown"): every health service but
  // "liveness" turns NOT_SERVING (health watches see it; they stay open), the open
  // ExternalScaler streams end with OK, and from now on every new ExternalScaler call is
  // answered at once with UNAVAILABLE "augur is shutting down" (a new stream ends with
  // it), while the gRPC server keeps its connections and listener, so that no call is
  // left to gRPC's own cancellation. Calls already being answered finish normally.
  // Inspector, health and reflection keep answering. Idempotent; Shutdown() does it too.
  void BeginDrain();
  // Graceful shutdown: BeginDrain() if not done yet, every health service NOT_SERVING
  // for good (health watches end), streams ended, no new calls, in-flight calls finished
  // (those still running after `grace` are cancelled). Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(3));
  // Blocks until the server has shut down.
  void Wait();

 private:
  Server(Tracker& tracker, const Clock& clock, ScalerMetrics* metrics,
         std::chrono::milliseconds stream_poll);

  ExternalScalerService scaler_service_;
  InspectorService inspector_service_;
  HealthService health_service_;
  // Declared before server_: the server's credentials call into it until server_ is gone.
  std::unique_ptr<ServerCertificates> certificates_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool draining_ = false;   // Start/BeginDrain/Shutdown's thread only
  bool shut_down_ = false;  // Start/Shutdown's thread only
};

}  // namespace scaler
