// SPDX-License-Identifier: Apache-2.0
// Flag validation shared by every command: CLI11 validators for numbers and quantities (NaN,
// inf and out-of-range values are usage errors, exit 2), FlagError for flag checks done after
// parsing (also exit 2), and the documented limits on how much work one command may do.
// Every message is one line naming the flag, the bad value and the allowed range.
#pragma once
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include "ridgeline/error.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/units.hpp"

namespace ridgeline::cli {

/// A bad flag value found after parsing (lists, ranges, quantities): main() exits 2, as for
/// CLI11's own usage errors. Bad *files* stay ConfigError (exit 1).
struct FlagError : UsageError {
  using UsageError::UsageError;
};

/// Documented limits (README "Reliability" -> "Limits"). Past them a command refuses before it
/// starts, saying how to narrow the request.
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

/// A number format flag (--weights FP8 or fp8): case-insensitive; a bad one is a usage error.
inline DType parse_format_flag(const std::string& s, const char* flag) {
  const std::string l = lower_ascii(s);
  for (DType d : {DType::fp4, DType::int4, DType::fp8, DType::int8, DType::bf16, DType::fp16, DType::fp32})
    if (l == dtype_name(d)) return d;
  throw FlagError(
      fmt::format("{} \"{}\": unknown number format. Fix: use fp4, int4, fp8, int8, bf16, fp16 or fp32.", flag, s));
}

/// An old spelling of a flag is kept as an option in the group "Deprecated spellings", bound to
/// the same variable;
/// note_deprecated() says on stderr that it was used and what to write instead.
inline void note_deprecated(const CLI::App* cmd, const std::string& old_name, const std::string& new_name) {
  if (cmd->count(old_name) > 0)
    fmt::print(stderr, "ridgeline: note: {} is deprecated; use {} (it takes the same values)\n", old_name, new_name);
}

/// A flag quantity in SI units (io::parse_quantity_text: a bare number where a time, size or
/// bandwidth is due is refused with the unit to add; token counts take K / M suffixes).
inline double parse_flag_quantity(const std::string& text, Dimension dim) {
  return io::parse_quantity_text(text, dim);
}

/// A finite number in [lo, hi]. CLI::Range lets NaN through (every comparison with NaN is
/// false) and accepts 1e308; this one does not. Works for int and double options.
inline CLI::Validator FiniteRange(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        double v = 0;
        if (!detail_checks::parse_double(s, v) || !std::isfinite(v) || v < lo || v > hi)
          return fmt::format("\"{}\" is not a finite number in [{:g}, {:g}]", s, lo, hi);
        return {};
      },
      fmt::format("FINITE in [{:g} - {:g}]", lo, hi));
}

/// A quantity flag given as text with an optional unit ("50 ms", "32K", "800 Gb/s"): must parse
/// as `dim`, be finite and lie in [lo, hi] (SI units). The option keeps its text.
inline CLI::Validator QuantityRange(Dimension dim, double lo, double hi, const char* unit_hint) {
  return CLI::Validator(
      [dim, lo, hi, unit_hint](std::string& s) -> std::string {
        double v = 0;
        try {
          v = io::parse_quantity_text(s, dim);
        } catch (const Error& e) {
          const std::string what = e.what();
          if (what.find("has no unit") != std::string::npos) return what;  // already says what to write
          return fmt::format("{}; allowed: {}", what, unit_hint);          // the message quotes the value
        }
        if (!std::isfinite(v) || v < lo || v > hi)
          return fmt::format("\"{}\" is outside the allowed range {}", s, unit_hint);
        return {};
      },
      std::string("QUANTITY ") + unit_hint);
}

/// `what` items of work, refused past `limit` with a message saying how to narrow the request.
inline void check_work(const std::string& what, double count, double limit, const char* narrow) {
  if (!(count <= limit))
    throw FlagError(fmt::format("{}: {:.0f} is more than the limit of {:.0f}. Fix: {}.", what, count, limit, narrow));
}

}  // namespace ridgeline::cli
