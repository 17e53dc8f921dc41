// SPDX-License-Identifier: Apache-2.0
// The --hwdb override of `commroof` and `deadzone`; the list and quantity parsers they share with
// the Python bindings live in present/lists.hpp.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "present/lists.hpp"
#include "ridgeline/units.hpp"
#include "ridgeline/workload.hpp"

namespace ridgeline::cli::roof {

using present::parse_dtype_name;
using present::parse_flag_quantity;
using present::parse_int_list;
using present::parse_number_list;
using present::split_ids;

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
