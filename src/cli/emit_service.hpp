// SPDX-License-Identifier: Apache-2.0
// Launch material for a service plan (emit_service.cpp).
#pragma once
#include <string>
#include <vector>

#include "ridgeline/service.hpp"

namespace ridgeline::cli {

struct EmittedFile {
  std::string name, text;
};

/// kind: sglang (one launch script per role), slurm (one batch script, one srun per role
/// instance), k8s (one LeaderWorkerSet manifest per role). transfer_backend: mooncake | nixl.
std::vector<EmittedFile> emit_service(const std::string& kind, const ServicePlan& sp, const ModelSpec& m,
                                      const std::string& transfer_backend);

}  // namespace ridgeline::cli
