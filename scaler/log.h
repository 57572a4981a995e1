#pragma once
// Structured logging for the augur server: one line per event, as logfmt text
// (`ts=... level=info event=fit namespace=shop scaledobject=web seconds=0.002`) or as a
// JSON object per line (--log-format json) for log pipelines.
//
// Callers never pass secrets (tokens, passwords, URL user info): RedactUrl() strips
// the user info of URLs before they are logged.
//
// Thread-safety: Logger and the process-wide Log() may be called from any thread; each
// line is written whole.

#include <chrono>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace scaler {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// "debug", "info", "warn" (or "warning"), "error".
// Errors: kInvalidArgument naming the value and the accepted ones.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text);
// "text" or "json". Errors: kInvalidArgument naming the value and the accepted ones.
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text);
const char* LogLevelName(LogLevel level);

struct LogField {
  std::string_view key;
  std::string value;
  LogField(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, double v);
  LogField(std::string_view k, long long v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, size_t v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
};

class Logger {
 public:
  using WallClock = std::function<std::chrono::system_clock::time_point()>;
  // `out` must outlive the logger. `wall_clock` stamps the lines (default: the system
  // clock; tests pass a fixed one).
  Logger(std::ostream& out, LogLevel min_level, LogFormat format, WallClock wall_clock = {});

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields);
  void Log(LogLevel level, std::string_view event, const std::vector<LogField>& fields);

  // The line as it would be written, without the trailing newline (for tests).
  std::string Format(LogLevel level, std::string_view event,
                     const std::vector<LogField>& fields) const;

 private:
  std::ostream& out_;
  LogLevel min_level_;
  LogFormat format_;
  WallClock wall_clock_;
  std::mutex mu_;
};

// The process-wide logger used by Log(): stderr, info, text until configured.
// ConfigureLogging is meant to be called once, early in main().
void ConfigureLogging(LogLevel min_level, LogFormat format);
void ConfigureLogging(LogLevel min_level, LogFormat format, std::ostream& out);
void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
void Log(LogLevel level, std::string_view event, const std::vector<LogField>& fields);
bool LogEnabled(LogLevel level);

// "https://user:secret@host:9090/p?x" -> "https://host:9090/p?x". Other text unchanged.
std::string RedactUrl(std::string_view url);

}  // namespace scaler
