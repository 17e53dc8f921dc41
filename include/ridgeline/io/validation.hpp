// SPDX-License-Identifier: Apache-2.0
// Validation points and calibration files (the I/O edge of `ridgeline validate`).
// A validation point is a scenario file with a top-level "measured" block:
//   "measured": {"record_id": ..., "tokens_per_s_per_gpu": 2785.25, "field": ..., "source_url": ...,
//                "verification": "primary" | "secondary_transcription", ...}
// A point may not carry an "efficiency" block: validation runs every point with the same
// efficiencies (defaults or one --calibration file), so no per-point constant can hide an error.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "ridgeline/efficiency.hpp"
#include "ridgeline/io/database.hpp"

namespace ridgeline::io {

struct Measurement {
  std::string record_id;  ///< id of the published measurement this point reproduces (see measured.source_url)
  std::string field;      ///< which published field the value is (and how it was derived)
  std::string source_url;
  std::string source_title;
  std::string verification;  ///< "primary" or "secondary_transcription"
  double tokens_per_s_per_gpu = 0;
};

struct ValidationPoint {
  std::string name;  ///< file stem
  Scenario scenario;
  Measurement measured;
};

/// Every *.json in `dir` (sorted by name), each a scenario with a "measured" block.
std::vector<ValidationPoint> load_validation_points(const std::filesystem::path& dir, const Database& db);
ValidationPoint load_validation_point(const std::filesystem::path& file, const Database& db);

/// Efficiency overrides shared by every point, with provenance:
///   {"description": ..., "source": ..., "efficiency": {<keys of a scenario's efficiency block>}}
struct Calibration {
  std::string file;
  std::string description;
  std::string source;
  Efficiencies efficiencies;
  std::vector<std::string> fields_set;  ///< which efficiency keys the file overrides
};

/// Reads a calibration file on top of `base` (fields the file omits keep their base value).
Calibration load_calibration(const std::filesystem::path& file, const Efficiencies& base);

}  // namespace ridgeline::io
