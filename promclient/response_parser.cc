#include "promclient/response_parser.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace promclient::internal {
namespace {

constexpr int kMaxDepth = 128;

enum class Failure { kNone, kSyntax, kShape };

// For a decimal that from_chars found out of range: true if it is too small rather than
// too large (a negative exponent, or "0.000...").
bool IsTinyMagnitude(std::string_view number) {
  const size_t e = number.find_first_of("eE");
  if (e != std::string_view::npos) return e + 1 < number.size() && number[e + 1] == '-';
  if (!number.empty() && number.front() == '-') number.remove_prefix(1);
  return number.rfind("0", 0) == 0;
}

class Reader {
 public:
  Reader(std::string_view text, size_t base_offset, std::string_view whole)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        base_offset_(base_offset),
        whole_(whole) {}

  Failure failure() const { return failure_; }
  const absl::Status& status() const { return status_; }
  const char* pos() const { return p_; }
  void Reset(const char* pos) {
    p_ = pos;
    failure_ = Failure::kNone;
    status_ = absl::OkStatus();
  }
  size_t Offset(const char* at) const { return base_offset_ + static_cast<size_t>(at - begin_); }

  // --- failures ------------------------------------------------------------------
  bool Syntax(const std::string& what) {
    if (failure_ != Failure::kNone) return false;
    failure_ = Failure::kSyntax;
    const size_t offset = Offset(p_);
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset && i < whole_.size(); ++i) {
      if (whole_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    status_ = absl::InternalError(
        absl::StrCat(what, " at byte ", offset, " (line ", line, ", column ", column, ")"));
    return false;
  }
  bool Shape(const std::string& path, const std::string& expected) {
    if (failure_ != Failure::kNone) return false;
    failure_ = Failure::kShape;
    status_ = absl::InternalError(absl::StrCat("unexpected response from Prometheus at ", path,
                                               ": expected ", expected, ", got ", PeekType()));
    return false;
  }
  bool ShapeMessage(absl::Status status) {
    if (failure_ != Failure::kNone) return false;
    failure_ = Failure::kShape;
    status_ = std::move(status);
    return false;
  }

  // --- tokens ----------------------------------------------------------------------
  void SkipWs() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool AtEnd() {
    SkipWs();
    return p_ == end_;
  }
  char Peek() {
    SkipWs();
    return p_ < end_ ? *p_ : '\0';
  }
  bool Consume(char c) {
    if (Peek() == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Expect(char c) {
    if (Consume(c)) return true;
    if (p_ == end_)
      return Syntax(absl::StrCat("unexpected end of input, expected '", std::string(1, c), "'"));
    return Syntax(
        absl::StrCat("expected '", std::string(1, c), "', found '", std::string(1, *p_), "'"));
  }
  // After an element of an array or object: true and sets *more when a ',' follows,
  // true with !*more at the closing `close`.
  bool Next(char close, bool* more) {
    const char c = Peek();
    if (c == ',') {
      ++p_;
      *more = true;
      return true;
    }
    if (c == close) {
      ++p_;
      *more = false;
      return true;
    }
    if (p_ == end_) {
      return Syntax(
          absl::StrCat("unexpected end of input, expected ',' or '", std::string(1, close), "'"));
    }
    return Syntax(absl::StrCat("expected ',' or '", std::string(1, close), "', found '",
                               std::string(1, *p_), "'"));
  }

  const char* PeekType() {
    switch (Peek()) {
      case '{':
        return "object";
      case '[':
        return "array";
      case '"':
        return "string";
      case 't':
      case 'f':
        return "boolean";
      case 'n':
        return "null";
      case '\0':
        return "end of input";
      default:
        return "number";
    }
  }

  // A string; a view into the input when it has no escapes, else decoded in *scratch.
  bool String(std::string_view* out, std::string* scratch) {
    if (Peek() != '"') {
      if (p_ == end_) return Syntax("unexpected end of input, expected a string");
      return Syntax("expected a string");
    }
    const char* start = ++p_;
    while (p_ < end_) {
      const char c = *p_;
      if (c == '"') {
        *out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\') break;
      if (static_cast<unsigned char>(c) < 0x20) return Syntax("control character in a string");
      ++p_;
    }
    if (p_ == end_) return Syntax("unexpected end of input in a string");
    scratch->assign(start, p_);
    while (p_ < end_) {
      const char c = *p_++;
      if (c == '"') {
        *out = *scratch;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        --p_;
        return Syntax("control character in a string");
      }
      if (c != '\\') {
        scratch->push_back(c);
        continue;
      }
      if (p_ == end_) break;
      const char e = *p_++;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          scratch->push_back(e);
          break;
        case 'b':
          scratch->push_back('\b');
          break;
        case 'f':
          scratch->push_back('\f');
          break;
        case 'n':
          scratch->push_back('\n');
          break;
        case 'r':
          scratch->push_back('\r');
          break;
        case 't':
          scratch->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
              return Syntax("unpaired UTF-16 surrogate in a string");
            }
            p_ += 2;
            if (!Hex4(&low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return Syntax("invalid UTF-16 surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Syntax("unpaired UTF-16 surrogate in a string");
          }
          AppendUtf8(cp, scratch);
          break;
        }
        default:
          --p_;
          return Syntax("invalid escape in a string");
      }
    }
    return Syntax("unexpected end of input in a string");
  }

  bool OwnedString(std::string* out) {
    std::string_view view;
    std::string scratch;
    if (!String(&view, &scratch)) return false;
    out->assign(view.data(), view.size());
    return true;
  }

  // A JSON number (strict grammar).
  bool Number(double* out) {
    SkipWs();
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return Syntax("unexpected end of input in a number");
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return Syntax("invalid number");
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9')
        return Syntax("invalid number: digit expected after '.'");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9')
        return Syntax("invalid number: exponent digits expected");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    auto [ptr, ec] = std::from_chars(start, p_, *out);
    if (ec == std::errc::result_out_of_range) {
      if (IsTinyMagnitude(std::string_view(start, static_cast<size_t>(p_ - start)))) {
        *out = 0;  // underflows harmlessly
        return true;
      }
      const std::string_view text(start, std::min<size_t>(40, static_cast<size_t>(p_ - start)));
      p_ = start;
      return Syntax(absl::StrCat("number out of range: ", std::string(text)));
    }
    if (ec != std::errc() || ptr != p_) {
      p_ = start;
      return Syntax("invalid number");
    }
    return true;
  }

  bool Literal(std::string_view word) {
    SkipWs();
    if (static_cast<size_t>(end_ - p_) >= word.size() &&
        std::string_view(p_, word.size()) == word) {
      p_ += word.size();
      return true;
    }
    return Syntax("invalid literal");
  }

  // Skips (and validates) any value.
  bool SkipValue(int depth = 0) {
    if (depth > kMaxDepth) return Syntax("JSON nested too deeply");
    std::string_view ignored;
    std::string scratch;
    double number;
    bool more = false;
    switch (Peek()) {
      case '{':
        ++p_;
        if (Consume('}')) return true;
        do {
          if (!String(&ignored, &scratch) || !Expect(':') || !SkipValue(depth + 1)) return false;
          if (!Next('}', &more)) return false;
        } while (more);
        return true;
      case '[':
        ++p_;
        if (Consume(']')) return true;
        do {
          if (!SkipValue(depth + 1) || !Next(']', &more)) return false;
        } while (more);
        return true;
      case '"':
        return String(&ignored, &scratch);
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      case '\0':
        if (p_ == end_) return Syntax("unexpected end of input, expected a value");
        return Syntax("unexpected character");
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return Number(&number);
        return Syntax(absl::StrCat("unexpected character '", std::string(1, *p_), "'"));
    }
  }

 private:
  bool Hex4(uint32_t* out) {
    if (end_ - p_ < 4) return Syntax("unexpected end of input in a \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        --p_;
        return Syntax("invalid \\u escape");
      }
    }
    *out = v;
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  size_t base_offset_;
  std::string_view whole_;
  Failure failure_ = Failure::kNone;
  absl::Status status_;
};

// ------------------------------------------------------------------------------------
// The shapes of "data".

std::string SeriesPath(size_t i, const char* field) {
  return absl::StrCat("data.result[", i, "]", field[0] ? "." : "", field);
}

absl::Status PairArityError(const std::string& path, const char* got) {
  return absl::InternalError(absl::StrCat("unexpected response from Prometheus at ", path,
                                          ": expected a [timestamp, \"value\"] pair, got ", got));
}

// [<unix seconds>, "<value>"] at `path`.
bool Pair(Reader& r, const std::string_view path_view, bool string_value, Sample* sample,
          std::string* text_out) {
  auto path = [&] { return std::string(path_view); };
  if (r.Peek() != '[') return r.Shape(path(), "a [timestamp, \"value\"] pair");
  r.Consume('[');
  if (r.Peek() == '"' || r.Peek() == '[' || r.Peek() == '{' || r.Peek() == 't' || r.Peek() == 'f' ||
      r.Peek() == 'n' || r.Peek() == ']') {
    if (r.Peek() == ']') return r.ShapeMessage(PairArityError(path(), "an empty array"));
    return r.Shape(path() + "[0]", "a number (unix seconds)");
  }
  if (!r.Number(&sample->timestamp)) return false;
  if (!r.Consume(',')) {
    if (r.Peek() == ']') return r.ShapeMessage(PairArityError(path(), "an array of 1"));
    return r.Expect(',');
  }
  std::string_view text;
  std::string scratch;
  if (r.Peek() != '"') return r.Shape(path() + "[1]", "a string");
  if (!r.String(&text, &scratch)) return false;
  if (!r.Consume(']')) {
    if (r.Peek() == ',') {
      return r.ShapeMessage(PairArityError(path(), "an array of more than 2"));
    }
    return r.Expect(']');
  }
  if (string_value) {
    text_out->assign(text.data(), text.size());
    return true;
  }
  if (!ParseSampleValue(text, &sample->value)) {
    return r.ShapeMessage(absl::InternalError(
        absl::StrCat("unexpected response from Prometheus at ", path(), "[1]: \"",
                     std::string(text.substr(0, 64)), "\" is not a number")));
  }
  return true;
}

bool Labels(Reader& r, size_t index, promclient::Labels* labels) {
  if (r.Peek() == 'n') return r.Literal("null");
  if (r.Peek() != '{') return r.Shape(SeriesPath(index, "metric"), "an object of labels");
  r.Consume('{');
  if (r.Consume('}')) return true;
  bool more = false;
  std::string_view key, value;
  std::string key_scratch, value_scratch;
  do {
    if (!r.String(&key, &key_scratch) || !r.Expect(':')) return false;
    if (r.Peek() != '"') {
      return r.Shape(absl::StrCat(SeriesPath(index, "metric"), ".", std::string(key)), "a string");
    }
    if (!r.String(&value, &value_scratch)) return false;
    labels->emplace(std::string(key), std::string(value));
    if (!r.Next('}', &more)) return false;
  } while (more);
  return true;
}

bool OneSeries(Reader& r, size_t index, bool matrix, Series* series) {
  if (r.Peek() != '{') return r.Shape(SeriesPath(index, ""), "an object");
  r.Consume('{');
  bool has_values = false, has_histogram = false;
  if (!r.Consume('}')) {
    bool more = false;
    std::string_view key;
    std::string scratch;
    do {
      if (!r.String(&key, &scratch) || !r.Expect(':')) return false;
      if (key == "metric") {
        if (!Labels(r, index, &series->labels)) return false;
      } else if (matrix && key == "values") {
        has_values = true;
        const std::string path = SeriesPath(index, "values");
        if (r.Peek() != '[') return r.Shape(path, "an array");
        r.Consume('[');
        if (!r.Consume(']')) {
          bool more_samples = false;
          do {
            series->samples.emplace_back();
            // The path is only built when something is wrong, so the hot loop stays cheap.
            const char* start = r.pos();
            Sample& s = series->samples.back();
            if (!Pair(r, {}, false, &s, nullptr)) {
              if (r.failure() != Failure::kShape) return false;
              r.Reset(start);
              return Pair(r, absl::StrCat(path, "[", series->samples.size() - 1, "]"), false, &s,
                          nullptr);
            }
            if (!r.Next(']', &more_samples)) return false;
          } while (more_samples);
        }
      } else if (!matrix && key == "value") {
        has_values = true;
        series->samples.emplace_back();
        if (!Pair(r, SeriesPath(index, "value"), false, &series->samples.back(), nullptr)) {
          return false;
        }
      } else {
        if (key == "histogram" || key == "histograms") has_histogram = true;
        if (!r.SkipValue()) return false;
      }
      if (!r.Next('}', &more)) return false;
    } while (more);
  }
  if (!has_values) {
    if (has_histogram) {
      return r.ShapeMessage(absl::InvalidArgumentError(
          absl::StrCat("data.result[", index,
                       "] holds native histogram samples, which Augur does not read; query a float "
                       "series instead (e.g. histogram_quantile(...) or histogram_count(...))")));
    }
    return r.ShapeMessage(absl::InternalError(absl::StrCat(
        "unexpected response from Prometheus: ", SeriesPath(index, matrix ? "values" : "value"),
        " is missing")));
  }
  return true;
}

bool Result(Reader& r, std::string_view type, QueryResult* result) {
  if (type == "scalar" || type == "string") {
    const bool is_string = type == "string";
    result->type = is_string ? ResultType::kString : ResultType::kScalar;
    Sample sample;
    if (!Pair(r, "data.result", is_string, &sample, &result->string_value)) return false;
    result->scalar = sample;
    return true;
  }
  const bool matrix = type == "matrix";
  result->type = matrix ? ResultType::kMatrix : ResultType::kVector;
  if (r.Peek() == 'n') return r.Literal("null");  // some proxies write null for "none"
  if (r.Peek() != '[') return r.Shape("data.result", "an array");
  r.Consume('[');
  if (r.Consume(']')) return true;
  bool more = false;
  do {
    result->series.emplace_back();
    if (!OneSeries(r, result->series.size() - 1, matrix, &result->series.back())) return false;
    if (!r.Next(']', &more)) return false;
  } while (more);
  return true;
}

bool KnownType(std::string_view type) {
  return type == "vector" || type == "matrix" || type == "scalar" || type == "string";
}

// "data": {"resultType": ..., "result": ...}. Prometheus writes resultType first; if a
// proxy does not, the result is skipped once and parsed when the type is known.
bool Data(Reader& r, std::string_view whole, QueryResult* result) {
  if (r.Peek() != '{') return r.Shape("data", "an object");
  r.Consume('{');
  std::optional<std::string> type;
  const char* deferred_begin = nullptr;
  const char* deferred_end = nullptr;
  bool has_result = false;
  if (!r.Consume('}')) {
    bool more = false;
    std::string_view key;
    std::string scratch;
    do {
      if (!r.String(&key, &scratch) || !r.Expect(':')) return false;
      if (key == "resultType") {
        if (r.Peek() != '"') return r.Shape("data.resultType", "a string");
        type.emplace();
        if (!r.OwnedString(&*type)) return false;
        if (!KnownType(*type)) {
          return r.ShapeMessage(absl::InternalError(
              absl::StrCat("unexpected response from Prometheus: data.resultType is \"",
                           type->substr(0, 64), "\"; expected vector, matrix, scalar or string")));
        }
      } else if (key == "result") {
        has_result = true;
        if (type.has_value()) {
          if (!Result(r, *type, result)) return false;
        } else {
          r.SkipWs();
          deferred_begin = r.pos();
          if (!r.SkipValue()) return false;
          deferred_end = r.pos();
        }
      } else if (!r.SkipValue()) {
        return false;
      }
      if (!r.Next('}', &more)) return false;
    } while (more);
  }
  if (!type.has_value()) {
    return r.ShapeMessage(
        absl::InternalError("unexpected response from Prometheus: data.resultType is missing"));
  }
  if (!has_result) {
    return r.ShapeMessage(
        absl::InternalError("unexpected response from Prometheus: data.result is missing"));
  }
  if (deferred_begin != nullptr) {
    Reader sub(std::string_view(deferred_begin, static_cast<size_t>(deferred_end - deferred_begin)),
               r.Offset(deferred_begin), whole);
    if (!Result(sub, *type, result)) return r.ShapeMessage(sub.status());
  }
  return true;
}

}  // namespace

bool ParseSampleValue(std::string_view text, double* out) {
  if (text == "NaN") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (text == "+Inf" || text == "Inf") {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "-Inf") {
    *out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return false;
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, *out);
  if (ec == std::errc::result_out_of_range) {
    // Beyond double's range: an infinity (or 0 for a tiny magnitude), as strtod does.
    if (IsTinyMagnitude(text)) {
      *out = 0;
    } else {
      *out = text.front() == '-' ? -std::numeric_limits<double>::infinity()
                                 : std::numeric_limits<double>::infinity();
    }
    return ptr == end;
  }
  return ec == std::errc() && ptr == end;
}

ParsedResponse ParseResponseBody(std::string_view body) {
  ParsedResponse out;
  Reader r(body, 0, body);
  if (r.Peek() != '{') {
    if (r.AtEnd()) {
      out.syntax_error = absl::InternalError("the body is empty; expected a JSON object");
    } else if (!r.SkipValue()) {
      out.syntax_error = r.status();
    } else {
      out.syntax_error = absl::InternalError("the body is not a JSON object");
    }
    return out;
  }
  r.Consume('{');
  bool ok = true;
  if (!r.Consume('}')) {
    bool more = false;
    std::string_view key;
    std::string scratch;
    do {
      if (!r.String(&key, &scratch) || !r.Expect(':')) {
        ok = false;
        break;
      }
      std::string* field = key == "status"      ? &out.status
                           : key == "errorType" ? &out.error_type
                           : key == "error"     ? &out.error
                                                : nullptr;
      if (field != nullptr && r.Peek() == '"') {
        ok = r.OwnedString(field);
      } else if (key == "warnings" && r.Peek() == '[') {
        r.Consume('[');
        if (!r.Consume(']')) {
          bool more_warnings = false;
          do {
            if (r.Peek() == '"') {
              out.warnings.emplace_back();
              ok = r.OwnedString(&out.warnings.back());
            } else {
              ok = r.SkipValue();
            }
            ok = ok && r.Next(']', &more_warnings);
          } while (ok && more_warnings);
        }
      } else if (key == "data") {
        out.has_data = true;
        r.SkipWs();
        const char* start = r.pos();
        if (!Data(r, body, &out.result)) {
          if (r.failure() != Failure::kShape) {
            ok = false;
            break;
          }
          // Remember the shape problem, then make sure the rest is well-formed JSON.
          out.data_error = r.status();
          out.result = QueryResult();
          r.Reset(start);
          ok = r.SkipValue();
        }
      } else {
        ok = r.SkipValue();
      }
      ok = ok && r.Next('}', &more);
    } while (ok && more);
  }
  if (ok && !r.AtEnd()) ok = r.Syntax("unexpected data after the JSON object");
  if (!ok) {
    out.syntax_error = r.status();
    return out;
  }
  out.json_ok = true;
  return out;
}

}  // namespace promclient::internal
