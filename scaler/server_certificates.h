#pragma once
// ServerCertificates: the gRPC server's TLS material — certificate chain, private key and,
// for mTLS, the CA that signs client certificates — read from files and re-read when they
// change, without a restart and without touching established connections. Kubernetes
// updates a mounted Secret by swapping its `..data` symlink (cert-manager rotates the
// Secret well before expiry); a certificate read once at start would be served until it
// expires, and KEDA, which has no fallback for an unreachable scaler (docs/keda.md §7),
// could then no longer connect.
//
// gRPC asks for the material before each TLS handshake (the "certificate config fetcher"
// of grpc/grpc_security.h, which replaces the handshaker for new connections only), and a
// background thread checks every `period` (so that logs and metrics follow a rotation
// even while no client connects). A check stats the three files (following symlinks) and,
// when one changed, reads and validates them: PEM certificate(s), an unencrypted PEM key
// that matches the leaf certificate, a CA bundle that parses, a certificate that has not
// expired. Valid material is served from the next handshake on (`tls_reloaded` in the
// log); invalid material is refused with the reason (`tls_reload_failed`) and the current
// material stays.
//
// Thread-safety: every method may be called from any thread.
// Ownership: the object must outlive every server using Credentials().

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "scaler/clock.h"
#include "scaler/metrics.h"

struct grpc_ssl_server_certificate_config;

namespace scaler {

class ServerCertificates {
 public:
  struct Files {
    std::string cert;       // --tls-cert: PEM certificate chain, leaf first
    std::string key;        // --tls-key: PEM private key of the leaf
    std::string client_ca;  // --tls-client-ca: PEM CA bundle; "" = no client certificates
  };

  // Reads and validates the files. `metrics` (optional) gets the certificate's expiry and
  // the reload counts.
  // Errors: kInvalidArgument naming the flag, the file and what is wrong with it.
  static absl::StatusOr<std::unique_ptr<ServerCertificates>> Load(const Files& files,
                                                                  ScalerMetrics* metrics);
  ~ServerCertificates();
  ServerCertificates(const ServerCertificates&) = delete;
  ServerCertificates& operator=(const ServerCertificates&) = delete;

  // Server credentials that serve the current material: TLS, and with a client CA mTLS
  // (client certificates required and verified).
  std::shared_ptr<grpc::ServerCredentials> Credentials();

  // Re-reads the files if any of them changed since the last check; true when new
  // material was taken.
  bool Check();
  // Runs Check() every `period` (`clock`'s monotonic time; `clock` must outlive this
  // object) from a background thread until destruction. Once.
  void StartWatching(const Clock& clock, std::chrono::milliseconds period);

  // The leaf certificate being served: SHA-256 of its DER form (lowercase hex), and its
  // notAfter (unix seconds).
  std::string fingerprint() const;
  double not_after() const;

 private:
  struct FileState {
    bool exists = false;
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const FileState& o) const;
  };
  struct States {
    FileState cert, key, client_ca;
    bool operator==(const States& o) const {
      return cert == o.cert && key == o.key && client_ca == o.client_ca;
    }
  };
  struct Material {
    std::string cert_pem, key_pem, client_ca_pem;
    std::string fingerprint;
    double not_after = 0;
  };

  ServerCertificates(Files files, ScalerMetrics* metrics);
  States Stat() const;
  // Reads and validates the files; `reloading` refuses an expired certificate (at start
  // it is served, with a warning, so that the operator sees why clients refuse it).
  static absl::StatusOr<Material> Read(const Files& files, bool reloading);
  // The gRPC certificate config fetcher: a new config when the material changed since
  // the last call.
  static grpc_ssl_certificate_config_reload_status Fetch(
      void* self, grpc_ssl_server_certificate_config** config);

  const Files files_;
  ScalerMetrics* const metrics_;

  mutable std::mutex mu_;
  States seen_;            // guarded by mu_: the files' state at the last check
  Material material_;      // guarded by mu_: what is served
  uint64_t generation_ = 1;          // guarded by mu_: material_ changes
  uint64_t fetched_generation_ = 0;  // guarded by mu_: what gRPC has

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;  // guarded by watch_mu_
  std::thread watcher_;
};

}  // namespace scaler
