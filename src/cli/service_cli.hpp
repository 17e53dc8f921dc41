// SPDX-License-Identifier: Apache-2.0
// `ridgeline plan --isl N ...`: a whole service (prefill + decode pools) instead of a decode plan.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli.hpp"
#include "plan_common.hpp"
#include "present/service.hpp"

namespace ridgeline::cli {

/// Service flags of `plan`, as typed: the request the library takes (its `flags` member unused
/// here: the search flags are the plan command's own) plus the CLI's output options. Service
/// mode is on when --isl is given.
struct ServiceFlags : present::ServiceRequest {
  std::string emit, emit_dir;          ///< --emit sglang|slurm|k8s|vllm|vllm-slurm|vllm-k8s, --emit-dir DIR
  std::string disaggregation_backend;  ///< KV transfer backend in emitted files ("": the stack's default)
  bool active() const { return !isl.empty(); }
};

void add_service_flags(CLI::App* cmd, ServiceFlags& f);

/// Runs the service sizing and prints it (tables, --json, --explain). Throws ExitCode{3} when no
/// plan meets the targets.
void run_service_plan(const ServiceFlags& sf, const SearchFlags& flags, Context& ctx, bool json, bool explain, int top);

}  // namespace ridgeline::cli
