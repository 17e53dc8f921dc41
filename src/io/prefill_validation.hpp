// SPDX-License-Identifier: Apache-2.0
// Prefill validation points: a prefill instance (prefill.hpp), a prompt length and the published
// prompt tokens/s per GPU, with its source. Kept apart from decode points ("phase": "prefill",
// examples/validation/prefill/).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "ridgeline/io/database.hpp"
#include "ridgeline/prefill.hpp"

namespace ridgeline::io {

struct PrefillValidationPoint {
  std::string name, file, description;
  const ModelSpec* model = nullptr;
  Accelerator hardware;  ///< a copy: the deployment points into the point itself
  std::string hardware_id;
  Precision precision;
  Workload workload;  ///< routing only (expert_load_imbalance)
  PrefillDeployment deployment;
  double input_tokens = 0;
  double measured_tokens_per_s_per_gpu = 0;
  std::string record_id, field, source_url, source_title, verification;
};

/// True when `file` is a JSON object with "phase": "prefill".
bool is_prefill_point(const std::filesystem::path& file);

/// True when `dir` is a readable folder whose *.json files are all prefill points (at least one).
bool is_prefill_validation_dir(const std::filesystem::path& dir);

/// Every *.json in `dir` that is a prefill point (errors name the file, the JSON path and the fix).
/// The points are returned by pointer-stable storage: deployment.hw points at hardware.
std::vector<std::unique_ptr<PrefillValidationPoint>> load_prefill_points(const std::filesystem::path& dir,
                                                                         const Database& db);

}  // namespace ridgeline::io
