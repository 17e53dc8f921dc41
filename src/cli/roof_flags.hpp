// SPDX-License-Identifier: Apache-2.0
// Flag parsing shared by `commroof`, `deadzone` and `imbalance`: integer ranges, lists of
// numbers, quantities with units, number formats and the --hwdb override. Every error names
// the flag, the bad value and the fix.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "ridgeline/units.hpp"
#include "ridgeline/workload.hpp"

namespace ridgeline::cli::roof {

/// "1..64", "1,2,4,8", "8" or a mix ("1..4,8,16") -> sorted unique positive integers.
std::vector<int> parse_int_list(const std::string& text, const char* flag);
/// "0.7,0.75,0.8" -> numbers in [lo, hi].
std::vector<double> parse_number_list(const std::string& text, const char* flag, double lo, double hi);
/// "50ms", "50 ms" -> SI value of `dim` (> 0); a bare number needs a unit (io::parse_quantity_text).
double parse_flag_quantity(const std::string& text, Dimension dim, const char* flag);
DType parse_dtype_name(const std::string& s, const char* flag);
/// Comma-separated ids.
std::vector<std::string> split_ids(const std::string& text);

/// The hardware database the roofline commands read: the default one, or the folder given by
/// --hwdb (e.g. examples/paper-afd-roofline/hardware for the paper's Table 5 inputs). Models
/// always come from the default models folder.
class HardwareSource {
 public:
  HardwareSource(Context& ctx, const std::string& hwdb_dir);
  const io::Database& db() const { return db_ ? *db_ : ctx_.db(); }
  const std::string& label() const { return label_; }

 private:
  Context& ctx_;
  std::unique_ptr<io::Database> db_;
  std::string label_;
};

}  // namespace ridgeline::cli::roof
