// SPDX-License-Identifier: Apache-2.0
// One `plan` run and its JSON: what `ridgeline plan --json` prints and rl.plan() returns.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "present/search.hpp"
#include "present/sensitivity.hpp"

namespace ridgeline::present {

/// One `plan` run: the resolved inputs, the search result and the robustness of its verdict.
struct PlanRun {
  SearchSetup setup;
  SearchResult result;
  double wall_s = 0;
  bool full_sensitivity = false;  ///< --sensitivity: every range end re-searched
  std::vector<SensitivityRow> sensitivity;
  std::string robustness;  ///< "verdict robust: ..." or empty
  /// Several --hardware kinds: the best plan on each kind alone (EP on it; AFD with both sides on it).
  std::vector<std::pair<std::string, PointResult>> per_hardware;
  /// The better of the best EP and best AFD plan (nullptr when neither is feasible).
  const Candidate* best() const;
};

/// Searches (top `top` per strategy, the Pareto frontier when `pareto`) and checks the verdict at
/// the ends of each uncertain parameter's range (a full re-search when `full_sensitivity`).
PlanRun run_plan(SearchSetup setup, int top, bool pareto, bool full_sensitivity);

/// With more than one --hardware kind: fills run.per_hardware, searching each kind alone (as
/// `sweep` searches a point).
void add_per_hardware(PlanRun& run, const SearchFlags& flags, const io::Database& db);

/// `ridgeline plan --json` without its "meta" block.
nlohmann::json plan_json(const PlanRun& run, bool pareto);

}  // namespace ridgeline::present
