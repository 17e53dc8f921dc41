// SPDX-License-Identifier: Apache-2.0
// Plans in machine form for --csv: the plan's shape as separate columns and raw SI values whose
// column names carry the unit (tpot_s, tokens_per_s_per_gpu); also the per-hardware rows of plan
// --json. Shared by the CLI and the Python bindings. Tables for people stay in the commands.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ridgeline/search.hpp"

namespace ridgeline::present {

/// The columns plan_fields() fills, in CSV order.
const std::vector<std::string>& plan_csv_columns();
/// One plan as a flat JSON object keyed by plan_csv_columns() (`prefix` prepended to each key).
nlohmann::json plan_fields(const Candidate& c, const std::string& prefix = "");
/// plan_csv_columns() with `prefix` prepended.
std::vector<std::string> prefixed_plan_columns(const std::string& prefix);

}  // namespace ridgeline::present
