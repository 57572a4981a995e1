// ScalerMetrics' per-object series (scaler/metrics.h): exported by Collect() next to the
// registry's families, shared by holders of the same labels, gone with the last holder
// (also when thousands go at once: the soak's mass expiry, docs/reliability.md); and the
// build's identity, augur_build_info.

#include "scaler/metrics.h"

#include <cmath>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace scaler {
namespace {

// "name{k=v,...}" -> value, for every sample Collect() exports.
std::map<std::string, double> Samples(const ScalerMetrics& metrics) {
  std::map<std::string, double> out;
  for (const auto& family : metrics.Collect()) {
    for (const auto& m : family.metric) {
      std::string labels;
      for (const auto& l : m.label) labels += l.name + "=" + l.value + ",";
      out[family.name + "{" + labels + "}"] = m.gauge.value + m.counter.value;
    }
  }
  return out;
}

TEST(ScalerMetrics, PerObjectSeriesFollowTheAnswerAndGoWithTheLastHolder) {
  prometheus::Registry registry;
  ScalerMetrics metrics(registry);
  auto web = metrics.ForObject("shop", "web", "augur-web", "t1");
  const std::string obj = "metric=augur-web,namespace=shop,scaledobject=web,trigger=t1,";
  auto s = Samples(metrics);
  EXPECT_TRUE(std::isnan(s["augur_observed_value{" + obj + "}"]));
  EXPECT_EQ(s["augur_answer_reason{metric=augur-web,namespace=shop,reason=forecast,scaledobject=web,trigger=t1,}"], 0);

  web->SetAnswer(40, 55, 55, Reason::kForecast, 0.7);
  web->SetAnswerAge(3);
  web->SetFit(0.002, 1700000000);
  s = Samples(metrics);
  EXPECT_EQ(s["augur_observed_value{" + obj + "}"], 40);
  EXPECT_EQ(s["augur_forecast_peak{" + obj + "}"], 55);
  EXPECT_EQ(s["augur_returned_value{" + obj + "}"], 55);
  EXPECT_EQ(s["augur_answer_age_seconds{" + obj + "}"], 3);
  EXPECT_EQ(s["augur_model_error{" + obj + "}"], 0.7);
  EXPECT_EQ(s["augur_fallback{" + obj + "}"], 0);
  EXPECT_EQ(s["augur_last_fit_timestamp_seconds{" + obj + "}"], 1700000000);
  EXPECT_EQ(s["augur_answer_reason{metric=augur-web,namespace=shop,reason=forecast,scaledobject=web,trigger=t1,}"], 1);
  EXPECT_EQ(s["augur_answer_reason{metric=augur-web,namespace=shop,reason=short_history,scaledobject=web,trigger=t1,}"], 0);

  web->SetAnswer(40, std::nullopt, 40, Reason::kShortHistory, std::nullopt);
  s = Samples(metrics);
  EXPECT_EQ(s["augur_fallback{" + obj + "}"], 1);
  EXPECT_EQ(s["augur_answer_reason{metric=augur-web,namespace=shop,reason=short_history,scaledobject=web,trigger=t1,}"], 1);
  EXPECT_EQ(s["augur_answer_reason{metric=augur-web,namespace=shop,reason=forecast,scaledobject=web,trigger=t1,}"], 0);

  // Same labels (e.g. the ScaledObject's metadata changed): one set of series, shared.
  auto again = metrics.ForObject("shop", "web", "augur-web", "t1");
  EXPECT_EQ(again.get(), web.get());
  web.reset();
  EXPECT_TRUE(Samples(metrics).count("augur_returned_value{" + obj + "}"));
  again.reset();
  s = Samples(metrics);
  EXPECT_FALSE(s.count("augur_returned_value{" + obj + "}"));
  EXPECT_FALSE(s.count("augur_answer_reason{metric=augur-web,namespace=shop,reason=forecast,scaledobject=web,trigger=t1,}"));
}

TEST(ScalerMetrics, ThousandsOfObjectsDroppedAtOnceLeaveExactlyTheOthers) {
  prometheus::Registry registry;
  ScalerMetrics metrics(registry);
  std::vector<std::shared_ptr<ObjectMetrics>> objects;
  for (int i = 0; i < 4000; ++i) {
    objects.push_back(metrics.ForObject("soak", "o-" + std::to_string(i), "augur-o", "t1"));
  }
  for (int i = 0; i < 4000; i += 2) objects[i].reset();
  int returned = 0, reasons = 0;
  for (const auto& family : metrics.Collect()) {
    if (family.name == "augur_returned_value") returned = static_cast<int>(family.metric.size());
    if (family.name == "augur_answer_reason") reasons = static_cast<int>(family.metric.size());
  }
  EXPECT_EQ(returned, 2000);
  EXPECT_EQ(reasons, 2000 * 9);  // one series per reason
}

const prometheus::MetricFamily* Find(const std::vector<prometheus::MetricFamily>& families,
                                     const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// /metrics serves SerializeText(): the same bytes as serialising Collect(), built one
// per-object family at a time in reused storage (whose labels, values and counts change
// from family to family and scrape to scrape).
TEST(ScalerMetrics, SerializeTextIsTheTextOfCollect) {
  prometheus::Registry registry;
  ScalerMetrics metrics(registry);
  ExportBuildInfo(registry, "1.2.3", "abc");
  metrics.ObserveQuery(0.25, "");
  metrics.ObserveQuery(1.5, "unavailable");
  metrics.SetTrackedObjects(3);
  std::vector<std::shared_ptr<ObjectMetrics>> objects;
  for (int i = 0; i < 300; ++i) {
    // Names longer than a short string's buffer, and labels sorting around "reason".
    const std::string ns = i % 2 ? "shop" : "a-very-long-namespace-name-" + std::to_string(i);
    objects.push_back(metrics.ForObject(ns, "o-" + std::to_string(i), "augur-o",
                                        "t" + std::to_string(i % 3)));
  }
  const prometheus::TextSerializer serializer;
  EXPECT_EQ(metrics.SerializeText(), serializer.Serialize(metrics.Collect()));
  for (int i = 0; i < 300; ++i) {
    objects[i]->SetAnswer(i, i % 3 ? std::optional<double>(2.0 * i) : std::nullopt, i + 0.5,
                          i % 2 ? Reason::kForecast : Reason::kShortHistory,
                          i % 5 ? std::optional<double>(0.1 * i) : std::nullopt);
    objects[i]->SetAnswerAge(i % 7);
    BudgetMetrics b;
    b.budget = 0.02;
    b.total_scored_seconds = 10.0 * i;
    b.total_short_seconds = i;
    objects[i]->SetBudget(b);
  }
  const std::string text = metrics.SerializeText();
  EXPECT_EQ(text, serializer.Serialize(metrics.Collect()));
  EXPECT_NE(text.find("augur_answer_reason{metric=\"augur-o\",namespace=\"shop\","
                      "reason=\"forecast\",scaledobject=\"o-1\",trigger=\"t1\"} 1"),
            std::string::npos)
      << text.substr(0, 2000);
  // Fewer objects than the reused storage held.
  objects.resize(10);
  EXPECT_EQ(metrics.SerializeText(), serializer.Serialize(metrics.Collect()));
  objects.clear();
  EXPECT_EQ(metrics.SerializeText(), serializer.Serialize(metrics.Collect()));
}

TEST(ExportBuildInfo, OneGaugeAtOneLabelledWithTheVersionAndTheRevision) {
  prometheus::Registry registry;
  ExportBuildInfo(registry, "0.2.0", "abc1234-dirty");
  const auto families = registry.Collect();
  const prometheus::MetricFamily* info = Find(families, "augur_build_info");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->type, prometheus::MetricType::Gauge);
  ASSERT_EQ(info->metric.size(), 1u);
  std::map<std::string, std::string> labels;
  for (const auto& l : info->metric[0].label) labels[l.name] = l.value;
  EXPECT_EQ(labels, (std::map<std::string, std::string>{{"version", "0.2.0"},
                                                        {"revision", "abc1234-dirty"}}));
  EXPECT_EQ(info->metric[0].gauge.value, 1);
}

TEST(ExportBuildInfo, IsExportedWithTheScalerMetrics) {
  // /metrics serves ScalerMetrics::Collect(): the registry's families and the objects'.
  prometheus::Registry registry;
  ScalerMetrics metrics(registry);
  ExportBuildInfo(registry, "1.0.0", "unknown");
  const auto families = metrics.Collect();
  EXPECT_NE(Find(families, "augur_build_info"), nullptr);
  EXPECT_NE(Find(families, "augur_tracked_objects"), nullptr);
}

}  // namespace
}  // namespace scaler
