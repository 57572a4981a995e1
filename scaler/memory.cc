#include "scaler/memory.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "scaler/log.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AUGUR_FOREIGN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define AUGUR_FOREIGN_MALLOC 1
#endif
#endif

namespace scaler {

int LimitMallocArenas(int arenas) {
#if defined(__GLIBC__) && !defined(AUGUR_FOREIGN_MALLOC)
  if (const char* env = std::getenv("MALLOC_ARENA_MAX"); env != nullptr && *env != '\0') {
    return std::atoi(env);
  }
  if (arenas < 1) arenas = 1;
  return mallopt(M_ARENA_MAX, arenas) == 1 ? arenas : 0;
#else
  (void)arenas;
  return 0;
#endif
}

size_t FixMmapThreshold(size_t bytes) {
#if defined(__GLIBC__) && !defined(AUGUR_FOREIGN_MALLOC)
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"}) {
    if (const char* env = std::getenv(name); env != nullptr && *env != '\0') return 0;
  }
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes)) == 1 ? bytes : 0;
#else
  (void)bytes;
  return 0;
#endif
}

void ReleaseFreeMemory() {
#if defined(__GLIBC__) && !defined(AUGUR_FOREIGN_MALLOC)
  malloc_trim(0);
#endif
}

long ResidentKib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kib = std::strtol(line + 6, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kib;
}

void ReleaseFreeMemoryLogged(LogLevel level, std::string_view cause, size_t objects_dropped) {
  const long before = ResidentKib();
  const auto start = std::chrono::steady_clock::now();
  ReleaseFreeMemory();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const long after = ResidentKib();
  std::vector<LogField> fields = {{"cause", cause}};
  if (objects_dropped > 0) fields.emplace_back("objects_dropped", objects_dropped);
  fields.emplace_back("rss_before_kib", static_cast<long long>(before));
  fields.emplace_back("rss_after_kib", static_cast<long long>(after));
  fields.emplace_back("took_ms", ms);
  Log(level, "memory_released", fields);
}

MemoryReleaser::MemoryReleaser(std::chrono::milliseconds interval) : interval_(interval) {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      ReleaseFreeMemoryLogged(LogLevel::kDebug, "periodic");
      lock.lock();
    }
  });
}

MemoryReleaser::~MemoryReleaser() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace scaler
