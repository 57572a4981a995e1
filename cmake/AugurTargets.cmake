# Helpers shared by every folder's CMakeLists.txt.

# Our own code gets strict warnings; generated protobuf code does not.
function(augur_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
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

# Adds every immediate subfolder of the current folder that has a CMakeLists.txt,
# so that each module's tests and benchmarks can be added without editing this file.
macro(augur_add_present_subdirectories)
  file(GLOB _augur_children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT _augur_children)
  foreach(_child IN LISTS _augur_children)
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${_child}
       AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${_child}/CMakeLists.txt)
      add_subdirectory(${_child})
    endif()
  endforeach()
endmacro()
