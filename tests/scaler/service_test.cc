// The gRPC services through an in-process channel, with a fake metric source, a fake
// clock and refreshes run inline when the test ticks the tracker.

#include <atomic>
#include <cctype>
#include <cmath>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "externalscaler.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inspector.grpc.pb.h"
#include "prometheus/registry.h"
#include "scaler/log.h"
#include "scaler/server.h"
#include "scaler/spec.h"
#include "tests/scaler/fakes.h"
#include "tests/scaler/tracker_fixture.h"
#include "tests/scaler/wire_clients.h"

namespace scaler {
namespace {

using ::scaler_testing::FakeClock;
using ::scaler_testing::FakeMetricSource;
using ::scaler_testing::InlineExecutor;
using ::scaler_testing::kT0;
using ::scaler_testing::ManualExecutor;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr double kDay = 86400;
constexpr double kPi = 3.14159265358979323846;

// A clean daily cycle between 50 and 150, peaking at 06:00 UTC.
double Daily(double t) { return 100 + 50 * std::sin(2 * kPi * t / kDay); }

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(std::make_unique<InlineExecutor>()); }

  void Build(std::unique_ptr<Executor> executor, TrackerOptions options = Options(),
             int rpc_threads = ServerOptions().rpc_threads) {
    executor_ = std::move(executor);
    metrics_ = std::make_unique<ScalerMetrics>(registry_);
    tracker_ = std::make_unique<Tracker>(options, source_, clock_, *executor_, metrics_.get(),
                                         scaler_testing::TestDefaults());
    ServerOptions so;
    so.listen = "";  // in-process only
    so.stream_poll = std::chrono::milliseconds(50);
    so.rpc_threads = rpc_threads;
    auto server = Server::Start(so, *tracker_, clock_, metrics_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = server_->InProcessChannel();
    stub_ = externalscaler::ExternalScaler::NewStub(channel_);
  }

  // Rebuilds the server on a ManualExecutor (refreshes run only when the test says) with
  // a first-answer timeout long enough that only a refresh (or a shutdown) ends a wait.
  ManualExecutor* RebuildWithManualRefreshes(int rpc_threads = ServerOptions().rpc_threads) {
    TearDown();
    auto manual = std::make_unique<ManualExecutor>();
    ManualExecutor* executor = manual.get();
    TrackerOptions options = Options();
    options.first_answer_timeout = std::chrono::seconds(60);
    Build(std::move(manual), options, rpc_threads);
    return executor;
  }

  // More first calls for a cold object than there are waiter threads wait for its first
  // refresh; meanwhile a warm object is answered (the waits hold no RPC thread).
  void ExpectFirstCallsWaitOffTheRpcThreads(ManualExecutor* executor);

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::milliseconds(100));
    if (tracker_) tracker_->Stop(std::chrono::seconds(1));
  }

  static TrackerOptions Options() {
    TrackerOptions o;
    o.first_answer_timeout = std::chrono::milliseconds(0);  // refreshes run inline
    o.max_staleness_seconds = 120;
    o.idle_ttl_seconds = 900;
    o.trend_uncertainty = true;
    return o;
  }

  static externalscaler::ScaledObjectRef Ref(std::map<std::string, std::string> extra = {},
                                             const std::string& name = "web") {
    externalscaler::ScaledObjectRef ref;
    ref.set_name(name);
    ref.set_namespace_("shop");
    std::map<std::string, std::string> md = {{"query", "sum(rate(requests_total[2m]))"},
                                             {"targetValue", "7.5"},
                                             {"history", "3d"},
                                             {"step", "5m"},
                                             {"horizon", "1h"},
                                             {"refreshInterval", "5m"}};
    for (auto& [k, v] : extra) {
      if (v == "<erase>") {
        md.erase(k);
      } else {
        md[k] = v;
      }
    }
    for (auto& [k, v] : md) (*ref.mutable_scalermetadata())[k] = v;
    return ref;
  }

  grpc::Status GetMetricSpec(const externalscaler::ScaledObjectRef& ref,
                             externalscaler::GetMetricSpecResponse* out) {
    grpc::ClientContext ctx;
    return stub_->GetMetricSpec(&ctx, ref, out);
  }
  grpc::Status GetMetrics(const externalscaler::ScaledObjectRef& ref, const std::string& name,
                          externalscaler::GetMetricsResponse* out) {
    grpc::ClientContext ctx;
    externalscaler::GetMetricsRequest req;
    *req.mutable_scaledobjectref() = ref;
    req.set_metricname(name);
    return stub_->GetMetrics(&ctx, req, out);
  }
  grpc::Status IsActive(const externalscaler::ScaledObjectRef& ref, bool* active) {
    grpc::ClientContext ctx;
    externalscaler::IsActiveResponse resp;
    grpc::Status s = stub_->IsActive(&ctx, ref, &resp);
    *active = resp.result();
    return s;
  }
  double Value(const externalscaler::ScaledObjectRef& ref) {
    externalscaler::GetMetricsResponse resp;
    grpc::Status s = GetMetrics(ref, "augur-web", &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.metricvalues_size() == 1 ? resp.metricvalues(0).metricvaluefloat() : NAN;
  }
  augur::v1::Explanation Explain(const externalscaler::ScaledObjectRef& ref) {
    auto stub = augur::v1::Inspector::NewStub(channel_);
    grpc::ClientContext ctx;
    augur::v1::Explanation e;
    grpc::Status s = stub->Explain(&ctx, ref, &e);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return e;
  }
  // Advances the clock and runs the refreshes that are due.
  void AdvanceAndTick(double seconds) {
    clock_.Advance(seconds);
    tracker_->Tick();
  }

  FakeClock clock_{kT0};
  FakeMetricSource source_{Daily};
  prometheus::Registry registry_;
  std::unique_ptr<ScalerMetrics> metrics_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<externalscaler::ExternalScaler::Stub> stub_;
};

TEST_F(ServiceTest, GetMetricSpecReturnsExactlyOneSpec) {
  externalscaler::GetMetricSpecResponse resp;
  ASSERT_TRUE(GetMetricSpec(Ref(), &resp).ok());
  ASSERT_EQ(resp.metricspecs_size(), 1);
  EXPECT_EQ(resp.metricspecs(0).metricname(), "augur-web");
  EXPECT_DOUBLE_EQ(resp.metricspecs(0).targetsizefloat(), 7.5);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  EXPECT_EQ(resp.metricspecs(0).targetsize(), 8);
#pragma GCC diagnostic pop
}

TEST_F(ServiceTest, GetMetricSpecUsesMetricName) {
  externalscaler::GetMetricSpecResponse resp;
  ASSERT_TRUE(GetMetricSpec(Ref({{"metricName", "shop-rps"}}), &resp).ok());
  EXPECT_EQ(resp.metricspecs(0).metricname(), "shop-rps");
}

TEST_F(ServiceTest, DefaultMetricNameIsLowercaseAndSafe) {
  externalscaler::GetMetricSpecResponse resp;
  ASSERT_TRUE(GetMetricSpec(Ref({}, "Web_API.v2"), &resp).ok());
  EXPECT_EQ(resp.metricspecs(0).metricname(), "augur-web-api-v2");
}

TEST_F(ServiceTest, GetMetricsReturnsExactlyOneValueWithCeil) {
  externalscaler::GetMetricsResponse resp;
  ASSERT_TRUE(GetMetrics(Ref(), "augur-web", &resp).ok());
  ASSERT_EQ(resp.metricvalues_size(), 1);
  const double v = resp.metricvalues(0).metricvaluefloat();
  EXPECT_GT(v, 0);
  EXPECT_EQ(resp.metricvalues(0).metricname(), "augur-web");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  EXPECT_EQ(resp.metricvalues(0).metricvalue(), static_cast<int64_t>(std::ceil(v)));
#pragma GCC diagnostic pop
}

TEST_F(ServiceTest, GetMetricsMatchesNamesCaseInsensitivelyAndWithKedaPrefix) {
  externalscaler::GetMetricsResponse resp;
  EXPECT_TRUE(GetMetrics(Ref(), "AUGUR-WEB", &resp).ok());
  EXPECT_TRUE(GetMetrics(Ref(), "s0-augur-web", &resp).ok());
  EXPECT_TRUE(GetMetrics(Ref(), "s12-augur-web", &resp).ok());
}

TEST_F(ServiceTest, GetMetricsUnknownNameIsNotFoundNamingTheExpectedOne) {
  externalscaler::GetMetricsResponse resp;
  grpc::Status s = GetMetrics(Ref(), "s0-prometheus", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), AllOf(HasSubstr("s0-prometheus"), HasSubstr("'augur-web'")));
}

TEST_F(ServiceTest, IsActiveComparesWithActivationThreshold) {
  bool active = false;
  ASSERT_TRUE(IsActive(Ref({{"activationThreshold", "1000"}}), &active).ok());
  EXPECT_FALSE(active);
  ASSERT_TRUE(IsActive(Ref({{"activationThreshold", "10"}}), &active).ok());
  EXPECT_TRUE(active);
}

struct BadMetadata {
  std::map<std::string, std::string> change;
  std::vector<std::string> message_parts;
};

// How gtest prints a case (in failure messages and test listings).
void PrintTo(const BadMetadata& b, std::ostream* os) {
  for (const auto& [key, value] : b.change) *os << key << "=" << value << " ";
}

class MetadataErrorTest : public ServiceTest,
                          public ::testing::WithParamInterface<BadMetadata> {};

TEST_P(MetadataErrorTest, IsInvalidArgumentNamingKeyValueAndExpectation) {
  const BadMetadata& p = GetParam();
  for (int rpc = 0; rpc < 3; ++rpc) {
    grpc::Status s;
    if (rpc == 0) {
      externalscaler::GetMetricSpecResponse r;
      s = GetMetricSpec(Ref(p.change), &r);
    } else if (rpc == 1) {
      externalscaler::GetMetricsResponse r;
      s = GetMetrics(Ref(p.change), "augur-web", &r);
    } else {
      bool active;
      s = IsActive(Ref(p.change), &active);
    }
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    for (const std::string& part : p.message_parts) {
      EXPECT_THAT(s.error_message(), HasSubstr(part));
    }
  }
  EXPECT_EQ(tracker_->size(), 0u);  // nothing tracked for bad metadata
}

INSTANTIATE_TEST_SUITE_P(
    AllKeys, MetadataErrorTest,
    ::testing::Values(
        BadMetadata{{{"query", "<erase>"}}, {"'query' (or 'queryFromEnv') is required", "PromQL"}},
        BadMetadata{{{"query", "  "}}, {"'query' (or 'queryFromEnv') is required"}},
        BadMetadata{{{"targetValue", "<erase>"}},
                    {"'targetValue' (or 'targetValueFromEnv') is required", "> 0"}},
        BadMetadata{{{"targetValue", "0"}}, {"'targetValue'", "'0'", "> 0"}},
        BadMetadata{{{"targetValue", "-3"}}, {"'targetValue'", "'-3'", "> 0"}},
        BadMetadata{{{"targetValue", "ten"}}, {"'targetValue'", "'ten'", "number"}},
        BadMetadata{{{"targetValue", "nan"}}, {"'targetValue'", "finite number"}},
        BadMetadata{{{"targetvalue", "5"}}, {"unknown metadata key 'targetvalue'", "'targetValue'"}},
        BadMetadata{{{"horizn", "5m"}}, {"'horizn'", "did you mean 'horizon'"}},
        BadMetadata{{{"serverAddress", "prometheus:9090"}}, {"'serverAddress'", "http://"}},
        BadMetadata{{{"activationThreshold", "high"}}, {"'activationThreshold'", "'high'"}},
        BadMetadata{{{"metricName", "Shop_RPS"}}, {"'metricName'", "'Shop_RPS'", "lowercase"}},
        BadMetadata{{{"horizon", "5x"}}, {"'horizon'", "'5x'", "duration"}},
        BadMetadata{{{"horizon", "0s"}}, {"'horizon'", "> 0"}},
        BadMetadata{{{"history", "forever"}}, {"'history'", "'forever'", "duration"}},
        BadMetadata{{{"step", "0s"}}, {"'step'", "> 0"}},
        BadMetadata{{{"step", "1ms"}}, {"'step'", ">= 1s"}},
        BadMetadata{{{"seasonality", "hourly-ish"}}, {"'seasonality'", "'hourly-ish'", "1d,1w"}},
        BadMetadata{{{"quantile", "1.5"}}, {"'quantile'", "'1.5'", "between 0 and 1"}},
        BadMetadata{{{"quantile", "0"}}, {"'quantile'", "between 0 and 1"}},
        BadMetadata{{{"mode", "fast"}}, {"'mode'", "'fast'", "predictive, forecast or shadow"}},
        BadMetadata{{{"refreshInterval", "0.5s"}}, {"'refreshInterval'", ">= 1s"}},
        BadMetadata{{{"refitInterval", "often"}}, {"'refitInterval'", "'often'"}},
        BadMetadata{{{"minHistory", "-1h"}}, {"'minHistory'", "'-1h'"}},
        BadMetadata{{{"maxForecastError", "0"}}, {"'maxForecastError'", "> 0"}},
        BadMetadata{{{"ignoreNullValues", "maybe"}}, {"'ignoreNullValues'", "'maybe'", "true or false"}},
        BadMetadata{{{"customHeaders", "X-Scope-OrgID"}}, {"'customHeaders'", "key=value"}},
        BadMetadata{{{"queryParameters", "=x"}}, {"'queryParameters'", "key=value"}},
        BadMetadata{{{"timeout", "soon"}}, {"'timeout'", "'soon'", "milliseconds"}},
        BadMetadata{{{"timeout", "0"}}, {"'timeout'", "> 0"}},
        BadMetadata{{{"horizon", "<erase>"}, {"horizonFromEnv", "soon"}},
                    {"'horizonFromEnv'", "'soon'", "duration"}},
        BadMetadata{{{"queryFromEnv", "sum(up)"}}, {"'query'", "'queryFromEnv'", "only one"}},
        BadMetadata{{{"quantilFromEnv", "0.9"}}, {"'quantilFromEnv'", "'quantileFromEnv'"}}),
    // Readable, stable test names: "<index>_<key>_<value>" with non-alphanumerics as '_'.
    [](const ::testing::TestParamInfo<BadMetadata>& info) {
      std::string name = std::to_string(info.index);
      for (const auto& [key, value] : info.param.change) {
        for (const std::string& part : {key, value == "<erase>" ? std::string("missing") : value}) {
          name += '_';
          for (char c : part) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
        }
      }
      return name;
    });

TEST_F(ServiceTest, CustomHeaderValuesNeverAppearInErrors) {
  externalscaler::GetMetricSpecResponse r;
  grpc::Status s = GetMetricSpec(Ref({{"customHeaders", "Authorization=Bearer s3cret,broken"}}), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::Not(HasSubstr("s3cret")));
}

TEST_F(ServiceTest, KedaOwnKeysAndAllValidKeysAreAccepted) {
  externalscaler::GetMetricSpecResponse r;
  grpc::Status s = GetMetricSpec(
      Ref({{"scalerAddress", "augur.keda:6000"},
           {"enableTLS", ""},  // as Helm renders an unset value
           {"unsafeSsl", "true"},
           {"caCert", "/etc/keda/ca.crt"},
           {"tlsClientCert", "-----BEGIN CERTIFICATE-----"},
           {"tlsClientKey", "-----BEGIN PRIVATE KEY-----"},
           {"tlsCertFile", "/certs/tls.crt"},
           {"serverAddress", "http://prometheus:9090"},
           {"activationThreshold", "3"},
           {"metricName", "shop-web"},
           {"seasonality", "1d"},
           {"quantile", "0.9"},
           {"mode", "forecast"},
           {"refitInterval", "10m"},
           {"minHistory", "2h"},
           {"maxForecastError", "1.5"},
           {"ignoreNullValues", "false"},
           {"namespace", "tenant-a"},
           {"customHeaders", "X-Scope-OrgID=a"},
           {"queryParameters", "dedup=true"},
           {"timeout", "3000"}}),
      &r);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(ServiceTest, ServerOutsideAllowListIsPermissionDenied) {
  source_.SetAllowed({"http://prometheus:9090"});
  externalscaler::GetMetricsResponse r;
  grpc::Status s = GetMetrics(Ref({{"serverAddress", "http://evil.example:9090"}}), "augur-web", &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(tracker_->size(), 0u);
  EXPECT_TRUE(GetMetrics(Ref(), "augur-web", &r).ok());
}

// What a new user hit first (issue 15): KEDA forwards `queryFromEnv` under that name with
// the workload's environment value, and Helm renders unset values as "".
TEST_F(ServiceTest, FromEnvKeysAndEmptyValuesWorkThroughEveryRpc) {
  auto ref = Ref({{"query", "<erase>"},
                  {"queryFromEnv", "sum(rate(requests_total[2m]))"},
                  {"targetValueFromEnv", "7.5"},
                  {"targetValue", ""},
                  {"enableTLS", ""},
                  {"quantile", ""}});
  externalscaler::GetMetricSpecResponse spec;
  grpc::Status s = GetMetricSpec(ref, &spec);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_DOUBLE_EQ(spec.metricspecs(0).targetsizefloat(), 7.5);
  EXPECT_GT(Value(ref), 0);
  bool active = false;
  EXPECT_TRUE(IsActive(ref, &active).ok());
  EXPECT_DOUBLE_EQ(Explain(ref).settings().quantile(), 0.5);  // "" = the default
  EXPECT_EQ(Explain(ref).settings().query(), "sum(rate(requests_total[2m]))");
}

// KEDA's client keys carry KEDA's own TLS material when a user puts it in the metadata
// (keda.sh shows it there): accepted, and their values appear nowhere.
TEST_F(ServiceTest, KedaKeyValuesNeverAppearInLogsInspectorOrMetrics) {
  const std::string secret = "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEF";
  std::ostringstream log;
  ConfigureLogging(LogLevel::kDebug, LogFormat::kText, log);
  auto ref = Ref({{"tlsClientKey", secret},
                  {"tlsClientCert", secret + "cert"},
                  {"caCert", secret + "ca"},
                  {"tlsCertFile", secret + "file"},
                  {"unsafeSslFromEnv", secret + "env"}});
  EXPECT_GT(Value(ref), 0);
  AdvanceAndTick(300);
  const std::string explained = Explain(ref).DebugString();
  auto stub = augur::v1::Inspector::NewStub(channel_);
  grpc::ClientContext ctx;
  augur::v1::ListResponse list;
  ASSERT_TRUE(stub->List(&ctx, augur::v1::ListRequest(), &list).ok());
  std::string metrics;
  for (const auto& family : metrics_->Collect()) {
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) metrics += l.name + "=" + l.value + "\n";
    }
  }
  ConfigureLogging(LogLevel::kInfo, LogFormat::kText);
  EXPECT_THAT(log.str(), HasSubstr("object_tracked"));  // the log was captured
  for (const std::string& where : {log.str(), explained, list.DebugString(), metrics}) {
    EXPECT_THAT(where, ::testing::Not(HasSubstr("MIIEvQ"))) << where;
  }
}

// KEDA applies `fallback` only when GetMetricSpec succeeds: a failing GetMetricSpec fails
// the whole ScaledObject, other triggers included (docs/keda.md §7). So it answers from
// the metadata alone, whatever Prometheus or the object's refreshes are doing.
TEST_F(ServiceTest, GetMetricSpecAnswersFromMetadataWhilePrometheusIsDown) {
  source_.Fail(absl::UnavailableError("connection refused (127.0.0.1:9090)"));
  externalscaler::GetMetricSpecResponse spec;
  grpc::Status s = GetMetricSpec(Ref(), &spec);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(spec.metricspecs_size(), 1);
  EXPECT_EQ(spec.metricspecs(0).metricname(), "augur-web");
  EXPECT_DOUBLE_EQ(spec.metricspecs(0).targetsizefloat(), 7.5);
  // KEDA's fallback sees the failure where it counts it: GetMetrics and IsActive.
  externalscaler::GetMetricsResponse values;
  EXPECT_EQ(GetMetrics(Ref(), "augur-web", &values).error_code(), grpc::StatusCode::UNAVAILABLE);
  bool active;
  EXPECT_EQ(IsActive(Ref(), &active).error_code(), grpc::StatusCode::UNAVAILABLE);
  // Likewise for an object whose query cannot be answered at all.
  source_.Fail(absl::InvalidArgumentError("the query returned 3 series, expected exactly one"));
  EXPECT_TRUE(GetMetricSpec(Ref({{"quantile", "0.9"}}), &spec).ok());
  EXPECT_EQ(GetMetrics(Ref({{"quantile", "0.9"}}), "augur-web", &values).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, GetMetricSpecAnswersAtOnceForAColdObject) {
  ManualExecutor* executor = RebuildWithManualRefreshes();
  externalscaler::GetMetricSpecResponse spec;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status s = stub_->GetMetricSpec(&ctx, Ref(), &spec);  // the first refresh has not run
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(spec.metricspecs(0).metricname(), "augur-web");
  EXPECT_EQ(executor->pending(), 1u);
  executor->RunAll();
}

TEST_F(ServiceTest, GetMetricSpecAnswersWhileTheAnswerIsStale) {
  auto ref = Ref();
  EXPECT_GT(Value(ref), 0);
  source_.Fail(absl::UnavailableError("connection refused"));
  AdvanceAndTick(300);  // older than --max-staleness (2m)
  externalscaler::GetMetricsResponse values;
  ASSERT_EQ(GetMetrics(ref, "augur-web", &values).error_code(), grpc::StatusCode::UNAVAILABLE);
  externalscaler::GetMetricSpecResponse spec;
  EXPECT_TRUE(GetMetricSpec(ref, &spec).ok());
}

TEST_F(ServiceTest, GetMetricSpecFailsOnlyForBadMetadataOrAForbiddenServer) {
  source_.SetAllowed({"http://prometheus:9090"});
  externalscaler::GetMetricSpecResponse spec;
  EXPECT_EQ(GetMetricSpec(Ref({{"serverAddress", "http://evil.example:9090"}}), &spec).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GetMetricSpec(Ref({{"horizon", "soon"}}), &spec).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(GetMetricSpec(Ref(), &spec).ok());
}

// Two Augur triggers on one ScaledObject: KEDA sends both under the ScaledObject's name,
// with each trigger's metadata; by default both have the metric name augur-<name>.
TEST_F(ServiceTest, TwoTriggersOfOneScaledObjectNeverShareASeries) {
  auto requests = Ref();
  auto errors = Ref({{"query", "sum(rate(errors_total[2m]))"}, {"targetValue", "2"}});
  EXPECT_GT(Value(requests), 0);
  EXPECT_GT(Value(errors), 0);
  std::set<std::string> triggers;
  for (const auto& family : metrics_->Collect()) {
    if (family.name != "augur_returned_value") continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) labels[l.name] = l.value;
      EXPECT_EQ(labels["scaledobject"], "web");
      EXPECT_EQ(labels["metric"], "augur-web");
      triggers.insert(labels["trigger"]);
    }
  }
  EXPECT_EQ(triggers.size(), 2u);
  EXPECT_FALSE(triggers.count(""));
  // The Inspector names the same ids, so each series can be told to its trigger.
  auto stub = augur::v1::Inspector::NewStub(channel_);
  grpc::ClientContext ctx;
  augur::v1::ListResponse list;
  ASSERT_TRUE(stub->List(&ctx, augur::v1::ListRequest(), &list).ok());
  std::set<std::string> listed;
  for (const auto& o : list.objects()) listed.insert(o.trigger());
  EXPECT_EQ(listed, triggers);
}

// With less history than a budget's record needs (6 hours), the first answers are the
// model's own quantile at the budget's tail; the detail says how much record there is.
TEST_F(ServiceTest, ShortfallBudgetStartsColdWithoutHoursOfHistory) {
  source_.SetDataStart(kT0 - 3 * 3600);
  auto ref = Ref({{"shortfall", "5%"}, {"horizon", "10m"}});
  EXPECT_GT(Value(ref), 0);
  augur::v1::Explanation e = Explain(ref);
  ASSERT_TRUE(e.has_budget());
  EXPECT_FALSE(e.budget().calibrated());
  EXPECT_EQ(e.reason(), "forecast");
  EXPECT_THAT(e.detail(), HasSubstr("budget 5%: the model's 95% quantile (record 0.0h of the "
                                    "6.0h it needs)"));
}

// At 04:00 UTC the daily cycle rises towards its 06:00 peak. With the budget's record
// emulated over the history, the answer is the current value plus the rise the last
// minutes and earlier days show (on this clean cycle, as far ahead as the forecast).
TEST_F(ServiceTest, PredictiveAnswersAheadOfTheRiseAndNeverBelowCurrent) {
  clock_.Set(std::floor(kT0 / kDay) * kDay + 4 * 3600);
  const double now = clock_.Now();
  auto ref = Ref({{"horizon", "2h"}});
  const double value = Value(ref);
  const double current = Daily(now);
  const double peak_to_come = Daily(now + 2 * 3600);
  EXPECT_GT(value, current + 0.5 * (peak_to_come - current));
  EXPECT_NEAR(value, peak_to_come, 0.15 * (peak_to_come - 50));
  auto e = Explain(ref);
  EXPECT_THAT(e.reason(), ::testing::AnyOf("forecast", "trend"));
  EXPECT_NEAR(e.current(), current, 1e-3);
  EXPECT_GE(e.forecast_size(), 24);
}

// At 12:00 UTC the cycle falls fastest: predictive keeps the current value, forecast
// follows the fall (its peak is the next step's value).
TEST_F(ServiceTest, ModesOnFallingLoad) {
  clock_.Set(std::floor(kT0 / kDay) * kDay + 12 * 3600);
  const double current = Daily(clock_.Now());
  const double predictive = Value(Ref({{"mode", "predictive"}, {"quantile", "0.5"}}));
  const double forecast = Value(Ref({{"mode", "forecast"}, {"quantile", "0.5"}}));
  const double shadow = Value(Ref({{"mode", "shadow"}}));
  EXPECT_NEAR(predictive, current, 1e-3);
  EXPECT_EQ(Explain(Ref({{"mode", "predictive"}, {"quantile", "0.5"}})).reason(),
            "current_above_forecast");
  EXPECT_LT(forecast, current - 0.5);
  EXPECT_GT(forecast, current - 3);
  EXPECT_NEAR(shadow, current, 1e-3);
  auto e = Explain(Ref({{"mode", "shadow"}}));
  EXPECT_EQ(e.reason(), "shadow");
  EXPECT_TRUE(e.has_peak());  // computed and inspectable, but not returned
}

// Known events and excluded periods as the Inspector shows them: the events configured,
// each event day's fitted effect (a sale adds 40 on its days), the excluded periods and
// the points each removed (an outage reading 0 for 4 h, 5-minute steps).
TEST_F(ServiceTest, ExplainShowsEventsTheirEffectsAndExcludedPeriods) {
  const double today = std::floor(kT0 / kDay) * kDay;
  clock_.Set(today + 4 * 3600);
  const double outage = today - 2 * kDay + 6 * 3600;
  source_.SetValues([=](double t) {
    if (t >= outage && t < outage + 4 * 3600) return 0.0;
    return Daily(t) + (t >= today - kDay ? 40.0 : 0.0);
  });
  const std::string holidays = "sale=" + forecast::FormatUtc(today - kDay, true) + "|" +
                               forecast::FormatUtc(today, true);
  const std::string excluded =
      forecast::FormatUtc(outage) + "/" + forecast::FormatUtc(outage + 4 * 3600);
  auto e = Explain(Ref({{"holidays", holidays}, {"excludePeriods", excluded}}));
  EXPECT_EQ(e.settings().holidays(), holidays);
  EXPECT_EQ(e.settings().exclude_periods(), excluded);
  ASSERT_EQ(e.settings().events_size(), 2);
  EXPECT_EQ(e.settings().events(1).event(), "sale");
  EXPECT_EQ(e.settings().events(1).first_day(), forecast::FormatUtc(today, true));
  EXPECT_EQ(e.settings().events(1).last_day(), forecast::FormatUtc(today, true));
  ASSERT_EQ(e.model().event_effects_size(), 1) << e.model().DebugString();
  EXPECT_EQ(e.model().event_effects(0).event(), "sale");
  EXPECT_EQ(e.model().event_effects(0).day(), 0);
  EXPECT_NEAR(e.model().event_effects(0).effect(), 40, 6);
  EXPECT_EQ(e.model().event_effects(0).points(), 288u + 49u);  // yesterday, today up to now
  ASSERT_EQ(e.model().excluded_periods_size(), 1);
  EXPECT_EQ(e.model().excluded_periods(0).start(), forecast::FormatUtc(outage));
  EXPECT_EQ(e.model().excluded_periods(0).points_removed(), 48u);
  bool sale_component = false;
  for (const auto& c : e.components()) {
    if (c.name() != "sale") continue;
    sale_component = true;
    ASSERT_GT(c.values_size(), 0);
    EXPECT_NEAR(c.values(0), e.model().event_effects(0).effect(), 1e-9);
  }
  EXPECT_TRUE(sale_component);
  // Still on the sale's day, the forecast carries it: near Daily + 40.
  ASSERT_GT(e.forecast_size(), 0);
  EXPECT_NEAR(e.forecast(0).yhat(), Daily(e.forecast(0).timestamp()) + 40, 6);
}

TEST_F(ServiceTest, QuantileRaisesTheAnswer) {
  // Noise so that the bands are wide enough to matter.
  source_.SetValues([](double t) { return Daily(t) + 10 * std::sin(t * 12.9898); });
  clock_.Set(std::floor(kT0 / kDay) * kDay + 4 * 3600);
  const double median = Value(Ref({{"mode", "forecast"}, {"quantile", "0.5"}}));
  const double high = Value(Ref({{"mode", "forecast"}, {"quantile", "0.95"}}));
  EXPECT_GT(high, median);
}

// The shortfall budget as users see it: Explain's budget (setting, cold start, then
// calibrated with a realised rate), List's fields and the per-object metrics. Refreshes
// every 5 minutes over a day on a clean daily cycle with noise.
TEST_F(ServiceTest, ShortfallBudgetIsReportedInExplainListAndMetrics) {
  source_.SetValues([](double t) { return Daily(t) * (1 + 0.2 * std::sin(t * 12.9898)); });
  auto ref = Ref({{"shortfall", "5%"}, {"horizon", "10m"}});
  EXPECT_GT(Value(ref), 0);
  augur::v1::Explanation e = Explain(ref);
  ASSERT_TRUE(e.has_budget());
  EXPECT_EQ(e.budget().setting(), "5%");
  EXPECT_DOUBLE_EQ(e.budget().budget(), 0.05);
  // Three days of history: the record emulated over it (headroom and trend shapes)
  // chooses from the first answer; nothing was answered yet, so no realised rate.
  EXPECT_TRUE(e.budget().calibrated());
  // (or the model's own 95 % quantile where that is cheaper: the forecast shape's record
  // starts with the live answers)
  EXPECT_THAT(e.budget().shape(), ::testing::AnyOf("forecast", "headroom", "trend"));
  EXPECT_FALSE(e.budget().has_realised_rate());
  EXPECT_THAT(e.detail(), HasSubstr("budget 5%: from the history (the answers' own record has "
                                    "0.0h of the 6.0h it needs)"));
  EXPECT_EQ(e.settings().shortfall(), "5%");
  for (int i = 0; i < 12 * 24; ++i) {
    AdvanceAndTick(300);
    EXPECT_GT(Value(ref), 0);  // KEDA asks: the object stays tracked (idle TTL 15 m)
  }
  e = Explain(ref);
  ASSERT_TRUE(e.has_budget());
  EXPECT_TRUE(e.budget().calibrated());
  EXPECT_TRUE(e.budget().has_realised_rate());
  EXPECT_GT(e.budget().window_seconds(), 6 * 3600);
  EXPECT_GT(e.budget().total_scored_seconds(), 0);
  EXPECT_THAT(e.budget().shape(), ::testing::AnyOf("forecast", "headroom", "trend"));
  EXPECT_THAT(e.detail(), HasSubstr("realised"));
  // The record's own theta: the answered one smoothed over a day for the trend shape,
  // the same for the others.
  if (e.budget().shape() == "trend") {
    EXPECT_GE(e.budget().record_theta(), 0);
  } else {
    EXPECT_DOUBLE_EQ(e.budget().record_theta(), e.budget().theta());
  }
  auto stub = augur::v1::Inspector::NewStub(channel_);
  grpc::ClientContext ctx;
  augur::v1::ListResponse list;
  ASSERT_TRUE(stub->List(&ctx, augur::v1::ListRequest(), &list).ok());
  ASSERT_EQ(list.objects_size(), 1);
  EXPECT_DOUBLE_EQ(list.objects(0).shortfall_budget(), 0.05);
  EXPECT_TRUE(list.objects(0).has_shortfall_realised());
  std::map<std::string, double> got;
  for (const auto& family : metrics_->Collect()) {
    for (const auto& m : family.metric) {
      got[family.name] = family.type == prometheus::MetricType::Counter ? m.counter.value
                                                                         : m.gauge.value;
    }
  }
  EXPECT_DOUBLE_EQ(got["augur_shortfall_budget"], 0.05);
  EXPECT_DOUBLE_EQ(got["augur_shortfall_realised"], e.budget().realised_rate());
  EXPECT_GT(got["augur_shortfall_window_seconds"], 6 * 3600);
  EXPECT_TRUE(std::isfinite(got["augur_headroom"]));
  EXPECT_GT(got["augur_shortfall_scored_seconds_total"], 0);
  EXPECT_LE(got["augur_shortfall_short_seconds_total"], got["augur_shortfall_scored_seconds_total"]);
  // A fixed quantile has no budget: NaN gauges, no budget in Explain.
  auto fixed = Ref({{"quantile", "0.9"}}, "fixed");
  augur::v1::Explanation f = Explain(fixed);
  EXPECT_GT(f.value(), 0);
  EXPECT_FALSE(f.has_budget());
  EXPECT_EQ(f.settings().shortfall(), "");
}

TEST_F(ServiceTest, ShortHistoryFallsBackToCurrent) {
  source_.SetDataStart(kT0 - 1800);  // the metric appeared 30 minutes ago
  auto ref = Ref();
  EXPECT_NEAR(Value(ref), Daily(kT0), 1e-3);
  auto e = Explain(ref);
  EXPECT_EQ(e.reason(), "short_history");
  EXPECT_TRUE(e.fallback());
  EXPECT_THAT(e.detail(), HasSubstr("minHistory 1h"));
}

TEST_F(ServiceTest, ForecastErrorGateFallsBackAfterEnoughScoredForecasts) {
  source_.SetValues([](double t) { return Daily(t) + 10 * std::sin(t * 12.9898); });
  auto ref = Ref({{"maxForecastError", "0.001"}});
  Value(ref);
  for (int i = 0; i < 12; ++i) {  // >= 10 observed targets scored
    AdvanceAndTick(300);
    Value(ref);
  }
  auto e = Explain(ref);
  EXPECT_EQ(e.reason(), "forecast_error") << e.detail();
  EXPECT_TRUE(e.model().has_error_ratio());
  // The fallback answers the current value plus the headroom or rise the budget chose
  // (from the record emulated over the history: it is calibrated from the first answer).
  ASSERT_TRUE(e.budget().calibrated());
  EXPECT_NEAR(e.value(), e.current() + e.budget().headroom(), 1e-3);
  // The same object with the default gate (1.0) keeps forecasting: the model beats naive.
  auto ok = Ref();
  Value(ok);
  for (int i = 0; i < 12; ++i) {  // >= 10 observed targets scored
    AdvanceAndTick(300);
    Value(ok);
  }
  auto e2 = Explain(ok);
  ASSERT_TRUE(e2.model().has_error_ratio());
  EXPECT_LT(e2.model().error_ratio(), 1.0);
  EXPECT_FALSE(e2.fallback()) << e2.detail();
}

TEST_F(ServiceTest, RefreshesAreIncrementalAndRefitsFollowRefitInterval) {
  auto ref = Ref({{"refitInterval", "20m"}});
  Value(ref);
  ASSERT_EQ(source_.calls().size(), 1u);
  EXPECT_DOUBLE_EQ(source_.calls()[0].start, kT0 - 3 * kDay);
  EXPECT_DOUBLE_EQ(source_.calls()[0].end, kT0);
  EXPECT_DOUBLE_EQ(source_.calls()[0].step, 300);
  const double first_fit = Explain(ref).model().fitted_at();

  AdvanceAndTick(60);  // not due yet (refreshInterval 5m)
  EXPECT_EQ(source_.calls().size(), 1u);
  AdvanceAndTick(240);
  ASSERT_EQ(source_.calls().size(), 2u);
  EXPECT_DOUBLE_EQ(source_.calls()[1].start, kT0 + 300);  // only the new step
  EXPECT_DOUBLE_EQ(source_.calls()[1].end, kT0 + 300);
  EXPECT_DOUBLE_EQ(Explain(ref).model().fitted_at(), first_fit);  // no refit yet
  EXPECT_EQ(Explain(ref).history().points(), 3u * 288 + 1);  // trimmed to 3d

  for (int i = 0; i < 3; ++i) AdvanceAndTick(300);
  EXPECT_GT(Explain(ref).model().fitted_at(), first_fit);  // refit after 20m
}

TEST_F(ServiceTest, RefreshFasterThanStepRereadsTheNewestStep) {
  auto ref = Ref({{"refreshInterval", "1m"}});  // step 5m
  Value(ref);
  const auto points = Explain(ref).history().points();
  AdvanceAndTick(60);
  ASSERT_EQ(source_.calls().size(), 2u);
  EXPECT_DOUBLE_EQ(source_.calls()[1].start, kT0);  // the newest step again
  EXPECT_DOUBLE_EQ(source_.calls()[1].end, kT0 + 60);
  // Not counted twice: only the oldest step left the 3 d window.
  EXPECT_EQ(Explain(ref).history().points(), points - 1);
  // So an outage is seen at the next refresh, not at the next step.
  source_.Fail(absl::UnavailableError("connection refused"));
  AdvanceAndTick(60);
  EXPECT_THAT(Explain(ref).object().last_error(), HasSubstr("connection refused"));
}

TEST_F(ServiceTest, StaleAnswersBecomeUnavailableNamingTheCauseAndRecover) {
  auto ref = Ref();
  const double before = Value(ref);
  source_.Fail(absl::UnavailableError("connection refused (127.0.0.1:9090)"));
  AdvanceAndTick(300);
  // Still younger than --max-staleness (2m)? No: 300 s > 120 s, so first check a
  // shorter outage with a fresh object state.
  externalscaler::GetMetricsResponse resp;
  grpc::Status s = GetMetrics(ref, "augur-web", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(),
              AllOf(HasSubstr("shop/web"), HasSubstr("--max-staleness"),
                    HasSubstr("connection refused")));
  bool active;
  EXPECT_EQ(IsActive(ref, &active).error_code(), grpc::StatusCode::UNAVAILABLE);

  source_.Recover();
  AdvanceAndTick(300);
  EXPECT_TRUE(GetMetrics(ref, "augur-web", &resp).ok());
  EXPECT_GT(before, 0);
}

TEST_F(ServiceTest, LastAnswerIsKeptWhileYoungerThanMaxStaleness) {
  TearDown();
  TrackerOptions o = Options();
  o.max_staleness_seconds = 900;
  Build(std::make_unique<InlineExecutor>(), o);
  auto ref = Ref();
  const double before = Value(ref);
  source_.Fail(absl::UnavailableError("connection refused"));
  AdvanceAndTick(300);
  AdvanceAndTick(300);
  EXPECT_DOUBLE_EQ(Value(ref), before);  // 600 s old: kept
  bool active;
  EXPECT_TRUE(IsActive(ref, &active).ok());
  auto e = Explain(ref);
  EXPECT_THAT(e.object().last_error(), HasSubstr("connection refused"));
  AdvanceAndTick(301);
  externalscaler::GetMetricsResponse resp;
  EXPECT_EQ(GetMetrics(ref, "augur-web", &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceTest, SourceErrorWithoutAnyAnswerIsReturned) {
  source_.Fail(absl::InvalidArgumentError(
      "the query returned 3 series, expected exactly one: aggregate it, e.g. sum(x)"));
  externalscaler::GetMetricsResponse resp;
  grpc::Status s = GetMetrics(Ref(), "augur-web", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), AllOf(HasSubstr("shop/web"), HasSubstr("3 series"),
                                       HasSubstr("sum(")));
}

TEST_F(ServiceTest, AnExceptionInARefreshBecomesAnErrorNotACrash) {
  source_.SetThrow(true);
  externalscaler::GetMetricsResponse resp;
  grpc::Status s = GetMetrics(Ref(), "augur-web", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(s.error_message(), HasSubstr("fake source exploded"));
  source_.SetThrow(false);
  AdvanceAndTick(300);
  EXPECT_TRUE(GetMetrics(Ref(), "augur-web", &resp).ok());  // and the object recovers
}

TEST_F(ServiceTest, EmptyResultFollowsIgnoreNullValues) {
  source_.SetDataStart(1e300);  // no data at all
  EXPECT_DOUBLE_EQ(Value(Ref()), 0);
  externalscaler::GetMetricsResponse resp;
  grpc::Status s = GetMetrics(Ref({{"ignoreNullValues", "false"}}), "augur-web", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("no data"));
}

TEST_F(ServiceTest, NanSamplesNeverEnterTheModel) {
  source_.SetValues([](double t) {
    return std::fmod(t, 3600) == 0 ? std::numeric_limits<double>::quiet_NaN() : Daily(t);
  });
  auto ref = Ref();
  const double v = Value(ref);
  EXPECT_TRUE(std::isfinite(v));
  auto e = Explain(ref);
  EXPECT_EQ(e.history().points(), 3u * 288 + 1 - 72);  // the 72 NaN hours left out
}

// The production default (2 s), on the fake clock: the first call for a cold object
// waits until exactly 2 s of the clock's monotonic time have passed, not a moment less,
// then answers UNAVAILABLE naming the flag; the call's recorded duration is those 2 s.
TEST_F(ServiceTest, FirstCallWaitsTheDefaultFirstAnswerTimeoutThenUnavailable) {
  TearDown();
  auto manual = std::make_unique<ManualExecutor>();
  ManualExecutor* executor = manual.get();
  TrackerOptions options = Options();
  options.first_answer_timeout = TrackerOptions().first_answer_timeout;
  ASSERT_EQ(options.first_answer_timeout, std::chrono::seconds(2));
  Build(std::move(manual), options);
  const size_t idle_waits = clock_.waiters();

  std::atomic<bool> returned{false};
  grpc::Status status;
  std::thread caller([&] {
    externalscaler::GetMetricsResponse resp;
    status = GetMetrics(Ref(), "augur-web", &resp);
    returned = true;
  });
  // The call waits on the clock (its first refresh is queued, not run).
  ASSERT_TRUE(clock_.AwaitWaiters(idle_waits + 1));
  EXPECT_EQ(executor->pending(), 1u);
  clock_.Advance(1.999);
  // Still waiting: Advance wakes only the waits it makes due, and this one is not.
  EXPECT_EQ(clock_.waiters(), idle_waits + 1);
  EXPECT_FALSE(returned);
  clock_.Advance(0.001);
  caller.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("no answer yet for shop/web"),
                    HasSubstr("still running after 2s (--first-answer-timeout)")));
  double recorded = -1;
  for (const auto& family : metrics_->Collect()) {
    if (family.name != "augur_grpc_request_duration_seconds") continue;
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) {
        if (l.name == "method" && l.value == "GetMetrics") recorded = m.histogram.sample_sum;
      }
    }
  }
  EXPECT_DOUBLE_EQ(recorded, 2.0);

  executor->RunAll();
  externalscaler::GetMetricsResponse resp;
  EXPECT_TRUE(GetMetrics(Ref(), "augur-web", &resp).ok());
}

// A first answer that comes within the timeout ends the wait at once (no clock advance).
TEST_F(ServiceTest, FirstCallEndsWithTheFirstAnswerWithinTheTimeout) {
  TearDown();
  auto manual = std::make_unique<ManualExecutor>();
  ManualExecutor* executor = manual.get();
  TrackerOptions options = Options();
  options.first_answer_timeout = std::chrono::seconds(2);
  Build(std::move(manual), options);
  const size_t idle_waits = clock_.waiters();
  grpc::Status status;
  std::thread caller([&] {
    externalscaler::GetMetricsResponse resp;
    status = GetMetrics(Ref(), "augur-web", &resp);
  });
  ASSERT_TRUE(clock_.AwaitWaiters(idle_waits + 1));
  executor->RunAll();
  caller.join();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

void ServiceTest::ExpectFirstCallsWaitOffTheRpcThreads(ManualExecutor* executor) {
  // A warm object first.
  externalscaler::GetMetricSpecResponse spec;
  ASSERT_TRUE(GetMetricSpec(Ref({}, "warm"), &spec).ok());
  executor->RunAll();
  // More first calls for a cold object than there are waiter threads.
  constexpr int kCalls = 12;
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      externalscaler::GetMetricsResponse resp;
      statuses[i] = GetMetrics(Ref({}, "cold"), "augur-cold", &resp);
    });
  }
  // The first call tracks the object and queues its first refresh.
  ASSERT_TRUE(executor->WaitForPending(1));
  ASSERT_EQ(executor->pending(), 1u);
  // The cold calls wait, but they hold no gRPC thread: the warm object answers now.
  bool active = false;
  EXPECT_TRUE(IsActive(Ref({}, "warm"), &active).ok());
  externalscaler::GetMetricsResponse warm;
  EXPECT_TRUE(GetMetrics(Ref({}, "warm"), "augur-warm", &warm).ok());
  executor->RunAll();  // the cold object's first answer ends every wait
  for (auto& t : callers) t.join();
  for (int i = 0; i < kCalls; ++i) EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
}

TEST_F(ServiceTest, FirstCallsWaitOffTheGrpcThreadsWhileWarmObjectsAreAnswered) {
  ExpectFirstCallsWaitOffTheRpcThreads(RebuildWithManualRefreshes());
}

TEST_F(ServiceTest, OneRpcThreadAnswersWarmObjectsWhileFirstCallsWait) {
  ExpectFirstCallsWaitOffTheRpcThreads(RebuildWithManualRefreshes(/*rpc_threads=*/1));
}

TEST_F(ServiceTest, RpcThreadsOutsideTheirRangeAreInvalid) {
  for (int threads : {0, 65}) {
    ServerOptions so;
    so.listen = "";
    so.rpc_threads = threads;
    auto server = Server::Start(so, *tracker_, clock_, metrics_.get());
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << threads;
    EXPECT_THAT(std::string(server.status().message()), HasSubstr("--rpc-threads"));
  }
}

TEST_F(ServiceTest, ShutdownEndsCallsWaitingForAFirstAnswer) {
  ManualExecutor* executor = RebuildWithManualRefreshes();
  grpc::Status status;
  std::thread caller([&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(50));
    externalscaler::GetMetricsRequest req;
    *req.mutable_scaledobjectref() = Ref({}, "cold");
    req.set_metricname("augur-cold");
    externalscaler::GetMetricsResponse resp;
    status = stub_->GetMetrics(&ctx, req, &resp);
  });
  // The call tracks the object and queues its first refresh, then waits.
  ASSERT_TRUE(executor->WaitForPending(1));
  ASSERT_EQ(executor->pending(), 1u);
  server_->Shutdown(std::chrono::seconds(20));
  caller.join();
  // Ended by the shutdown (an answer naming it, or the call cancelled with the server),
  // not by the client's deadline; no refresh ever ran.
  EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_FALSE(status.ok());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().find("no answer yet") != std::string::npos) {
    EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
  }
  executor->RunAll();
}

TEST_F(ServiceTest, DrainAnswersShuttingDownWithReadinessNotServingAndEndsStreams) {
  const double warm = Value(Ref());
  grpc::ClientContext stream_ctx;
  stream_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub_->StreamMetricSpec(&stream_ctx, Ref());
  externalscaler::GetMetricSpecResponse spec;
  ASSERT_TRUE(stream->Read(&spec));  // open
  EXPECT_TRUE(server_->ready());

  server_->BeginDrain();
  EXPECT_FALSE(server_->ready());
  // The open stream ends cleanly while the server still serves.
  EXPECT_FALSE(stream->Read(&spec));
  const grpc::Status end = stream->Finish();
  EXPECT_TRUE(end.ok()) << end.error_code() << ": " << end.error_message();
  for (const char* service : {"readiness", "", "externalscaler.ExternalScaler"}) {
    auto status = scaler_testing::HealthCheck(channel_, service);
    ASSERT_TRUE(status.ok()) << service << ": " << status.status();
    EXPECT_EQ(*status, 2) << service;  // NOT_SERVING
  }
  auto liveness = scaler_testing::HealthCheck(channel_, "liveness");
  ASSERT_TRUE(liveness.ok()) << liveness.status();
  EXPECT_EQ(*liveness, 1);  // SERVING: alive, leaving on purpose

  // Every call, for a warm object or a new one: UNAVAILABLE at once, naming its method.
  for (const auto& ref : {Ref(), Ref({}, "new")}) {
    externalscaler::GetMetricsResponse values;
    grpc::Status s = GetMetrics(ref, "augur-" + ref.name(), &values);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(s.error_message(), HasSubstr("GetMetrics: augur is shutting down"));
    EXPECT_EQ(values.metricvalues_size(), 0);
    s = GetMetricSpec(ref, &spec);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(s.error_message(), HasSubstr("GetMetricSpec: augur is shutting down"));
    bool active = true;
    s = IsActive(ref, &active);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(s.error_message(), HasSubstr("IsActive: augur is shutting down"));
    grpc::ClientContext ctx;
    auto late = stub_->StreamIsActive(&ctx, ref);
    externalscaler::IsActiveResponse message;
    EXPECT_FALSE(late->Read(&message));
    s = late->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(s.error_message(), HasSubstr("StreamIsActive: augur is shutting down"));
  }
  EXPECT_EQ(tracker_->size(), 1u) << "the drain tracks nothing new";
  // The object keeps its answer (the Inspector still shows it).
  EXPECT_NEAR(Explain(Ref()).value(), warm, 1e-9);
  server_->BeginDrain();  // idempotent
  server_->Shutdown(std::chrono::seconds(1));
}

TEST_F(ServiceTest, OneRefreshInFlightPerObjectAndOthersProceed) {
  TearDown();
  auto manual = std::make_unique<ManualExecutor>();
  ManualExecutor* executor = manual.get();
  Build(std::move(manual));
  externalscaler::GetMetricSpecResponse r;
  ASSERT_TRUE(GetMetricSpec(Ref({}, "slow"), &r).ok());
  EXPECT_EQ(executor->pending(), 1u);
  for (int i = 0; i < 5; ++i) AdvanceAndTick(600);  // the slow one is still in flight
  EXPECT_EQ(executor->pending(), 1u);
  executor->RunAll();
  ASSERT_TRUE(GetMetricSpec(Ref({}, "other"), &r).ok());
  executor->RunAll();
  ASSERT_TRUE(GetMetricSpec(Ref({}, "slow"), &r).ok());  // still in use
  AdvanceAndTick(300);
  EXPECT_EQ(executor->pending(), 2u);  // one each
  executor->RunAll();
}

TEST_F(ServiceTest, IdleObjectsAreDropped) {
  Value(Ref());
  EXPECT_EQ(tracker_->size(), 1u);
  AdvanceAndTick(600);
  EXPECT_EQ(tracker_->size(), 1u);
  AdvanceAndTick(301);  // 901 s since the last call
  EXPECT_EQ(tracker_->size(), 0u);
}

TEST_F(ServiceTest, DifferentMetadataIsADifferentObject) {
  Value(Ref());
  Value(Ref({{"quantile", "0.9"}}));
  Value(Ref());
  EXPECT_EQ(tracker_->size(), 2u);
}

// KEDA up to v2.17 acts on a `false` from StreamIsActive (with a stale copy of the
// ScaledObject): the stream sends nothing until the object is active, then `true` on
// each inactive -> active transition, never `false`.
TEST_F(ServiceTest, StreamIsActiveSendsNothingUntilActiveThenOnlyActivations) {
  // A metric whose level the test controls.
  double level = 1;
  std::mutex level_mu;
  auto set_level = [&](double v) {
    std::lock_guard<std::mutex> lock(level_mu);
    level = v;
  };
  source_.SetValues([&](double) {
    std::lock_guard<std::mutex> lock(level_mu);
    return level;
  });
  auto ref = Ref({{"activationThreshold", "5"}, {"minHistory", "0s"}});
  // The object has an (inactive) answer before the stream opens, computed on this thread
  // (the refreshes run inline where the tracker is ticked).
  bool active = true;
  ASSERT_TRUE(IsActive(ref, &active).ok());
  EXPECT_FALSE(active);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub_->StreamIsActive(&ctx, ref);
  // Inactive answers: the stream wakes for each and sends nothing (the first message read
  // below is the `true` that follows).
  for (int i = 0; i < 3; ++i) {
    AdvanceAndTick(300);
    ASSERT_TRUE(IsActive(ref, &active).ok());
    EXPECT_FALSE(active);
  }
  set_level(10);
  AdvanceAndTick(300);  // inactive -> active
  externalscaler::IsActiveResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_TRUE(msg.result());

  set_level(1);
  AdvanceAndTick(300);  // active -> inactive: nothing is sent
  AdvanceAndTick(300);
  set_level(10);
  AdvanceAndTick(300);  // active again
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_TRUE(msg.result());  // not a `false` in between

  server_->Shutdown(std::chrono::seconds(5));
  EXPECT_FALSE(reader->Read(&msg));  // the stream ends with the server
  // The server ends the stream with OK; over the in-process channel that status can lose
  // a race with the channel's own shutdown (seen under ASan), which reports UNAVAILABLE.
  grpc::Status end = reader->Finish();
  EXPECT_TRUE(end.ok() || end.error_code() == grpc::StatusCode::UNAVAILABLE)
      << end.error_code() << " " << end.error_message();
}

TEST_F(ServiceTest, StreamIsActiveSendsTrueAtOnceForAnActiveObject) {
  auto ref = Ref({{"activationThreshold", "1"}});  // the daily cycle stays above 50
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub_->StreamIsActive(&ctx, ref);
  externalscaler::IsActiveResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_TRUE(msg.result());
  ctx.TryCancel();
  reader->Finish();
}

TEST_F(ServiceTest, StreamIsActiveRejectsBadMetadata) {
  grpc::ClientContext ctx;
  auto reader = stub_->StreamIsActive(&ctx, Ref({{"mode", "fast"}}));
  externalscaler::IsActiveResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, StreamIsActiveEndsWhenTheClientLeaves) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  auto reader = stub_->StreamIsActive(ctx.get(), Ref({{"activationThreshold", "1"}}));
  externalscaler::IsActiveResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ctx->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The handler noticed: the server shuts down without waiting on it.
  server_->Shutdown(std::chrono::seconds(5));
}

TEST_F(ServiceTest, StreamMetricSpecSendsTheSpecAtOnceConsistentWithGetMetricSpec) {
  auto ref = Ref({{"metricName", "shop-rps"}});
  externalscaler::GetMetricSpecResponse msg, unary;
  ASSERT_TRUE(GetMetricSpec(ref, &unary).ok());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub_->StreamMetricSpec(&ctx, ref);
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.SerializeAsString(), unary.SerializeAsString());
  ASSERT_EQ(msg.metricspecs_size(), 1);
  EXPECT_EQ(msg.metricspecs(0).metricname(), "shop-rps");
  server_->Shutdown(std::chrono::seconds(5));
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status end = reader->Finish();
  // The handler ends the stream with OK; over the in-process transport the trailing
  // status can lose the race with the transport's own shutdown ("Transport closed").
  EXPECT_TRUE(end.ok() || end.error_code() == grpc::StatusCode::UNAVAILABLE)
      << end.error_code() << " " << end.error_message();
}

TEST_F(ServiceTest, HealthServicesAreServingAndReflectionListsOurs) {
  for (const char* service : {"", "liveness", "readiness"}) {
    auto status = scaler_testing::HealthCheck(channel_, service);
    ASSERT_TRUE(status.ok()) << service << ": " << status.status();
    EXPECT_EQ(*status, 1) << service;  // SERVING
  }
  bool found = false;
  auto services = scaler_testing::ReflectionListServices(channel_, "augur.v1.Inspector", &found);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, ::testing::IsSupersetOf({"externalscaler.ExternalScaler",
                                                  "augur.v1.Inspector", "grpc.health.v1.Health"}));
  EXPECT_TRUE(found);
}

TEST_F(ServiceTest, InspectorListsTrackedObjects) {
  Value(Ref());
  externalscaler::GetMetricSpecResponse r;
  ASSERT_TRUE(GetMetricSpec(Ref({{"mode", "shadow"}}, "api"), &r).ok());
  auto stub = augur::v1::Inspector::NewStub(channel_);
  grpc::ClientContext ctx;
  augur::v1::ListResponse list;
  ASSERT_TRUE(stub->List(&ctx, augur::v1::ListRequest(), &list).ok());
  ASSERT_EQ(list.objects_size(), 2);
  EXPECT_EQ(list.objects(0).name(), "api");
  EXPECT_EQ(list.objects(0).mode(), "shadow");
  EXPECT_EQ(list.objects(0).reason(), "shadow");
  EXPECT_EQ(list.objects(1).name(), "web");
  EXPECT_TRUE(list.objects(1).has_answer());
  EXPECT_EQ(list.objects(1).status(), "ok");
}

TEST_F(ServiceTest, InspectorExplainsWithoutSecrets) {
  auto ref = Ref({{"serverAddress", "https://user:hunter2@prometheus:9090"},
                  {"customHeaders", "Authorization=Bearer hunter2"}});
  auto e = Explain(ref);
  EXPECT_EQ(e.settings().server_address(), "https://prometheus:9090");
  EXPECT_THAT(e.DebugString(), ::testing::Not(HasSubstr("hunter2")));
  EXPECT_TRUE(e.model().fitted());
  EXPECT_GT(e.history().points(), 800u);
  EXPECT_FALSE(e.components().empty());
  ASSERT_GT(e.forecast_size(), 0);
  EXPECT_LE(e.forecast(0).lower(), e.forecast(0).yhat());
  EXPECT_GE(e.forecast(0).upper(), e.forecast(0).yhat());
  EXPECT_FALSE(e.detail().empty());
}

TEST_F(ServiceTest, MetricsExportPerObjectAndPerProcessSeries) {
  Value(Ref());
  externalscaler::GetMetricsResponse r;
  GetMetrics(Ref(), "nope", &r);
  std::map<std::string, double> seen;
  for (const auto& family : metrics_->Collect()) {
    for (const auto& m : family.metric) {
      std::string labels;
      for (const auto& l : m.label) labels += l.name + "=" + l.value + ",";
      double v = m.gauge.value + m.counter.value + m.histogram.sample_count;
      seen[family.name + "{" + labels + "}"] = v;
    }
  }
  const std::string trigger =
      ParseSpec("web", "shop", ToObjectRef(Ref()).metadata, {"http://prometheus:9090"})->trigger_id;
  const std::string obj = "metric=augur-web,namespace=shop,scaledobject=web,trigger=" + trigger + ",";
  EXPECT_TRUE(seen.count("augur_returned_value{" + obj + "}"));
  EXPECT_TRUE(seen.count("augur_forecast_peak{" + obj + "}"));
  EXPECT_TRUE(seen.count("augur_observed_value{" + obj + "}"));
  EXPECT_TRUE(seen.count("augur_model_error{" + obj + "}"));
  EXPECT_TRUE(seen.count("augur_last_fit_duration_seconds{" + obj + "}"));
  // The answer's reason is 1, every other reason 0 (with three days of history the
  // budget's record is emulated over it, so the reason is the shape it chose).
  const std::string reason = Explain(Ref()).reason();
  EXPECT_THAT(reason, ::testing::AnyOf("forecast", "headroom", "trend"));
  EXPECT_EQ(seen["augur_answer_reason{metric=augur-web,namespace=shop,reason=" + reason +
                 ",scaledobject=web,trigger=" + trigger + ",}"],
            1);
  EXPECT_EQ(seen["augur_answer_reason{metric=augur-web,namespace=shop,reason=short_history,"
                 "scaledobject=web,trigger=" + trigger + ",}"],
            0);
  EXPECT_EQ(seen["augur_tracked_objects{}"], 1);
  EXPECT_EQ(seen["augur_grpc_requests_total{code=ok,method=GetMetrics,}"], 1);
  EXPECT_EQ(seen["augur_grpc_requests_total{code=not_found,method=GetMetrics,}"], 1);
  EXPECT_EQ(seen["augur_fits_total{result=ok,}"], 1);
  EXPECT_TRUE(seen.count("augur_prometheus_query_duration_seconds{}"));
}

}  // namespace
}  // namespace scaler
