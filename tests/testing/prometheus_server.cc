#include "tests/testing/prometheus_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "promclient/curl_http_transport.h"

namespace testing_support {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kReadyDeadline = std::chrono::seconds(30);
constexpr auto kStopDeadline = std::chrono::seconds(10);
constexpr auto kBackfillDeadline = std::chrono::seconds(120);
constexpr int kStartAttempts = 5;

void PollPause() {
  // Bounded polling of a real process: a short pause between checks.
  timespec ts{0, 20 * 1000 * 1000};
  nanosleep(&ts, nullptr);
}

// The binary `name` on $PATH (or as given in $env_override), or "" when missing.
std::string FindBinary(const char* name, const char* env_override) {
  if (const char* override_path = getenv(env_override); override_path && *override_path) {
    return access(override_path, X_OK) == 0 ? override_path : "";
  }
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// A port that was free a moment ago (the kernel's pick for 127.0.0.1:0).
absl::StatusOr<int> PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string error = strerror(errno);
    close(fd);
    return absl::InternalError("cannot bind 127.0.0.1:0: " + error);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadTail(const std::string& path, size_t max_bytes = 3000) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream s;
  s << in.rdbuf();
  std::string content = s.str();
  if (content.size() > max_bytes) content = "..." + content.substr(content.size() - max_bytes);
  return content;
}

// fork/exec `argv` with stdout+stderr appended to `log_path`; the child dies with us.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open ", log_path, ": ", strerror(errno)));
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  return pid;
}

// Waits (bounded) for `pid` to exit; returns its wait status, or nullopt on timeout.
std::optional<int> WaitFor(pid_t pid, Clock::duration deadline) {
  const auto until = Clock::now() + deadline;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;  // already reaped or not ours
    if (Clock::now() >= until) return std::nullopt;
    PollPause();
  }
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string FormatTimestamp(double t) {
  char buf[40];
  snprintf(buf, sizeof(buf), t == std::floor(t) && std::fabs(t) < 1e15 ? "%.0f" : "%.3f", t);
  return buf;
}

}  // namespace

class PrometheusServer::Impl {
 public:
  ~Impl() {
    KillChild();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  absl::Status Init(PrometheusServerOptions options) {
    options_ = std::move(options);
    prometheus_ = FindBinary("prometheus", "AUGUR_PROMETHEUS");
    promtool_ = FindBinary("promtool", "AUGUR_PROMTOOL");
    if (prometheus_.empty() || promtool_.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "integration tests need Prometheus: `", prometheus_.empty() ? "prometheus" : "promtool",
          "` is not on PATH; run scripts/setup-deps.sh (Debian package `prometheus`)"));
    }
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/augur-prometheus-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", tmpl, ": ", strerror(errno)));
    }
    dir_ = tmpl;
    data_dir_ = dir_ + "/data";
    log_path_ = dir_ + "/prometheus.log";
    config_path_ = dir_ + "/prometheus.yml";
    std::filesystem::create_directory(data_dir_);
    absl::Status s = WriteConfig();
    if (!s.ok()) return s;
    if (!options_.openmetrics.empty()) {
      s = Backfill();
      if (!s.ok()) return s;
    }
    for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
      absl::StatusOr<int> port = PickFreePort();
      if (!port.ok()) return port.status();
      port_ = *port;
      bool port_taken = false;
      s = StartAndWait(&port_taken);
      if (s.ok() || !port_taken) return s;  // else another process took the port: retry
    }
    return s;
  }

  std::string url() const {
    return absl::StrCat(options_.https ? "https" : "http", "://127.0.0.1:", port_);
  }
  int port() const { return port_; }

  void KillChild() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    WaitFor(pid_, kStopDeadline);
    pid_ = -1;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    if (!WaitFor(pid_, kStopDeadline).has_value()) {
      kill(pid_, SIGKILL);
      WaitFor(pid_, kStopDeadline);
    }
    pid_ = -1;
  }

  absl::Status Restart() {
    Stop();
    bool port_taken = false;
    absl::Status s = StartAndWait(&port_taken);
    if (!s.ok() && port_taken) {
      return absl::Status(s.code(),
                          absl::StrCat("port ", port_, " was taken meanwhile: ", s.message()));
    }
    return s;
  }

 private:
  absl::Status WriteConfig() {
    std::ofstream out(config_path_);
    out << "global:\n  scrape_interval: " << options_.scrape_interval
        << "\n  evaluation_interval: " << options_.scrape_interval << "\n";
    if (!options_.scrape_targets.empty()) {
      out << "scrape_configs:\n  - job_name: targets\n    static_configs:\n      - targets:\n";
      for (const std::string& t : options_.scrape_targets) out << "          - '" << t << "'\n";
    }
    if (!out) return absl::InternalError("cannot write " + config_path_);
    if (!options_.web_config.empty()) {
      std::ofstream web(dir_ + "/web.yml");
      web << options_.web_config;
      if (!web) return absl::InternalError("cannot write " + dir_ + "/web.yml");
    }
    return absl::OkStatus();
  }

  // promtool writes one TSDB block per 2 hours of history and syncs each to disk: a week
  // takes seconds. Its blocks depend only on the input, so they are kept in a per-user
  // cache under $TMPDIR and hard-linked (blocks are immutable; Prometheus only ever
  // replaces or unlinks their files) into each new data dir. CTest runs every test in its
  // own process, so a suite's shared server is otherwise backfilled once per test.
  absl::Status Backfill() {
    const std::string cache = BlockCacheDir();
    if (std::filesystem::exists(cache + "/complete") && LinkOrCopyBlocks(cache, data_dir_)) {
      std::error_code ec;  // mark it used
      std::filesystem::last_write_time(cache, std::filesystem::file_time_type::clock::now(), ec);
      return absl::OkStatus();
    }
    const std::string input = dir_ + "/backfill.om";
    {
      std::ofstream out(input, std::ios::binary);
      out << options_.openmetrics;
      if (!out) return absl::InternalError("cannot write " + input);
    }
    const std::string log = dir_ + "/promtool.log";
    absl::StatusOr<pid_t> pid = Spawn(
        {promtool_, "tsdb", "create-blocks-from", "openmetrics", "--quiet", input, data_dir_}, log);
    if (!pid.ok()) return pid.status();
    std::optional<int> status = WaitFor(*pid, kBackfillDeadline);
    if (!status.has_value()) {
      kill(*pid, SIGKILL);
      WaitFor(*pid, kStopDeadline);
      return absl::DeadlineExceededError("promtool backfill did not finish in time");
    }
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      return absl::InternalError("promtool rejected the backfill: " + ReadTail(log));
    }
    std::filesystem::remove(input);
    FillCache(cache);
    return absl::OkStatus();
  }

  std::string BlockCacheDir() const {
    // FNV-1a over the input: stable across processes and builds.
    uint64_t hash = 14695981039346656037ull;
    for (unsigned char c : options_.openmetrics) {
      hash = (hash ^ c) * 1099511628211ull;
    }
    const char* tmp = getenv("TMPDIR");
    char name[64];
    snprintf(name, sizeof(name), "/%016llx-%zu", static_cast<unsigned long long>(hash),
             options_.openmetrics.size());
    return absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/augur-prometheus-blocks-", getuid(), name);
  }

  static bool LinkOrCopyBlocks(const std::string& from, const std::string& to) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(from, ec)) {
      if (!entry.is_directory()) continue;  // the "complete" marker
      const fs::path target = fs::path(to) / entry.path().filename();
      fs::copy(entry.path(), target,
               fs::copy_options::recursive | fs::copy_options::create_hard_links, ec);
      if (ec) {
        ec.clear();
        fs::remove_all(target, ec);
        fs::copy(entry.path(), target, fs::copy_options::recursive, ec);
        if (ec) return false;
      }
    }
    return !ec;
  }

  // Best effort: a concurrent test process may fill the same entry; the first rename wins.
  // Entries unused for a day are dropped, so that inputs built from the wall clock do not
  // pile up.
  void FillCache(const std::string& cache) const {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path root = fs::path(cache).parent_path();
    fs::create_directories(root, ec);
    const auto stale = fs::file_time_type::clock::now() - std::chrono::hours(24);
    for (const fs::directory_entry& entry : fs::directory_iterator(root, ec)) {
      std::error_code entry_ec;
      if (entry.last_write_time(entry_ec) < stale && !entry_ec)
        fs::remove_all(entry.path(), entry_ec);
    }
    const std::string staging = absl::StrCat(cache, ".tmp.", getpid());
    fs::remove_all(staging, ec);
    fs::create_directory(staging, ec);
    if (ec || !LinkOrCopyBlocks(data_dir_, staging)) {
      fs::remove_all(staging, ec);
      return;
    }
    std::ofstream(staging + "/complete") << "ok\n";
    fs::rename(staging, cache, ec);
    if (ec) fs::remove_all(staging, ec);
  }

  absl::Status StartAndWait(bool* port_taken) {
    *port_taken = false;
    const size_t log_offset =
        std::filesystem::exists(log_path_) ? std::filesystem::file_size(log_path_) : 0;
    std::vector<std::string> argv = {prometheus_, "--config.file=" + config_path_,
                                     "--storage.tsdb.path=" + data_dir_,
                                     "--storage.tsdb.retention.time=3650d",
                                     absl::StrCat("--web.listen-address=127.0.0.1:", port_)};
    if (!options_.web_config.empty()) argv.push_back("--web.config.file=" + dir_ + "/web.yml");
    argv.insert(argv.end(), options_.extra_flags.begin(), options_.extra_flags.end());
    absl::StatusOr<pid_t> pid = Spawn(argv, log_path_);
    if (!pid.ok()) return pid.status();
    pid_ = *pid;

    promclient::CurlHttpTransport transport;
    promclient::HttpRequest ready;
    ready.url = url() + "/-/ready";
    ready.timeout = std::chrono::milliseconds(1000);
    ready.tls = options_.probe_tls;
    ready.headers = options_.probe_headers;
    const auto until = Clock::now() + kReadyDeadline;
    while (Clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::string log = ReadTail(log_path_);
        std::string fresh = ReadTail(log_path_, 1 << 20);
        if (fresh.size() > log_offset) fresh = fresh.substr(log_offset);
        *port_taken = fresh.find("address already in use") != std::string::npos;
        return absl::InternalError("prometheus exited during start-up; its log: " + log);
      }
      absl::StatusOr<promclient::HttpResponse> r = transport.Send(ready);
      if (r.ok() && r->status_code == 200) return absl::OkStatus();
      PollPause();
    }
    KillChild();
    return absl::DeadlineExceededError(absl::StrCat("prometheus was not ready within ",
                                                    kReadyDeadline.count(),
                                                    "s; its log: ", ReadTail(log_path_)));
  }

  PrometheusServerOptions options_;
  std::string prometheus_, promtool_;
  std::string dir_, data_dir_, log_path_, config_path_;
  int port_ = 0;
  pid_t pid_ = -1;
};

absl::StatusOr<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(
    PrometheusServerOptions options) {
  auto impl = std::make_unique<Impl>();
  absl::Status s = impl->Init(std::move(options));
  if (!s.ok()) return s;
  return std::unique_ptr<PrometheusServer>(new PrometheusServer(std::move(impl)));
}

PrometheusServer::PrometheusServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PrometheusServer::~PrometheusServer() = default;

std::string PrometheusServer::url() const { return impl_->url(); }
int PrometheusServer::port() const { return impl_->port(); }
void PrometheusServer::Kill() { impl_->KillChild(); }
void PrometheusServer::Stop() { impl_->Stop(); }
absl::Status PrometheusServer::Restart() { return impl_->Restart(); }

std::string OpenMetricsGauge(const std::string& name, const std::string& labels, double start,
                             double end, double step_seconds,
                             const std::function<double(double)>& value_at) {
  std::string label_text = labels;
  if (!label_text.empty() && label_text.front() != '{') label_text = "{" + label_text + "}";
  std::string out = absl::StrCat("# TYPE ", name, " gauge\n");
  if (step_seconds > 0 && end >= start) {
    const auto count = static_cast<int64_t>(std::floor((end - start) / step_seconds + 1e-9)) + 1;
    out.reserve(out.size() + static_cast<size_t>(count) * (name.size() + label_text.size() + 40));
    for (int64_t i = 0; i < count; ++i) {
      const double t = start + static_cast<double>(i) * step_seconds;
      absl::StrAppend(&out, name, label_text, " ", FormatValue(value_at(t)), " ",
                      FormatTimestamp(t), "\n");
    }
  }
  out += "# EOF\n";
  return out;
}

std::string ConcatOpenMetrics(const std::vector<std::string>& documents) {
  std::string out;
  std::set<std::string> families;
  for (const std::string& doc : documents) {
    std::istringstream in(doc);
    std::string line;
    while (std::getline(in, line)) {
      if (line == "# EOF") continue;
      // A family's metadata appears once; its series follow each other.
      if (line.rfind("# TYPE ", 0) == 0 && !families.insert(line).second) continue;
      out += line;
      out += '\n';
    }
  }
  return out + "# EOF\n";
}

}  // namespace testing_support
