// Differential fuzz target: augur's single-pass response parser
// (promclient/response_parser.h) against nlohmann::json (a DOM parser) on the same bytes.
//
// What "the same" means (docs/reliability.md, "Differential check"):
//  - Both accept or both reject the bytes as JSON, and on accept both find the same
//    envelope (status, errorType, error, string warnings), the same shape verdict for
//    "data" (well-formed or not), and the same series, labels and samples in the same
//    order. Numbers are equal as doubles; magnitudes below DBL_MIN count as equal to 0
//    (augur flushes what from_chars reports as underflow); NaN equals NaN.
//  - Out of the comparison (only "no crash" holds there): bytes that are not valid
//    UTF-8 (augur passes string bytes through, nlohmann rejects them; Prometheus writes
//    UTF-8), nesting deeper than 128 (augur's limit), objects with duplicate keys
//    (RFC 8259 leaves their meaning open; nlohmann keeps the last), bytes with a NUL
//    (nlohmann reads a NUL outside a string as the end of the input; augur rejects it),
//    and sample values outside the reference grammar below (augur also takes Go's
//    spellings such as "inf" or "infinity").
//  - Sample values: "NaN", "Inf", "+Inf", "-Inf", or a decimal [+-]digits[.digits][e[+-]digits]
//    converted with strtod (overflow is +-Inf, as in Prometheus' Go parser).

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "promclient/response_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using nlohmann::json;
namespace pc = promclient;

bool ValidUtf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// Thrown when an input falls outside the comparison (see the file comment).
struct OutOfScope {};

bool SameNumber(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::fabs(a) < DBL_MIN && std::fabs(b) < DBL_MIN) return true;
  return a == b;
}

// The reference conversion of a sample value string; throws OutOfScope outside it.
double ReferenceValue(const std::string& s) {
  if (s == "NaN") return NAN;
  if (s == "Inf" || s == "+Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  const size_t digits_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  bool any = i > digits_start;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t frac = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    any = any || i > frac;
  }
  if (!any) throw OutOfScope();
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t exp = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == exp) throw OutOfScope();
  }
  if (i != s.size()) throw OutOfScope();
  return std::strtod(s.c_str(), nullptr);
}

// What the reference reads out of a parsed document.
struct Expected {
  bool shape_ok = true;
  pc::QueryResult result;
};

bool Pair(const json& j, bool string_value, pc::Sample* sample, std::string* text) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number() || !j[1].is_string()) return false;
  sample->timestamp = j[0].get<double>();
  const std::string& s = j[1].get_ref<const std::string&>();
  if (string_value) {
    *text = s;
  } else {
    sample->value = ReferenceValue(s);
  }
  return true;
}

Expected Reference(const json& data) {
  Expected e;
  e.shape_ok = false;
  if (!data.is_object()) return e;
  auto type_it = data.find("resultType");
  auto result_it = data.find("result");
  if (type_it == data.end() || !type_it->is_string() || result_it == data.end()) return e;
  const std::string& type = type_it->get_ref<const std::string&>();
  const json& result = *result_it;
  if (type == "scalar" || type == "string") {
    pc::Sample sample;
    e.result.type = type == "string" ? pc::ResultType::kString : pc::ResultType::kScalar;
    if (!Pair(result, type == "string", &sample, &e.result.string_value)) return e;
    e.result.scalar = sample;
    e.shape_ok = true;
    return e;
  }
  if (type != "vector" && type != "matrix") return e;
  const bool matrix = type == "matrix";
  e.result.type = matrix ? pc::ResultType::kMatrix : pc::ResultType::kVector;
  if (result.is_null()) {
    e.shape_ok = true;
    return e;
  }
  if (!result.is_array()) return e;
  for (const json& item : result) {
    if (!item.is_object()) return e;
    pc::Series series;
    auto metric = item.find("metric");
    if (metric != item.end() && !metric->is_null()) {
      if (!metric->is_object()) return e;
      for (auto it = metric->begin(); it != metric->end(); ++it) {
        if (!it.value().is_string()) return e;
        series.labels.emplace(it.key(), it.value().get<std::string>());
      }
    }
    auto values = item.find(matrix ? "values" : "value");
    if (values == item.end()) return e;
    if (matrix) {
      if (!values->is_array()) return e;
      for (const json& pair : *values) {
        pc::Sample sample;
        if (!Pair(pair, false, &sample, nullptr)) return e;
        series.samples.push_back(sample);
      }
    } else {
      pc::Sample sample;
      if (!Pair(*values, false, &sample, nullptr)) return e;
      series.samples.push_back(sample);
    }
    e.result.series.push_back(std::move(series));
  }
  e.shape_ok = true;
  return e;
}

std::string StringField(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const pc::internal::ParsedResponse ours = pc::internal::ParseResponseBody(body);
  if (!ValidUtf8(data, size) || std::memchr(data, 0, size) != nullptr) return 0;

  // nlohmann, with the nesting depth and duplicate keys recorded on the way.
  size_t max_depth = 0;
  bool duplicate = false;
  std::vector<std::set<std::string>> keys;
  json::parser_callback_t callback = [&](int depth, json::parse_event_t event, json& parsed) {
    max_depth = std::max(max_depth, static_cast<size_t>(depth));
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    if (event == json::parse_event_t::key && !keys.empty()) {
      duplicate |= !keys.back().insert(parsed.get<std::string>()).second;
    }
    return true;
  };
  const json doc = json::parse(body, callback, /*allow_exceptions=*/false);
  if (max_depth > 128 || duplicate) return 0;

  const bool theirs_ok = !doc.is_discarded() && doc.is_object();
  FUZZ_CHECK(ours.json_ok == theirs_ok);
  if (!theirs_ok) return 0;

  FUZZ_CHECK(ours.status == StringField(doc, "status"));
  FUZZ_CHECK(ours.error_type == StringField(doc, "errorType"));
  FUZZ_CHECK(ours.error == StringField(doc, "error"));
  std::vector<std::string> warnings;
  if (auto it = doc.find("warnings"); it != doc.end() && it->is_array()) {
    for (const json& w : *it) {
      if (w.is_string()) warnings.push_back(w.get<std::string>());
    }
  }
  FUZZ_CHECK(ours.warnings == warnings);
  auto data_it = doc.find("data");
  FUZZ_CHECK(ours.has_data == (data_it != doc.end()));
  if (data_it == doc.end()) return 0;

  Expected expected;
  try {
    expected = Reference(*data_it);
  } catch (const OutOfScope&) {
    return 0;
  }
  FUZZ_CHECK(ours.data_error.ok() == expected.shape_ok);
  if (!expected.shape_ok) return 0;
  const pc::QueryResult& got = ours.result;
  FUZZ_CHECK(got.type == expected.result.type);
  FUZZ_CHECK(got.scalar.has_value() == expected.result.scalar.has_value());
  if (got.scalar) {
    FUZZ_CHECK(SameNumber(got.scalar->timestamp, expected.result.scalar->timestamp));
    if (got.type == pc::ResultType::kScalar) {
      FUZZ_CHECK(SameNumber(got.scalar->value, expected.result.scalar->value));
    }
  }
  FUZZ_CHECK(got.string_value == expected.result.string_value);
  FUZZ_CHECK(got.series.size() == expected.result.series.size());
  for (size_t i = 0; i < got.series.size(); ++i) {
    const pc::Series& a = got.series[i];
    const pc::Series& b = expected.result.series[i];
    FUZZ_CHECK(a.labels == b.labels);
    FUZZ_CHECK(a.samples.size() == b.samples.size());
    for (size_t k = 0; k < a.samples.size(); ++k) {
      FUZZ_CHECK(SameNumber(a.samples[k].timestamp, b.samples[k].timestamp));
      FUZZ_CHECK(SameNumber(a.samples[k].value, b.samples[k].value));
    }
  }
  return 0;
}
