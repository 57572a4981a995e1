#include "tests/testing/temp_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace testing_support {

TempFile::TempFile() {
  char path[] = "/tmp/augur-secret-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return;
  close(fd);
  path_ = path;
}

TempFile::~TempFile() {
  if (!path_.empty()) unlink(path_.c_str());
}

void TempFile::Write(const std::string& content, time_t mtime_seconds) {
  std::ofstream(path_, std::ios::trunc) << content;
  const timespec times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
  utimensat(AT_FDCWD, path_.c_str(), times, 0);
}

}  // namespace testing_support
