#include "common/duration.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"

namespace common {
namespace {

constexpr double kMs = 1;
constexpr double kSecond = 1000 * kMs;
constexpr double kMinute = 60 * kSecond;
constexpr double kHour = 60 * kMinute;
constexpr double kDay = 24 * kHour;
constexpr double kWeek = 7 * kDay;

absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      "invalid duration \"" + std::string(text) + "\": " + std::string(why) +
      "; expected a number with a unit such as 250ms, 30s, 5m, 2h, 7d or 1w");
}

}  // namespace

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return Bad(text, "it is empty");
  double total_ms = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return Bad(text, "a number must come before each unit");
    std::string number(text.substr(start, i - start));
    if (number == "." || std::count(number.begin(), number.end(), '.') > 1) {
      return Bad(text, "\"" + number + "\" is not a number");
    }
    // strtod, not stod: a number beyond double's range must be an error, not an exception
    // (found by the duration fuzz target: 400 digits made stod throw out_of_range).
    const double value = std::strtod(number.c_str(), nullptr);
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale;
    if (unit.empty()) {
      if (any || i != text.size()) return Bad(text, "every part needs a unit");
      scale = kSecond;
    } else if (unit == "ms") {
      scale = kMs;
    } else if (unit == "s") {
      scale = kSecond;
    } else if (unit == "m") {
      scale = kMinute;
    } else if (unit == "h") {
      scale = kHour;
    } else if (unit == "d") {
      scale = kDay;
    } else if (unit == "w") {
      scale = kWeek;
    } else {
      return Bad(text, "unknown unit \"" + std::string(unit) + "\"");
    }
    total_ms += value * scale;
    any = true;
  }
  if (!std::isfinite(total_ms) || total_ms > 1e15) return Bad(text, "it is too large");
  return std::chrono::milliseconds(static_cast<long long>(std::llround(total_ms)));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    long long size;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{604800000LL, "w"}, {86400000LL, "d"}, {3600000LL, "h"},
                                    {60000LL, "m"},     {1000LL, "s"},      {1LL, "ms"}};
  for (const Unit& u : kUnits) {
    if (ms >= u.size) {
      out += std::to_string(ms / u.size) + u.name;
      ms %= u.size;
    }
  }
  return out;
}

std::string FormatSeconds(double seconds) {
  if (std::isnan(seconds)) return "NaN";
  const double ms = std::round(seconds * 1000);
  if (!(std::fabs(ms) < 9.2e18)) return seconds > 0 ? "inf" : "-inf";
  return FormatDuration(std::chrono::milliseconds(static_cast<long long>(ms)));
}

}  // namespace common
