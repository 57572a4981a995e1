// scaler/memory.h: freed heap pages go back to the kernel; the arena cap respects the
// operator's MALLOC_ARENA_MAX; a logged release says why and what it gave back.

#include "scaler/memory.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scaler/log.h"

namespace scaler {
namespace {

using ::testing::HasSubstr;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kGlibcMalloc = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kGlibcMalloc = false;
#else
constexpr bool kGlibcMalloc = true;
#endif
#else
constexpr bool kGlibcMalloc = true;
#endif

TEST(Memory, ReleaseFreeMemoryReturnsFreedPagesInsideAnArena) {
  if (!kGlibcMalloc) GTEST_SKIP() << "a sanitizer's allocator replaces glibc's";
  // 32 MiB in 4 KiB blocks on a thread of its own (its own arena), all freed but the last,
  // which pins the top of the heap: glibc alone keeps the freed pages resident.
  constexpr size_t kBlock = 4096, kBlocks = 8192;
  std::vector<char*> blocks;
  std::thread([&] {
    for (size_t i = 0; i < kBlocks; ++i) {
      char* p = static_cast<char*>(std::malloc(kBlock));
      std::memset(p, 1, kBlock);
      blocks.push_back(p);
    }
    for (size_t i = 0; i + 1 < kBlocks; ++i) std::free(blocks[i]);
  }).join();
  const long before = ResidentKib();
  ReleaseFreeMemory();
  const long after = ResidentKib();
  std::free(blocks.back());
  ASSERT_GT(before, 0);
  EXPECT_GT(before - after, 16 * 1024) << "RSS " << before << " -> " << after << " KiB";
}

TEST(Memory, TheEnvironmentsArenaCapWins) {
  if (!kGlibcMalloc) GTEST_SKIP() << "a sanitizer's allocator replaces glibc's";
  ::setenv("MALLOC_ARENA_MAX", "3", 1);
  EXPECT_EQ(LimitMallocArenas(2), 3);
  ::unsetenv("MALLOC_ARENA_MAX");
  EXPECT_EQ(LimitMallocArenas(0), 1);  // at least one
  EXPECT_EQ(LimitMallocArenas(64), 64);
}

TEST(Memory, TheEnvironmentsMmapThresholdWins) {
  if (!kGlibcMalloc) GTEST_SKIP() << "a sanitizer's allocator replaces glibc's";
  ::setenv("MALLOC_MMAP_THRESHOLD_", "65536", 1);
  EXPECT_EQ(FixMmapThreshold(128 * 1024), 0u);
  ::unsetenv("MALLOC_MMAP_THRESHOLD_");
  if (std::getenv("GLIBC_TUNABLES") == nullptr) {
    EXPECT_EQ(FixMmapThreshold(128 * 1024), 128u * 1024);
  }
}

TEST(Memory, ALoggedReleaseSaysItsCauseTheObjectsAndTheResidentSizes) {
  std::ostringstream log;
  ConfigureLogging(LogLevel::kInfo, LogFormat::kText, log);
  ReleaseFreeMemoryLogged(LogLevel::kInfo, "idle_expiry", 123);
  ReleaseFreeMemoryLogged(LogLevel::kDebug, "periodic");  // below the level: not written
  ConfigureLogging(LogLevel::kInfo, LogFormat::kText);
  const std::string line = log.str();
  EXPECT_THAT(line, HasSubstr("event=memory_released cause=idle_expiry objects_dropped=123 "
                              "rss_before_kib="));
  EXPECT_THAT(line, HasSubstr(" rss_after_kib="));
  EXPECT_THAT(line, HasSubstr(" took_ms="));
  EXPECT_EQ(line.find("periodic"), std::string::npos);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST(Memory, ReleaserStopsPromptly) {
  const auto start = std::chrono::steady_clock::now();
  { MemoryReleaser releaser(std::chrono::hours(1)); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace scaler
