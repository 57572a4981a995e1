#include "forecast/internal/prepare.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "forecast/stats.h"

namespace forecast::internal {

CleanSeries Clean(const Series& series) {
  std::vector<std::pair<double, double>> rows;
  rows.reserve(series.timestamps.size());
  CleanSeries c;
  for (size_t i = 0; i < series.timestamps.size(); ++i) {
    if (std::isfinite(series.timestamps[i]) && std::isfinite(series.values[i])) {
      rows.emplace_back(series.timestamps[i], series.values[i]);
    } else {
      ++c.dropped;
    }
  }
  const auto by_time = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(rows.begin(), rows.end(), by_time)) {
    std::stable_sort(rows.begin(), rows.end(), by_time);
  }
  c.t.reserve(rows.size());
  c.y.reserve(rows.size());
  for (size_t i = 0; i < rows.size();) {
    size_t j = i;
    double sum = 0;
    while (j < rows.size() && rows[j].first == rows[i].first) sum += rows[j++].second;
    c.t.push_back(rows[i].first);
    c.y.push_back(sum / static_cast<double>(j - i));
    i = j;
  }
  return c;
}

bool Excluded(const std::vector<ExcludedPeriod>& periods, double t) {
  for (const ExcludedPeriod& p : periods) {
    if (t >= p.start && t < p.end) return true;
  }
  return false;
}

size_t DropExcluded(const std::vector<ExcludedPeriod>& periods, CleanSeries& c, FitInfo& info) {
  if (periods.empty()) return 0;
  for (const ExcludedPeriod& p : periods) info.exclusions.push_back({p.start, p.end, 0});
  size_t kept = 0;
  for (size_t i = 0; i < c.t.size(); ++i) {
    bool drop = false;
    for (size_t k = 0; k < periods.size(); ++k) {
      if (c.t[i] >= periods[k].start && c.t[i] < periods[k].end) {
        ++info.exclusions[k].points_removed;  // counted in every period that holds it
        drop = true;
      }
    }
    if (!drop) {
      c.t[kept] = c.t[i];
      c.y[kept] = c.y[i];
      ++kept;
    }
  }
  const size_t removed = c.t.size() - kept;
  c.t.resize(kept);
  c.y.resize(kept);
  info.notes.push_back(absl::StrCat(removed, " point(s) in ", periods.size(),
                                    " excluded period(s) left out of the fit"));
  return removed;
}

namespace {

// Logit for logistic growth (noting the values clipped at the bounds), then centre on the
// median and scale by the MAD (the standard deviation, or 1, if the MAD is 0).
void Scale(const std::vector<double>& raw, const Options& options, Prepared& p, FitInfo& info) {
  const size_t n = raw.size();
  Scaling& sc = p.scaling;
  std::vector<double> g = raw;
  if (options.growth == Growth::kLogistic) {
    sc.logistic = true;
    sc.cap = *options.cap;
    sc.floor = options.floor.value_or(0.0);
    size_t clipped = 0;
    for (double& v : g) {
      const double u = (v - sc.floor) / (sc.cap - sc.floor);
      if (u < kLogitClip || u > 1 - kLogitClip) ++clipped;
      v = sc.Transform(v);
    }
    info.notes.push_back("logistic growth: fitted on the logit of (y - floor) / (cap - floor)");
    if (clipped > 0) {
      info.notes.push_back(
          absl::StrCat(clipped, " value(s) at or beyond floor/cap clipped for the logit"));
    }
  }
  sc.y_offset = stats::Median(g);
  std::vector<double> dev(n);
  for (size_t i = 0; i < n; ++i) dev[i] = std::abs(g[i] - sc.y_offset);
  double s = stats::RobustScale(std::move(dev));
  if (!(s > 0)) s = stats::StdDev(g);
  if (!(s > 0)) s = 1;
  sc.y_scale = s;
  p.y.resize(static_cast<Eigen::Index>(n));
  for (size_t i = 0; i < n; ++i) p.y[i] = (g[i] - sc.y_offset) / sc.y_scale;
  p.ts.resize(n);
  for (size_t i = 0; i < n; ++i) p.ts[i] = sc.ScaledTime(p.t[i]);
}

}  // namespace

absl::StatusOr<Prepared> Prepare(const Series& series, const Options& options, FitInfo& info) {
  CleanSeries c = Clean(series);
  if (c.dropped > 0) {
    info.notes.push_back(absl::StrCat(c.dropped, " non-finite value(s) dropped"));
  }
  const size_t merged = series.timestamps.size() - c.dropped - c.t.size();
  if (merged > 0) {
    info.notes.push_back(absl::StrCat(merged, " duplicate timestamp(s) merged (averaged)"));
  }
  const size_t excluded = DropExcluded(options.exclude_periods, c, info);
  const size_t n = c.t.size();
  if (n < 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "need at least 2 finite points to fit, got ", n,
        (c.dropped > 0 ? absl::StrCat(" (", c.dropped, " non-finite dropped)") : ""),
        (excluded > 0 ? absl::StrCat(" (", excluded, " in excluded periods)") : "")));
  }
  Prepared p;
  p.span = c.t.back() - c.t.front();
  {
    std::vector<double> d(n - 1);
    for (size_t i = 0; i + 1 < n; ++i) d[i] = c.t[i + 1] - c.t[i];
    p.step = stats::Median(d);
  }
  info.points_used = n;
  info.history_seconds = p.span;
  info.step_seconds = p.step;
  p.scaling.t0 = c.t.front();
  p.scaling.t_scale = p.span;
  size_t gaps = 0;
  for (size_t i = 0; i + 1 < n; ++i) gaps += c.t[i + 1] - c.t[i] > kGapSteps * p.step;
  if (gaps > 0) {
    info.notes.push_back(absl::StrCat(gaps, " gap(s) longer than 1.5 steps in the history"));
  }
  const double y_min = *std::min_element(c.y.begin(), c.y.end());
  const double y_max = *std::max_element(c.y.begin(), c.y.end());
  p.nonnegative = options.clamp_nonnegative && y_min >= 0;
  if (y_max - y_min <= kConstantRelativeRange * std::max(1.0, std::abs(y_max))) {
    p.constant = true;
    p.scaling.y_offset = c.y.back();
    p.t = std::move(c.t);
    info.notes.push_back("constant series: flat model, zero-width intervals");
    return p;
  }
  p.t = std::move(c.t);
  Scale(c.y, options, p, info);
  return p;
}

double PointToPointNoise(const Vector& y) {
  const size_t n = static_cast<size_t>(y.size());
  std::vector<double> d(n - 1);
  for (size_t i = 0; i + 1 < n; ++i) d[i] = std::abs(y[i + 1] - y[i]);
  // The difference of two independent points has sqrt(2) times their noise.
  const double s = stats::RobustScale(std::move(d)) / std::sqrt(2.0);
  return s > kMinPointNoise ? s : kPointNoiseFallback;
}

Rows BinRows(const std::vector<double>& t, const std::vector<double>& ts, const Vector& y,
             const Scaling& scaling, double step, size_t max_rows) {
  const size_t n = t.size();
  Rows r;
  r.step = step;
  if (n <= max_rows) {
    r.t = t;
    r.ts = ts;
    r.y = y;
    r.count = Vector::Ones(static_cast<Eigen::Index>(n));
  } else {
    const double k = std::ceil(static_cast<double>(n) / static_cast<double>(max_rows));
    r.step = k * step;
    std::vector<double> sy;
    std::vector<double> cnt;
    long long current = -1;
    for (size_t i = 0; i < n; ++i) {
      const auto bin = static_cast<long long>(std::floor((t[i] - scaling.t0) / r.step));
      if (bin != current) {
        r.t.push_back(0);
        sy.push_back(0);
        cnt.push_back(0);
        current = bin;
      }
      r.t.back() += t[i];
      sy.back() += y[i];
      cnt.back() += 1;
    }
    const auto rows = static_cast<Eigen::Index>(r.t.size());
    r.y.resize(rows);
    r.count.resize(rows);
    for (size_t i = 0; i < r.t.size(); ++i) {
      r.t[i] /= cnt[i];
      r.y[i] = sy[i] / cnt[i];
      r.count[i] = cnt[i];
      r.ts.push_back(scaling.ScaledTime(r.t[i]));
    }
  }
  r.noise_scale = r.count.cwiseSqrt();
  return r;
}

Vector RecencyWeights(const Rows& rows, double newest_t, double half_life_seconds,
                      size_t n_points) {
  Vector w = rows.count;
  if (half_life_seconds > 0) {
    for (size_t i = 0; i < rows.size(); ++i) {
      w[i] *= std::exp2(-(newest_t - rows.t[i]) / half_life_seconds);
    }
  }
  w *= static_cast<double>(n_points) / w.sum();
  return w;
}

}  // namespace forecast::internal
