#include "forecast/csv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace forecast {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Parses the whole of `s` as a double (strtod also accepts "nan", "inf").
bool ParseDouble(std::string_view s, double& out) {
  if (s.empty()) return false;
  std::string buf(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtod(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size()) return false;
  // Overflow to +-HUGE_VAL is reported as an Inf value, which Fit drops.
  return true;
}

}  // namespace

absl::StatusOr<Series> ReadSeriesCsv(std::istream& in) {
  Series series;
  std::string line;
  size_t line_number = 0;
  bool seen_data = false;
  while (std::getline(in, line)) {
    ++line_number;
    std::string_view text = Trim(line);
    if (text.empty() || text.front() == '#') continue;
    const size_t comma = text.find(',');
    if (comma == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": expected 2 fields timestamp,value, got 1 (\"",
                       std::string(text.substr(0, 60)), "\")"));
    }
    if (text.find(',', comma + 1) != std::string_view::npos) {
      size_t fields = 1;
      for (char c : text) fields += c == ',';
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": expected 2 fields timestamp,value, got ", fields));
    }
    const std::string_view ts_text = Trim(text.substr(0, comma));
    const std::string_view value_text = Trim(text.substr(comma + 1));
    double ts = 0;
    if (!ParseDouble(ts_text, ts)) {
      if (!seen_data && series.timestamps.empty() && line_number == 1) continue;  // header
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": timestamp \"", std::string(ts_text.substr(0, 40)),
                       "\" is not a number (expected unix seconds, e.g. 1700000000)"));
    }
    if (!std::isfinite(ts)) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": timestamp \"",
                                                     std::string(ts_text.substr(0, 40)),
                                                     "\" is not finite"));
    }
    double value = std::numeric_limits<double>::quiet_NaN();
    if (!value_text.empty() && !ParseDouble(value_text, value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": value \"", std::string(value_text.substr(0, 40)),
                       "\" is not a number (expected a decimal, NaN, Inf or empty)"));
    }
    seen_data = true;
    series.timestamps.push_back(ts);
    series.values.push_back(value);
  }
  if (in.bad()) return absl::InvalidArgumentError("read error while reading the CSV input");
  if (series.timestamps.empty()) {
    return absl::InvalidArgumentError(
        "no data rows: expected lines of timestamp,value (unix seconds, number)");
  }
  return series;
}

absl::StatusOr<Series> ParseSeriesCsv(const std::string& text) {
  std::istringstream in(text);
  return ReadSeriesCsv(in);
}

}  // namespace forecast
