// The version every executable reports comes from project(VERSION) (passed to this test
// as AUGUR_PROJECT_VERSION by CMake, from the same variable) and a revision that fits
// in a label value.

#include "common/version.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace common {
namespace {

using ::testing::MatchesRegex;

TEST(Version, IsTheProjectVersion) { EXPECT_EQ(Version(), AUGUR_PROJECT_VERSION); }

TEST(Version, RevisionIsAGitDescriptionOrUnknown) {
  // `git describe --always --dirty`: a short hash or tag-N-gHASH, maybe -dirty.
  EXPECT_THAT(std::string(Revision()), MatchesRegex("[A-Za-z0-9._+-]+"));
  EXPECT_FALSE(Revision().empty());
}

TEST(Version, LineNamesTheProgramTheVersionAndTheRevision) {
  EXPECT_EQ(VersionLine("augur"),
            "augur " AUGUR_PROJECT_VERSION " (revision " + std::string(Revision()) + ")");
}

}  // namespace
}  // namespace common
