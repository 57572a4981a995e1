#include "tests/testing/augur_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

namespace testing_support {

bool PollUntil(double seconds, const std::function<bool()>& done,
               std::chrono::milliseconds period) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(period);  // bounded polling, not a timing assumption
  }
  return done();
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

std::unique_ptr<AugurProcess> AugurProcess::Start(const std::string& binary,
                                                  const std::vector<std::string>& flags,
                                                  const std::string& log_dir) {
  static std::atomic<int> counter{0};
  auto p = std::unique_ptr<AugurProcess>(new AugurProcess);
  p->log_path_ = log_dir + "/augur-" + std::to_string(counter++) + ".log";
  std::vector<std::string> args = {binary, "--listen", "127.0.0.1:0", "--http-listen",
                                   "127.0.0.1:0"};
  // No drain unless the test asks for one: tests that stop augur want it gone at once
  // (the drain has tests of its own, tests/faults/shutdown_test.cc).
  if (getenv("AUGUR_SHUTDOWN_DRAIN") == nullptr &&
      std::none_of(flags.begin(), flags.end(), [](const std::string& f) {
        return f.rfind("--shutdown-drain", 0) == 0;
      })) {
    args.insert(args.end(), {"--shutdown-drain", "0s"});
  }
  args.insert(args.end(), flags.begin(), flags.end());
  const pid_t parent = getpid();
  p->pid_ = fork();
  if (p->pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int fd = open(p->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  PollUntil(20, [&] {
    if (p->ExitStatusIfExited() >= 0) return true;
    std::istringstream log(p->log());
    std::string line;
    while (std::getline(log, line)) {
      if (line.find("event=listening") == std::string::npos) continue;
      std::istringstream fields(line);
      std::string f;
      while (fields >> f) {
        if (f.rfind("grpc=", 0) == 0) p->grpc_ = f.substr(5);
        if (f.rfind("http=", 0) == 0) p->http_ = f.substr(5);
      }
      return true;
    }
    return false;
  });
  return p;
}

AugurProcess::~AugurProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int AugurProcess::ExitStatusIfExited() {
  if (exited_) return exit_status_;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return -1;
  exited_ = true;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_status_;
}

int AugurProcess::Terminate(double seconds, int signal) {
  if (exited_) return exit_status_;
  kill(pid_, signal);
  PollUntil(seconds, [&] { return ExitStatusIfExited() >= 0; }, std::chrono::milliseconds(10));
  return exited_ ? exit_status_ : -1;
}

std::string AugurProcess::log() const { return ReadFileOrEmpty(log_path_); }

long AugurProcess::rss_kib() const {
  std::istringstream status(ReadFileOrEmpty("/proc/" + std::to_string(pid_) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double AugurProcess::cpu_seconds() const {
  const std::string stat = ReadFileOrEmpty("/proc/" + std::to_string(pid_) + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(f);
    if (i == 15) {
      stime = std::stoull(f);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace testing_support
