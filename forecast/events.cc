// ParseEvents, ParseExcludePeriods and FormatUtc: the text forms of known events and
// excluded periods (flags and scalerMetadata), in UTC. The grammar is in forecast.h.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "forecast/forecast.h"
#include "forecast/internal/model_state.h"

namespace forecast {
namespace {

using internal::kDay;

// Days since 1970-01-01 of a proleptic Gregorian date (the usual era arithmetic: years
// counted from March so that the leap day ends the year).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The inverse of DaysFromCivil.
void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp + (mp < 10 ? 3 : -9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// `n` digits at s[pos...] as a number, or nullopt.
std::optional<int> Digits(absl::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

constexpr const char* kDateExpected = "a date YYYY-MM-DD (e.g. 2026-11-27)";
constexpr const char* kTimeExpected =
    "an RFC 3339 time with a zone such as 2026-11-20T10:00Z, 2026-11-20T10:00:00+01:00, or "
    "a date YYYY-MM-DD";

// YYYY-MM-DD (1970..9999) as the unix time of its 00:00 UTC, or an error about `what`.
absl::StatusOr<double> ParseDate(absl::string_view s, const std::string& what) {
  const auto y = Digits(s, 0, 4), m = Digits(s, 5, 2), d = Digits(s, 8, 2);
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !y || !m || !d) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": '", s, "' is not a date: expected ", kDateExpected));
  }
  static constexpr int kMonthDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*y < 1970 || *m < 1 || *m > 12 || *d < 1 ||
      *d > kMonthDays[*m - 1] + (*m == 2 && IsLeap(*y) ? 1 : 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": '", s, "' is not a valid date (year >= 1970, month 01-12, a day of that month)"));
  }
  return static_cast<double>(DaysFromCivil(*y, *m, *d)) * kDay;
}

// A time for an excluded period: a date alone (its 00:00 UTC; *date_only set) or
// YYYY-MM-DDTHH:MM[:SS[.fff]] followed by Z or +-hh:mm.
absl::StatusOr<double> ParseTime(absl::string_view s, const std::string& what, bool* date_only) {
  *date_only = s.size() == 10;
  if (s.size() < 10) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": '", s, "': expected ", kTimeExpected));
  }
  absl::StatusOr<double> day = ParseDate(s.substr(0, 10), what);
  if (!day.ok()) return day.status();
  if (*date_only) return day;
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": '", s, "' ", why, ": expected ", kTimeExpected));
  };
  if (s[10] != 'T' && s[10] != 't') return bad("has no 'T' between the date and the time");
  const auto hh = Digits(s, 11, 2), mm = Digits(s, 14, 2);
  if (!hh || !mm || s.size() < 16 || s[13] != ':') return bad("has no time HH:MM");
  size_t pos = 16;
  double sec = 0;
  if (pos < s.size() && s[pos] == ':') {
    const auto ss = Digits(s, pos + 1, 2);
    if (!ss) return bad("has a bad seconds field");
    sec = *ss;
    pos += 3;
    if (pos < s.size() && s[pos] == '.') {
      size_t end = pos + 1;
      while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
      if (end == pos + 1) return bad("has a bad fraction of a second");
      double frac = 0;
      if (!absl::SimpleAtod(absl::StrCat("0", s.substr(pos, end - pos)), &frac)) {
        return bad("has a bad fraction of a second");
      }
      sec += frac;
      pos = end;
    }
  }
  if (*hh > 23 || *mm > 59 || sec >= 61) return bad("has an hour, minute or second out of range");
  double offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
    offset = 0;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() &&
             s[pos + 3] == ':') {
    const auto oh = Digits(s, pos + 1, 2), om = Digits(s, pos + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return bad("has a bad zone offset");
    offset = (s[pos] == '+' ? 1 : -1) * (*oh * 3600.0 + *om * 60.0);
  } else if (pos == s.size()) {
    return bad("has no time zone (add Z for UTC)");
  } else {
    return bad("has trailing characters or a bad zone");
  }
  return *day + *hh * 3600.0 + *mm * 60.0 + sec - offset;
}

// ":-1d" / ":+2d": the number of days, or an error naming the element.
absl::StatusOr<int> ParseWindow(absl::string_view w, const std::string& element, bool* before) {
  auto bad = [&]() {
    return absl::InvalidArgumentError(
        absl::StrCat("event '", element, "': window ':", w,
                     "' is not a number of days: expected :-Nd (days before) or :+Nd (days "
                     "after), N in 0..30, e.g. :-1d:+1d"));
  };
  if (w.size() < 3 || (w[0] != '-' && w[0] != '+') || (w.back() != 'd' && w.back() != 'D')) {
    return bad();
  }
  *before = w[0] == '-';
  int n = 0;
  const absl::string_view digits = w.substr(1, w.size() - 2);
  if (digits.empty() || digits.size() > 2 || !absl::SimpleAtoi(digits, &n)) return bad();
  for (char c : digits) {
    if (c < '0' || c > '9') return bad();
  }
  if (n > 30) return bad();
  return n;
}

bool IsNone(absl::string_view t) { return t.empty() || t == "none"; }

}  // namespace

absl::Status ParseEvents(const std::string& text, Options& options) {
  const absl::string_view all = absl::StripAsciiWhitespace(text);
  std::vector<Event> out;
  if (IsNone(all)) {
    options.events.clear();
    return absl::OkStatus();
  }
  std::set<std::pair<std::string, double>> seen;
  for (absl::string_view raw : absl::StrSplit(all, ',')) {
    const absl::string_view element = absl::StripAsciiWhitespace(raw);
    const std::string el(element);
    if (element.empty()) {
      return absl::InvalidArgumentError(
          "event list has an empty element: expected name=YYYY-MM-DD[/YYYY-MM-DD][:-Nd][:+Nd] "
          "separated by commas");
    }
    const size_t eq = element.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event '", el, "' has no '=': expected name=YYYY-MM-DD, e.g. xmas=2026-12-25"));
    }
    const std::string name(absl::StripAsciiWhitespace(element.substr(0, eq)));
    const absl::string_view value = absl::StripAsciiWhitespace(element.substr(eq + 1));
    if (value.find_first_of("Tt") != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event '", el, "' has a time: events are whole UTC days, expected a date YYYY-MM-DD "
          "(or first/last day) and windows in days"));
    }
    std::vector<absl::string_view> parts = absl::StrSplit(value, ':');
    int before = -1, after = -1;
    for (size_t i = 1; i < parts.size(); ++i) {
      bool is_before = false;
      absl::StatusOr<int> n = ParseWindow(absl::StripAsciiWhitespace(parts[i]), el, &is_before);
      if (!n.ok()) return n.status();
      int& slot = is_before ? before : after;
      if (slot >= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("event '", el, "' gives the days ", is_before ? "before" : "after",
                         " twice: expected at most one :-Nd and one :+Nd"));
      }
      slot = *n;
    }
    const absl::string_view dates = absl::StripAsciiWhitespace(parts[0]);
    if (dates.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("event '", el, "' has no date: expected name=YYYY-MM-DD"));
    }
    for (absl::string_view occ : absl::StrSplit(dates, '|')) {
      occ = absl::StripAsciiWhitespace(occ);
      const std::string what = absl::StrCat("event '", el, "'");
      Event e;
      e.name = name;
      e.days_before = std::max(before, 0);
      e.days_after = std::max(after, 0);
      const size_t slash = occ.find('/');
      absl::StatusOr<double> first = ParseDate(
          absl::StripAsciiWhitespace(occ.substr(0, slash)), what);
      if (!first.ok()) return first.status();
      e.start = *first;
      if (slash != absl::string_view::npos) {
        absl::StatusOr<double> last =
            ParseDate(absl::StripAsciiWhitespace(occ.substr(slash + 1)), what);
        if (!last.ok()) return last.status();
        if (*last < *first) {
          return absl::InvalidArgumentError(absl::StrCat(
              what, ": the range '", occ, "' ends before it starts: expected first/last day"));
        }
        e.days = static_cast<int>(std::llround((*last - *first) / kDay)) + 1;
        if (e.days > kMaxEventDays) {
          return absl::InvalidArgumentError(absl::StrCat(what, ": the range '", occ, "' is ",
                                                         e.days, " days long: at most ",
                                                         kMaxEventDays));
        }
      }
      if (!seen.insert({e.name, e.start}).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "event ", e.name, " on ", FormatUtc(e.start, true), " is listed twice"));
      }
      out.push_back(std::move(e));
      if (out.size() > static_cast<size_t>(kMaxEvents)) {
        return absl::InvalidArgumentError(
            absl::StrCat("more than ", kMaxEvents, " event occurrences: at most ", kMaxEvents));
      }
    }
  }
  Options candidate;
  candidate.events = out;
  absl::Status valid = candidate.Validate();
  if (!valid.ok()) return valid;
  options.events = std::move(out);
  return absl::OkStatus();
}

absl::Status ParseExcludePeriods(const std::string& text, Options& options) {
  const absl::string_view all = absl::StripAsciiWhitespace(text);
  std::vector<ExcludedPeriod> out;
  if (IsNone(all)) {
    options.exclude_periods.clear();
    return absl::OkStatus();
  }
  for (absl::string_view raw : absl::StrSplit(all, ',')) {
    const absl::string_view element = absl::StripAsciiWhitespace(raw);
    const std::string what = absl::StrCat("excluded period '", element, "'");
    if (element.empty()) {
      return absl::InvalidArgumentError(
          "excluded periods have an empty element: expected start/end such as "
          "2026-11-20T10:00Z/2026-11-20T14:00Z, separated by commas");
    }
    const size_t slash = element.find('/');
    bool start_date = false, end_date = false;
    absl::StatusOr<double> start =
        ParseTime(absl::StripAsciiWhitespace(element.substr(0, slash)), what, &start_date);
    if (!start.ok()) return start.status();
    ExcludedPeriod p;
    p.start = *start;
    if (slash == absl::string_view::npos) {
      if (!start_date) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, " has a start but no end: expected start/end such as "
                               "2026-11-20T10:00Z/2026-11-20T14:00Z, or a date alone"));
      }
      p.end = p.start + kDay;
    } else {
      absl::StatusOr<double> end =
          ParseTime(absl::StripAsciiWhitespace(element.substr(slash + 1)), what, &end_date);
      if (!end.ok()) return end.status();
      p.end = end_date ? *end + kDay : *end;
    }
    if (!(p.end > p.start)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ends at or before it starts: expected start/end with end later"));
    }
    out.push_back(p);
    if (out.size() > static_cast<size_t>(kMaxExcludedPeriods)) {
      return absl::InvalidArgumentError(absl::StrCat("more than ", kMaxExcludedPeriods,
                                                     " excluded periods: at most ",
                                                     kMaxExcludedPeriods));
    }
  }
  options.exclude_periods = std::move(out);
  return absl::OkStatus();
}

std::string FormatUtc(double unix_seconds, bool date_only_at_midnight) {
  if (!std::isfinite(unix_seconds)) return absl::StrCat(unix_seconds);
  const double whole = std::floor(unix_seconds);
  const auto days = static_cast<int64_t>(std::floor(whole / kDay));
  const auto secs = static_cast<int64_t>(whole - static_cast<double>(days) * kDay);
  int64_t y = 0, m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  if (date_only_at_midnight && secs == 0 && whole == unix_seconds) {
    return absl::StrFormat("%04d-%02d-%02d", y, m, d);
  }
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, secs / 3600, secs / 60 % 60,
                         secs % 60);
}

}  // namespace forecast
