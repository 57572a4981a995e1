#include "common/flags.h"

#include <chrono>
#include <cmath>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/cli.h"
#include "common/duration.h"

namespace common {

absl::StatusOr<double> DurationFlagSeconds(absl::string_view flag, absl::string_view text) {
  absl::StatusOr<std::chrono::milliseconds> d = ParseDuration(std::string_view(text.data(), text.size()));
  if (!d.ok()) return UsageError(absl::StrCat("--", flag, ": ", d.status().message()));
  return static_cast<double>(d->count()) / 1000.0;
}

namespace {

absl::Status ParseEach(std::initializer_list<DurationFlag> flags, bool skip_empty) {
  for (const DurationFlag& f : flags) {
    if (skip_empty && f.text.empty()) continue;
    absl::StatusOr<double> seconds = DurationFlagSeconds(f.flag, f.text);
    if (!seconds.ok()) return seconds.status();
    *f.seconds = *seconds;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseDurationFlags(std::initializer_list<DurationFlag> flags) {
  return ParseEach(flags, /*skip_empty=*/false);
}

absl::Status ParseOptionalDurationFlags(std::initializer_list<DurationFlag> flags) {
  return ParseEach(flags, /*skip_empty=*/true);
}

absl::StatusOr<double> TimeFlag(absl::string_view flag, absl::string_view text, double now) {
  if (text == "now") return now;
  if (absl::StartsWith(text, "now-")) {
    absl::StatusOr<double> back = DurationFlagSeconds(flag, text.substr(4));
    if (!back.ok()) return back.status();
    return now - *back;
  }
  double unix_seconds = 0;
  if (absl::SimpleAtod(text, &unix_seconds) && std::isfinite(unix_seconds)) return unix_seconds;
  absl::Time t;
  std::string ignored;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &ignored)) {
    return static_cast<double>(absl::ToUnixMillis(t)) / 1000.0;  // to the millisecond
  }
  return UsageError(absl::StrCat("--", flag, " '", text,
                                 "': expected unix seconds, now, now-<duration> or RFC 3339 "
                                 "(2026-11-20T00:00:00Z)"));
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> KeyValueFlag(
    absl::string_view flag, const std::vector<std::string>& items, absl::string_view example) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError(
          absl::StrCat("--", flag, " expects NAME=VALUE (e.g. --", flag, " ", example, ")"));
    }
    pairs.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return pairs;
}

}  // namespace common
