#pragma once
// Giving freed heap memory back to the kernel (glibc's allocator).
//
// Why: augur allocates and frees in bursts: thousands of objects expire idle at once and
// are re-created later, and every refresh allocates a history and a fit on one of the
// worker threads. glibc keeps freed chunks inside its arenas (one per thread, up to
// 8 x cores of them) and returns pages to the kernel only from the top of a heap, so
// resident memory stays at each burst's high-water mark and creeps upwards as the
// arenas fragment (measured: docs/reliability.md, "Soak").
//
// Without glibc (or under a sanitizer, whose allocator replaces glibc's) both calls do
// nothing.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string_view>
#include <thread>

#include "scaler/log.h"

namespace scaler {

// Caps glibc's arenas at `arenas` (mallopt M_ARENA_MAX), unless MALLOC_ARENA_MAX is set
// in the environment (the operator's setting wins). Call before other threads start.
// Returns the cap in force (0: not set, not glibc).
int LimitMallocArenas(int arenas);

// Fixes glibc's mmap threshold at `bytes` (mallopt M_MMAP_THRESHOLD), unless
// MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES is set in the environment. By default glibc
// raises the threshold to the size of every mmapped block freed (up to 32 MiB), so after
// the first fit the large, short-lived buffers of every later fit (hundreds of kB) come
// from the arenas, between long-lived object data, and leave holes that malloc_trim
// cannot give back. A fixed threshold keeps them in mmap: returned at free.
// Returns the threshold in force (0: not set, not glibc).
size_t FixMmapThreshold(size_t bytes);

// malloc_trim(0): returns the whole free pages inside every arena to the kernel. Takes
// each arena's lock while it walks it (milliseconds for a few hundred MB).
void ReleaseFreeMemory();

// ReleaseFreeMemory(), logged at `level` (event=memory_released, with `cause`, the
// objects the idle expiry dropped when it is the cause (objects_dropped, when not 0),
// the resident size before and after, and how long it took).
void ReleaseFreeMemoryLogged(LogLevel level, std::string_view cause, size_t objects_dropped = 0);

// Calls ReleaseFreeMemoryLogged(kDebug, "periodic") every `interval` on its own thread
// until destroyed.
class MemoryReleaser {
 public:
  explicit MemoryReleaser(std::chrono::milliseconds interval);
  ~MemoryReleaser();
  MemoryReleaser(const MemoryReleaser&) = delete;
  MemoryReleaser& operator=(const MemoryReleaser&) = delete;

 private:
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The process' resident set size in KiB (VmRSS of /proc/self/status; 0 when unknown).
long ResidentKib();

}  // namespace scaler
