// Tests of the fit's preparation stage (forecast/internal/prepare.h): cleaning, the
// regression's rows (row binning) and their recency weights. Exact arithmetic on small
// synthetic histories, so the tolerances are rounding only (1e-9 relative).
#include "forecast/internal/prepare.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace forecast::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing_support::StatusIs;

constexpr double kStart = 1700000000;  // an arbitrary unix time
constexpr double kStep = 60;

// n points every kStep from kStart, value = index (scaled units), optionally with gaps.
struct History {
  std::vector<double> t, ts;
  Vector y;
  Scaling scaling;
};

History Regular(size_t n, const std::vector<size_t>& missing = {}) {
  History h;
  std::vector<double> y;
  for (size_t i = 0; i < n; ++i) {
    bool skip = false;
    for (size_t m : missing) skip = skip || m == i;
    if (skip) continue;
    h.t.push_back(kStart + kStep * static_cast<double>(i));
    y.push_back(static_cast<double>(i));
  }
  h.scaling.t0 = h.t.front();
  h.scaling.t_scale = h.t.back() - h.t.front();
  for (double t : h.t) h.ts.push_back(h.scaling.ScaledTime(t));
  h.y = Eigen::Map<const Vector>(y.data(), static_cast<Eigen::Index>(y.size()));
  return h;
}

TEST(RowBinning, KeepsEveryPointUpToMaxRows) {
  const History h = Regular(300);
  const Rows r = BinRows(h.t, h.ts, h.y, h.scaling, kStep, 300);
  ASSERT_EQ(r.size(), 300u);
  EXPECT_EQ(r.t, h.t);
  EXPECT_EQ(r.ts, h.ts);
  EXPECT_EQ(r.y, h.y);
  EXPECT_TRUE((r.count.array() == 1.0).all());
  EXPECT_TRUE((r.noise_scale.array() == 1.0).all());
  EXPECT_EQ(r.step, kStep);
}

TEST(RowBinning, AveragesBinsOfWholeStepsAlignedOnTheFirstPoint) {
  // 1000 points, at most 300 rows: bins of ceil(1000 / 300) = 4 steps, 250 rows; row r
  // holds points 4r..4r+3, so its mean index (= its value) is 4r + 1.5.
  const History h = Regular(1000);
  const Rows r = BinRows(h.t, h.ts, h.y, h.scaling, kStep, 300);
  ASSERT_EQ(r.size(), 250u);
  EXPECT_DOUBLE_EQ(r.step, 4 * kStep);
  for (size_t i = 0; i < r.size(); ++i) {
    const double mean_index = 4.0 * static_cast<double>(i) + 1.5;
    EXPECT_NEAR(r.t[i], kStart + kStep * mean_index, 1e-9 * kStart) << "row " << i;
    EXPECT_NEAR(r.y[i], mean_index, 1e-9 * mean_index) << "row " << i;
    EXPECT_NEAR(r.ts[i], h.scaling.ScaledTime(r.t[i]), 1e-12) << "row " << i;
    EXPECT_EQ(r.count[i], 4.0) << "row " << i;
    EXPECT_EQ(r.noise_scale[i], 2.0) << "row " << i;
  }
}

TEST(RowBinning, GapsGiveFewerAndLighterRows) {
  // Points 5, 6 and 8..11 missing: bin 1 (points 4..7) keeps 4 and 7, bin 2 (8..11) is
  // empty and gives no row, bin 3 is whole. 994 points, at most 300 rows: bins of 4.
  const History h = Regular(1000, {5, 6, 8, 9, 10, 11});
  const Rows r = BinRows(h.t, h.ts, h.y, h.scaling, kStep, 300);
  ASSERT_EQ(r.size(), 249u);
  EXPECT_EQ(r.count[0], 4.0);
  EXPECT_EQ(r.count[1], 2.0);
  EXPECT_NEAR(r.y[1], 5.5, 1e-12);  // (4 + 7) / 2
  EXPECT_NEAR(r.t[1], kStart + 5.5 * kStep, 1e-9 * kStart);
  EXPECT_EQ(r.count[2], 4.0);
  EXPECT_NEAR(r.y[2], 13.5, 1e-12);  // points 12..15
  EXPECT_DOUBLE_EQ(r.noise_scale[1], std::sqrt(2.0));
}

TEST(RecencyWeights, HalveEveryHalfLifeAndSumToThePointCount) {
  const History h = Regular(3);  // three points a minute apart
  const Rows r = BinRows(h.t, h.ts, h.y, h.scaling, kStep, 100);
  const Vector w = RecencyWeights(r, h.t.back(), kStep, 3);
  // Raw weights 1/4, 1/2, 1 (one half-life per step back), normalised to sum to 3.
  EXPECT_NEAR(w[0], 3 * 0.25 / 1.75, 1e-12);
  EXPECT_NEAR(w[1], 3 * 0.5 / 1.75, 1e-12);
  EXPECT_NEAR(w[2], 3 * 1.0 / 1.75, 1e-12);
  const Vector flat = RecencyWeights(r, h.t.back(), 0, 3);
  EXPECT_TRUE((flat.array() == 1.0).all());
}

TEST(RecencyWeights, BinnedRowsWeighByTheirCounts) {
  // Rows of 4 and 2 points, no recency: weights proportional to the counts.
  const History h = Regular(1000, {5, 6});
  const Rows r = BinRows(h.t, h.ts, h.y, h.scaling, kStep, 300);
  const Vector w = RecencyWeights(r, h.t.back(), 0, 998);
  EXPECT_NEAR(w.sum(), 998, 1e-9);
  EXPECT_NEAR(w[0] / w[1], 2.0, 1e-12);
}

TEST(Preparation, CleansSortsAndAveragesDuplicates) {
  const double nan = std::nan("");
  Series s{{30, 10, 20, 10, 40, nan}, {3, 1, 2, 2, nan, 5}};
  const CleanSeries c = Clean(s);
  EXPECT_THAT(c.t, ElementsAre(10, 20, 30));
  EXPECT_THAT(c.y, ElementsAre(1.5, 2, 3));
  EXPECT_EQ(c.dropped, 2u);
}

TEST(Preparation, ScalesByMedianAndMadAndNotesWhatItDid) {
  // Values 0..100 at one step, the 50th duplicated: median 50, MAD 25 (sigma 37.065).
  Series s;
  for (int i = 0; i <= 100; ++i) {
    s.timestamps.push_back(kStart + kStep * i);
    s.values.push_back(i);
  }
  s.timestamps.push_back(kStart + kStep * 50);
  s.values.push_back(50);
  FitInfo info;
  auto p = Prepare(s, Options{}, info);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(info.points_used, 101u);
  EXPECT_EQ(p->step, kStep);
  EXPECT_EQ(p->span, 100 * kStep);
  EXPECT_DOUBLE_EQ(p->scaling.y_offset, 50);
  EXPECT_DOUBLE_EQ(p->scaling.y_scale, 1.4826 * 25);
  EXPECT_NEAR(p->y[100], 50 / (1.4826 * 25), 1e-12);
  EXPECT_DOUBLE_EQ(p->ts.back(), 1.0);
  EXPECT_TRUE(p->nonnegative);
  EXPECT_THAT(info.notes, ElementsAre(HasSubstr("1 duplicate timestamp(s) merged")));
}

TEST(Preparation, ConstantAndTooShortHistories) {
  FitInfo info;
  auto constant = Prepare(Series{{1, 2, 3}, {7, 7, 7}}, Options{}, info);
  ASSERT_TRUE(constant.ok());
  EXPECT_TRUE(constant->constant);
  EXPECT_EQ(constant->scaling.y_offset, 7);
  EXPECT_THAT(Prepare(Series{{1, 2}, {7, std::nan("")}}, Options{}, info).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("got 1")));
}

TEST(Preparation, PointToPointNoiseOfAStepSignalIsItsNoise) {
  // Alternating +-1: every difference is 2, so the robust sigma of one point is
  // 1.4826 * 2 / sqrt(2); a smooth series gets the fallback floor.
  Vector y(100);
  for (int i = 0; i < 100; ++i) y[i] = i % 2 == 0 ? 1 : -1;
  EXPECT_NEAR(PointToPointNoise(y), 1.4826 * 2 / std::sqrt(2.0), 1e-12);
  EXPECT_EQ(PointToPointNoise(Vector::Zero(100)), kPointNoiseFallback);
}


TEST(Exclusions, DropThePointsInEachPeriodAndCountThem) {
  CleanSeries c;
  for (int i = 0; i < 10; ++i) {
    c.t.push_back(kStart + kStep * i);
    c.y.push_back(i);
  }
  FitInfo info;
  // [2, 4) and [3, 6) overlap on point 3; [100, 200) holds nothing.
  const std::vector<ExcludedPeriod> periods = {{kStart + 2 * kStep, kStart + 4 * kStep},
                                               {kStart + 3 * kStep, kStart + 6 * kStep},
                                               {kStart + 100 * kStep, kStart + 200 * kStep}};
  EXPECT_EQ(DropExcluded(periods, c, info), 4u);
  EXPECT_THAT(c.y, ElementsAre(0, 1, 6, 7, 8, 9));
  ASSERT_EQ(info.exclusions.size(), 3u);
  EXPECT_EQ(info.exclusions[0].points_removed, 2u);
  EXPECT_EQ(info.exclusions[1].points_removed, 3u);
  EXPECT_EQ(info.exclusions[2].points_removed, 0u);
  EXPECT_THAT(info.notes, ElementsAre(HasSubstr("4 point(s) in 3 excluded period(s)")));
  EXPECT_TRUE(Excluded(periods, kStart + 5 * kStep));
  EXPECT_FALSE(Excluded(periods, kStart + 6 * kStep));  // the end is excluded from the period

  FitInfo none;
  EXPECT_EQ(DropExcluded({}, c, none), 0u);
  EXPECT_TRUE(none.notes.empty());
  EXPECT_TRUE(none.exclusions.empty());
}

}  // namespace
}  // namespace forecast::internal
