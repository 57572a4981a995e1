// HealthService (scaler/health.h): grpc.health.v1.Health through a real gRPC server on an
// in-process channel, with the generated client.
#include "scaler/health.h"

#include <chrono>
#include <memory>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "tests/scaler/fakes.h"

namespace scaler {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = grpc::health::v1::Health::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    health_.Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  // A context whose deadline bounds every blocking read of a test.
  static std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  grpc::Status Check(const std::string& service, HealthCheckResponse* response) {
    HealthCheckRequest request;
    request.set_service(service);
    return stub_->Check(Context().get(), request, response);
  }

  struct WatchCall {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader;
  };
  WatchCall Watch(const std::string& service) {
    WatchCall call{Context(), nullptr};
    HealthCheckRequest request;
    request.set_service(service);
    call.reader = stub_->Watch(call.context.get(), request);
    return call;
  }

  // Watches wake on changes; their poll for a client that left is on this clock.
  scaler_testing::FakeClock clock_{1700000000};
  HealthService health_{clock_, std::chrono::milliseconds(20)};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
};

TEST_F(HealthTest, CheckAnswersKnownServicesAndNotFoundForOthers) {
  health_.SetServingStatus("", true);
  health_.SetServingStatus("readiness", false);
  HealthCheckResponse response;
  ASSERT_TRUE(Check("", &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  ASSERT_TRUE(Check("readiness", &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);

  grpc::Status unknown = Check("no.such.Service", &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("no.such.Service"), std::string::npos)
      << unknown.error_message();
}

TEST_F(HealthTest, SetAllChangesEveryKnownService) {
  health_.SetServingStatus("", true);
  health_.SetServingStatus("liveness", true);
  health_.SetAllServingStatus(false);
  HealthCheckResponse response;
  for (const char* service : {"", "liveness"}) {
    ASSERT_TRUE(Check(service, &response).ok());
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING) << service;
  }
}

TEST_F(HealthTest, WatchSendsTheStatusThenEachChangeAndEndsOnShutdown) {
  health_.SetServingStatus("readiness", true);
  WatchCall watch = Watch("readiness");
  auto& reader = watch.reader;
  HealthCheckResponse message;
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.status(), HealthCheckResponse::SERVING);

  health_.SetServingStatus("readiness", true);   // no change: nothing sent
  health_.SetServingStatus("readiness", false);
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.status(), HealthCheckResponse::NOT_SERVING);

  health_.SetServingStatus("readiness", true);
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.status(), HealthCheckResponse::SERVING);

  health_.Shutdown();
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(reader->Read(&message));  // the stream ends
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(HealthTest, WatchOfAnUnknownServiceSaysSoAndFollowsItOnceAdded) {
  WatchCall watch = Watch("later");
  auto& reader = watch.reader;
  HealthCheckResponse message;
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  health_.SetServingStatus("later", true);
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.status(), HealthCheckResponse::SERVING);
  watch.context->TryCancel();
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(HealthTest, AfterShutdownEveryServiceStaysNotServing) {
  health_.SetServingStatus("", true);
  health_.Shutdown();
  health_.SetServingStatus("", true);  // ignored
  health_.SetAllServingStatus(true);   // ignored
  HealthCheckResponse response;
  ASSERT_TRUE(Check("", &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
}

}  // namespace
}  // namespace scaler
