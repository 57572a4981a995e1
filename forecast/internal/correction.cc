#include "forecast/internal/correction.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "forecast/eigen_types.h"
#include "forecast/internal/blend.h"
#include "forecast/internal/detectors.h"
#include "forecast/internal/prepare.h"

namespace forecast::internal {

double CorrectionWindow::SeasonalNaive(size_t o, size_t j, double fallback) const {
  if (period == 0) return fallback;
  const size_t back = (j - o + period - 1) / period * period;  // ceil((j - o) / P) P
  return SeasonalValue(observed, static_cast<long long>(kSeasonLookback * period + j - back),
                       period, fallback);
}

size_t SeasonPeriodSteps(double period_seconds, double step, size_t window) {
  if (!(period_seconds > 0) || !(step > 0)) return 0;
  const double steps = period_seconds / step;
  const double whole = std::round(steps);
  if (std::abs(steps - whole) > kSeasonWholeTolerance || whole < 2) return 0;
  const auto P = static_cast<size_t>(whole);
  return window >= kSeasonMinPeriods * P ? P : 0;
}

CorrectionWindow MakeWindow(const ResidualGrid& grid, double ar_window_seconds, double cut,
                            double period_seconds) {
  const double step = grid.step;
  const size_t window = std::min<size_t>(
      grid.size(), static_cast<size_t>(std::max(kMinWindowSteps, ar_window_seconds / step)));
  CorrectionWindow w;
  w.resid.assign(grid.resid.end() - static_cast<std::ptrdiff_t>(window), grid.resid.end());
  w.fit.assign(grid.fit.end() - static_cast<std::ptrdiff_t>(window), grid.fit.end());
  w.raw = w.resid;
  w.clip = kWindowClipFactor * cut;
  for (double& v : w.resid) {
    if (!std::isnan(v)) v = std::clamp(v, -kWindowClipFactor * cut, kWindowClipFactor * cut);
  }
  w.H = std::min<size_t>(
      kMaxErrorSteps,
      std::max<size_t>(1, static_cast<size_t>(std::ceil(kErrorHorizonSeconds / step))));
  w.H_score = std::min<size_t>(
      w.H, std::max<size_t>(1, static_cast<size_t>(std::llround(kScoreHorizonSeconds / step))));
  w.warmup = std::min<size_t>(window / kWarmupDivisor, kMaxWarmupSteps);
  w.select_stride = std::max<size_t>(1, (window - w.warmup) / kSelectOrigins);
  w.stride = std::max<size_t>(1, (window - w.warmup) / kErrorOrigins);
  w.period = SeasonPeriodSteps(period_seconds, step, window);
  if (w.period > 0) {
    // The window's slots and the periods before it (NaN where the grid does not reach).
    const size_t total = kSeasonLookback * w.period + window, n = grid.size();
    w.observed.assign(total, std::numeric_limits<double>::quiet_NaN());
    for (size_t i = 0; i < total; ++i) {
      if (i + n < total) continue;
      const size_t g = i + n - total;
      w.observed[i] = grid.fit[g] + grid.resid[g];
    }
  }
  return w;
}

namespace {

// x clipped to [-c, c] (what std::clamp does, kept inline in the hot loops).
inline double Clip(double x, double c) { return std::min(std::max(x, -c), c); }

// The buffers a fit's candidate evaluations fill and throw away, kept per thread and
// reused by the next evaluation: a fit scores ~25 candidates, each in a few window-sized
// vectors, and allocating them afresh made the fit's scratch the largest share of
// augur's allocation calls (docs/reliability.md, "Soak"). Thread-local, so that fits on
// several threads never share one; no evaluation runs inside another (Evaluate and
// EvaluateJumps call nothing that uses it).
struct EvaluateScratch {
  std::vector<double> level, trend, filled, path, ar_state;  // CandidatePaths
  std::vector<double> abs_sum;                               // Evaluate
  std::vector<size_t> abs_count;                             // Evaluate
  std::vector<double> clipped;                               // EvaluateJumps
  std::vector<double> season;                                // Evaluate (SeasonTable)
};

// The seasonal-naive forecasts of the window's slots (NaN = none), m = 1..M whole periods
// back at most: table[(m - 1) window + j] is slot j's from m periods back, M = ceil(max_h /
// period): an origin's forecast of slot j, h steps ahead, is the entry of m = ceil(h /
// period) (CorrectionWindow::SeasonalNaive). Empty when it would hold more than
// kSeasonTableSlots values (each forecast is then computed where it is needed).
constexpr size_t kSeasonTableSlots = size_t{1} << 20;
void SeasonTable(const CorrectionWindow& w, size_t max_h, std::vector<double>& table) {
  table.clear();
  const size_t M = (max_h + w.period - 1) / w.period, window = w.size();
  if (M == 0 || M * window > kSeasonTableSlots) return;
  table.resize(M * window);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t m = 1; m <= M; ++m) {
    for (size_t j = 0; j < window; ++j) {
      table[(m - 1) * window + j] = SeasonalValue(
          w.observed, static_cast<long long>(kSeasonLookback * w.period + j - m * w.period),
          w.period, nan);
    }
  }
}

EvaluateScratch& ThreadScratch() {
  thread_local EvaluateScratch scratch;
  return scratch;
}

// A candidate's state over a window of residuals and its forecast paths from any origin,
// in the thread's scratch (one CandidatePaths at a time per thread).
struct CandidatePaths {
  CandidatePaths(const std::vector<double>& win, const Candidate& c, size_t max_h,
                 EvaluateScratch& scratch)
      : cand(c),
        p(c.phi.size()),
        level(scratch.level),
        trend(scratch.trend),
        filled(scratch.filled),
        path(scratch.path),
        ar_state(scratch.ar_state) {
    path.assign(max_h, 0.0);
    ar_state.assign(p + max_h, 0.0);
    const size_t window = win.size();
    if (cand.kind == CorrectionKind::kSmoothing) {
      level.assign(window, 0.0);
      double l = 0;
      for (size_t i = 0; i < window; ++i) {
        l = std::isnan(win[i]) ? cand.rho * l
                               : (1 - cand.alpha) * cand.rho * l + cand.alpha * win[i];
        level[i] = l;
      }
    } else if (cand.kind == CorrectionKind::kTrendSmoothing) {
      level.assign(window, 0.0);
      trend.assign(window, 0.0);
      double l = 0, b = 0;
      for (size_t i = 0; i < window; ++i) {
        SmoothingStep(cand.alpha, cand.rho, cand.beta, cand.phi_t, win[i], l, b);
        level[i] = l;
        trend[i] = b;
      }
    } else if (cand.kind == CorrectionKind::kAr) {
      filled.assign(win.begin(), win.end());
      FillForward(cand.phi, filled);
    }
  }
  // path[0, steps): the forecast from origin o (o >= p).
  void From(size_t o, size_t steps) {
    if (cand.kind == CorrectionKind::kAr) {
      // ArPath's recursion, in place (the same sums in the same order).
      std::copy(filled.begin() + static_cast<std::ptrdiff_t>(o + 1 - p),
                filled.begin() + static_cast<std::ptrdiff_t>(o + 1), ar_state.begin());
      for (size_t h = 0; h < steps; ++h) {
        double v = 0;
        for (size_t j = 0; j < p; ++j) v += cand.phi[j] * ar_state[p + h - 1 - j];
        ar_state[p + h] = v;
        path[h] = v;
      }
    } else if (cand.kind == CorrectionKind::kSmoothing) {
      double v = level[o];
      for (size_t h = 0; h < steps; ++h) path[h] = (v *= cand.rho);
    } else if (cand.kind == CorrectionKind::kTrendSmoothing) {
      double v = level[o], b = trend[o];
      for (size_t h = 0; h < steps; ++h) path[h] = (v = cand.rho * v + (b *= cand.phi_t));
    }
    // kNone: the path stays 0.
  }

  const Candidate& cand;
  const size_t p;
  std::vector<double>& level;
  std::vector<double>& trend;
  std::vector<double>& filled;
  std::vector<double>& path;
  std::vector<double>& ar_state;  // AR: the state, then the path
};

// `v` as n empty vectors, keeping the storage of those it already had (a reused
// Candidate's: its error vectors fill again to about the same sizes).
void ResetErrors(std::vector<std::vector<double>>& v, size_t n) {
  v.resize(n);
  for (std::vector<double>& e : v) e.clear();
}

}  // namespace

namespace {
// Evaluate's body, compiled apart for scoring (kScoreOnly: the candidate search's many
// calls, which only need the score) so that its inner loop carries none of the error
// collection's code.
template <bool kScoreOnly>
void EvaluateImpl(const CorrectionWindow& w, const Scaling& scaling, size_t max_h, size_t stride,
                  bool with_levels, Candidate& cand, bool with_naive) {
  constexpr bool score_only = kScoreOnly;
  const std::vector<double>& win = w.resid;
  const size_t window = w.size(), H = w.H;
  // The seasonal-naive member's errors are collected with the naive ones.
  const bool season = !score_only && with_naive && w.period > 0;
  if constexpr (!score_only) {
    ResetErrors(cand.errs, H);
    ResetErrors(cand.levels, with_levels ? H : 0);
    ResetErrors(cand.model_errs, with_naive ? H : 0);
    ResetErrors(cand.naive_errs, with_naive ? H : 0);
    ResetErrors(cand.model_fc, with_naive && with_levels ? H : 0);
    ResetErrors(cand.naive_fc, with_naive && with_levels ? H : 0);
    ResetErrors(cand.season_errs, season ? H : 0);
    const size_t origins = window / stride + 1;
    for (size_t h = 0; h < max_h && h < H; ++h) {
      cand.errs[h].reserve(origins);
      if (with_levels) cand.levels[h].reserve(origins);
      if (with_naive) {
        cand.model_errs[h].reserve(origins);
        cand.naive_errs[h].reserve(origins);
        if (season) cand.season_errs[h].reserve(origins);
      }
    }
  }
  EvaluateScratch& scratch = ThreadScratch();
  CandidatePaths paths(w.resid, cand, max_h, scratch);
  const size_t p = paths.p;
  std::vector<double>& path = paths.path;
  // Per step ahead: the sum of |error| in origin order and the count, for the score.
  std::vector<double>& abs_sum = scratch.abs_sum;
  std::vector<size_t>& abs_count = scratch.abs_count;
  abs_sum.assign(H, 0.0);
  abs_count.assign(H, 0);
  std::vector<double>& table = scratch.season;
  if (season) SeasonTable(w, std::min(max_h, H), table);
  for (size_t o = std::max(w.warmup, p); o + 1 < window; o += stride) {
    if (std::isnan(win[o])) continue;
    const size_t steps = std::min(max_h, window - 1 - o);
    paths.From(o, steps);
    // The last value as a forecast: its error is the change of the observation from the
    // origin (a spike at the origin costs it at most the clip per step ahead).
    const double last = w.fit[o] + w.raw[o];
    for (size_t h = 1; h <= steps; ++h) {
      if (std::isnan(win[o + h])) continue;
      const double e = win[o + h] - path[h - 1];
      abs_sum[h - 1] += std::abs(e);
      ++abs_count[h - 1];
      if constexpr (score_only) continue;
      cand.errs[h - 1].push_back(e);
      if (with_levels) cand.levels[h - 1].push_back(scaling.ToRaw(w.fit[o + h] + path[h - 1]));
      if (with_naive) {
        const double observed = w.fit[o + h] + w.raw[o + h];
        cand.model_errs[h - 1].push_back(
            Clip(observed - (w.fit[o + h] + path[h - 1]), w.clip));
        cand.naive_errs[h - 1].push_back(Clip(observed - last, w.clip));
        double seasonal = last;
        if (season) {
          if (table.empty()) {
            seasonal = w.SeasonalNaive(o, o + h, last);
          } else {
            const double v = table[(h - 1) / w.period * window + o + h];
            seasonal = std::isnan(v) ? last : v;
          }
          cand.season_errs[h - 1].push_back(Clip(observed - seasonal, w.clip));
        }
        if (with_levels) {
          cand.model_fc[h - 1].push_back(w.fit[o + h] + path[h - 1]);
          cand.naive_fc[h - 1].push_back(last);
        }
      }
    }
  }
  double total = 0;
  size_t count = 0;
  for (size_t h = 0; h < w.H_score && h < H; ++h) {
    if (abs_count[h] > 0) {
      total += abs_sum[h] / static_cast<double>(abs_count[h]);
      ++count;
    }
  }
  cand.score =
      count > 0 ? total / static_cast<double>(count) : std::numeric_limits<double>::infinity();
}
}  // namespace

void Evaluate(const CorrectionWindow& w, const Scaling& scaling, size_t max_h, size_t stride,
              bool with_levels, Candidate& cand, bool with_naive, bool score_only) {
  if (score_only) {
    EvaluateImpl<true>(w, scaling, max_h, stride, with_levels, cand, with_naive);
  } else {
    EvaluateImpl<false>(w, scaling, max_h, stride, with_levels, cand, with_naive);
  }
}

bool IsJump(const std::vector<double>& raw, size_t i, double clip) {
  const auto beyond = [&](size_t j) { return !std::isnan(raw[j]) && std::abs(raw[j]) > clip; };
  return beyond(i) && (i == 0 || !beyond(i - 1));
}

void EvaluateJumps(const ResidualGrid& grid, double clip, size_t H, Candidate& cand) {
  const std::vector<double>& raw = grid.resid;
  const size_t n = raw.size();
  ResetErrors(cand.jump_model_errs, H);
  ResetErrors(cand.jump_naive_errs, H);
  EvaluateScratch& scratch = ThreadScratch();
  std::vector<double>& clipped = scratch.clipped;  // what the correction's state takes in
  clipped.assign(raw.begin(), raw.end());
  for (double& v : clipped) {
    if (!std::isnan(v)) v = Clip(v, clip);
  }
  CandidatePaths paths(clipped, cand, H, scratch);
  const size_t warmup = std::min<size_t>(n / kWarmupDivisor, kMaxWarmupSteps);
  for (size_t o = std::max(warmup, paths.p); o + 1 < n; ++o) {
    if (!IsJump(raw, o, clip)) continue;
    const size_t steps = std::min(H, n - 1 - o);
    paths.From(o, steps);
    const double last = grid.fit[o] + raw[o];
    const double bound = std::abs(raw[o]);
    for (size_t h = 1; h <= steps; ++h) {
      if (std::isnan(raw[o + h])) continue;
      const double observed = grid.fit[o + h] + raw[o + h];
      cand.jump_model_errs[h - 1].push_back(
          Clip(observed - (grid.fit[o + h] + paths.path[h - 1]), bound));
      cand.jump_naive_errs[h - 1].push_back(Clip(observed - last, bound));
    }
  }
}

Candidate FitAr(const CorrectionWindow& w, int order) {
  const std::vector<double>& win = w.resid;
  const int p = order;
  Candidate ar;
  std::vector<size_t> rows;
  for (size_t i = static_cast<size_t>(p); i < win.size(); ++i) {
    bool ok = !std::isnan(win[i]);
    for (int j = 1; j <= p && ok; ++j) ok = !std::isnan(win[i - j]);
    if (ok) rows.push_back(i);
  }
  if (rows.size() < static_cast<size_t>(kArRowsPerCoefficient * p + kArMinRows)) return ar;
  Matrix A = Matrix::Zero(p, p);
  Vector b = Vector::Zero(p);
  Vector x(p);
  for (size_t i : rows) {
    for (int j = 0; j < p; ++j) x[j] = win[i - 1 - j];
    A.noalias() += x * x.transpose();
    b += win[i] * x;
  }
  A.diagonal().array() += kArRidge * (A.trace() / p + 1e-12);  // 1e-12: A may be 0
  Vector phi = A.ldlt().solve(b);
  if (!phi.allFinite()) return ar;
  const double l1 = phi.cwiseAbs().sum();
  if (l1 > kArMaxAbsSum) phi *= kArMaxAbsSum / l1;
  ar.kind = CorrectionKind::kAr;
  ar.phi.assign(phi.data(), phi.data() + p);
  return ar;
}

namespace {

// What ChooseCorrection compares candidates by: their parameters (the score is Evaluate's).
void TakeParameters(const Candidate& from, Candidate& to) {
  to.kind = from.kind;
  to.phi = from.phi;
  to.alpha = from.alpha;
  to.rho = from.rho;
  to.beta = from.beta;
  to.phi_t = from.phi_t;
  to.score = from.score;
}

}  // namespace

void ChooseCorrection(const CorrectionWindow& w, const Scaling& scaling, const Options& options,
                      double step, Candidate& best) {
  // A reused candidate: its parameters and outputs are those of kind kNone; its error
  // vectors keep their storage for Evaluate to fill again.
  best.kind = CorrectionKind::kNone;
  best.phi.clear();
  best.alpha = 0;
  best.rho = 1;
  best.beta = 0;
  best.phi_t = 0;
  best.score = std::numeric_limits<double>::infinity();
  best.window_in_history = false;
  best.jump_model_errs.clear();
  best.jump_naive_errs.clear();
  if (!(w.size() > w.warmup + kMinScoredSteps)) {
    for (auto* errors : {&best.errs, &best.levels, &best.model_errs, &best.naive_errs,
                         &best.model_fc, &best.naive_fc, &best.season_errs}) {
      errors->clear();
    }
    return;
  }
  Evaluate(w, scaling, w.H_score, w.select_stride, false, best, false, true);
  // Each candidate is scored alone (no error vectors) and only a better one's parameters
  // are kept: in the order none, AR, smoothing, damped trend, the first of equal scores.
  auto consider = [&](Candidate& cand) {
    Evaluate(w, scaling, w.H_score, w.select_stride, false, cand, false, true);
    if (cand.score < best.score) TakeParameters(cand, best);
  };
  if (options.ar_order > 0) {
    Candidate ar = FitAr(w, options.ar_order);
    if (ar.kind == CorrectionKind::kAr) consider(ar);
  }
  Candidate trial;
  if (options.smoothing_correction) {
    trial.kind = CorrectionKind::kSmoothing;
    for (double alpha : kSmoothingAlphas) {
      for (double rho_per_hour : kSmoothingKeptPerHour) {
        trial.alpha = alpha;
        trial.rho = std::pow(rho_per_hour, step / kHour);
        consider(trial);
      }
    }
    trial.kind = CorrectionKind::kTrendSmoothing;
    trial.rho = 1;
    for (double alpha : kTrendAlphas) {
      for (double beta : kTrendBetas) {
        for (double kept : kTrendKeptPerHour) {
          trial.alpha = alpha;
          trial.beta = beta;
          trial.phi_t = std::pow(kept, step / kHour);
          consider(trial);
        }
      }
    }
  }
  Evaluate(w, scaling, w.H, w.stride, true, best, options.naive_blend);
}

Candidate ChooseCorrection(const CorrectionWindow& w, const Scaling& scaling,
                           const Options& options, double step) {
  Candidate best;
  ChooseCorrection(w, scaling, options, step, best);
  return best;
}

namespace {

void NoteChoice(const Candidate& best, size_t window, double step, FitInfo& info) {
  if (best.kind == CorrectionKind::kAr) {
    info.notes.push_back(absl::StrCat("short-term correction: AR(", best.phi.size(), ")"));
  } else if (best.kind == CorrectionKind::kSmoothing) {
    info.notes.push_back(
        absl::StrFormat("short-term correction: smoothed level, alpha %.2f, %.2f kept per hour",
                        best.alpha, std::pow(best.rho, kHour / step)));
  } else if (best.kind == CorrectionKind::kTrendSmoothing) {
    info.notes.push_back(absl::StrFormat(
        "short-term correction: smoothed level and damped trend (Holt), alpha %.2f, beta "
        "%.2f, trend %.2f kept per hour",
        best.alpha, best.beta, std::pow(best.phi_t, kHour / step)));
  } else if (!best.errs.empty()) {
    info.notes.push_back("short-term correction: none (it did not improve the fit)");
  } else {
    info.notes.push_back(
        absl::StrCat("only ", window, " residual steps: no short-term correction"));
  }
}

// The state at the end of the history: the newest residuals (gaps filled) and the
// smoothed level, both relative to a level shift in progress, if any.
void EndState(const Candidate& best, const CorrectionWindow& w, Correction& out) {
  std::vector<double> filled = w.resid;
  if (best.kind == CorrectionKind::kAr) FillForward(best.phi, filled);
  const size_t keep = std::min<size_t>(filled.size(), kTailSlots);
  out.tail.assign(filled.end() - static_cast<std::ptrdiff_t>(keep), filled.end());
  for (double& v : out.tail) {
    if (std::isnan(v)) v = 0;
  }
  while (out.tail.size() < out.phi.size()) out.tail.insert(out.tail.begin(), 0.0);
  if (best.kind == CorrectionKind::kSmoothing) {
    double l = 0;
    for (double r : w.resid) {
      l = std::isnan(r) ? best.rho * l : (1 - best.alpha) * best.rho * l + best.alpha * r;
    }
    out.es_level = l;
  } else if (best.kind == CorrectionKind::kTrendSmoothing) {
    double l = 0, b = 0;
    for (double r : w.resid) SmoothingStep(best.alpha, best.rho, best.beta, best.phi_t, r, l, b);
    out.es_level = l;
    out.es_trend = b;
  }
  if (out.end_shift != 0) {
    // Relative to the new level, the state is its noise around it: start from 0.
    out.es_level = 0;
    out.es_trend = 0;
    std::fill(out.tail.begin(), out.tail.end(), 0.0);
  }
}

}  // namespace

void FitCorrection(const ResidualGrid& grid, const Options& options, const Scaling& scaling,
                   double sigma, double cut, Correction& out, FitInfo& info, Candidate& best,
                   double period_seconds) {
  const CorrectionWindow w = MakeWindow(grid, options.ar_window_seconds, cut,
                                        options.naive_blend ? period_seconds : 0.0);
  ChooseCorrection(w, scaling, options, grid.step, best);
  best.window_in_history = grid.size() >= 2 * w.size();
  out.kind = best.kind;
  if (best.kind == CorrectionKind::kAr) out.phi = best.phi;
  if (best.kind == CorrectionKind::kSmoothing || best.kind == CorrectionKind::kTrendSmoothing) {
    out.es_alpha = best.alpha;
    out.es_rho = best.rho;
  }
  if (best.kind == CorrectionKind::kTrendSmoothing) {
    out.es_beta = best.beta;
    out.es_phi = best.phi_t;
  }
  NoteChoice(best, w.size(), grid.step, info);
  size_t fired = 0;
  out.end_shift_rule = options.detect_level_shifts &&
                       EndShiftEarns(grid.resid, sigma, w.H_score, &fired);
  if (options.detect_level_shifts && !out.end_shift_rule) {
    info.notes.push_back(absl::StrCat(
        "no level shift in progress is followed: the ", fired,
        " runs of outliers that looked like one in the history fell back (spikes)"));
  }
  if (out.end_shift_rule) {
    // On the unclipped residuals: a shift is exactly what clipping would hide.
    const size_t newest = std::min<size_t>(grid.size(), kTailSlots);
    out.end_shift =
        EndShift(std::vector<double>(grid.resid.end() - static_cast<std::ptrdiff_t>(newest),
                                     grid.resid.end()),
                 sigma);
    if (out.end_shift != 0) {
      info.notes.push_back(absl::StrFormat("level shift in progress at the end: %.4g",
                                           out.end_shift * scaling.y_scale));
    }
  }
  EndState(best, w, out);
  if (options.naive_blend) {
    // The history's jumps, over the whole grid: they are rare (too few to choose weights
    // for: none evaluated).
    size_t jumps = 0;
    for (size_t i = 0; i < grid.size(); ++i) jumps += IsJump(grid.resid, i, w.clip) ? 1 : 0;
    if (jumps >= kBlendMinErrors) EvaluateJumps(grid, w.clip, w.H, best);
    FitBlend(best, w, scaling, grid.step, out, info);
  }
}

Candidate FitCorrection(const ResidualGrid& grid, const Options& options, const Scaling& scaling,
                        double sigma, double cut, Correction& out, FitInfo& info,
                        double period_seconds) {
  Candidate best;
  FitCorrection(grid, options, scaling, sigma, cut, out, info, best, period_seconds);
  return best;
}

std::vector<double> ArPath(const std::vector<double>& phi, std::vector<double> state,
                           size_t steps) {
  std::vector<double> out(steps, 0.0);
  const size_t p = phi.size();
  if (p == 0) return out;
  for (size_t h = 0; h < steps; ++h) {
    double v = 0;
    for (size_t j = 0; j < p; ++j) v += phi[j] * state[state.size() - 1 - j];
    out[h] = v;
    state.push_back(v);
  }
  return out;
}

void FillForward(const std::vector<double>& phi, std::vector<double>& r, size_t begin) {
  const size_t p = phi.size();
  for (size_t i = begin; i < r.size(); ++i) {
    if (!std::isnan(r[i])) continue;
    double v = 0;
    for (size_t j = 0; j < p && j < i; ++j) v += phi[j] * r[i - 1 - j];
    r[i] = v;
  }
}

CorrectionState Advance(const Model::State& st, const Series& recent) {
  const Correction& c = st.correction;
  const double step = st.step_seconds;
  CorrectionState s{c.tail,     c.es_level,     c.es_trend,        c.end_shift,
                    st.last_t, c.last_value, c.last_resid, c.previous_resid,
                    c.season_values, c.season_period};
  if (recent.timestamps.empty()) return s;
  const CleanSeries rc = Clean(recent);
  std::vector<double> ext;  // residuals of the steps after the history, NaN = none
  std::vector<double> obs;  // their observations (scaled), for the seasonal-naive member
  for (size_t i = 0; i < rc.t.size(); ++i) {
    if (rc.t[i] <= st.last_t + 0.5 * step) continue;
    if (!st.excluded.empty() && Excluded(st.excluded, rc.t[i])) continue;  // a gap, as in the fit
    const auto idx = static_cast<size_t>(std::llround((rc.t[i] - st.last_t) / step));
    if (idx == 0 || idx > kMaxRecentSteps) continue;
    if (ext.size() < idx) {
      ext.resize(idx, std::numeric_limits<double>::quiet_NaN());
      obs.resize(idx, std::numeric_limits<double>::quiet_NaN());
    }
    const double g = st.scaling.Transform(rc.y[i]);
    const double det = st.Deterministic(rc.t[i]);
    obs[idx - 1] = (g - st.scaling.y_offset) / st.scaling.y_scale;
    ext[idx - 1] = obs[idx - 1] - det;
    const double at = st.last_t + static_cast<double>(idx) * step;
    if (at >= s.origin) {
      s.origin = at;
      s.last_value = det + ext[idx - 1];
    }
  }
  if (!ext.empty()) {
    s.previous_resid = ext.size() >= 2 ? ext[ext.size() - 2] : c.last_resid;
    s.last_resid = ext.back();
    if (!s.season.empty()) {
      // The newest periods of observations: the history's, then the recent steps', in
      // place (the same length: the oldest as many as were added go).
      const size_t kept = s.season.size();
      s.season.insert(s.season.end(), obs.begin(), obs.end());
      s.season.erase(s.season.begin(),
                     s.season.end() - static_cast<std::ptrdiff_t>(kept));
    }
  }
  for (double& r : ext) r -= s.shift;
  std::vector<double> joined = s.tail;
  joined.insert(joined.end(), ext.begin(), ext.end());
  const double new_shift = c.end_shift_rule ? EndShift(joined, st.intervals.sigma) : 0.0;
  if (new_shift != 0) {
    s.shift += new_shift;
    for (double& r : ext) r -= new_shift;
    std::fill(s.tail.begin(), s.tail.end(), 0.0);
    s.level = 0;
    s.trend = 0;
  }
  for (double r : ext) {
    if (c.kind == CorrectionKind::kTrendSmoothing) {
      SmoothingStep(c.es_alpha, c.es_rho, c.es_beta, c.es_phi, r, s.level, s.trend);
    } else {
      s.level = std::isnan(r) ? c.es_rho * s.level
                              : (1 - c.es_alpha) * c.es_rho * s.level + c.es_alpha * r;
    }
  }
  const size_t base = s.tail.size();
  s.tail.insert(s.tail.end(), ext.begin(), ext.end());
  FillForward(c.phi, s.tail, base);
  return s;
}

std::vector<double> CorrectionPath(const Correction& c, const CorrectionState& s,
                                   size_t max_steps) {
  std::vector<double> path;
  if (c.kind == CorrectionKind::kAr) {
    path = ArPath(c.phi, s.tail, max_steps);
  } else if (c.kind == CorrectionKind::kSmoothing) {
    path.resize(max_steps);
    double v = s.level;
    for (size_t h = 0; h < max_steps; ++h) path[h] = (v *= c.es_rho);
  } else if (c.kind == CorrectionKind::kTrendSmoothing) {
    path.resize(max_steps);
    double v = s.level, b = s.trend;
    for (size_t h = 0; h < max_steps; ++h) path[h] = (v = c.es_rho * v + (b *= c.es_phi));
  }
  if (s.shift != 0) {
    path.resize(max_steps, 0.0);
    for (double& v : path) v += s.shift;
  }
  return path;
}

}  // namespace forecast::internal
