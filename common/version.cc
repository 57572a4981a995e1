#include "common/version.h"

#include "common/build_info.h"  // generated: AUGUR_VERSION, AUGUR_REVISION

namespace common {

std::string_view Version() { return AUGUR_VERSION; }

std::string_view Revision() { return AUGUR_REVISION; }

std::string VersionLine(std::string_view program) {
  std::string line(program);
  line += ' ';
  line += Version();
  line += " (revision ";
  line += Revision();
  line += ')';
  return line;
}

}  // namespace common
