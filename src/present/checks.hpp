// SPDX-License-Identifier: Apache-2.0
// Input checks shared by the CLI and the Python bindings: the documented limits on how much work
// one request may do, the error for a bad argument value (the CLI exits 2 on it, Python raises
// ValueError), and the range checks behind the CLI's validators, so both front ends refuse the
// same values with the same words.
#pragma once
#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include "ridgeline/error.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/units.hpp"

namespace ridgeline::present {

/// A bad argument value found after parsing (lists, ranges, quantities). Bad *files* stay
/// ConfigError.
struct FlagError : UsageError {
  using UsageError::UsageError;
};

/// Documented limits (README "Reliability" -> "Limits"). Past them a request is refused before
/// it starts, saying how to narrow it.
namespace limits {
inline constexpr int kMaxGpus = 65536;                     ///< --gpus, --max-gpus, --ep
inline constexpr int kMaxThreads = 1024;                   ///< --threads
inline constexpr double kMaxContextTokens = 1e9;           ///< --context (tokens per sequence)
inline constexpr double kMaxBatch = 1e6;                   ///< roofline --batch (sequences per GPU)
inline constexpr double kMinSloS = 1e-6, kMaxSloS = 3600;  ///< TPOT SLOs: 1 us to 1 h
inline constexpr long kMaxGridPoints = 10000;              ///< sweep points / compare cells (one search each)
inline constexpr long kMaxListValues = 100000;             ///< values in one --nf / --ranks / --tokens list
inline constexpr long kMaxTableRows = 100000;              ///< rows of imbalance --alpha
inline constexpr long kMaxImbalanceRows = 2000;            ///< imbalance rows (--ranks x --tokens): up to ~30 ms each
inline constexpr double kMaxBenchSeconds = 60;             ///< bench --seconds
}  // namespace limits

namespace detail_checks {
/// Parses the whole of `s` as a double; false when it is not a number at all.
inline bool parse_double(const std::string& s, double& v) {
  if (s.empty()) return false;
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  v = std::strtod(begin, &end);
  if (end == begin) return false;
  while (*end == ' ' || *end == '\t') ++end;
  return *end == '\0';
}
}  // namespace detail_checks

inline std::string lower_ascii(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// A number format argument (--weights FP8 or fp8): case-insensitive; a bad one is a FlagError.
inline DType parse_format_flag(const std::string& s, const char* flag) {
  const std::string l = lower_ascii(s);
  for (DType d : {DType::fp4, DType::int4, DType::fp8, DType::int8, DType::bf16, DType::fp16, DType::fp32})
    if (l == dtype_name(d)) return d;
  throw FlagError(
      fmt::format("{} \"{}\": unknown number format. Fix: use fp4, int4, fp8, int8, bf16, fp16 or fp32.", flag, s));
}

/// Empty when `s` is a finite number in [lo, hi]; else the reason (quoting the value).
inline std::string finite_range_problem(const std::string& s, double lo, double hi) {
  double v = 0;
  if (!detail_checks::parse_double(s, v) || !std::isfinite(v) || v < lo || v > hi)
    return fmt::format("\"{}\" is not a finite number in [{:g}, {:g}]", s, lo, hi);
  return {};
}

/// Empty when `s` parses as a quantity of `dim` ("50 ms", "32K", "800 Gb/s") inside [lo, hi]
/// (SI units); else the reason (quoting the value). A bare number where a time, size or bandwidth
/// is due is refused with the unit to add (io::parse_quantity_text).
inline std::string quantity_range_problem(const std::string& s, Dimension dim, double lo, double hi,
                                          const char* unit_hint) {
  double v = 0;
  try {
    v = io::parse_quantity_text(s, dim);
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find("has no unit") != std::string::npos) return what;  // already says what to write
    return fmt::format("{}; allowed: {}", what, unit_hint);          // the message quotes the value
  }
  if (!std::isfinite(v) || v < lo || v > hi) return fmt::format("\"{}\" is outside the allowed range {}", s, unit_hint);
  return {};
}

/// Throws FlagError "FLAG: reason" (the CLI's wording for a rejected value) when `problem` is set.
inline void require_ok(const char* flag, const std::string& problem) {
  if (!problem.empty()) throw FlagError(fmt::format("{}: {}", flag, problem));
}

/// `what` items of work, refused past `limit` with a message saying how to narrow the request.
inline void check_work(const std::string& what, double count, double limit, const char* narrow) {
  if (!(count <= limit))
    throw FlagError(fmt::format("{}: {:.0f} is more than the limit of {:.0f}. Fix: {}.", what, count, limit, narrow));
}

}  // namespace ridgeline::present
