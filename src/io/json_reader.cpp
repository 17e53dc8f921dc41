// SPDX-License-Identifier: Apache-2.0
#include "json_reader.hpp"

#include <cstdlib>

#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "io/files.hpp"
#include "ridgeline/io/database.hpp"

namespace ridgeline::io {

namespace {
// Files larger than this are not configuration: refuse them before reading (bounded memory).
constexpr std::uintmax_t kMaxJsonFileBytes = kMaxInputFileBytes;
// Deeper nesting than this is never a valid Ridgeline file; refuse before recursing.
constexpr int kMaxJsonDepth = 64;

void check_depth(const std::string& text, const std::string& file) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth)
        throw ConfigError(file + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                          " levels; Ridgeline files are flat objects. Fix: check the file is the one you meant.");
    } else if (c == '}' || c == ']') --depth;
  }
}
}  // namespace

std::string read_text_file(const std::string& file) {
  return read_bounded_file(file, kMaxJsonFileBytes);
}

Json parse_json_text(const std::string& text, const std::string& file) {
  check_depth(text, file);
  // Duplicate keys are an error (nlohmann keeps the last one silently). One hash set per open
  // object: linear in the number of keys (a list scan was quadratic and hung on 1.3 M keys).
  std::string dup;
  std::vector<std::unordered_set<std::string>> keys_at_depth(1);
  auto cb = [&](int d, Json::parse_event_t ev, Json& parsed) {
    if (ev == Json::parse_event_t::object_start) {
      if (static_cast<int>(keys_at_depth.size()) <= d + 1) keys_at_depth.resize(d + 2);
      keys_at_depth[d + 1].clear();
    } else if (ev == Json::parse_event_t::key) {
      if (!keys_at_depth[d].insert(parsed.get<std::string>()).second && dup.empty()) dup = parsed.get<std::string>();
    }
    return true;
  };
  Json j;
  try {
    j = Json::parse(text, cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    throw ConfigError(file + ": malformed JSON: " + e.what() + ". Fix: correct the syntax at that position.");
  } catch (const Json::out_of_range& e) {
    // A number literal beyond double range (e.g. 1e400): nlohmann reports it as out_of_range 406,
    // not as a parse_error (found by the fuzzer, tests/fuzz/regressions/*/number-overflow-*).
    throw ConfigError(file + ": malformed JSON: " + e.what() +
                      ". Fix: write the number in range (|x| < 1.8e308), or as a string with a unit.");
  }
  if (!dup.empty())
    throw ConfigError(file + ": key \"" + dup + "\" appears twice in one object. Fix: keep one of them.");
  return j;
}

Json read_json_file(const std::string& file) { return parse_json_text(read_text_file(file), file); }

std::string short_value(const Json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

void Reader::fail(const std::string& key, const std::string& problem, const std::string& fix) const {
  std::string msg = where(key) + ": " + problem;
  if (has(key)) msg += " (got " + short_value(j_.at(key)) + ")";
  msg += ". Fix: " + fix;
  throw ConfigError(msg);
}

Reader Reader::object(const std::string& key) const {
  if (!has(key)) fail(key, "missing required object", "add \"" + key + "\": {...}");
  if (!j_.at(key).is_object()) fail(key, "must be an object", "write \"" + key + "\": {...}");
  return Reader(j_.at(key), file_, path_of(key));
}

std::optional<Reader> Reader::opt_object(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  if (!j_.at(key).is_object()) fail(key, "must be an object", "write \"" + key + "\": {...}");
  return Reader(j_.at(key), file_, path_of(key));
}

std::string Reader::string(const std::string& key) const {
  if (!has(key)) fail(key, "missing required string", "add \"" + key + "\": \"...\"");
  if (!j_.at(key).is_string()) fail(key, "must be a string", "quote the value");
  return j_.at(key).get<std::string>();
}

std::string Reader::opt_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}

int Reader::integer(const std::string& key, int min_value) const {
  if (!has(key)) fail(key, "missing required whole number", "add \"" + key + "\": <number>");
  const Json& v = j_.at(key);
  if (!v.is_number()) fail(key, "must be a whole number", "write a plain number without quotes or units");
  const double d = v.get<double>();
  // The 1e9 cap: no count in a model or deployment comes near it, and it keeps the sum of any
  // two counts inside a 32-bit int (the core adds e.g. experts + redundant experts).
  if (!std::isfinite(d) || d != std::floor(d) || d > 1e9 || d < -1e9)
    fail(key, "must be a whole number of magnitude at most 1e9", "write an integer such as 8");
  if (d < min_value) fail(key, "must be at least " + std::to_string(min_value), "use a value >= " + std::to_string(min_value));
  return static_cast<int>(d);
}

int Reader::opt_integer(const std::string& key, int min_value, int fallback) const {
  return has(key) ? integer(key, min_value) : fallback;
}

double Reader::quantity(const std::string& key, Dimension dim, bool allow_zero) const {
  if (!has(key)) fail(key, std::string("missing required quantity: ") + dimension_name(dim), "add \"" + key + "\"");
  const Json& v = j_.at(key);
  double value = 0;
  if (v.is_number()) {
    value = v.get<double>();
    try {
      check_quantity_magnitude(value, v.dump(), dim);
    } catch (const ConfigError& e) {
      fail(key, e.what(), "write a value between 1e-12 and 1e21 in SI units, or a string with a unit");
    }
  } else if (v.is_string()) {
    // A string is the form with a unit: "50" where a time is due is a forgotten unit.
    const std::string text(detail::trim(v.get<std::string>()));
    char* end = nullptr;
    const double bare = std::strtod(text.c_str(), &end);
    if (const char* unit = likely_unit(dim); unit && !text.empty() && *end == '\0' && bare != 0)
      fail(key, "\"" + text + "\" has no unit", "write \"" + text + " " + unit + "\"");
    try {
      value = parse_quantity_text(v.get<std::string>(), dim);  // as on the command line: token counts take "4K"
    } catch (const ConfigError& e) {
      fail(key, e.what(), std::string("write ") + dimension_name(dim));
    }
  } else {
    fail(key, std::string("must be ") + dimension_name(dim), "write a number (SI units) or a string with a unit");
  }
  if (!std::isfinite(value)) fail(key, "must be finite", "write a finite value");
  if (value < 0 || (!allow_zero && value == 0))
    fail(key, allow_zero ? "must not be negative" : "must be positive", allow_zero ? "use a value >= 0" : "use a value > 0");
  return value;
}

std::optional<double> Reader::opt_quantity(const std::string& key, Dimension dim, bool allow_zero) const {
  if (!has(key)) return std::nullopt;
  return quantity(key, dim, allow_zero);
}

double Reader::number_in(const std::string& key, double lo, double hi) const {
  if (!has(key)) fail(key, "missing required number", "add \"" + key + "\"");
  const Json& v = j_.at(key);
  if (!v.is_number()) fail(key, "must be a number", "write a plain number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    std::ostringstream r;
    r << "must be between " << lo << " and " << hi;
    fail(key, r.str(), r.str().substr(8));
  }
  return d;
}

double Reader::opt_number_in(const std::string& key, double lo, double hi, double fallback) const {
  return has(key) ? number_in(key, lo, hi) : fallback;
}

bool Reader::opt_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  if (!j_.at(key).is_boolean()) fail(key, "must be true or false", "write true or false");
  return j_.at(key).get<bool>();
}

std::vector<std::string> Reader::opt_strings(const std::string& key) const {
  std::vector<std::string> out;
  if (!has(key)) return out;
  const Json& v = j_.at(key);
  if (!v.is_array()) fail(key, "must be a list of strings", "write [\"...\"]");
  for (const auto& e : v) {
    if (!e.is_string()) fail(key, "must be a list of strings", "quote every element");
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace ridgeline::io
