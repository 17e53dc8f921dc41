// SPDX-License-Identifier: Apache-2.0
// Printers: the only place that scales SI values for display (ms, GB, %).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/ops.hpp"

namespace ridgeline::report {

inline constexpr const char* kVersion = "0.1.0";

/// One sentence saying what limits the plan and what would change it.
std::string describe_binding(const Evaluation& e, const Deployment& d);
/// A readable multi-line report of one evaluated scenario.
/// ", DP 8 x attention TP 2" / ", pure TP 8" for an EP worker with TP inside; "" otherwise.
std::string ep_shape_words(const Deployment& d);
std::string evaluation_table(const io::Scenario& s, const Evaluation& e);
/// The JSON object of one evaluation (fields documented in README.md).
nlohmann::json evaluation_json(const io::Scenario& s, const Evaluation& e);
/// The roofline fractions `eff` prices `hw`'s operators with, each with its origin ("measured":
/// hw's profile, "calibrated": given by a calibration, "default": generic) and the profile file.
nlohmann::json roofline_json(const Efficiencies& eff, const Accelerator& hw);
/// The fractions alone: "GEMM 0.630 compute / 0.807 memory, attention 0.662 / 0.850".
std::string roofline_values_text(const Efficiencies& eff, const Accelerator& hw);
/// The same with their origin: "GEMM 0.630 compute / 0.807 memory, attention 0.662 / 0.850:
/// measured (hwdb/calibration/h200.json)".
std::string roofline_text(const Efficiencies& eff, const Accelerator& hw);
/// The `meta` block every JSON output carries: tool version, argv, inputs.
nlohmann::json meta_json(const std::vector<std::string>& argv);

/// A number as a CSV cell for machines: the shortest text that reads back to the same double (no
/// unit, no %, no rounding); empty when the value is not finite.
std::string csv_number(double v);
/// CSV of JSON row objects, for machines: one column per name in `columns` (empty: every key of
/// the first row); a nested object's keys become parent_child columns. Numbers at full precision,
/// null empty, booleans 1 / 0, strings as they are. Column names carry the unit (tpot_s, hbm_bytes).
std::string csv_of_rows(const nlohmann::json& rows, std::vector<std::string> columns = {});

/// Fixed-width text table with a units row under the header.
struct Table {
  std::vector<std::string> header, units;
  std::vector<std::vector<std::string>> rows;
  std::string render() const;
  std::string csv() const;
};

}  // namespace ridgeline::report
