// SPDX-License-Identifier: Apache-2.0
// `plan --sensitivity`: lives in the library (present/sensitivity.hpp), shared with Python.
#pragma once
#include "plan_common.hpp"
#include "present/sensitivity.hpp"

namespace ridgeline::cli {
using present::robustness_line;
using present::run_sensitivity;
using present::SensitivityRow;
}  // namespace ridgeline::cli
