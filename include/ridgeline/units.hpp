// SPDX-License-Identifier: Apache-2.0
// Units: SI base units everywhere inside Ridgeline (s, B, FLOP, B/s, FLOP/s, W, USD); the
// constants below scale into them. parse_quantity() reads datasheet strings such as "400 Gb/s"
// (= 50e9 B/s: bits, not bytes), "3.35 TB/s", "989 TFLOPS", "80 GB", "1 GiB", "10 us".
#pragma once
#include <cctype>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "ridgeline/error.hpp"

namespace ridgeline {

inline constexpr double kKilo = 1e3, kMega = 1e6, kGiga = 1e9, kTera = 1e12, kPeta = 1e15;
inline constexpr double kKiB = 1024.0, kMiB = kKiB * 1024.0, kGiB = kMiB * 1024.0,
                        kTiB = kGiB * 1024.0;
inline constexpr double kMs = 1e-3, kUs = 1e-6, kNs = 1e-9;

/// What a quantity measures; a string with a unit of another dimension is rejected.
enum class Dimension { count, bytes, bytes_per_s, flops_per_s, seconds, watts, usd_per_hour };

inline const char* dimension_name(Dimension d) {
  switch (d) {
    case Dimension::count: return "a plain number";
    case Dimension::bytes: return "a size in bytes (e.g. \"80 GB\", \"1 GiB\")";
    case Dimension::bytes_per_s: return "a bandwidth (e.g. \"3.35 TB/s\", \"400 Gb/s\")";
    case Dimension::flops_per_s: return "a compute rate (e.g. \"989 TFLOPS\")";
    case Dimension::seconds: return "a time (e.g. \"50 ms\", \"10 us\")";
    case Dimension::watts: return "a power (e.g. \"700 W\")";
    case Dimension::usd_per_hour: return "a price in USD per GPU-hour (e.g. 2.0)";
  }
  return "?";
}

namespace detail {

struct UnitEntry {
  std::string_view name;
  Dimension dim;
  double scale;
};

// Case matters: "Gb/s" is bits, "GB/s" is bytes (the classic factor-8 bug).
inline constexpr UnitEntry kUnits[] = {
    {"B", Dimension::bytes, 1},
    {"kB", Dimension::bytes, kKilo},
    {"KB", Dimension::bytes, kKilo},
    {"MB", Dimension::bytes, kMega},
    {"GB", Dimension::bytes, kGiga},
    {"TB", Dimension::bytes, kTera},
    {"KiB", Dimension::bytes, kKiB},
    {"MiB", Dimension::bytes, kMiB},
    {"GiB", Dimension::bytes, kGiB},
    {"TiB", Dimension::bytes, kTiB},
    {"B/s", Dimension::bytes_per_s, 1},
    {"kB/s", Dimension::bytes_per_s, kKilo},
    {"KB/s", Dimension::bytes_per_s, kKilo},
    {"MB/s", Dimension::bytes_per_s, kMega},
    {"GB/s", Dimension::bytes_per_s, kGiga},
    {"TB/s", Dimension::bytes_per_s, kTera},
    {"KiB/s", Dimension::bytes_per_s, kKiB},
    {"MiB/s", Dimension::bytes_per_s, kMiB},
    {"GiB/s", Dimension::bytes_per_s, kGiB},
    {"TiB/s", Dimension::bytes_per_s, kTiB},
    {"b/s", Dimension::bytes_per_s, 1.0 / 8},
    {"bps", Dimension::bytes_per_s, 1.0 / 8},
    {"kb/s", Dimension::bytes_per_s, kKilo / 8},
    {"Kb/s", Dimension::bytes_per_s, kKilo / 8},
    {"kbps", Dimension::bytes_per_s, kKilo / 8},
    {"Mb/s", Dimension::bytes_per_s, kMega / 8},
    {"Mbps", Dimension::bytes_per_s, kMega / 8},
    {"Gb/s", Dimension::bytes_per_s, kGiga / 8},
    {"Gbps", Dimension::bytes_per_s, kGiga / 8},
    {"Tb/s", Dimension::bytes_per_s, kTera / 8},
    {"Tbps", Dimension::bytes_per_s, kTera / 8},
    {"FLOPS", Dimension::flops_per_s, 1},
    {"FLOP/s", Dimension::flops_per_s, 1},
    {"kFLOPS", Dimension::flops_per_s, kKilo},
    {"MFLOPS", Dimension::flops_per_s, kMega},
    {"GFLOPS", Dimension::flops_per_s, kGiga},
    {"TFLOPS", Dimension::flops_per_s, kTera},
    {"PFLOPS", Dimension::flops_per_s, kPeta},
    {"GFLOP/s", Dimension::flops_per_s, kGiga},
    {"TFLOP/s", Dimension::flops_per_s, kTera},
    {"PFLOP/s", Dimension::flops_per_s, kPeta},
    {"TOPS", Dimension::flops_per_s, kTera},
    {"s", Dimension::seconds, 1},
    {"ms", Dimension::seconds, kMs},
    {"us", Dimension::seconds, kUs},
    {"\xC2\xB5s", Dimension::seconds, kUs},
    {"ns", Dimension::seconds, kNs},
    {"min", Dimension::seconds, 60},
    {"h", Dimension::seconds, 3600},
    {"W", Dimension::watts, 1},
    {"kW", Dimension::watts, kKilo},
};

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace detail

/// The magnitudes a quantity may take, in SI base units. No datasheet or plan value is near either
/// end (the largest real one, an FP4 peak, is ~2e16 FLOP/s; the smallest, a latency, ~1e-7 s);
/// outside them a value is a typo or hostile input ("1e-320", "1e300 GB/s"). Keeping inputs inside
/// also keeps every product and quotient the model forms finite, so no inf/inf = NaN downstream.
inline constexpr double kMinQuantityMagnitude = 1e-12, kMaxQuantityMagnitude = 1e21;

/// Throws ConfigError when a nonzero SI value `si` (read from `shown`) is outside the range above.
inline void check_quantity_magnitude(double si, std::string_view shown, Dimension dim) {
  const double a = std::fabs(si);
  if (a != 0 && (a < kMinQuantityMagnitude || a > kMaxQuantityMagnitude))
    throw ConfigError("\"" + std::string(shown) + "\" is outside the magnitudes Ridgeline accepts (1e-12 to 1e21 in SI "
                      "units; check for a missing or wrong unit); expected " + dimension_name(dim));
}

/// Parses "<number> <unit>" (space optional) into SI base units of `dim`.
/// Throws ConfigError (without file context: the caller adds it) on a malformed number,
/// an unknown unit, a unit of the wrong dimension, or a non-finite value.
inline double parse_quantity(std::string_view text, Dimension dim) {
  const std::string_view s = detail::trim(text);
  if (s.empty()) throw ConfigError(std::string("empty quantity; expected ") + dimension_name(dim));
  // Numeric prefix: digits, sign, dot, exponent.
  size_t i = 0;
  auto is_num_char = [&](size_t k) {
    const char c = s[k];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-') return true;
    // 'e'/'E' belongs to the number only when followed by a digit or sign (so "1 EB" is not eaten).
    if ((c == 'e' || c == 'E') && k + 1 < s.size()) {
      const char n = s[k + 1];
      return std::isdigit(static_cast<unsigned char>(n)) || n == '+' || n == '-';
    }
    return false;
  };
  while (i < s.size() && is_num_char(i)) ++i;
  const std::string num(s.substr(0, i));
  const std::string_view unit = detail::trim(s.substr(i));
  double value = 0;
  size_t used = 0;
  try {
    value = std::stod(num, &used);
  } catch (...) {
    used = 0;
  }
  if (num.empty() || used != num.size())
    throw ConfigError("\"" + std::string(s) + "\" is not a number with a unit; expected " +
                      dimension_name(dim));
  if (!std::isfinite(value))
    throw ConfigError("\"" + std::string(s) + "\" is not finite; expected " + dimension_name(dim));
  if (unit.empty()) {  // bare number: already SI
    check_quantity_magnitude(value, s, dim);
    return value;
  }
  for (const auto& u : detail::kUnits) {
    if (u.name == unit) {
      if (u.dim != dim)
        throw ConfigError("\"" + std::string(s) + "\" has unit \"" + std::string(unit) +
                          "\" of the wrong kind; expected " + dimension_name(dim));
      check_quantity_magnitude(value * u.scale, s, dim);
      return value * u.scale;
    }
  }
  throw ConfigError("unknown unit \"" + std::string(unit) + "\" in \"" + std::string(s) +
                    "\"; expected " + dimension_name(dim));
}

}  // namespace ridgeline
