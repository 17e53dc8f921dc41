// SPDX-License-Identifier: Apache-2.0
// Plans in machine form for --csv: the library's present/plan_csv.hpp.
#pragma once
#include "present/plan_csv.hpp"

namespace ridgeline::cli {

using present::plan_csv_columns;
using present::plan_fields;
using present::prefixed_plan_columns;

}  // namespace ridgeline::cli
