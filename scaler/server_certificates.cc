#include "scaler/server_certificates.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <sstream>
#include <vector>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "scaler/log.h"

namespace scaler {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Refuses encrypted keys instead of OpenSSL's default: prompting on the terminal.
int NoPassphrase(char*, int, int, void*) { return 0; }

BioPtr MemBio(const std::string& s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

absl::StatusOr<std::string> ReadWhole(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError("cannot read " + flag + " '" + path +
                                      "': " + std::strerror(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (out.str().empty()) {
    return absl::InvalidArgumentError(flag + " '" + path + "' is empty: expected PEM");
  }
  return out.str();
}

// The certificates in a PEM text, in order.
std::vector<X509Ptr> Certificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = MemBio(pem);
  while (bio) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr);
    if (x == nullptr) break;
    out.emplace_back(x);
  }
  ERR_clear_error();  // the end of the input reads as an error
  return out;
}

std::string Hex(const unsigned char* p, unsigned int n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 0xf]);
  }
  return out;
}

std::string Iso8601(double unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Serves ServerCertificates' material through gRPC's SSL certificate config fetcher.
// Debian's gRPC 1.51 has no public C++ wrapper for the fetcher, and its C++
// ServerCredentials is an interface whose AddPortToServer the server calls with the core
// server handle (as gRPC's own InsecureServerCredentials does), so the port is added with
// the C API here.
class ReloadingServerCredentials final : public grpc::ServerCredentials {
 public:
  using FetchFn = grpc_ssl_certificate_config_reload_status (*)(
      void*, grpc_ssl_server_certificate_config**);
  ReloadingServerCredentials(FetchFn fetch, void* user_data, bool require_client_certificate)
      : fetch_(fetch), user_data_(user_data), require_client_(require_client_certificate) {}

  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    // Augur authenticates clients by certificate only.
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    grpc_ssl_server_credentials_options* options =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            require_client_ ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            fetch_, user_data_);
    grpc_server_credentials* creds = grpc_ssl_server_credentials_create_with_options(options);
    const int port = grpc_server_add_http2_port(server, addr.c_str(), creds);
    grpc_server_credentials_release(creds);  // the port holds its own reference
    return port;
  }

  FetchFn fetch_;
  void* user_data_;
  bool require_client_;
};

}  // namespace

bool ServerCertificates::FileState::operator==(const FileState& o) const {
  return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size &&
         mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
}

ServerCertificates::ServerCertificates(Files files, ScalerMetrics* metrics)
    : files_(std::move(files)), metrics_(metrics) {}

ServerCertificates::~ServerCertificates() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

absl::StatusOr<std::unique_ptr<ServerCertificates>> ServerCertificates::Load(
    const Files& files, ScalerMetrics* metrics) {
  std::unique_ptr<ServerCertificates> certs(new ServerCertificates(files, metrics));
  certs->seen_ = certs->Stat();
  auto material = Read(files, /*reloading=*/false);
  if (!material.ok()) return material.status();
  certs->material_ = *std::move(material);
  if (metrics != nullptr) metrics->SetTlsCertificateExpiry(certs->material_.not_after);
  return certs;
}

ServerCertificates::States ServerCertificates::Stat() const {
  auto one = [](const std::string& path) {
    FileState s;
    struct stat st;
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return s;
    s.exists = true;
    s.dev = static_cast<uint64_t>(st.st_dev);
    s.ino = static_cast<uint64_t>(st.st_ino);
    s.size = static_cast<uint64_t>(st.st_size);
    s.mtime_ns = Nanos(st.st_mtim);
    s.ctime_ns = Nanos(st.st_ctim);
    return s;
  };
  return States{one(files_.cert), one(files_.key), one(files_.client_ca)};
}

absl::StatusOr<ServerCertificates::Material> ServerCertificates::Read(const Files& files,
                                                                      bool reloading) {
  Material m;
  auto cert = ReadWhole(files.cert, "--tls-cert");
  if (!cert.ok()) return cert.status();
  auto key = ReadWhole(files.key, "--tls-key");
  if (!key.ok()) return key.status();
  m.cert_pem = *std::move(cert);
  m.key_pem = *std::move(key);

  std::vector<X509Ptr> chain = Certificates(m.cert_pem);
  if (chain.empty()) {
    return absl::InvalidArgumentError("--tls-cert '" + files.cert +
                                      "' holds no PEM certificate (expected -----BEGIN "
                                      "CERTIFICATE-----)");
  }
  PkeyPtr pkey;
  {
    BioPtr bio = MemBio(m.key_pem);
    if (bio) pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
    ERR_clear_error();
  }
  if (pkey == nullptr) {
    return absl::InvalidArgumentError("--tls-key '" + files.key +
                                      "' holds no unencrypted PEM private key");
  }
  if (X509_check_private_key(chain.front().get(), pkey.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("--tls-key '" + files.key +
                                      "' is not the key of the certificate in --tls-cert '" +
                                      files.cert + "'");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (X509_digest(chain.front().get(), EVP_sha256(), digest, &digest_len) == 1) {
    m.fingerprint = Hex(digest, digest_len);
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(chain.front().get()), &tm) == 1) {
    m.not_after = static_cast<double>(timegm(&tm));
  }
  ERR_clear_error();
  if (reloading && m.not_after > 0 && m.not_after < static_cast<double>(std::time(nullptr))) {
    return absl::InvalidArgumentError("the certificate in --tls-cert '" + files.cert +
                                      "' expired at " + Iso8601(m.not_after));
  }

  if (!files.client_ca.empty()) {
    auto ca = ReadWhole(files.client_ca, "--tls-client-ca");
    if (!ca.ok()) return ca.status();
    m.client_ca_pem = *std::move(ca);
    if (Certificates(m.client_ca_pem).empty()) {
      return absl::InvalidArgumentError("--tls-client-ca '" + files.client_ca +
                                        "' holds no PEM certificate (expected -----BEGIN "
                                        "CERTIFICATE-----)");
    }
  }
  return m;
}

bool ServerCertificates::Check() {
  const States before = Stat();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (before == seen_) return false;
  }
  auto material = Read(files_, /*reloading=*/true);
  // A file replaced while it was read: look again at the next check (the files' state is
  // not recorded, so the change is seen again).
  if (!(Stat() == before)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (before == seen_) return false;  // another thread handled this state
  seen_ = before;
  if (!material.ok()) {
    Log(LogLevel::kError, "tls_reload_failed",
        {{"error", std::string(material.status().message())},
         {"serving", material_.fingerprint.substr(0, 16)},
         {"not_after", Iso8601(material_.not_after)}});
    if (metrics_ != nullptr) metrics_->ObserveTlsReload(false);
    return false;
  }
  if (material->cert_pem == material_.cert_pem && material->key_pem == material_.key_pem &&
      material->client_ca_pem == material_.client_ca_pem) {
    return false;  // touched, not changed
  }
  material_ = *std::move(material);
  ++generation_;
  Log(LogLevel::kInfo, "tls_reloaded",
      {{"certificate", material_.fingerprint.substr(0, 16)},
       {"not_after", Iso8601(material_.not_after)},
       {"client_ca", !material_.client_ca_pem.empty()}});
  if (metrics_ != nullptr) {
    metrics_->ObserveTlsReload(true);
    metrics_->SetTlsCertificateExpiry(material_.not_after);
  }
  return true;
}

void ServerCertificates::StartWatching(const Clock& clock, std::chrono::milliseconds period) {
  std::lock_guard<std::mutex> lock(watch_mu_);
  if (watcher_.joinable() || stopping_ || period.count() <= 0) return;
  watcher_ = std::thread([this, &clock, period] {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!clock.WaitFor(lock, watch_cv_, period, [this] { return stopping_; })) {
      lock.unlock();
      Check();
      lock.lock();
    }
  });
}

grpc_ssl_certificate_config_reload_status ServerCertificates::Fetch(
    void* user_data, grpc_ssl_server_certificate_config** config) {
  // Called by gRPC before every handshake: nothing may escape into its C code.
  try {
    auto* self = static_cast<ServerCertificates*>(user_data);
    self->Check();
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->fetched_generation_ == self->generation_) {
      return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
    }
    const Material& m = self->material_;
    grpc_ssl_pem_key_cert_pair pair{m.key_pem.c_str(), m.cert_pem.c_str()};
    // gRPC 1.51 asserts that a fetched config has root certificates even when client
    // certificates are not requested (ssl_security_connector.cc); without mTLS they are
    // never used, so the server's own chain stands in.
    const std::string& roots = m.client_ca_pem.empty() ? m.cert_pem : m.client_ca_pem;
    // gRPC copies the strings and owns (and frees) the config.
    *config = grpc_ssl_server_certificate_config_create(roots.c_str(), &pair, 1);
    self->fetched_generation_ = self->generation_;
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
  } catch (const std::exception&) {
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;  // gRPC keeps the current material
  }
}

std::shared_ptr<grpc::ServerCredentials> ServerCertificates::Credentials() {
  return std::make_shared<ReloadingServerCredentials>(&ServerCertificates::Fetch, this,
                                                      !files_.client_ca.empty());
}

std::string ServerCertificates::fingerprint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return material_.fingerprint;
}

double ServerCertificates::not_after() const {
  std::lock_guard<std::mutex> lock(mu_);
  return material_.not_after;
}

}  // namespace scaler
