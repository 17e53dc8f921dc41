// SPDX-License-Identifier: Apache-2.0
// Precision and Workload: what is computed, stored and sent in which format, and the decode
// traffic the deployment serves.
#pragma once
#include "ridgeline/hardware.hpp"

namespace ridgeline {

struct Precision {
  DType weights = DType::fp8;          ///< linear/expert weights and the GEMM math that reads them
  DType kv_cache = DType::bf16;        ///< stored KV cache
  DType dispatch = DType::fp8;         ///< A->F / all-to-all dispatch payload
  DType combine = DType::bf16;         ///< F->A / all-to-all combine payload
  DType attention_math = DType::bf16;  ///< attention-core math (scores, softmax x V)
};

struct Workload {
  double context_tokens = 4096;  ///< mean KV length per sequence during decode
  double tpot_slo_s = 0.05;      ///< per-output-token latency target
  /// Mean tokens accepted per decode step with MTP / speculative decoding (1 = off).
  double mtp_acceptance = 1.0;
  /// Draft tokens verified per step (0 = no MTP). Each step runs 1 + drafts query tokens per
  /// sequence through the model and reads each sequence's KV once.
  int mtp_draft_tokens = 0;
  /// Per-iteration fixed time outside the layer pipeline (scheduling, sampling, sync): t_g.
  double iteration_gap_s = 0;
  /// Max/mean tokens per FFN rank from routing skew (>= 1; 1 = perfectly balanced).
  double expert_load_imbalance = 1.0;
  /// Max/mean attention work per attention rank from uneven sequence lengths (>= 1).
  double attention_imbalance = 1.0;
};

}  // namespace ridgeline
