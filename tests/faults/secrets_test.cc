// Secrets never appear in augur's output: with a bearer token, a basic-auth password and
// a TLS client key configured (and a credential-bearing customHeaders), every error path
// is driven through the fault proxy, and every log line, gRPC error message, /metrics
// sample and Inspector answer is searched for them.

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_fixture.h"

namespace faults {
namespace {

using ::testing::HasSubstr;
using testing_support::FaultProxy;
using testing_support::ProxyRequest;
using testing_support::ProxyResponse;

constexpr char kToken[] = "tok-7f3c9e1b-SECRET-bearer";
constexpr char kUser[] = "augur-user";
constexpr char kPassword[] = "pw-SECRET-b8d2a6";
constexpr char kHeaderSecret[] = "meta-SECRET-77aa";

class SecretsTest : public FaultFixture {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  // Every error path a Prometheus (or what poses as one) can cause, one object each
  // (so each answer is its own first refresh's error), plus metadata errors.
  std::vector<std::string> DriveEveryErrorPath() {
    std::vector<std::string> seen;
    struct Phase {
      std::string name;
      FaultProxy::Behavior behavior;
      std::map<std::string, std::string> metadata;
    };
    auto fixed = [](int status, std::string body) {
      return [status, body](const ProxyRequest&, FaultProxy&) {
        ProxyResponse r;
        r.status = status;
        r.body = body;
        return r;
      };
    };
    const std::vector<Phase> phases = {
        {"ok", nullptr, {}},
        {"reset", [](const ProxyRequest& q, FaultProxy& p) {
           ProxyResponse r = p.Forward(q);
           r.reset_after = r.body.size() / 2;
           return r;
         }, {}},
        {"slow", [](const ProxyRequest& q, FaultProxy& p) {
           ProxyResponse r = p.Forward(q);
           r.delay = std::chrono::seconds(3);
           return r;
         }, {{"timeout", "300"}}},
        {"stall", [](const ProxyRequest& q, FaultProxy& p) {
           ProxyResponse r = p.Forward(q);
           r.stall_after = 10;
           return r;
         }, {{"timeout", "300"}}},
        {"e503", fixed(503, R"({"status":"error","errorType":"unavailable","error":"down"})"), {}},
        {"e502html", fixed(502, "<html><body>502 Bad Gateway</body></html>"), {}},
        {"e401", fixed(401, "Unauthorized\n"), {}},
        {"e403", fixed(403, "Forbidden\n"), {}},
        {"e404", fixed(404, "404 page not found\n"), {}},
        {"e429", fixed(429, "slow down\n"), {}},
        {"truncated", [](const ProxyRequest& q, FaultProxy& p) {
           ProxyResponse r = p.Forward(q);
           r.body.resize(r.body.size() / 3);
           return r;
         }, {}},
        {"shape", fixed(200, R"({"status":"success","data":{"resultType":"matrix","result":7}})"), {}},
        {"huge", [](const ProxyRequest& q, FaultProxy& p) {
           ProxyResponse r = p.Forward(q);
           r.padding = size_t{64} << 20;
           return r;
         }, {}},
        {"badpromql", nullptr, {{"query", "sum(rate(augur_fault_load[5m])"}}},
        {"empty", nullptr, {{"query", "no_such_metric_here"}, {"ignoreNullValues", "false"}}},
        {"headers", nullptr,
         {{"customHeaders", std::string("X-Api-Key=") + kHeaderSecret + ",X-Scope-OrgID=t1"}}},
    };
    for (const Phase& phase : phases) {
      proxy_->SetBehavior(phase.behavior);
      auto metadata = phase.metadata;
      if (!metadata.count("customHeaders")) {
        metadata["customHeaders"] = std::string("X-Api-Key=") + kHeaderSecret;
      }
      const auto ref = Ref("s-" + phase.name, metadata);
      const Answer a = FirstAnswer(ref);
      if (phase.name != "ok" && phase.name != "headers") {
        EXPECT_FALSE(a.ok()) << phase.name;
      }
      seen.push_back(phase.name + ": " + a.message);
      ObjectCalls(ref, &seen);
    }
    // Connection refused, and a warm object's answer going stale.
    proxy_->SetBehavior(nullptr);
    const auto warm = Ref("s-stale", {{"customHeaders", std::string("X-Api-Key=") + kHeaderSecret}});
    EXPECT_TRUE(Warm(warm).ok());
    proxy_->Refuse();
    Answer stale;
    EXPECT_TRUE(testing_support::PollUntil(20, [&] {
      stale = GetMetrics(warm);
      return stale.code == grpc::StatusCode::UNAVAILABLE;
    }));
    EXPECT_THAT(stale.message, HasSubstr("Connection refused"));
    seen.push_back("stale: " + stale.message);
    ObjectCalls(warm, &seen);
    const auto refused = Ref("s-refused");
    const Answer refused_answer = FirstAnswer(refused);
    EXPECT_THAT(refused_answer.message, HasSubstr("Connection refused"));
    seen.push_back("refused: " + refused_answer.message);
    EXPECT_TRUE(proxy_->Listen().ok());

    // Metadata errors: a malformed customHeaders holding a credential, a server that is
    // not allowed (with user info in its URL), an unknown key.
    for (const auto& extra : std::vector<std::map<std::string, std::string>>{
             {{"customHeaders", std::string("Authorization Bearer ") + kHeaderSecret}},
             {{"serverAddress", std::string("http://user:") + kHeaderSecret + "@10.0.0.1:9090"}},
             {{"tokenn", kHeaderSecret}},
         }) {
      const auto ref = Ref("s-meta", extra);
      const Answer a = GetMetrics(ref);
      EXPECT_FALSE(a.ok());
      seen.push_back("metadata: " + a.message);
      ObjectCalls(ref, &seen);
    }
    return seen;
  }

  // The object's first answer or error (not "its first refresh is still running").
  Answer FirstAnswer(const externalscaler::ScaledObjectRef& ref) {
    Answer a;
    testing_support::PollUntil(20, [&] {
      a = GetMetrics(ref);
      return a.message.find("first refresh is still running") == std::string::npos;
    });
    return a;
  }

  // GetMetricSpec, IsActive and the Inspector's Explain for `ref`, and List.
  void ObjectCalls(const externalscaler::ScaledObjectRef& ref, std::vector<std::string>* seen) {
    auto stub = externalscaler::ExternalScaler::NewStub(channel_);
    {
      grpc::ClientContext ctx;
      externalscaler::GetMetricSpecResponse r;
      grpc::Status s = stub->GetMetricSpec(&ctx, ref, &r);
      seen->push_back(s.error_message() + r.DebugString());
    }
    {
      grpc::ClientContext ctx;
      externalscaler::IsActiveResponse r;
      grpc::Status s = stub->IsActive(&ctx, ref, &r);
      seen->push_back(s.error_message());
    }
    auto inspector = augur::v1::Inspector::NewStub(channel_);
    {
      grpc::ClientContext ctx;
      augur::v1::Explanation e;
      grpc::Status s = inspector->Explain(&ctx, ref, &e);
      seen->push_back(s.error_message() + e.DebugString());
    }
    {
      grpc::ClientContext ctx;
      augur::v1::ListResponse list;
      grpc::Status s = inspector->List(&ctx, augur::v1::ListRequest(), &list);
      seen->push_back(s.error_message() + list.DebugString());
    }
  }

  void ExpectNoSecret(const std::vector<std::string>& secrets, std::vector<std::string> seen) {
    seen.push_back(Metrics());
    ASSERT_EQ(augur_->Terminate(10), 0);
    seen.push_back(augur_->log());
    size_t bytes = 0;
    for (const std::string& text : seen) {
      bytes += text.size();
      for (const std::string& secret : secrets) {
        EXPECT_EQ(text.find(secret), std::string::npos)
            << "secret '" << secret << "' leaked in:\n" << text.substr(0, 4000);
      }
    }
    EXPECT_GT(bytes, 10000u) << "too little output searched";
  }
};

TEST_F(SecretsTest, BearerTokenAndTlsClientKeyNeverAppear) {
  const std::string certs = dir_ + "/secret-certs";
  ASSERT_EQ(std::system(("mkdir -p '" + certs + "' && cd '" + certs +
                         "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                         "-nodes -keyout client.key -out client.crt -days 2 -subj /CN=augur "
                         ">/dev/null 2>&1")
                            .c_str()),
            0);
  // The key's base64 body (its second line) is the secret part of the PEM.
  std::ifstream key_file(certs + "/client.key");
  std::string key_line;
  std::getline(key_file, key_line);
  std::getline(key_file, key_line);
  ASSERT_GT(key_line.size(), 20u);
  augur_ = StartAugur({"--prometheus-bearer-token-file", Write("token", std::string(kToken) + "\n"),
                       "--prometheus-cert-file", certs + "/client.crt", "--prometheus-key-file",
                       certs + "/client.key"});
  channel_ = grpc::CreateChannel(augur_->grpc_address(), grpc::InsecureChannelCredentials());
  std::vector<std::string> seen = DriveEveryErrorPath();
  bool sent = false;
  for (const ProxyRequest& r : proxy_->received()) {
    sent |= r.Header("Authorization") == std::string("Bearer ") + kToken;
  }
  EXPECT_TRUE(sent) << "augur did not send the token: the test would prove nothing";
  ExpectNoSecret({kToken, key_line, kHeaderSecret}, std::move(seen));
}

TEST_F(SecretsTest, BasicAuthPasswordNeverAppears) {
  augur_ = StartAugur({"--prometheus-basic-auth-user", kUser,
                       "--prometheus-basic-auth-password-file", Write("password", kPassword)});
  channel_ = grpc::CreateChannel(augur_->grpc_address(), grpc::InsecureChannelCredentials());
  std::vector<std::string> seen = DriveEveryErrorPath();
  const std::string basic = absl::Base64Escape(std::string(kUser) + ":" + kPassword);
  bool sent = false;
  for (const ProxyRequest& r : proxy_->received()) sent |= r.Header("Authorization") == "Basic " + basic;
  EXPECT_TRUE(sent) << "augur did not send the password: the test would prove nothing";
  ExpectNoSecret({kPassword, basic, kHeaderSecret}, std::move(seen));
}

}  // namespace
}  // namespace faults
