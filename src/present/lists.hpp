// SPDX-License-Identifier: Apache-2.0
// Argument parsing shared by `commroof`, `deadzone`, `imbalance` and the Python bindings:
// integer ranges, lists of numbers, quantities with units and number formats. Every error is a
// FlagError naming the flag, the bad value and the fix.
#pragma once
#include <string>
#include <vector>

#include "ridgeline/units.hpp"
#include "ridgeline/workload.hpp"

namespace ridgeline::present {

/// "1..64", "1,2,4,8", "8" or a mix ("1..4,8,16") -> sorted unique positive integers.
std::vector<int> parse_int_list(const std::string& text, const char* flag);
/// "0.7,0.75,0.8" -> numbers in [lo, hi].
std::vector<double> parse_number_list(const std::string& text, const char* flag, double lo, double hi);
/// "50ms", "50 ms" -> SI value of `dim` (> 0); a bare number needs a unit (io::parse_quantity_text).
double parse_flag_quantity(const std::string& text, Dimension dim, const char* flag);
DType parse_dtype_name(const std::string& s, const char* flag);
/// Comma-separated ids.
std::vector<std::string> split_ids(const std::string& text);

}  // namespace ridgeline::present
