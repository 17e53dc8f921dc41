// SPDX-License-Identifier: Apache-2.0
// L1 operator costs of one decode layer: FLOPs and HBM bytes per operator for one micro-batch,
// and the operator roofline time max(FLOPs / (peak x eff_c), bytes / (HBM x eff_m)) + overhead.
// Weights are read once per micro-batch; each sequence's KV once per step.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>

#include "ridgeline/efficiency.hpp"
#include "ridgeline/hardware.hpp"
#include "ridgeline/model.hpp"
#include "ridgeline/workload.hpp"

namespace ridgeline {

enum class OpKind { gemm, attention };
enum class Bound { compute, memory };

inline const char* bound_name(Bound b) {
  return b == Bound::compute ? "compute" : "memory";
}

/// Built by aggregate initialisation with every member given. No default member initialisers: the
/// type is trivial, so an OpList's unused slots (and the two lists in every Evaluation the
/// search's inner loop makes) cost nothing to create.
struct OpCost {
  const char* name;
  OpKind kind;
  DType math;
  double flops;
  double hbm_bytes;
  int kernels;
  /// Attention: rows per KV-head group (query heads per KV head x query tokens); the kernel pads
  /// them to the hardware's tile (Accelerator::attention_tile_rows). 0 = not an attention op.
  double rows_per_group;
  /// Attention over one latent KV head shared by all query heads (MLA): Blackwell's kernels
  /// tile it differently from GQA (attention_kernel_shape).
  bool latent_kv = false;
};

/// Executed / useful FLOPs of a decode attention kernel whose tiles are padded to `tile` rows.
inline double tile_padding_factor(double rows, int tile) {
  if (!(rows > 0) || tile <= 1) return 1.0;
  return std::ceil(rows / tile) * tile / rows;
}

/// How a decode attention kernel maps one KV-head group's query rows onto the hardware: the
/// FLOPs executed per useful FLOP (tile padding) and the CTAs that each stream the group's KV.
struct AttentionKernelShape {
  double padding = 1.0;
  double kv_ctas = 1.0;
  /// KV bytes read from HBM per byte of KV: the first CTA's stream, plus the share of every
  /// repeat that misses the L2 (Efficiencies::attention_kv_reread).
  double kv_streams(double attention_kv_reread) const { return 1.0 + attention_kv_reread * (kv_ctas - 1.0); }
};

/// RooflineField bits that `hw`'s measured profile supplies under `eff` (the rest: given or generic).
inline unsigned roofline_fields_from_profile(const Efficiencies& eff, const Accelerator& hw) {
  return eff.hardware_profiles && hw.roofline_profile ? hw.roofline_profile->measured & ~eff.given_roofline : 0u;
}

/// One operator kind's fractions (attention or GEMM) under roofline_fractions' rules: the search
/// prices ~10 operators per evaluation, so each resolves only the two or three it uses.
struct KindFractions {
  double compute = 0, memory = 0, kv_reread = 0;
};
inline KindFractions kind_fractions(const Efficiencies& eff, const Accelerator& hw, bool attention) {
  KindFractions k{attention ? eff.attention_compute : eff.gemm_compute,
                  attention ? eff.attention_memory : eff.gemm_memory, eff.attention_kv_reread};
  if (const unsigned use = roofline_fields_from_profile(eff, hw)) {
    const RooflineFractions& p = hw.roofline_profile->values;
    if (attention) {
      if (use & kAttentionCompute) k.compute = p.attention_compute;
      if (use & kAttentionMemory) k.memory = p.attention_memory;
      if (use & kAttentionKvReread) k.kv_reread = p.attention_kv_reread;
    } else {
      if (use & kGemmCompute) k.compute = p.gemm_compute;
      if (use & kGemmMemory) k.memory = p.gemm_memory;
    }
  }
  if (attention && eff.attention_efficiency_scale != 1.0) {
    k.compute = std::min(1.0, k.compute * eff.attention_efficiency_scale);
    k.memory = std::min(1.0, k.memory * eff.attention_efficiency_scale);
  }
  return k;
}

/// The roofline fractions `eff` prices `hw`'s operators with, field by field: a value `eff` was
/// given (a calibration) wins; else `hw`'s measured profile where it has the field (and
/// profiles are on); else `eff`'s generic value. Attention fractions carry
/// attention_efficiency_scale (capped at 1).
inline RooflineFractions roofline_fractions(const Efficiencies& eff, const Accelerator& hw) {
  const KindFractions g = kind_fractions(eff, hw, false), a = kind_fractions(eff, hw, true);
  return {g.compute, g.memory, a.compute, a.memory, a.kv_reread};
}

/// Fixed-tile kernels (Hopper's FlashMLA / FlashAttention-3, Ampere, AMD, Ascend) pad the rows to
/// Accelerator::attention_tile_rows. Blackwell's generation kernels choose per call (TensorRT-LLM
/// `fmhaKernels.h`): MLA runs up to 8 rows in an 8-row tile, up to 32 rows in 16-row CTAs with
/// swapped MMA operands (17-32 rows: two CTAs per sequence, each streaming its KV), more in
/// 64-row tiles; GQA runs the smallest of 8, 16, 32, 64 or 128 rows that holds the group.
inline AttentionKernelShape attention_kernel_shape(double rows, bool latent_kv, const Accelerator& hw) {
  AttentionKernelShape k;
  if (!(rows > 0)) return k;
  if (!hw.attention_tiles_by_rows) {
    k.padding = tile_padding_factor(rows, hw.attention_tile_rows);
  } else if (latent_kv) {
    const int tile = rows <= 8 ? 8 : rows <= 32 ? 16 : 64;
    k.padding = tile_padding_factor(rows, tile);
    if (tile == 16) k.kv_ctas = std::ceil(rows / tile);
  } else {
    const int tile = rows <= 8 ? 8 : rows <= 16 ? 16 : rows <= 32 ? 32 : rows <= 64 ? 64 : 128;
    k.padding = tile_padding_factor(rows, tile);
  }
  return k;
}

/// Arithmetic intensity (FLOP per modelled HBM byte) at which `op` turns compute-bound under
/// `eff`: attention's FLOPs padded to its tile and its KV read kv_streams times.
inline double ridge_flop_per_byte(const OpCost& op, const Accelerator& hw, const Efficiencies& eff) {
  const double peak_ridge = hw.peak_flops_per_s(op.math) / hw.hbm_bytes_per_s;
  const KindFractions f = kind_fractions(eff, hw, op.kind == OpKind::attention);
  if (op.kind != OpKind::attention) return peak_ridge * f.compute / f.memory;
  const AttentionKernelShape k = attention_kernel_shape(op.rows_per_group, op.latent_kv, hw);
  return peak_ridge * f.compute / f.memory * k.kv_streams(f.kv_reread) / k.padding;
}

struct OpTime {
  double time_s = 0;
  double compute_s = 0;
  double memory_s = 0;
  Bound bound = Bound::memory;
};

inline OpTime op_time(const OpCost& op, const Accelerator& hw, const Efficiencies& eff) {
  OpTime t;
  const bool attn = op.kind == OpKind::attention;
  const double peak = hw.peak_flops_per_s(op.math);
  const AttentionKernelShape k =
      attn ? attention_kernel_shape(op.rows_per_group, op.latent_kv, hw) : AttentionKernelShape{};
  const KindFractions f = kind_fractions(eff, hw, attn);
  t.compute_s = op.flops * k.padding / (peak * f.compute);
  t.memory_s = op.hbm_bytes * (attn ? k.kv_streams(f.kv_reread) : 1.0) / (hw.hbm_bytes_per_s * f.memory);
  t.bound = t.compute_s >= t.memory_s ? Bound::compute : Bound::memory;
  // Inside a GEMM the weight stream and the tensor cores overlap imperfectly near the ridge
  // point (prologue/epilogue, wave quantisation): part of the shorter side shows (gemm_overlap).
  const double hidden = attn ? 1.0 : eff.gemm_overlap;
  t.time_s = std::max(t.compute_s, t.memory_s) + (1.0 - hidden) * std::min(t.compute_s, t.memory_s) +
             (op.flops > 0 ? op.kernels * eff.kernel_overhead_s : 0);
  return t;
}

/// A short fixed-capacity list, so the search's inner loop never allocates.
struct OpList {
  std::array<OpCost, 8> ops;  ///< [0, size) are set
  int size = 0;
  void add(const OpCost& op) {
    if (op.flops > 0 || op.hbm_bytes > 0) ops[size++] = op;
  }
  const OpCost* begin() const { return ops.data(); }
  const OpCost* end() const { return ops.data() + size; }
};

/// Names of the operators the schedules look up (evaluate.hpp, attention_stages): one object
/// each, so a lookup compares pointers, not strings.
namespace op_name {
inline constexpr char attn_proj[] = "attn_proj";
inline constexpr char attn_core[] = "attn_core";
inline constexpr char router[] = "router";
inline constexpr char shared_experts[] = "shared_experts";
}  // namespace op_name

/// A GEMM of `tokens` rows against `params` weights split over `shards` GPUs.
inline OpCost gemm_op(const char* name, double tokens, double params, double shards, DType w) {
  return {name, OpKind::gemm, w, 2.0 * tokens * params / shards, params * dtype_bytes(w) / shards, 1, 0};
}

/// Attention side of one layer for `sequences` sequences (each with `query_tokens_per_seq`
/// query tokens: 1 + MTP drafts) on one attention rank of a TP group of size `tp`.
/// `with_router`: the MoE gate runs here; `shared_here`: shared experts run here.
/// Writes into `out` (replacing its operators): the evaluation fills its own lists in place.
/// With `dense` set, also writes a dense layer's list there: the same projection and core (built
/// once) and the dense MLP in place of the router and shared experts.
inline void attention_stage_ops(OpList& out, const ModelSpec& m, const Precision& p, double sequences,
                                double query_tokens_per_seq, double context_tokens, int tp, bool moe_layer,
                                bool shared_here, OpList* dense = nullptr) {
  out.size = 0;
  const auto& a = m.attention;
  const double tokens = sequences * query_tokens_per_seq;
  const double s = m.mean_attended_tokens(context_tokens);
  out.add(gemm_op(op_name::attn_proj, tokens, m.attention_params_per_layer(), tp, p.weights));
  out.ops[out.size - 1].kernels = 4;

  // Attention core: scores and weighted sum over the KV of every sequence.
  OpCost core{op_name::attn_core, OpKind::attention, p.attention_math, 0, 0, 1, 0};
  const double heads_per_rank = double(a.num_heads) / tp;
  double kv_shard = 1;  // how many ways the stored KV of a sequence is split over the TP group
  switch (a.kind) {
    case AttentionKind::mla:
      // Absorbed MLA: scores over latent+rope (576), values in the latent (512); the latent is
      // shared by all heads, so TP ranks each read all of it.
      core.flops = 2.0 * tokens * heads_per_rank * s * (2.0 * a.kv_lora_rank + a.qk_rope_head_dim);
      core.rows_per_group = heads_per_rank * query_tokens_per_seq;  // one latent shared by all heads
      core.latent_kv = true;
      kv_shard = 1;
      break;
    case AttentionKind::mha:
    case AttentionKind::gqa:
    case AttentionKind::mfa:
      core.flops = 4.0 * tokens * heads_per_rank * a.head_dim * s;
      kv_shard = std::min<double>(tp, std::max(1, a.num_kv_heads));
      // Query heads sharing one KV head are packed into the rows of one tile (GQA packing).
      core.rows_per_group =
          heads_per_rank / std::max(1.0, std::max(1, a.num_kv_heads) / kv_shard) * query_tokens_per_seq;
      break;
  }
  core.hbm_bytes = sequences * s * m.kv_elements_per_token_per_layer() * dtype_bytes(p.kv_cache) / kv_shard;
  out.add(core);

  if (dense) {
    dense->size = out.size;
    for (int i = 0; i < out.size; ++i) dense->ops[size_t(i)] = out.ops[size_t(i)];
    dense->add(gemm_op("dense_ffn", tokens, m.dense_ffn_params(), tp, p.weights));
  }
  if (moe_layer) {
    // The router's weights are small and kept in bf16.
    out.add(gemm_op(op_name::router, tokens, m.router_params(), 1, DType::bf16));
    if (shared_here) out.add(gemm_op(op_name::shared_experts, tokens, m.shared_expert_params(), tp, p.weights));
  } else {
    out.add(gemm_op("dense_ffn", tokens, m.dense_ffn_params(), tp, p.weights));
  }
}

inline OpList attention_stage_ops(const ModelSpec& m, const Precision& p, double sequences, double query_tokens_per_seq,
                                  double context_tokens, int tp, bool moe_layer, bool shared_here) {
  OpList out;
  attention_stage_ops(out, m, p, sequences, query_tokens_per_seq, context_tokens, tp, moe_layer, shared_here);
  return out;
}

/// Probability that a given expert receives none of `tokens` tokens under uniform top-k:
/// (1 - k/E)^tokens, as exp(tokens ln(1 - k/E)) with the logarithm remembered per (k, E) (the
/// search's inner loop calls this once per evaluation; pow was its costliest library call).
inline double prob_expert_idle(double tokens, int top_k, int num_experts) {
  if (num_experts <= 0 || !(tokens > 0)) return 1;
  if (top_k >= num_experts) return 0;
  struct Entry {
    int top_k = 0, num_experts = 0;
    double log_keep = 0;
  };
  static thread_local Entry last;  // one model per search: one entry suffices
  if (last.top_k != top_k || last.num_experts != num_experts)
    last = {top_k, num_experts, std::log1p(-double(top_k) / num_experts)};
  return std::exp(tokens * last.log_keep);
}

/// Routed experts on one FFN GPU: `routed_tokens` token-expert pairs arrive for `local_experts`
/// experts, each split `expert_tp` ways. `batch_tokens` is the micro-batch size the routing is
/// drawn from (an idle expert's weights are not read).
inline void ffn_stage_ops(OpList& out, const ModelSpec& m, const Precision& p, double routed_tokens,
                          double local_experts, int expert_tp, double batch_tokens, double shared_tokens) {
  out.size = 0;
  const double active = local_experts * (1.0 - prob_expert_idle(batch_tokens, m.moe.top_k, m.moe.num_experts));
  OpCost up = gemm_op("experts_gate_up", routed_tokens, m.expert_params() * 2.0 / 3.0, expert_tp, p.weights);
  up.hbm_bytes = active * m.expert_params() * 2.0 / 3.0 * dtype_bytes(p.weights) / expert_tp;
  OpCost down = gemm_op("experts_down", routed_tokens, m.expert_params() / 3.0, expert_tp, p.weights);
  down.hbm_bytes = active * m.expert_params() / 3.0 * dtype_bytes(p.weights) / expert_tp;
  out.add(up);
  out.add(down);
  if (shared_tokens > 0)
    out.add(gemm_op(op_name::shared_experts, shared_tokens, m.shared_expert_params(), 1, p.weights));
}

inline OpList ffn_stage_ops(const ModelSpec& m, const Precision& p, double routed_tokens, double local_experts,
                            int expert_tp, double batch_tokens, double shared_tokens) {
  OpList out;
  ffn_stage_ops(out, m, p, routed_tokens, local_experts, expert_tp, batch_tokens, shared_tokens);
  return out;
}

/// LM head (and final norm) on one attention rank.
inline OpCost lm_head_op(const ModelSpec& m, double tokens, int tp) {
  // Kept in bf16: serving stacks rarely quantise the output projection.
  return gemm_op("lm_head", tokens, m.embedding_params(), tp, DType::bf16);
}

struct StageTime {
  double time_s = 0;
  double flops = 0;
  double hbm_bytes = 0;
  double compute_s = 0;  ///< sum of compute-bound parts
  double memory_s = 0;   ///< sum of memory-bound parts
  const char* dominant_op = "";
  Bound dominant_bound = Bound::memory;
};

/// Sums operator times into a StageTime in list order (stage_time's loop), so two lists that
/// share their leading operators can time the shared part once (stage_times).
struct StageAccumulator {
  StageTime st;
  double worst = -1;
  /// Adds the operator's time and returns it.
  double add(const OpCost& op, const Accelerator& hw, const Efficiencies& eff) {
    const OpTime t = op_time(op, hw, eff);
    st.time_s += t.time_s;
    st.flops += op.flops;
    st.hbm_bytes += op.hbm_bytes;
    st.compute_s += t.compute_s;
    st.memory_s += t.memory_s;
    if (t.time_s > worst) {
      worst = t.time_s;
      st.dominant_op = op.name;
      st.dominant_bound = t.bound;
    }
    return t.time_s;
  }
};

inline StageTime stage_time(const OpList& ops, const Accelerator& hw, const Efficiencies& eff) {
  StageAccumulator a;
  for (const auto& op : ops) a.add(op, hw, eff);
  return a.st;
}

inline bool same_op(const OpCost& a, const OpCost& b) {
  return a.name == b.name && a.kind == b.kind && a.math == b.math && a.flops == b.flops && a.hbm_bytes == b.hbm_bytes &&
         a.kernels == b.kernels && a.rows_per_group == b.rows_per_group;
}

/// stage_time of two lists on one GPU: the operators both lists start with (a MoE layer's and a
/// dense layer's attention projection and core) are timed once. Equal to two stage_time calls.
/// `a_op_s` (optional): receives the time of each operator of `a`, in list order.
inline void stage_times(const OpList& a, const OpList& b, const Accelerator& hw, const Efficiencies& eff, StageTime& ta,
                        StageTime& tb, std::array<double, 8>* a_op_s = nullptr) {
  StageAccumulator acc;
  std::array<double, 8> scratch;
  std::array<double, 8>& op_s = a_op_s ? *a_op_s : scratch;
  int i = 0;
  for (; i < a.size && i < b.size && same_op(a.ops[size_t(i)], b.ops[size_t(i)]); ++i)
    op_s[size_t(i)] = acc.add(a.ops[size_t(i)], hw, eff);
  StageAccumulator acc_b = acc;
  for (int j = i; j < a.size; ++j) op_s[size_t(j)] = acc.add(a.ops[size_t(j)], hw, eff);
  for (int j = i; j < b.size; ++j) acc_b.add(b.ops[size_t(j)], hw, eff);
  ta = acc.st;
  tb = acc_b.st;
}

}  // namespace ridgeline
