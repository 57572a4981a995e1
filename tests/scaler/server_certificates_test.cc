// ServerCertificates: loading, validation errors, and re-reading changed files. The
// certificates are made with the openssl CLI; the served certificate is compared with
// openssl's own fingerprint of the file. (Serving them to a real client under a live
// augur is tests/e2e/tls_reload.py.)

#include "scaler/server_certificates.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/testing/status_matchers.h"

namespace scaler {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing_support::IsOk;
using ::testing_support::StatusIs;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs a shell command; its standard output.
std::string RunShell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  pclose(p);
  return out;
}

class ServerCertificatesTest : public ::testing::Test {
 protected:
  // Two generations (a, b), each a CA with a server certificate, plus an encrypted key:
  // made once for the suite (openssl runs take most of the time).
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/augur-certs-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    made_ = tmpl;
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";
    std::string script = "cd '" + made_ + "' && ";
    for (const char* g : {"a", "b"}) {
      const std::string p(g);
      script += "openssl req -x509 " + ec + " -nodes -keyout " + p + "-ca.key -out " + p +
                "-ca.crt -days 2 -subj /CN=ca-" + p + " && openssl req " + ec +
                " -nodes -keyout " + p + ".key -out " + p + ".csr -subj /CN=localhost && " +
                "openssl x509 -req -in " + p + ".csr -CA " + p + "-ca.crt -CAkey " + p +
                "-ca.key -CAcreateserial -out " + p + ".crt -days 2 && ";
    }
    script += "openssl pkey -in a.key -aes256 -passout pass:secret -out encrypted.key";
    made_ok_ = std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
  }
  static void TearDownTestSuite() {
    if (!made_.empty()) std::system(("rm -rf '" + made_ + "'").c_str());
  }

  void SetUp() override {
    ASSERT_TRUE(made_ok_) << "openssl failed to make test certificates";
    dir_ = made_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
    for (const char* f : {"a.crt", "a.key", "a-ca.crt", "b.crt", "b.key", "b-ca.crt", "encrypted.key"}) {
      Put(f, ReadAll(made_ + "/" + f));
    }
    // What augur is given: files that the test replaces as an operator would.
    Put("tls.crt", ReadAll(Path("a.crt")));
    Put("tls.key", ReadAll(Path("a.key")));
    Put("ca.crt", ReadAll(Path("a-ca.crt")));
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // Replaces `name` with `content` (a new file renamed over the old one).
  void Put(const std::string& name, const std::string& content) {
    const std::string tmp = Path(name + ".new");
    std::ofstream(tmp, std::ios::binary) << content;
    ASSERT_EQ(std::rename(tmp.c_str(), Path(name).c_str()), 0);
  }
  // openssl's SHA-256 fingerprint of a certificate file, as lowercase hex.
  std::string Fingerprint(const std::string& name) const {
    std::string out = RunShell("openssl x509 -noout -fingerprint -sha256 -in '" + Path(name) + "'");
    out = out.substr(out.find('=') + 1);
    std::string hex;
    for (char c : out) {
      if (std::isxdigit(static_cast<unsigned char>(c))) {
        hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      }
    }
    return hex;
  }
  ServerCertificates::Files Files() const {
    return {Path("tls.crt"), Path("tls.key"), Path("ca.crt")};
  }
  double Counter(const std::string& result) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "augur_tls_reloads_total") continue;
      for (const auto& m : family.metric) {
        if (!m.label.empty() && m.label[0].value == result) return m.counter.value;
      }
    }
    return 0;
  }

  static std::string made_;
  static bool made_ok_;
  std::string dir_;
  prometheus::Registry registry_;
  ScalerMetrics metrics_{registry_};
};

std::string ServerCertificatesTest::made_;
bool ServerCertificatesTest::made_ok_ = false;

TEST_F(ServerCertificatesTest, LoadsTheFilesAndTellsWhatItServes) {
  auto certs = ServerCertificates::Load(Files(), &metrics_);
  ASSERT_THAT(certs, IsOk());
  EXPECT_EQ((*certs)->fingerprint(), Fingerprint("a.crt"));
  // -days 2: notAfter two days from now.
  EXPECT_NEAR((*certs)->not_after(), static_cast<double>(std::time(nullptr)) + 2 * 86400, 600);
  EXPECT_NE((*certs)->Credentials(), nullptr);
  EXPECT_FALSE((*certs)->Check());  // nothing changed
}

TEST_F(ServerCertificatesTest, BadFilesAreRefusedNamingTheFlagAndTheFile) {
  struct Case {
    std::string file, content, message;
  };
  const Case cases[] = {
      {"tls.crt", "", "is empty"},
      {"tls.crt", "hello\n", "holds no PEM certificate"},
      {"tls.key", ReadAll(Path("b.key")), "is not the key of the certificate"},
      {"tls.key", ReadAll(Path("encrypted.key")), "no unencrypted PEM private key"},
      {"tls.key", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n",
       "no unencrypted PEM private key"},
      {"ca.crt", "not a CA\n", "holds no PEM certificate"},
  };
  for (const Case& c : cases) {
    const std::string good = ReadAll(Path(c.file));
    Put(c.file, c.content);
    const std::string flag = c.file == "tls.crt" ? "--tls-cert" : c.file == "tls.key" ? "--tls-key"
                                                                                        : "--tls-client-ca";
    EXPECT_THAT(ServerCertificates::Load(Files(), nullptr),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(Path(c.file)), HasSubstr(c.message))))
        << c.file << ": " << c.message;
    if (c.message != "is not the key of the certificate") {
      EXPECT_THAT(ServerCertificates::Load(Files(), nullptr),
                  StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(flag)));
    }
    Put(c.file, good);
  }
  ServerCertificates::Files missing = Files();
  missing.cert = Path("nonexistent.crt");
  EXPECT_THAT(ServerCertificates::Load(missing, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("cannot read --tls-cert"), HasSubstr("nonexistent.crt"))));
}

TEST_F(ServerCertificatesTest, ChangedFilesAreTakenAtTheNextCheck) {
  auto certs = ServerCertificates::Load(Files(), &metrics_);
  ASSERT_THAT(certs, IsOk());
  Put("tls.crt", ReadAll(Path("b.crt")));
  Put("tls.key", ReadAll(Path("b.key")));
  Put("ca.crt", ReadAll(Path("b-ca.crt")));
  EXPECT_TRUE((*certs)->Check());
  EXPECT_EQ((*certs)->fingerprint(), Fingerprint("b.crt"));
  EXPECT_FALSE((*certs)->Check());  // taken once
  EXPECT_EQ(Counter("ok"), 1);
  EXPECT_EQ(Counter("error"), 0);
}

// A half-done update (the certificate replaced, its key not yet) is refused and logged
// once; the update's second half is then taken.
TEST_F(ServerCertificatesTest, ABadUpdateKeepsTheCurrentMaterialUntilAGoodOne) {
  auto certs = ServerCertificates::Load(Files(), &metrics_);
  ASSERT_THAT(certs, IsOk());
  Put("tls.crt", ReadAll(Path("b.crt")));
  EXPECT_FALSE((*certs)->Check());
  EXPECT_EQ((*certs)->fingerprint(), Fingerprint("a.crt"));
  EXPECT_FALSE((*certs)->Check());
  EXPECT_EQ(Counter("error"), 1);  // the same bad state counts (and logs) once
  Put("tls.key", ReadAll(Path("b.key")));
  EXPECT_TRUE((*certs)->Check());
  EXPECT_EQ((*certs)->fingerprint(), Fingerprint("b.crt"));
  EXPECT_EQ(Counter("ok"), 1);
}

TEST_F(ServerCertificatesTest, RewritingTheSameContentIsNotAReload) {
  auto certs = ServerCertificates::Load(Files(), &metrics_);
  ASSERT_THAT(certs, IsOk());
  Put("tls.crt", ReadAll(Path("tls.crt")));
  EXPECT_FALSE((*certs)->Check());
  EXPECT_EQ(Counter("ok"), 0);
  EXPECT_EQ(Counter("error"), 0);
}

TEST_F(ServerCertificatesTest, WithoutClientCaNoClientCaIsRead) {
  ServerCertificates::Files files = Files();
  files.client_ca.clear();
  Put("ca.crt", "garbage");
  auto certs = ServerCertificates::Load(files, nullptr);
  EXPECT_THAT(certs, IsOk());
}

}  // namespace
}  // namespace scaler
