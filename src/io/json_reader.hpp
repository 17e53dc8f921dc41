// SPDX-License-Identifier: Apache-2.0
// Path-aware JSON field access: every error names the file, the JSON path, the bad value and
// the fix. Internal to src/io (the only place that includes nlohmann/json).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ridgeline/error.hpp"
#include "ridgeline/units.hpp"

namespace ridgeline::io {

using Json = nlohmann::json;

/// The unit a bare number most likely lacks where `d` is due (for "50 has no unit; write
/// \"50 ms\""); nullptr where plain numbers are right (counts, prices).
inline const char* likely_unit(Dimension d) {
  switch (d) {
    case Dimension::seconds:
      return "ms";
    case Dimension::bytes:
      return "GB";
    case Dimension::bytes_per_s:
      return "GB/s";
    case Dimension::flops_per_s:
      return "TFLOPS";
    case Dimension::watts:
      return "W";
    default:
      return nullptr;
  }
}

/// Parses text; a syntax error names the file, line and column.
Json parse_json_text(const std::string& text, const std::string& file);
/// Reads and parses a file (size-bounded).
Json read_json_file(const std::string& file);
std::string read_text_file(const std::string& file);

class Reader {
 public:
  Reader(const Json& j, std::string file, std::string path = "")
      : j_(j), file_(std::move(file)), path_(std::move(path)) {}

  const Json& json() const { return j_; }
  const std::string& file() const { return file_; }
  std::string path_of(const std::string& key) const { return path_ + "/" + key; }
  std::string where(const std::string& key) const { return file_ + ": " + path_of(key); }
  bool has(const std::string& key) const { return j_.is_object() && j_.contains(key) && !j_.at(key).is_null(); }

  [[noreturn]] void fail(const std::string& key, const std::string& problem, const std::string& fix) const;

  Reader object(const std::string& key) const;
  std::optional<Reader> opt_object(const std::string& key) const;
  std::string string(const std::string& key) const;
  std::string opt_string(const std::string& key, const std::string& fallback) const;
  /// A whole number >= min_value.
  int integer(const std::string& key, int min_value) const;
  int opt_integer(const std::string& key, int min_value, int fallback) const;
  /// A positive (or >= 0 when allow_zero) finite quantity, number or string with a unit.
  double quantity(const std::string& key, Dimension dim, bool allow_zero = false) const;
  std::optional<double> opt_quantity(const std::string& key, Dimension dim, bool allow_zero = false) const;
  /// A number in [lo, hi].
  double number_in(const std::string& key, double lo, double hi) const;
  double opt_number_in(const std::string& key, double lo, double hi, double fallback) const;
  bool opt_bool(const std::string& key, bool fallback) const;
  std::vector<std::string> opt_strings(const std::string& key) const;

 private:
  const Json& j_;
  std::string file_;
  std::string path_;
};

std::string short_value(const Json& v);

}  // namespace ridgeline::io
