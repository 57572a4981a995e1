# cmake/AugurBuildInfo.cmake outside and inside git work trees (run with cmake -P by
# CTest; needs git). Checks:
#   * a source tree that is no git checkout (a release tarball): revision "unknown";
#   * a tarball unpacked inside another repository: still "unknown", not that
#     repository's revision;
#   * a checkout: `git describe --always --dirty` (the short hash), then "-dirty" once a
#     tracked file changes;
#   * REVISION (the AUGUR_REVISION cache variable) wins, sanitised for a C string;
#   * the header is not rewritten when nothing changed (so nothing recompiles).
# Inputs: SCRIPT (cmake/AugurBuildInfo.cmake), GIT_EXECUTABLE, WORK (a scratch folder).
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/tarball" "${WORK}/repo/unpacked")

function(expect_revision source revision expected what)
  set(out "${WORK}/build_info.h")
  file(REMOVE "${out}")
  execute_process(COMMAND "${CMAKE_COMMAND}" -DOUTPUT=${out} -DVERSION=9.8.7
                          -DSOURCE_DIR=${source} -DGIT_EXECUTABLE=${GIT_EXECUTABLE}
                          "-DREVISION=${revision}" -P "${SCRIPT}"
                  RESULT_VARIABLE rc)
  file(READ "${out}" text)
  if(NOT rc EQUAL 0 OR NOT text MATCHES "#define AUGUR_VERSION \"9.8.7\"\n"
     OR NOT text MATCHES "#define AUGUR_REVISION \"${expected}\"\n")
    message(FATAL_ERROR "${what}: expected revision '${expected}', got (exit ${rc}):\n${text}")
  endif()
  message(STATUS "ok: ${what}: ${expected}")
endfunction()

function(git)
  execute_process(COMMAND "${GIT_EXECUTABLE}" -c user.name=t -c user.email=t@localhost ${ARGN}
                  WORKING_DIRECTORY "${WORK}/repo" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "git ${ARGN} failed")
  endif()
endfunction()

expect_revision("${WORK}/tarball" "" "unknown" "no git checkout")
git(init -q)
file(WRITE "${WORK}/repo/file" "one\n")
git(add file)
git(commit -q -m one)
execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short HEAD WORKING_DIRECTORY "${WORK}/repo"
                OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE)
expect_revision("${WORK}/repo/unpacked" "" "unknown" "unpacked inside another repository")
expect_revision("${WORK}/repo" "" "${head}" "clean checkout")
file(WRITE "${WORK}/repo/file" "two\n")
expect_revision("${WORK}/repo" "" "${head}-dirty" "changed checkout")
expect_revision("${WORK}/tarball" "release \"1\"" "release__1_" "REVISION given")

# Unchanged content: the file is left alone (backdated first, it keeps its old time).
set(out "${WORK}/build_info.h")
execute_process(COMMAND touch -d @1000000000 "${out}")
execute_process(COMMAND "${CMAKE_COMMAND}" -DOUTPUT=${out} -DVERSION=9.8.7
                        -DSOURCE_DIR=${WORK}/tarball "-DREVISION=release \"1\""
                        -P "${SCRIPT}")
file(TIMESTAMP "${out}" after "%s" UTC)
if(NOT after STREQUAL "1000000000")
  message(FATAL_ERROR "the header was rewritten with the same content (mtime ${after})")
endif()
file(REMOVE_RECURSE "${WORK}")
