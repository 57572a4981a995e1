#pragma once
// AugurProcess: the real `augur` binary as a child process for integration tests, with
// its log (stdout + stderr) in a file, bound to 127.0.0.1 on free ports (read back
// from its `event=listening` line). PollUntil: bounded polling on observable state, the
// tests' substitute for sleeps.
//
// Thread-safety: one test thread owns a process. The child is killed (SIGKILL) by the
// destructor if it still runs, and dies with the test (PR_SET_PDEATHSIG).

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace testing_support {

// Calls `done` every `period` until it returns true or `seconds` pass; returns its last
// result.
bool PollUntil(double seconds, const std::function<bool()>& done,
               std::chrono::milliseconds period = std::chrono::milliseconds(50));

class AugurProcess {
 public:
  // Runs `binary --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 [--shutdown-drain 0s]
  // <flags>` (no drain unless `flags` or the environment set --shutdown-drain) with its log at
  // `<log_dir>/augur-<n>.log`, and waits (at most 20 s) for its listening line or its
  // exit (then exited() is true, e.g. after bad flags).
  static std::unique_ptr<AugurProcess> Start(const std::string& binary,
                                             const std::vector<std::string>& flags,
                                             const std::string& log_dir);
  ~AugurProcess();
  AugurProcess(const AugurProcess&) = delete;
  AugurProcess& operator=(const AugurProcess&) = delete;

  // Sends `signal` (SIGTERM by default) and waits at most `seconds` for the exit: the
  // exit status (128 + signal number when killed by one), or -1 if still running.
  int Terminate(double seconds, int signal = 15);
  // The exit status if the process has exited (reaped without waiting), else -1.
  int ExitStatusIfExited();

  bool exited() const { return exited_; }
  pid_t pid() const { return pid_; }
  const std::string& grpc_address() const { return grpc_; }  // "127.0.0.1:<port>"
  const std::string& http_address() const { return http_; }
  std::string log() const;
  const std::string& log_path() const { return log_path_; }
  // Resident set size and CPU time (user + system) from /proc, 0 if gone.
  long rss_kib() const;
  double cpu_seconds() const;

 private:
  AugurProcess() = default;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = -1;
  std::string log_path_, grpc_, http_;
};

std::string ReadFileOrEmpty(const std::string& path);
// A new directory under $TMPDIR (or /tmp) named <prefix>-XXXXXX; "" on failure.
std::string MakeTempDir(const std::string& prefix);

}  // namespace testing_support
