// SPDX-License-Identifier: Apache-2.0
// `ridgeline validate` on a folder of prefill points (validate_prefill.cpp).
#pragma once
#include <string>

#include "cli.hpp"

namespace ridgeline::cli {

struct PrefillValidateOptions {
  std::string dir, calibration, calibration_for;
  bool calibration_any_device = false;
  bool json = false, csv = false;
  double max_median = -1, max_error = -1;
};

/// True when every *.json in `dir` is a prefill point ("phase": "prefill").
bool is_prefill_validation_dir(const std::string& dir);

void run_prefill_validation(const PrefillValidateOptions& o, Context& ctx);

}  // namespace ridgeline::cli
