#include "tests/faults/fault_fixture.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "gmock/gmock.h"
#include "promclient/curl_http_transport.h"

namespace faults {

using ::testing::HasSubstr;

absl::StatusOr<std::unique_ptr<testing_support::PrometheusServer>> FaultFixture::StartPrometheus(
    double seconds) {
  testing_support::PrometheusServerOptions o;
  const double t0 = t0_;
  o.openmetrics = testing_support::OpenMetricsGauge("augur_fault_load", "{job=\"faults\"}",
                                                    t0 - seconds, t0 - 60, 60,
                                                    [t0](double t) { return Load(t, t0); });
  return testing_support::PrometheusServer::Start(o);
}

void FaultFixture::SetUpTestSuite() {
  dir_ = testing_support::MakeTempDir("augur-faults");
  t0_ = std::floor(WallNow() / 60) * 60;
  auto prom = StartPrometheus(2 * kDay);
  if (!prom.ok()) {
    start_error_ = std::string(prom.status().message());
    return;
  }
  prom_ = prom->release();
}

void FaultFixture::TearDownTestSuite() {
  delete prom_;
  prom_ = nullptr;
  if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
}

void FaultFixture::SetUp() {
  ASSERT_NE(prom_, nullptr) << "Prometheus did not start: " << start_error_;
  auto proxy = testing_support::FaultProxy::Start(prom_->url());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  proxy_ = std::move(*proxy);
}

void FaultFixture::TearDown() {
  if (augur_ != nullptr && HasFailure()) {
    std::fprintf(stderr, "--- augur log ---\n%s\n", augur_->log().c_str());
  }
  augur_.reset();
  proxy_.reset();
}

std::unique_ptr<testing_support::AugurProcess> FaultFixture::StartAugur(
    std::vector<std::string> extra) {
  std::vector<std::string> flags = {"--prometheus-url", proxy_->url(),
                                    "--max-staleness", "3s",
                                    "--prometheus-timeout", "2s",
                                    "--first-answer-timeout", "30s",
                                    "--log-level", "debug"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  auto augur = testing_support::AugurProcess::Start(AUGUR_BINARY, flags, dir_);
  EXPECT_FALSE(augur->grpc_address().empty()) << augur->log();
  return augur;
}

externalscaler::ScaledObjectRef FaultFixture::Ref(const std::string& name,
                                                  std::map<std::string, std::string> extra) {
  externalscaler::ScaledObjectRef ref;
  ref.set_name(name);
  ref.set_namespace_("faults");
  std::map<std::string, std::string> md = {{"query", "sum(augur_fault_load{job=\"faults\"})"},
                                           {"targetValue", "10"},
                                           {"history", "2d"},
                                           {"step", "5m"},
                                           {"horizon", "30m"},
                                           {"seasonality", "1d"},
                                           {"refreshInterval", "1s"}};
  for (auto& [k, v] : extra) md[k] = v;
  for (auto& [k, v] : md) (*ref.mutable_scalermetadata())[k] = v;
  return ref;
}

Answer FaultFixture::GetMetrics(const externalscaler::ScaledObjectRef& ref) {
  if (channel_ == nullptr) {
    channel_ = grpc::CreateChannel(augur_->grpc_address(), grpc::InsecureChannelCredentials());
  }
  auto stub = externalscaler::ExternalScaler::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  externalscaler::GetMetricsRequest req;
  *req.mutable_scaledobjectref() = ref;
  req.set_metricname("augur-" + ref.name());
  externalscaler::GetMetricsResponse resp;
  grpc::Status s = stub->GetMetrics(&ctx, req, &resp);
  Answer a;
  a.code = s.error_code();
  a.message = s.error_message();
  if (s.ok() && resp.metricvalues_size() == 1) a.value = resp.metricvalues(0).metricvaluefloat();
  return a;
}

Answer FaultFixture::Warm(const externalscaler::ScaledObjectRef& ref) {
  Answer a;
  testing_support::PollUntil(60, [&] {
    a = GetMetrics(ref);
    return a.ok();
  });
  return a;
}

augur::v1::Explanation FaultFixture::Explain(const externalscaler::ScaledObjectRef& ref) {
  if (channel_ == nullptr) {
    channel_ = grpc::CreateChannel(augur_->grpc_address(), grpc::InsecureChannelCredentials());
  }
  auto inspector = augur::v1::Inspector::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  augur::v1::Explanation e;
  grpc::Status s = inspector->Explain(&ctx, ref, &e);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return e;
}

augur::v1::ObjectSummary FaultFixture::Summary(const std::string& name) {
  auto inspector = augur::v1::Inspector::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  augur::v1::ListResponse list;
  EXPECT_TRUE(inspector->List(&ctx, augur::v1::ListRequest(), &list).ok());
  for (const auto& o : list.objects()) {
    if (o.name() == name) return o;
  }
  return {};
}

std::string FaultFixture::Metrics() {
  static promclient::CurlHttpTransport http;
  promclient::HttpRequest r;
  r.url = "http://" + augur_->http_address() + "/metrics";
  r.timeout = std::chrono::seconds(5);
  auto got = http.Send(r);
  return got.ok() ? got->body : "";
}

double FaultFixture::MetricValue(const std::string& series) {
  // `series` may leave out trailing labels (e.g. the per-object `trigger` digest).
  const std::string prefix =
      !series.empty() && series.back() == '}' ? series.substr(0, series.size() - 1) : series;
  std::istringstream in(Metrics());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0 || line.size() <= prefix.size()) continue;
    const char next = line[prefix.size()];
    if (next != ' ' && next != '}' && next != ',') continue;
    return std::strtod(line.c_str() + line.rfind(' '), nullptr);
  }
  return NAN;
}

int FaultFixture::CountLogLines(const std::string& needle) {
  std::istringstream in(augur_->log());
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
  return n;
}

void FaultFixture::Row(const std::string& fault, const std::string& keda_sees,
                       const std::string& metrics_logs, const std::string& recovery) {
  std::printf("FAULT-TABLE | %s | %s | %s | %s |\n", fault.c_str(), keda_sees.c_str(),
              metrics_logs.c_str(), recovery.c_str());
  std::fflush(stdout);
}

void FaultFixture::RunFaultCycle(const std::string& fault_name,
                                 testing_support::FaultProxy::Behavior fault,
                                 const std::string& cause, const std::string& code_label,
                                 std::map<std::string, std::string> extra_metadata,
                                 std::function<void()> apply, std::function<void()> clear) {
  augur_ = StartAugur();
  const auto ref = Ref("cycle", extra_metadata);
  const Answer warm = Warm(ref);
  ASSERT_TRUE(warm.ok()) << warm.message;
  ASSERT_GT(warm.value, 40);
  const int errors_before = CountLogLines("event=source_error");

  const auto start = std::chrono::steady_clock::now();
  if (fault) proxy_->SetBehavior(fault);
  if (apply) apply();
  // The first failed refresh has been handled once augur logs it.
  ASSERT_TRUE(testing_support::PollUntil(20, [&] {
    return CountLogLines("event=source_error") > errors_before;
  })) << "augur never saw the fault";
  const Answer frozen = GetMetrics(ref);
  ASSERT_TRUE(frozen.ok()) << "the last answer must be kept while fresh: " << frozen.message;
  EXPECT_NEAR(frozen.value, warm.value, 0.05 * warm.value);

  Answer last;
  int ok_answers = 0;
  const bool stale = testing_support::PollUntil(30, [&] {
    last = GetMetrics(ref);
    if (last.ok()) {
      ++ok_answers;
      // Never a new value while the source fails: the kept answer, exactly.
      EXPECT_EQ(last.value, frozen.value);
      return false;
    }
    return true;
  });
  const double to_unavailable =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(stale) << "still answering after 30 s of " << fault_name;
  EXPECT_EQ(last.code, grpc::StatusCode::UNAVAILABLE) << last.message;
  EXPECT_THAT(last.message, HasSubstr("--max-staleness"));
  EXPECT_THAT(last.message, HasSubstr(cause));
  // The answer may be up to a refresh old when the fault starts: not UNAVAILABLE before
  // it could be kMaxStalenessSeconds old.
  EXPECT_GE(to_unavailable, kMaxStalenessSeconds - 1.5);

  const std::string errors_metric =
      "augur_prometheus_query_errors_total{reason=\"" + code_label + "\"}";
  EXPECT_GE(MetricValue(errors_metric), 1) << Metrics();
  EXPECT_GT(MetricValue("augur_answer_age_seconds{metric=\"augur-cycle\",namespace=\"faults\","
                        "scaledobject=\"cycle\"}"),
            kMaxStalenessSeconds - 0.5);
  EXPECT_GE(CountLogLines("code=" + code_label), 1);
  EXPECT_GE(CountLogLines(cause), 1) << "the log names the cause";
  EXPECT_THAT(Summary(ref.name()).last_error(), HasSubstr(cause)) << "Inspector/List names it";

  const auto cleared = std::chrono::steady_clock::now();
  proxy_->SetBehavior(nullptr);
  if (clear) clear();
  Answer again;
  ASSERT_TRUE(testing_support::PollUntil(30, [&] {
    again = GetMetrics(ref);
    return again.ok();
  })) << "no recovery: " << again.message;
  const double to_recover =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - cleared).count();
  EXPECT_NEAR(again.value, warm.value, 0.05 * warm.value);
  EXPECT_TRUE(testing_support::PollUntil(10, [&] {
    return CountLogLines("event=source_recovered") >= 1;
  }));

  char keda[256], recovery[128];
  std::snprintf(keda, sizeof keda,
                "the last answer (%d calls, unchanged), then UNAVAILABLE after %.1f s: "
                "`... > --max-staleness 3s): last refresh error: ...%s...`",
                ok_answers + 1, to_unavailable, cause.c_str());
  std::snprintf(recovery, sizeof recovery, "OK again %.1f s after the fault cleared",
                to_recover);
  Row(fault_name, keda,
      "`augur_prometheus_query_errors_total{reason=\"" + code_label +
          "\"}` counts; `augur_answer_age_seconds` > 3; log `event=source_error code=" +
          code_label + "`, then `event=source_recovered`",
      recovery);
}

}  // namespace faults
