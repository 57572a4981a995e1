// RingBuffer (scaler/ring_buffer.h): FIFO order across the wrap-around, the bound that
// evicts the oldest, geometric growth and its allocation count, EraseIf, slot reuse; and
// the object model's history in it: one allocation for a window's history, trimmed by
// age, refreshed for days.

#include "scaler/ring_buffer.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scaler/object_model.h"

namespace scaler {
namespace {

using ::testing::ElementsAre;

template <typename T>
std::vector<T> Contents(const RingBuffer<T>& r) {
  return std::vector<T>(r.begin(), r.end());
}

TEST(RingBuffer, KeepsFifoOrderAcrossTheWrapAround) {
  RingBuffer<int> r;
  r.Reserve(4);
  for (int i = 0; i < 4; ++i) r.push_back(i);
  r.pop_front();
  r.pop_front();
  r.push_back(4);
  r.push_back(5);  // slots 0 and 1 again: the storage has wrapped
  EXPECT_EQ(r.capacity(), 4u);
  EXPECT_EQ(r.allocations(), 1u);
  EXPECT_THAT(Contents(r), ElementsAre(2, 3, 4, 5));
  EXPECT_EQ(r.front(), 2);
  EXPECT_EQ(r.back(), 5);
  EXPECT_EQ(r[1], 3);
  r.pop_back();
  EXPECT_THAT(Contents(r), ElementsAre(2, 3, 4));
  // Growing while wrapped keeps the order.
  r.push_back(6);
  r.push_back(7);
  EXPECT_GT(r.capacity(), 4u);
  EXPECT_THAT(Contents(r), ElementsAre(2, 3, 4, 6, 7));
}

TEST(RingBuffer, AtItsBoundAPushEvictsTheOldest) {
  RingBuffer<int> r(5);
  for (int i = 0; i < 12; ++i) r.push_back(i);
  EXPECT_EQ(r.size(), 5u);
  EXPECT_EQ(r.capacity(), 5u);  // the doubling stops at the bound
  EXPECT_THAT(Contents(r), ElementsAre(7, 8, 9, 10, 11));
  EXPECT_EQ(r.max_capacity(), 5u);
  r.Reserve(100);  // never past the bound
  EXPECT_EQ(r.capacity(), 5u);
}

TEST(RingBuffer, GrowsGeometricallySoThatPushesRarelyAllocate) {
  RingBuffer<int> r;
  for (int i = 0; i < 100000; ++i) r.push_back(i);
  // 16, 32, ..., 131072: 14 allocations for 100,000 pushes.
  EXPECT_EQ(r.allocations(), 14u);
  EXPECT_EQ(r.capacity(), 131072u);
  for (int i = 0; i < 100000; ++i) EXPECT_EQ(r[static_cast<size_t>(i)], i) << i;
  // A steady state (as many popped as pushed) allocates nothing.
  for (int i = 0; i < 1000000; ++i) {
    r.pop_front();
    r.push_back(i);
  }
  EXPECT_EQ(r.allocations(), 14u);
  EXPECT_EQ(r.front(), 1000000 - 100000);
}

TEST(RingBuffer, GrowMakesRoomForABatchInOneAllocation) {
  RingBuffer<int> r(1000);
  r.Grow(300);
  EXPECT_EQ(r.capacity(), 300u);
  r.Grow(301);  // at least doubles
  EXPECT_EQ(r.capacity(), 600u);
  r.Grow(700);  // never past the bound
  EXPECT_EQ(r.capacity(), 1000u);
  EXPECT_EQ(r.allocations(), 3u);
  r.Grow(5000);
  EXPECT_EQ(r.allocations(), 3u);
}

TEST(RingBuffer, EraseIfKeepsTheOthersInOrderAcrossTheWrapAround) {
  RingBuffer<int> r;
  r.Reserve(8);
  for (int i = 0; i < 6; ++i) r.push_back(i);
  for (int i = 0; i < 4; ++i) r.pop_front();
  for (int i = 6; i < 12; ++i) r.push_back(i);  // 4..11, wrapped
  ASSERT_EQ(r.capacity(), 8u);
  std::vector<int> seen;
  EXPECT_EQ(r.EraseIf([&seen](int x) {
              seen.push_back(x);
              return x % 3 == 0;
            }),
            2u);
  EXPECT_THAT(seen, ElementsAre(4, 5, 6, 7, 8, 9, 10, 11));  // once each, oldest first
  EXPECT_THAT(Contents(r), ElementsAre(4, 5, 7, 8, 10, 11));
  r.push_back(12);
  EXPECT_THAT(Contents(r), ElementsAre(4, 5, 7, 8, 10, 11, 12));
  EXPECT_EQ(r.EraseIf([](int) { return true; }), 7u);
  EXPECT_TRUE(r.empty());
}

// A popped element's slot keeps its value's memory for the next Append().
TEST(RingBuffer, AppendReusesASlotWithItsCapacity) {
  RingBuffer<std::vector<int>> r;
  r.Reserve(2);
  r.Append().assign(1000, 7);
  r.Append().assign(10, 1);
  r.pop_front();
  std::vector<int>& reused = r.Append();  // the first slot again
  EXPECT_GE(reused.capacity(), 1000u);
  reused.assign(3, 2);
  EXPECT_THAT(r.back(), ElementsAre(2, 2, 2));
  EXPECT_EQ(r.allocations(), 1u);
}

// Against std::deque, which it replaces: random pushes, pops, erasures and bound.
TEST(RingBuffer, BehavesAsABoundedDeque) {
  std::mt19937 rng(17);
  for (const size_t bound : {size_t{1}, size_t{7}, size_t{64}, RingBuffer<int>::kUnbounded}) {
    RingBuffer<int> r(bound);
    std::deque<int> d;
    for (int i = 0; i < 20000; ++i) {
      const unsigned op = rng() % 10;
      if (op < 6) {
        r.push_back(i);
        d.push_back(i);
        while (d.size() > bound) d.pop_front();
      } else if (op < 8 && !d.empty()) {
        r.pop_front();
        d.pop_front();
      } else if (op < 9 && !d.empty()) {
        r.pop_back();
        d.pop_back();
      } else {
        const int m = static_cast<int>(rng() % 5) + 2;
        r.EraseIf([m](int x) { return x % m == 0; });
        d.erase(std::remove_if(d.begin(), d.end(), [m](int x) { return x % m == 0; }), d.end());
      }
      ASSERT_EQ(r.size(), d.size()) << i;
      ASSERT_TRUE(std::equal(r.begin(), r.end(), d.begin())) << i;
    }
    // The iterators are random access (std::upper_bound over the record's times).
    const auto it = std::upper_bound(r.begin(), r.end(), 10000);
    EXPECT_EQ(it - r.begin(), std::upper_bound(d.begin(), d.end(), 10000) - d.begin());
  }
}

// The object model's history: the first fetch brings the whole window, which takes one
// allocation of the window's point count; days of refreshes then trim it by age and
// never allocate again.
// The object model's history tests: a 1-minute metric with `history_seconds` of
// history (samples from kT0 on).
constexpr double kT0 = 1763856000;
ObjectConfig MinuteHistory(double history_seconds) {
  ObjectConfig c;
  c.step_seconds = 60;
  c.history_seconds = history_seconds;
  return c;
}

TEST(ObjectModelHistory, OneAllocationForTheWindowTrimmedByAge) {
  ObjectConfig c = MinuteHistory(86400);  // 1,441 points on the grid, both ends included
  c.refresh_interval_seconds = 30;
  ObjectModel model(c);
  auto refresh = [&model](double now) {
    const double start = model.FetchStart(now);
    forecast::Series s;
    for (double t = start; t <= now + 1e-9; t += 60) {
      s.timestamps.push_back(t);
      s.values.push_back(100 + std::fmod(t, 3600) / 60);
    }
    EXPECT_TRUE(model.Ingest(now, start, s).ok());
  };
  double now = kT0 + 86400;
  refresh(now);
  EXPECT_EQ(model.history_points(), 1441u);
  EXPECT_EQ(model.history_capacity(), 1442u);  // the window's count, and one off the grid
  EXPECT_EQ(model.history_allocations(), 1u);
  for (int i = 0; i < 3 * 2880; ++i) {  // three days of 30 s refreshes
    now += 30;
    refresh(now);
    ASSERT_LE(model.history_points(), 1441u);
  }
  EXPECT_EQ(model.history_points(), 1441u);
  EXPECT_EQ(model.history_allocations(), 1u);
  const HistorySummary h = model.Update(now).answer->history;
  EXPECT_EQ(h.first_timestamp, std::ceil((now - 86400) / 60) * 60);  // trimmed by age
  EXPECT_EQ(h.last_timestamp, std::floor(now / 60) * 60);
}

// A young metric: the history grows geometrically, up to the window's count and no
// further.
TEST(ObjectModelHistory, AYoungMetricGrowsGeometricallyToTheWindow) {
  ObjectModel model(MinuteHistory(86400));
  double now = kT0;
  for (int i = 0; i < 3 * 1440; ++i, now += 60) {  // three days, a sample a minute
    forecast::Series s;
    s.timestamps.push_back(now);
    s.values.push_back(i);
    ASSERT_TRUE(model.Ingest(now, model.FetchStart(now), s).ok());
  }
  EXPECT_EQ(model.history_points(), 1441u);
  EXPECT_EQ(model.history_capacity(), 1442u);
  // Twice what it needs each time (2, 6, 14, ..., 1022), then the window's 1,442: 10
  // allocations over three days.
  EXPECT_EQ(model.history_allocations(), 10u);
}

// Samples denser than the step (a simulate trace at a finer resolution) are all kept,
// as before: the history grows past the window's grid count as far as needed.
TEST(ObjectModelHistory, SamplesDenserThanTheStepAreAllKept) {
  ObjectModel model(MinuteHistory(3600));
  const double now = kT0 + 3600;
  forecast::Series s;
  for (double t = kT0; t <= now; t += 1) {
    s.timestamps.push_back(t);
    s.values.push_back(1);
  }
  ASSERT_TRUE(model.Ingest(now, kT0, s).ok());
  EXPECT_EQ(model.history_points(), 3601u);
  EXPECT_EQ(model.history_allocations(), 1u);
}

}  // namespace
}  // namespace scaler
