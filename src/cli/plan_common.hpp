// SPDX-License-Identifier: Apache-2.0
// The search flags of `plan`, `sweep`, `compare` and `bench`. What the commands share with the
// Python bindings (resolving the flags, a plan's JSON) lives in the library: present/search.hpp.
#pragma once
#include <CLI/CLI.hpp>

#include "present/search.hpp"

namespace ridgeline::cli {

using present::apply_routing_flag;
using present::candidate_json;
using present::InputProvenance;
using present::parse_objective;
using present::parse_search_dtype;
using present::parse_search_quantity;
using present::parse_search_quantity_or_zero;
using present::plan_label;
using present::PointResult;
using present::resolve_search;
using present::run_point;
using present::scenario_of;
using present::SearchFlags;
using present::SearchSetup;

/// Adds the search flags. `with_grid_axes`: model/hardware/slo/context are set elsewhere (sweep).
void add_search_flags(CLI::App* cmd, SearchFlags& f, bool with_grid_axes = true);

}  // namespace ridgeline::cli
