#include "scaler/prometheus_metric_source.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "scaler/log.h"

namespace scaler {
namespace {

// Whether normalized `url` is `entry` (a base URL, or a prefix ending in '*').
bool Matches(const std::string& url, const std::string& entry) {
  if (!entry.empty() && entry.back() == '*') {
    const std::string prefix = NormalizeServerUrl(entry.substr(0, entry.size() - 1));
    return url.compare(0, prefix.size(), prefix) == 0;
  }
  return url == NormalizeServerUrl(entry);
}

// scheme://host[:port] of a normalized URL.
std::string Origin(const std::string& normalized) {
  const size_t scheme_end = normalized.find("://");
  if (scheme_end == std::string::npos) return normalized;
  const size_t path = normalized.find('/', scheme_end + 3);
  return path == std::string::npos ? normalized : normalized.substr(0, path);
}

}  // namespace

std::string NormalizeServerUrl(const std::string& url) {
  const std::string u(absl::StripTrailingAsciiWhitespace(url));
  const size_t scheme_end = u.find("://");
  if (scheme_end == std::string::npos) return u;
  const std::string scheme = absl::AsciiStrToLower(u.substr(0, scheme_end));
  std::string rest = u.substr(scheme_end + 3);
  size_t path = rest.find_first_of("/?#");
  std::string authority = path == std::string::npos ? rest : rest.substr(0, path);
  std::string tail = path == std::string::npos ? "" : rest.substr(path);
  const size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  absl::AsciiStrToLower(&authority);
  while (!tail.empty() && tail.back() == '/') tail.pop_back();
  return scheme + "://" + authority + tail;
}

PrometheusMetricSource::PrometheusMetricSource(
    PrometheusSourceOptions options, std::shared_ptr<promclient::HttpTransport> transport)
    : options_(std::move(options)), transport_(std::move(transport)) {}

absl::Status PrometheusMetricSource::Validate(const MetricQuery& query) const {
  const std::string url =
      NormalizeServerUrl(query.server_address.empty() ? options_.default_url : query.server_address);
  if (url.empty()) {
    return absl::InvalidArgumentError(
        "no Prometheus server: set the serverAddress metadata key or augur's --prometheus-url");
  }
  if (!options_.default_url.empty() && url == NormalizeServerUrl(options_.default_url)) {
    return absl::OkStatus();
  }
  for (const auto* list : {&options_.allowed_servers, &options_.insecure_servers}) {
    for (const std::string& allowed : *list) {
      if (Matches(url, allowed)) return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(
      "serverAddress '" + RedactUrl(url) +
      "' is not allowed: augur queries only --prometheus-url and the servers given with "
      "--allow-server (add it there to allow it)");
}

bool PrometheusMetricSource::Insecure(const std::string& url) const {
  if (options_.insecure_skip_verify && !options_.default_url.empty() &&
      Origin(url) == Origin(NormalizeServerUrl(options_.default_url))) {
    return true;
  }
  for (const std::string& entry : options_.insecure_servers) {
    if (Matches(url, entry)) return true;
  }
  return false;
}

absl::StatusOr<std::shared_ptr<promclient::PrometheusClient>> PrometheusMetricSource::ClientFor(
    const std::string& url) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clients_.find(url);
  if (it != clients_.end()) return it->second;

  promclient::ClientOptions o;
  o.base_url = url;
  o.timeout = options_.default_timeout;
  o.tls.insecure_skip_verify = Insecure(url);
  const bool is_default = !options_.default_url.empty() &&
                          Origin(url) == Origin(NormalizeServerUrl(options_.default_url));
  if (is_default) {
    o.tls.ca_file = options_.ca_file;
    o.tls.client_cert_file = options_.cert_file;
    o.tls.client_key_file = options_.key_file;
    o.bearer_token_file = options_.bearer_token_file;
    o.basic_auth_user = options_.basic_auth_user;
    o.basic_auth_password_file = options_.basic_auth_password_file;
  }
  auto client = promclient::PrometheusClient::Create(o, transport_);
  if (!client.ok()) return client.status();
  std::shared_ptr<promclient::PrometheusClient> shared(std::move(*client));
  clients_.emplace(url, shared);
  return shared;
}

absl::StatusOr<forecast::Series> PrometheusMetricSource::Fetch(const MetricQuery& query,
                                                               double start, double end,
                                                               double step_seconds) {
  absl::Status allowed = Validate(query);
  if (!allowed.ok()) return allowed;
  const std::string url =
      NormalizeServerUrl(query.server_address.empty() ? options_.default_url : query.server_address);
  auto client = ClientFor(url);
  if (!client.ok()) return client.status();

  promclient::RequestOptions request;
  request.headers = query.headers;
  request.params = query.params;
  if (!query.prom_namespace.empty()) request.params.emplace_back("namespace", query.prom_namespace);
  request.timeout = query.timeout;
  auto result = (*client)->QueryRange(query.query, start, end, step_seconds, request);
  if (!result.ok()) return result.status();
  if (result->series.size() > 1) {
    return absl::InvalidArgumentError(
        "the query returned " + std::to_string(result->series.size()) +
        " series, expected exactly one: aggregate it, e.g. sum(" + query.query + ")");
  }
  forecast::Series out;
  if (result->series.empty()) return out;
  const auto& samples = result->series.front().samples;
  out.timestamps.reserve(samples.size());
  out.values.reserve(samples.size());
  for (const promclient::Sample& s : samples) {
    out.timestamps.push_back(s.timestamp);
    out.values.push_back(s.value);
  }
  return out;
}

}  // namespace scaler
