#pragma once
// Minimal clients of grpc.health.v1.Health/Check and grpc.reflection.v1alpha's
// ServerReflectionInfo, over any channel, for the scaler's tests.

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/rpc_method.h>
#include <grpcpp/impl/codegen/sync_stream.h>

#include "absl/status/statusor.h"
#include "health.grpc.pb.h"        // generated from scaler/health.proto
#include "wire_clients.pb.h"  // generated from tests/scaler/wire_clients.proto

namespace scaler_testing {

// The health status of `service` ("" = overall): 1 = SERVING, 2 = NOT_SERVING.
inline absl::StatusOr<int> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                       const std::string& service) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status s = grpc::health::v1::Health::NewStub(channel)->Check(&ctx, req, &resp);
  if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  return static_cast<int>(resp.status());
}

// The services listed by server reflection, and whether `symbol`'s file descriptor is
// served (as grpcurl's `list` and `describe` need).
inline absl::StatusOr<std::vector<std::string>> ReflectionListServices(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& symbol,
    bool* symbol_found) {
  static const grpc::internal::RpcMethod kInfo(
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      grpc::internal::RpcMethod::BIDI_STREAMING);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::unique_ptr<grpc::ClientReaderWriter<augur::wire::ReflectionRequest,
                                           augur::wire::ReflectionResponse>>
      stream(grpc::internal::ClientReaderWriterFactory<
             augur::wire::ReflectionRequest, augur::wire::ReflectionResponse>::Create(channel.get(),
                                                                                     kInfo, &ctx));
  augur::wire::ReflectionRequest list;
  list.set_list_services("");
  augur::wire::ReflectionRequest describe;
  describe.set_file_containing_symbol(symbol);
  std::vector<std::string> services;
  augur::wire::ReflectionResponse resp;
  if (stream->Write(list) && stream->Read(&resp)) {
    for (const auto& s : resp.list_services_response().service()) services.push_back(s.name());
  }
  *symbol_found = stream->Write(describe) && stream->Read(&resp) &&
                  resp.file_descriptor_response().file_descriptor_proto_size() > 0;
  stream->WritesDone();
  grpc::Status s = stream->Finish();
  if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  return services;
}

}  // namespace scaler_testing
