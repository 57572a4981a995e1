#pragma once
// Augur's version and source revision, the same in every executable (`--version`) and
// on augur's /metrics (augur_build_info). The version is project(VERSION) in the top
// CMakeLists.txt, the only place it is written; the revision is `git describe --always
// --dirty` at build time, or "unknown" when built outside a git checkout (a release
// tarball) unless the build sets AUGUR_REVISION (cmake/AugurBuildInfo.cmake).
//
// Thread-safety: constants.

#include <string>
#include <string_view>

namespace common {

// "0.2.0".
std::string_view Version();

// "abc1234", "v0.2.0-3-gabc1234-dirty", or "unknown".
std::string_view Revision();

// What `--version` prints: "augur 0.2.0 (revision abc1234)".
std::string VersionLine(std::string_view program);

}  // namespace common
