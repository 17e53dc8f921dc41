// SPDX-License-Identifier: Apache-2.0
// Invariants every Evaluation must satisfy, shared by the property tests and the fuzz targets:
// every number is finite, every time/throughput/byte count is >= 0, and a plan reported
// feasible meets each constraint when re-checked (weights + KV <= usable HBM, TPOT <= SLO).
#pragma once
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ridgeline/evaluate.hpp"

namespace ridgeline::testing {

/// The numeric outputs of an Evaluation by name (budget_slot_s is left out of the sign check:
/// it is negative when the iteration gap alone exceeds the SLO, which is a meaningful value).
inline std::vector<std::pair<const char*, double>> nonnegative_fields(const Evaluation& e) {
  return {{"attention_s", e.attention_s},
          {"ffn_s", e.ffn_s},
          {"dispatch_s", e.dispatch_s},
          {"combine_s", e.combine_s},
          {"slot_s", e.slot_s},
          {"moe_layers_s", e.moe_layers_s},
          {"dense_layers_s", e.dense_layers_s},
          {"lm_head_s", e.lm_head_s},
          {"gap_s", e.gap_s},
          {"iteration_s", e.iteration_s},
          {"tpot_s", e.tpot_s},
          {"sequences", e.sequences},
          {"tokens_per_s", e.tokens_per_s},
          {"tokens_per_s_per_gpu", e.tokens_per_s_per_gpu},
          {"tokens_per_s_per_user", e.tokens_per_s_per_user},
          {"tokens_per_s_per_dollar_hour", e.tokens_per_s_per_dollar_hour},
          {"usd_per_million_tokens", e.usd_per_million_tokens},
          {"tokens_per_s_per_watt", e.tokens_per_s_per_watt},
          {"hfu", e.hfu},
          {"ffn_ofu", e.ffn_ofu},
          {"ffn_occupancy", e.ffn_occupancy},
          {"ffn_hfu", e.ffn_hfu},
          {"attention_bubble_fraction", e.attention_bubble_fraction},
          {"ffn_bubble_fraction", e.ffn_bubble_fraction},
          {"tokens_per_ffn_gpu", e.tokens_per_ffn_gpu},
          {"scale_out_bytes_per_gpu", e.scale_out_bytes_per_gpu},
          {"attention_memory.weights_bytes", e.attention_memory.weights_bytes},
          {"attention_memory.kv_bytes", e.attention_memory.kv_bytes},
          {"attention_memory.capacity_bytes", e.attention_memory.capacity_bytes},
          {"ffn_memory.weights_bytes", e.ffn_memory.weights_bytes},
          {"ffn_memory.kv_bytes", e.ffn_memory.kv_bytes},
          {"ffn_memory.capacity_bytes", e.ffn_memory.capacity_bytes}};
}

/// The first broken invariant of `e` as a readable line, or "" when all hold.
inline std::string evaluation_problem(const Evaluation& e, const Workload& w) {
  if (!std::isfinite(e.budget_slot_s)) return "budget_slot_s is not finite";
  for (const auto& [name, v] : nonnegative_fields(e)) {
    if (!std::isfinite(v)) return std::string(name) + " is not finite (" + std::to_string(v) + ")";
    if (v < 0) return std::string(name) + " is negative (" + std::to_string(v) + ")";
  }
  if (e.feasible) {
    if (e.reason != Infeasible::none) return "feasible but has an infeasibility reason";
    if (!(e.tpot_s <= w.tpot_slo_s)) return "feasible but tpot_s > tpot_slo_s";
    for (const MemoryUse* m : {&e.attention_memory, &e.ffn_memory})
      if (!(m->weights_bytes + m->kv_bytes <= m->capacity_bytes)) return "feasible but weights + KV exceed usable HBM";
    if (!(e.tokens_per_s > 0)) return "feasible but tokens_per_s is not positive";
  } else if (e.reason == Infeasible::none) {
    return "infeasible without a reason";
  }
  return "";
}

}  // namespace ridgeline::testing
