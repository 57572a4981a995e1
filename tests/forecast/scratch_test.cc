// Tests of the scratch a fit reuses (forecast/internal/correction.h: the candidate
// evaluations' per-thread buffers; forecast.cc: one Candidate per thread across fits):
// a fit after other fits, of other lengths, steps and options, on the same thread or on
// two threads at once, is exactly the fit a fresh thread makes (a thread's first fit has
// nothing to reuse).
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "forecast/forecast.h"
#include "forecast/internal/correction.h"
#include "gtest/gtest.h"

namespace forecast {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDay = 86400;
constexpr double kStart = 1700000000;

// A daily cycle, AR(1) noise, spikes and one level step: every stage has work, the
// correction's jumps included.
Series Load(double span_seconds, double step_seconds, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::bernoulli_distribution spike(0.01);
  Series s;
  double noise = 0;
  for (double t = kStart; t < kStart + span_seconds; t += step_seconds) {
    noise = 0.7 * noise + normal(rng);
    const double step_up = t > kStart + 0.8 * span_seconds ? 15 : 0;
    s.timestamps.push_back(t);
    s.values.push_back(100 + 20 * std::sin(2 * kPi * (t - kStart) / kDay) + 2 * noise +
                       step_up + (spike(rng) ? 40 : 0));
  }
  return s;
}

struct Case {
  Series series;
  Options options;
};

std::vector<Case> Cases() {
  Options no_blend;
  no_blend.naive_blend = false;
  Options ar_only;
  ar_only.smoothing_correction = false;
  Options short_window;
  short_window.ar_window_seconds = 6 * 3600.0;
  return {
      {Load(3 * kDay, 60, 1), Options{}},       // H 120 steps, a 3-day window
      {Load(20 * 60, 60, 2), Options{}},        // 20 steps: too short for a correction
      {Load(7 * kDay, 300, 3), no_blend},       // another step: H 24, no naive errors
      {Load(1 * kDay, 30, 4), ar_only},         // H 240, no smoothing candidates
      {Load(2 * kDay, 60, 5), short_window},    // a shorter window than the first
      {Load(3 * kDay, 60, 6), Options{}},       // the first's sizes again
  };
}

// What a fit gives: its notes and a forecast with quantiles, as text with every bit of
// every value (so that "equal" means bit-identical).
std::string Outcome(const Case& c) {
  const absl::StatusOr<Model> m = Fit(c.series, c.options);
  if (!m.ok()) return "fit error: " + m.status().ToString();
  std::string out;
  for (const std::string& note : m->info().notes) out += note + "\n";
  std::vector<double> ts;
  for (int h = 1; h <= 150; ++h) ts.push_back(m->last_timestamp() + h * 60.0);
  const absl::StatusOr<Forecast> f = m->Predict(ts, {0.05, 0.5, 0.9, 0.99});
  if (!f.ok()) return out + "predict error: " + f.status().ToString();
  auto add = [&out](const std::vector<double>& v) {
    char buf[32];
    for (double x : v) {
      std::snprintf(buf, sizeof buf, "%a ", x);
      out += buf;
    }
    out += "\n";
  };
  add(f->yhat);
  for (const std::vector<double>& q : f->quantiles) add(q);
  for (const Component& comp : f->components) add(comp.values);
  return out;
}

// Each case fitted on a thread of its own: nothing to reuse.
std::vector<std::string> FreshOutcomes(const std::vector<Case>& cases) {
  std::vector<std::string> out(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    std::thread t([&, i] { out[i] = Outcome(cases[i]); });
    t.join();
  }
  return out;
}

TEST(FitScratch, ReusedAcrossFitsOfOtherLengthsStepsAndOptionsOnOneThread) {
  const std::vector<Case> cases = Cases();
  const std::vector<std::string> fresh = FreshOutcomes(cases);
  for (const std::string& o : fresh) {
    ASSERT_EQ(o.find("fit error: "), std::string::npos) << o;
    ASSERT_EQ(o.find("predict error: "), std::string::npos) << o;
  }
  // The case the fresh fits show a correction chosen for (the long ones) and none for the
  // short one: the cases do cover both paths.
  EXPECT_NE(fresh[0].find("short-term correction:"), std::string::npos);
  EXPECT_NE(fresh[1].find("no short-term correction"), std::string::npos) << fresh[1];
  std::thread t([&] {
    // Forwards, backwards, forwards: every case after a larger and a smaller one.
    for (int pass = 0; pass < 3; ++pass) {
      for (size_t k = 0; k < cases.size(); ++k) {
        const size_t i = pass == 1 ? cases.size() - 1 - k : k;
        EXPECT_EQ(Outcome(cases[i]), fresh[i]) << "case " << i << ", pass " << pass;
      }
    }
  });
  t.join();
}

TEST(FitScratch, TwoThreadsFittingAtOnceGiveTheFreshFits) {
  const std::vector<Case> cases = Cases();
  const std::vector<std::string> fresh = FreshOutcomes(cases);
  std::vector<std::string> a(cases.size()), b(cases.size());
  std::thread ta([&] {
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < cases.size(); ++i) a[i] = Outcome(cases[i]);
    }
  });
  std::thread tb([&] {
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t k = cases.size(); k-- > 0;) b[k] = Outcome(cases[k]);
    }
  });
  ta.join();
  tb.join();
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(a[i], fresh[i]) << "case " << i;
    EXPECT_EQ(b[i], fresh[i]) << "case " << i;
  }
}

}  // namespace

namespace internal {
namespace {

void ExpectSameCandidate(const Candidate& got, const Candidate& want, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.phi, want.phi);
  EXPECT_EQ(got.alpha, want.alpha);
  EXPECT_EQ(got.rho, want.rho);
  EXPECT_EQ(got.beta, want.beta);
  EXPECT_EQ(got.phi_t, want.phi_t);
  EXPECT_EQ(got.score, want.score);
  EXPECT_EQ(got.errs, want.errs);
  EXPECT_EQ(got.levels, want.levels);
  EXPECT_EQ(got.model_errs, want.model_errs);
  EXPECT_EQ(got.naive_errs, want.naive_errs);
  EXPECT_EQ(got.model_fc, want.model_fc);
  EXPECT_EQ(got.naive_fc, want.naive_fc);
  EXPECT_EQ(got.jump_model_errs, want.jump_model_errs);
  EXPECT_EQ(got.jump_naive_errs, want.jump_naive_errs);
  EXPECT_EQ(got.window_in_history, want.window_in_history);
}

ResidualGrid GridOf(size_t n, double step, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::bernoulli_distribution spike(0.02), gap(0.01);
  ResidualGrid g;
  double x = 0;
  for (size_t i = 0; i < n; ++i) {
    x = 0.8 * x + normal(rng);
    g.resid.push_back(gap(rng) ? std::nan("") : x + (spike(rng) ? 12 : 0));
    g.fit.push_back(10 + std::sin(static_cast<double>(i) / 50));
  }
  g.step = step;
  g.newest_t = static_cast<double>(n - 1) * step;
  return g;
}

TEST(CorrectionScratch, ReusedCandidateIsTheFreshOne) {
  Options no_blend;
  no_blend.naive_blend = false;
  struct Step {
    ResidualGrid grid;
    Options options;
  };
  const std::vector<Step> steps = {
      {GridOf(4320, 60, 1), Options{}}, {GridOf(60, 60, 2), Options{}},
      {GridOf(25, 60, 3), Options{}},   {GridOf(2016, 300, 4), no_blend},
      {GridOf(2880, 30, 5), Options{}}, {GridOf(4320, 60, 6), Options{}},
  };
  Candidate reused;
  size_t with_jumps = 0, without_jumps = 0, not_evaluated = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& s = steps[i];
      Correction fresh_out, reused_out;
      FitInfo fresh_info, reused_info;
      const Candidate fresh =
          FitCorrection(s.grid, s.options, Scaling{}, 1.0, 3.0, fresh_out, fresh_info);
      FitCorrection(s.grid, s.options, Scaling{}, 1.0, 3.0, reused_out, reused_info, reused);
      ExpectSameCandidate(reused, fresh, "grid " + std::to_string(i));
      EXPECT_EQ(reused_info.notes, fresh_info.notes);
      EXPECT_EQ(reused_out.kind, fresh_out.kind);
      EXPECT_EQ(reused_out.phi, fresh_out.phi);
      EXPECT_EQ(reused_out.tail, fresh_out.tail);
      EXPECT_EQ(reused_out.es_alpha, fresh_out.es_alpha);
      EXPECT_EQ(reused_out.es_level, fresh_out.es_level);
      EXPECT_EQ(reused_out.es_trend, fresh_out.es_trend);
      EXPECT_EQ(reused_out.end_shift, fresh_out.end_shift);
      EXPECT_EQ(reused_out.model_weight, fresh_out.model_weight);
      EXPECT_EQ(reused_out.jump_weight, fresh_out.jump_weight);
      (fresh.jump_model_errs.empty() ? without_jumps : with_jumps) += 1;
      not_evaluated += fresh.errs.empty() ? 1 : 0;
    }
  }
  // The grids cover the paths whose outputs must not linger into the next fit: the
  // jumps' errors filled for some and not for others, a window too short to evaluate.
  EXPECT_GT(with_jumps, 0u);
  EXPECT_GT(without_jumps, 0u);
  EXPECT_GT(not_evaluated, 0u);
}

}  // namespace
}  // namespace internal
}  // namespace forecast
