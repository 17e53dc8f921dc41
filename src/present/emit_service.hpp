// SPDX-License-Identifier: Apache-2.0
// Launch material for a service plan (emit_service.cpp): what `plan --isl ... --emit KIND`
// writes and ridgeline.emit() returns.
#pragma once
#include <string>
#include <vector>

#include "ridgeline/service.hpp"

namespace ridgeline::present {

struct EmittedFile {
  std::string name, text;
};

/// The --emit kinds and the SGLang --disaggregation-backend values.
inline const std::vector<std::string> kEmitKinds{"sglang", "slurm", "k8s", "vllm"};
inline const std::vector<std::string> kDisaggregationBackends{"mooncake", "nixl"};

/// Throws FlagError (CLI11's wording for a value not in the set) for an unknown kind or backend.
void check_emit_kind(const std::string& kind, const std::string& transfer_backend);

/// kind: sglang (one launch script per role), slurm (one batch script, one srun per role
/// instance), k8s (one LeaderWorkerSet manifest per role), all for SGLang 0.5.2 with
/// transfer_backend mooncake | nixl; vllm (one `vllm serve` script per role, vLLM 0.11.0, KV
/// transfer by its NixlConnector). An AFD decode pool gets a note instead of a command.
std::vector<EmittedFile> emit_service(const std::string& kind, const ServicePlan& sp, const ModelSpec& m,
                                      const std::string& transfer_backend);

}  // namespace ridgeline::present
