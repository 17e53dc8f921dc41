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

#include "present/checks.hpp"
#include "ridgeline/error.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/units.hpp"

namespace ridgeline::cli {

/// A bad flag value found after parsing: main() exits 2, as for CLI11's own usage errors. Bad
/// *files* stay ConfigError (exit 1). The limits and checks live in the library (present/checks.hpp)
/// so the Python bindings refuse the same values with the same words.
using present::FlagError;
namespace limits = present::limits;
using present::check_work;

using present::lower_ascii;
/// A number format flag (--weights FP8 or fp8): case-insensitive; a bad one is a usage error.
using present::parse_format_flag;

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
  return CLI::Validator([lo, hi](std::string& s) -> std::string { return present::finite_range_problem(s, lo, hi); },
                        fmt::format("FINITE in [{:g} - {:g}]", lo, hi));
}

/// A quantity flag given as text with an optional unit ("50 ms", "32K", "800 Gb/s"): must parse
/// as `dim`, be finite and lie in [lo, hi] (SI units). The option keeps its text.
inline CLI::Validator QuantityRange(Dimension dim, double lo, double hi, const char* unit_hint) {
  return CLI::Validator(
      [dim, lo, hi, unit_hint](std::string& s) -> std::string {
        return present::quantity_range_problem(s, dim, lo, hi, unit_hint);
      },
      std::string("QUANTITY ") + unit_hint);
}

/// Output formats of one command exclude each other: `--json --csv` is a usage error (exit 2)
/// instead of one of them silently winning. Call after the command's flags are added.
inline void one_output_format(CLI::App* cmd) {
  const char* formats[] = {"--json", "--csv", "--markdown"};
  for (const char* a : formats)
    for (const char* b : formats)
      if (a != b && cmd->get_option_no_throw(a) && cmd->get_option_no_throw(b))
        cmd->get_option(a)->excludes(cmd->get_option(b));
}

}  // namespace ridgeline::cli
