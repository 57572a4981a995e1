#include "scaler/log.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>

#include "absl/status/status.h"

namespace scaler {
namespace {

std::string Timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

// Escapes for both logfmt's quoted values and JSON strings (the same rules suffice).
void AppendEscaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

void AppendLogfmt(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out += ' ';
  out += key;
  out += '=';
  if (NeedsQuotes(value)) {
    out += '"';
    AppendEscaped(out, value);
    out += '"';
  } else {
    out += value;
  }
}

void AppendJson(std::string& out, std::string_view key, std::string_view value) {
  out += out.size() > 1 ? ",\"" : "\"";
  AppendEscaped(out, key);
  out += "\":\"";
  AppendEscaped(out, value);
  out += '"';
}

struct Global {
  std::mutex mu;
  std::shared_ptr<Logger> logger = std::make_shared<Logger>(std::cerr, LogLevel::kInfo,
                                                            LogFormat::kText);
};

Global& GetGlobal() {
  static Global* g = new Global();  // never destroyed: logging works during shutdown
  return *g;
}

std::shared_ptr<Logger> CurrentLogger() {
  Global& g = GetGlobal();
  std::lock_guard<std::mutex> lock(g.mu);
  return g.logger;
}

}  // namespace

LogField::LogField(std::string_view k, double v) : key(k) {
  if (std::isnan(v)) {
    value = "NaN";
  } else if (std::isinf(v)) {
    value = v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", v);
    value = buf;
  }
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn" || text == "warning") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return absl::InvalidArgumentError("invalid log level \"" + std::string(text) +
                                    "\"; expected debug, info, warn or error");
}

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError("invalid log format \"" + std::string(text) +
                                    "\"; expected text or json");
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

Logger::Logger(std::ostream& out, LogLevel min_level, LogFormat format, WallClock wall_clock)
    : out_(out), min_level_(min_level), format_(format), wall_clock_(std::move(wall_clock)) {
  if (!wall_clock_) wall_clock_ = [] { return std::chrono::system_clock::now(); };
}

std::string Logger::Format(LogLevel level, std::string_view event,
                           const std::vector<LogField>& fields) const {
  std::string line;
  std::string ts = Timestamp(wall_clock_());
  if (format_ == LogFormat::kJson) {
    line = "{";
    AppendJson(line, "ts", ts);
    AppendJson(line, "level", LogLevelName(level));
    AppendJson(line, "event", event);
    for (const LogField& f : fields) AppendJson(line, f.key, f.value);
    line += '}';
  } else {
    AppendLogfmt(line, "ts", ts);
    AppendLogfmt(line, "level", LogLevelName(level));
    AppendLogfmt(line, "event", event);
    for (const LogField& f : fields) AppendLogfmt(line, f.key, f.value);
  }
  return line;
}

void Logger::Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  Log(level, event, std::vector<LogField>(fields));
}

void Logger::Log(LogLevel level, std::string_view event, const std::vector<LogField>& fields) {
  if (!Enabled(level)) return;
  std::string line = Format(level, event, fields);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  out_ << line << std::flush;
}

void ConfigureLogging(LogLevel min_level, LogFormat format) {
  ConfigureLogging(min_level, format, std::cerr);
}

void ConfigureLogging(LogLevel min_level, LogFormat format, std::ostream& out) {
  Global& g = GetGlobal();
  auto logger = std::make_shared<Logger>(out, min_level, format);
  std::lock_guard<std::mutex> lock(g.mu);
  g.logger = std::move(logger);
}

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  std::shared_ptr<Logger> logger = CurrentLogger();
  if (logger->Enabled(level)) logger->Log(level, event, fields);
}

void Log(LogLevel level, std::string_view event, const std::vector<LogField>& fields) {
  std::shared_ptr<Logger> logger = CurrentLogger();
  if (logger->Enabled(level)) logger->Log(level, event, fields);
}

bool LogEnabled(LogLevel level) { return CurrentLogger()->Enabled(level); }

std::string RedactUrl(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  size_t authority = scheme + 3;
  size_t end = url.find_first_of("/?#", authority);
  if (end == std::string_view::npos) end = url.size();
  size_t at = url.rfind('@', end);
  if (at == std::string_view::npos || at < authority) return std::string(url);
  return std::string(url.substr(0, authority)) + std::string(url.substr(at + 1));
}

}  // namespace scaler
