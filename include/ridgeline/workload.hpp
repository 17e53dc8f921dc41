// SPDX-License-Identifier: Apache-2.0
// Precision and Workload: what is computed, stored and sent in which format, and the decode
// traffic the deployment serves.
#pragma once
#include <cmath>
#include <memory>
#include <vector>

#include "ridgeline/hardware.hpp"

namespace ridgeline {

struct Precision {
  DType weights = DType::fp8;          ///< linear/expert weights and the GEMM math that reads them
  DType kv_cache = DType::bf16;        ///< stored KV cache
  DType dispatch = DType::fp8;         ///< A->F / all-to-all dispatch payload
  DType combine = DType::bf16;         ///< F->A / all-to-all combine payload
  DType attention_math = DType::bf16;  ///< attention-core math (scores, softmax x V)
  /// attention_math was stated (a scenario's precision block, a flag): it holds on every
  /// accelerator. Otherwise it follows the KV format where the kernels do (attention_precision).
  bool attention_math_given = false;
};

/// The precision `hw`'s attention side runs: `p`, with the attention-core math in FP8 when the
/// KV cache is FP8, the math was not stated and hw's decode kernels compute in the KV format
/// (Accelerator::attention_math_follows_kv: Blackwell).
inline Precision attention_precision(const Precision& p, const Accelerator& hw) {
  Precision a = p;
  if (!p.attention_math_given && hw.attention_math_follows_kv && p.kv_cache == DType::fp8 && hw.supports(DType::fp8))
    a.attention_math = DType::fp8;
  return a;
}

inline constexpr double kDefaultIterationGapS = 5e-3;
inline constexpr double kDefaultMtpStepGapS = 5e-3;
/// Coefficient of variation of the KV length over the sequences of one decode step, from
/// Microsoft's public Azure LLM inference trace (Nov 2023, 19,366 conversation requests): each
/// request weighted by the decode steps it runs (its output tokens) at KV lengths from its prompt
/// to prompt + output gives a CV of 0.58 (the code trace: 0.92). Sensitivity range 0 (a
/// fixed-length benchmark) to 0.92.
inline constexpr double kDefaultContextCv = 0.58;

/// Draft tokens a step needs to accept `acceptance` tokens on average (1 = no MTP).
inline int drafts_for_acceptance(double acceptance) {
  return acceptance > 1.0 ? int(std::ceil(acceptance - 1.0 - 1e-9)) : 0;
}

struct Workload {
  double context_tokens = 4096;  ///< mean KV length per sequence during decode
  double tpot_slo_s = 0.05;      ///< per-output-token latency target
  /// Mean tokens accepted per decode step with MTP / speculative decoding (1 = off).
  double mtp_acceptance = 1.0;
  /// Draft tokens verified per step (0 = no MTP). Each step runs 1 + drafts query tokens per
  /// sequence through the model and reads each sequence's KV once.
  int mtp_draft_tokens = 0;
  /// Per-iteration time outside what Ridgeline costs (batch preparation, sampling, graph launch,
  /// host synchronisation): the part of the AFD paper's t_g = 15 ms (DeepSeek-V3 with MTP,
  /// "optimistic") left after its dense layers, LM head and MTP draft pass, which are costed
  /// separately (~5-10 ms). Default 5 ms; sensitivity range 2-10 ms (2 ms: StepMesh's measured
  /// gap between minimum and mean TPOT alone).
  double iteration_gap_s = kDefaultIterationGapS;
  /// Extra per-step time when real MTP drafting runs: draft sampling, acceptance and the host
  /// round trip it forces. The AFD paper's t_g = 15 ms (with MTP) less Ridgeline's costed dense
  /// layers and LM head (~4-5 ms for DeepSeek-V3) and the 5 ms base gap leaves ~5 ms.
  double mtp_step_gap_s = kDefaultMtpStepGapS;
  /// MTP simulated (every step feeds 1 + drafts query tokens but runs no draft module, as in
  /// SGLang's simulated-MTP benchmarks): no draft pass and no MTP step gap.
  bool mtp_simulated = false;
  /// Real MTP drafting runs each step (drafts > 0 and not simulated).
  bool mtp_drafting() const { return mtp_draft_tokens > 0 && !mtp_simulated; }
  /// The per-step time outside the costed layers: the iteration gap, plus the MTP step gap when
  /// real drafting runs.
  double step_gap_s() const { return iteration_gap_s + (mtp_drafting() ? mtp_step_gap_s : 0.0); }
  /// Max/mean tokens per FFN rank from routing skew (>= 1; 1 = perfectly balanced), on top of
  /// the uneven split of experts over ranks. 0 (default) = computed from uniform top-k routing
  /// at the actual tokens per rank (load.hpp): the least skew real routing has.
  double expert_load_imbalance = 0;
  /// Skewed routing when computing the imbalance (expert_load_imbalance 0): the hottest rank's
  /// mean-load factor per EP rank count (load.hpp skew_by_rank_count); empty = uniform routing.
  std::shared_ptr<const std::vector<double>> routing_skew_by_ranks;
  /// Max/mean attention work per attention rank, given explicitly (>= 1); it scales the
  /// instance's sequences. The length spread below is priced separately.
  double attention_imbalance = 1.0;
  /// Spread of KV lengths over the running sequences (coefficient of variation, >= 0). Every MoE
  /// layer waits for the attention instance whose sequences are longest in sum
  /// (context_length_imbalance in load.hpp). A fixed-length benchmark in steady state has
  /// CV = O / (sqrt(12) (I + O/2)) for I input and O output tokens.
  double context_cv = kDefaultContextCv;
};

}  // namespace ridgeline
