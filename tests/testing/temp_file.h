#pragma once
// A temporary file under /tmp (mkstemp), removed when the object goes: credentials files
// for the client and fixture tests.
//
// Thread-safety: one owner.

#include <ctime>
#include <string>

namespace testing_support {

class TempFile {
 public:
  TempFile();                 // creates an empty file; path() is "" if that failed
  ~TempFile();                // removes it
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Writes `content` (replacing what was there) and stamps the file with `mtime_seconds`,
  // so that a change is seen even on file systems with coarse timestamps.
  void Write(const std::string& content, time_t mtime_seconds);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace testing_support
