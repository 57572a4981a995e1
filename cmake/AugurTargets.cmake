# Helpers shared by every folder's CMakeLists.txt.

# Our own code gets strict warnings (errors with AUGUR_WERROR, as in CI); generated
# protobuf code and other projects' headers do not. With clang, -Wthread-safety checks
# the ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations (scaler/mutex.h); CI's
# clang build is the TSan one (scripts/tsan.sh).
function(augur_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra $<$<BOOL:${AUGUR_WERROR}>:-Werror>
                         $<$<CXX_COMPILER_ID:Clang>:-Wthread-safety>)
endfunction()

# Generates C++ messages and gRPC stubs for the .proto sources of `target`.
# The generated headers are included as "<proto path relative to the source dir>.pb.h".
function(augur_generate_grpc target)
  protobuf_generate(TARGET ${target} LANGUAGE cpp
                    IMPORT_DIRS ${PROJECT_SOURCE_DIR}
                    PROTOC_OUT_DIR ${PROJECT_BINARY_DIR})
  protobuf_generate(TARGET ${target} LANGUAGE grpc
                    GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
                    PLUGIN "protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>"
                    IMPORT_DIRS ${PROJECT_SOURCE_DIR}
                    PROTOC_OUT_DIR ${PROJECT_BINARY_DIR})
endfunction()
