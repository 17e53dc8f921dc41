// SPDX-License-Identifier: Apache-2.0
// Launch material for a service plan (emit_service.cpp): what `plan --isl ... --emit KIND`
// writes and ridgeline.emit() returns.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ridgeline/io/database.hpp"
#include "ridgeline/service.hpp"

namespace ridgeline::present {

struct EmittedFile {
  std::string name, text;
};

/// The --emit kinds and the --disaggregation-backend values ("" = the stack's default: mooncake
/// for SGLang, nixl for vLLM).
inline const std::vector<std::string> kEmitKinds{"sglang", "slurm", "k8s", "vllm", "vllm-slurm", "vllm-k8s"};
inline const std::vector<std::string> kDisaggregationBackends{"mooncake", "nixl"};

/// Throws FlagError (CLI11's wording for a value not in the set) for an unknown kind or backend,
/// and for a backend the kind's stack does not ship (vLLM 0.11.0 has no Mooncake connector).
void check_emit_kind(const std::string& kind, const std::string& transfer_backend);

/// One pool of a service plan as the launch files need it.
struct LaunchPool {
  std::string hardware;
  int instances = 0;
  int gpus = 0;  ///< per instance
  int gpus_per_node = 8;
  int micro_batches = 1;
  int redundant_experts = 0;
};

/// What the launch files need from a service plan: built from a ServicePlan (CLI, plan_service())
/// or from the JSON `plan --isl ... --json` prints (ridgeline.emit() on a loaded dict).
struct LaunchPlan {
  std::string model_id, model_repo;  ///< model_repo: "deepseek-ai/DeepSeek-V3" (Hugging Face) or the id
  int routed_experts = 0;            ///< the model's routed experts per MoE layer
  LaunchPool prefill, decode;
  bool prefill_ep = true;        ///< else TP
  double chunk_tokens = 0;       ///< prefill tokens per pass per attention rank
  double request_slots = 0;      ///< prefill request slots per instance
  bool decode_afd = false;       ///< AFD decode: no stack runs it
  int attention_tp = 1;          ///< decode attention TP
  int expert_tp = 1;             ///< decode expert TP
  double batch_per_gpu = 0;      ///< decode sequences per GPU
  bool dispatch_normal = false;  ///< decode DeepEP normal kernels (else low latency)
  double rate_per_s = 0, ttft_s = 0, tpot_s = 0;
};

LaunchPlan launch_plan(const ServicePlan& sp, const ModelSpec& m);

/// SGLang places (routed + redundant) / ep_size experts on every rank and refuses a launch where
/// that does not divide (`assert num_physical_experts % ep_size == 0`, sglang/srt/eplb/
/// expert_location.py). The plan already prices its fullest rank at ceil((routed + redundant) /
/// ep) experts, which is exactly (routed + r') / ep for the smallest r' >= redundant that
/// divides: the extra replicas fill slots the plan counts. Returns that r'.
int launchable_redundant_experts(int routed_experts, int redundant_experts, int ep_size);

/// From `ridgeline plan --isl ... --json`'s object (the model's Hugging Face name and each
/// hardware's GPUs per node come from `db`). Throws ConfigError naming the missing or mistyped
/// key for an object that is not a service plan, and when it has no feasible plan.
LaunchPlan launch_plan_from_json(const nlohmann::json& service, const io::Database& db);

/// kind: sglang (one launch script per role), slurm (one batch script, one srun per role
/// instance), k8s (one LeaderWorkerSet manifest per role), all for SGLang 0.5.2 with
/// transfer_backend mooncake | nixl; vllm, vllm-slurm, vllm-k8s: the same three for `vllm serve`
/// of vLLM 0.11.0, KV transfer by its NixlConnector. An AFD decode pool gets a note instead of a
/// command.
std::vector<EmittedFile> emit_service(const std::string& kind, const LaunchPlan& plan,
                                      const std::string& transfer_backend);
std::vector<EmittedFile> emit_service(const std::string& kind, const ServicePlan& sp, const ModelSpec& m,
                                      const std::string& transfer_backend);

}  // namespace ridgeline::present
