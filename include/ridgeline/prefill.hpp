// SPDX-License-Identifier: Apache-2.0
// Prefill: the cost of turning a prompt into KV cache and its first token, with the decode
// model's operator roofline (ops.hpp), efficiencies (efficiency.hpp), hot-rank load (load.hpp)
// and transfer-cost model (transport.hpp: fixed + per-token software cost, contention kappa
// through overlapped_busy_s).
//
// One forward pass carries `chunk_tokens` new tokens per attention rank (SGLang's
// --chunked-prefill-size; DeepSeek and SGLang run 16,384 per GPU). A prompt no longer than the
// chunk is prefilled whole, floor(chunk / isl) prompts per pass; a longer one takes
// ceil(isl / chunk) passes, pass j attending to the j chunks before it (chunked prefill).
//   Attention core: causal, so a chunk of c new tokens after a prefix of P tokens computes
//   c P + c (c + 1) / 2 query-key pairs: about half of the full c^2 product when P = 0.
//   MLA runs in its non-absorbed form (the prefill kernels of DeepSeek, SGLang and vLLM):
//   kv_b decompresses the latent of every attended token into per-head K (128 nope + 64 rope)
//   and V (128), then the core is multi-head attention with d_qk 192 and d_v 128.
//   EP: attention data-parallel on every GPU, experts over all GPUs, DeepEP normal kernels
//   (transport deepep_normal: not CUDA-graph capturable) and optional two-batch overlap, priced
//   by prefill_overlap_slot_s: the transport's SMs are taken from compute for the whole layer
//   (decode's two_batch_overlap_slot_s slows compute only while a transfer is in flight).
//   TP: one instance of tp GPUs inside a scale-up domain, every weight split tp ways, two
//   all-reduces per layer (after attention and after the FFN) on the scale-up links, not
//   overlapped (transport nccl).
//   LM head: only the last token of each prompt that finishes in the pass.
#pragma once
#include <algorithm>
#include <cmath>
#include <optional>

#include "ridgeline/deployment.hpp"
#include "ridgeline/evaluate.hpp"

namespace ridgeline {

enum class PrefillParallel { ep, tp };

inline const char* prefill_parallel_name(PrefillParallel p) {
  return p == PrefillParallel::ep ? "ep" : "tp";
}

struct PrefillDeployment {
  PrefillParallel parallel = PrefillParallel::ep;
  const Accelerator* hw = nullptr;
  /// GPUs of one prefill instance. EP: the EP group (attention DP on each); TP: the TP size.
  int gpus = 0;
  /// EP: 1 (no overlap) or 2 (two-batch overlap, DeepSeek's and SGLang's prefill). TP: 1.
  int micro_batches = 2;
  /// New tokens per forward pass per attention rank (EP: per GPU; TP: per instance).
  double chunk_tokens = 16384;
  /// EPLB replicas over the EP group.
  int redundant_experts = 0;
  /// Unset: deepep_normal for EP, nccl for TP.
  std::optional<TransportKind> transport;

  int attention_ranks() const { return parallel == PrefillParallel::ep ? gpus : 1; }
  int tp() const { return parallel == PrefillParallel::ep ? 1 : gpus; }
  TransportKind resolved_transport() const {
    if (transport) return *transport;
    return parallel == PrefillParallel::ep ? TransportKind::deepep_normal : TransportKind::nccl;
  }
};

/// Query-key pairs of one sequence's chunk of `c` new tokens after `prefix` cached tokens under
/// a causal mask, each query seeing at most `window` keys (0 = unlimited).
inline double causal_pairs(double c, double prefix, double window = 0) {
  if (!(c > 0)) return 0;
  prefix = std::max(0.0, prefix);
  if (window <= 0) return c * prefix + c * (c + 1) / 2;
  // Query i (1..c) sees min(prefix + i, window) keys.
  const double k = std::clamp(window - prefix, 0.0, c);
  return k * prefix + k * (k + 1) / 2 + (c - k) * window;
}

/// Mean over layers of the causal pairs (sliding-window layers see at most their window).
inline double mean_causal_pairs(const ModelSpec& m, double c, double prefix) {
  const auto& a = m.attention;
  const double full = causal_pairs(c, prefix);
  if (a.sliding_window_tokens <= 0 || a.num_sliding_window_layers <= 0 || m.num_layers <= 0) return full;
  const double f = double(a.num_sliding_window_layers) / m.num_layers;
  return f * causal_pairs(c, prefix, a.sliding_window_tokens) + (1 - f) * full;
}

/// MLA's KV up-projection (kv_b: latent -> per-head K nope and V) parameters of one layer.
inline double mla_kv_b_params(const ModelSpec& m) {
  const auto& a = m.attention;
  return double(a.kv_lora_rank) * a.num_heads * (a.qk_nope_head_dim + a.v_head_dim);
}

/// HBM bytes per token the attention side's elementwise kernels move in one layer (derived from
/// the kernel sequence of SGLang's and DeepSeek's MLA/GQA prefill, bf16 activations): input
/// RMSNorm (read + write 2H each) and its FP8 quantisation (read 2H, write H); RoPE and the
/// concatenation of the per-head q and k (read + write of both: 4 x heads x d_qk x 2); the
/// attention output's FP8 quantisation before o_proj (read 2, write 1 byte per heads x d_v);
/// residual add (read 2 x 2H, write 2H), post-attention RMSNorm (4H) and its quantisation (3H).
inline double prefill_attention_elementwise_bytes_per_token(const ModelSpec& m, const Precision& p) {
  const auto& a = m.attention;
  const double H = m.hidden_size;
  const double act = dtype_bytes(p.attention_math);  // bf16 activations
  const double wq = dtype_bytes(p.weights);          // quantised GEMM inputs
  const bool mla = a.kind == AttentionKind::mla;
  const double d_qk = mla ? a.qk_nope_head_dim + a.qk_rope_head_dim : a.head_dim;
  const double d_v = mla ? a.v_head_dim : a.head_dim;
  const double heads = a.num_heads;
  const double norm_quant = (2 * act * H) + (act * H + wq * H);
  return norm_quant + 4.0 * heads * d_qk * act + heads * d_v * (act + wq) + 3 * act * H + norm_quant;
}

/// HBM bytes per token the routed-expert side's elementwise kernels move in one MoE layer:
/// permuting the top_k received FP8 copies into the expert layout (read + write), SwiGLU on the
/// gate/up output (read 2 x I bf16, write I quantised, per copy) and the weighted unpermute /
/// combine of the top_k bf16 outputs (read) into one hidden vector (write).
inline double prefill_ffn_elementwise_bytes_per_token(const ModelSpec& m, const Precision& p) {
  const double H = m.hidden_size, I = m.moe.expert_intermediate_size, k = m.moe.top_k;
  const double act = 2.0, wq = dtype_bytes(p.weights), disp = dtype_bytes(p.dispatch);
  return k * (2 * disp * H) + k * (2 * act * I + wq * I) + k * act * H + act * H;
}

/// Attention side of one prefill layer on one attention rank (TP size `tp`): `sequences`
/// sequences each with `c` new tokens after `prefix` cached tokens. `moe_layer`: router and
/// shared experts follow; otherwise the dense FFN.
inline OpList prefill_attention_ops(const ModelSpec& m, const Precision& p, double sequences, double c, double prefix,
                                    int tp, bool moe_layer) {
  OpList out;
  const auto& a = m.attention;
  const double tokens = sequences * c;
  const double heads = double(a.num_heads) / tp;
  const double pairs = sequences * mean_causal_pairs(m, c, prefix);
  const double attended = sequences * (prefix + c);
  OpCost core{op_name::attn_core, OpKind::attention, p.attention_math, 0, 0, 1, 0};
  if (a.kind == AttentionKind::mla) {
    // Non-absorbed MLA: q / kv_a / o projections on the new tokens, kv_b on every attended token.
    const double kv_b = mla_kv_b_params(m);
    OpCost proj = gemm_op(op_name::attn_proj, tokens, m.attention_params_per_layer() - kv_b, tp, p.weights);
    proj.kernels = 4;
    out.add(proj);
    out.add(gemm_op("kv_decompress", attended, kv_b, tp, p.weights));
    const double d_qk = a.qk_nope_head_dim + a.qk_rope_head_dim, d_v = a.v_head_dim;
    core.flops = 2.0 * pairs * heads * (d_qk + d_v);
    // Decompressed K and V of the attended tokens, Q and O of the new ones (bf16 activations).
    core.hbm_bytes = (attended + tokens) * heads * (d_qk + d_v) * dtype_bytes(p.attention_math);
  } else {
    OpCost proj = gemm_op(op_name::attn_proj, tokens, m.attention_params_per_layer(), tp, p.weights);
    proj.kernels = 4;
    out.add(proj);
    core.flops = 4.0 * pairs * heads * a.head_dim;
    const double kv_shard = std::min<double>(tp, std::max(1, a.num_kv_heads));
    core.hbm_bytes = attended * m.kv_elements_per_token_per_layer() * dtype_bytes(p.kv_cache) / kv_shard +
                     2.0 * tokens * heads * a.head_dim * dtype_bytes(p.attention_math);
  }
  // Prefill rows per head are the chunk's tokens: the tile is full (padding ~1).
  core.rows_per_group = c;
  out.add(core);
  // Elementwise kernels stream the activations through HBM; at prefill token counts their bytes,
  // not their launches, cost time (decode prices them as small_kernels_per_layer launches).
  OpCost elementwise = gemm_op("elementwise", tokens, 0, 1, p.weights);
  elementwise.hbm_bytes = tokens * prefill_attention_elementwise_bytes_per_token(m, p) / tp;
  elementwise.kernels = 0;
  out.ops[out.size++] = elementwise;
  if (moe_layer) {
    out.add(gemm_op(op_name::router, tokens, m.router_params(), 1, DType::bf16));
    out.add(gemm_op(op_name::shared_experts, tokens, m.shared_expert_params(), tp, p.weights));
  } else {
    out.add(gemm_op("dense_ffn", tokens, m.dense_ffn_params(), tp, p.weights));
  }
  return out;
}

/// Adds the routed side's elementwise traffic for `tokens` tokens (their top_k copies), split tp ways.
inline void add_ffn_elementwise(OpList& ops, const ModelSpec& m, const Precision& p, double tokens, int tp) {
  OpCost e = gemm_op("moe_elementwise", tokens, 0, 1, p.weights);
  e.hbm_bytes = tokens * prefill_ffn_elementwise_bytes_per_token(m, p) / tp;
  e.kernels = 0;
  if (e.hbm_bytes > 0) ops.ops[ops.size++] = e;
}

/// Routed experts of one EP prefill micro-batch on the busiest of `gpus` GPUs holding `slots`
/// expert slots (experts + EPLB replicas), `tokens_per_gpu` tokens per GPU: the grouped GEMMs
/// and their permutation / SwiGLU / quantisation traffic. Returns the token-expert pairs of that
/// GPU (hot_rank_load). The operators a measured DeepEP-MoE module row times (tests/unit:
/// prefill operators against measured kernel tables).
inline double prefill_expert_ops(OpList& out, const ModelSpec& m, const Precision& p, const Workload& w, int gpus,
                                 double slots, double tokens_per_gpu) {
  const double local = std::max(1.0, std::ceil(slots / gpus));
  const double global = tokens_per_gpu * gpus;
  const double routed = detail::hot_rank_load(m, w, slots, gpus, global);
  ffn_stage_ops(out, m, p, routed, local, 1, global, 0);
  add_ffn_elementwise(out, m, p, routed / std::max(1, m.moe.top_k), 1);
  return routed;
}

/// Dispatch and combine of one EP prefill micro-batch of `tokens_per_gpu` tokens per GPU, each
/// with the transport's per-transfer cost. DeepEP normal kernels: one scale-out copy per
/// destination node, NVLink fan-out inside it. `hot_factor`: the busiest GPU's routed load over
/// the mean.
inline CommTime prefill_ep_comm(const ModelSpec& m, const Precision& p, const Accelerator& hw, const TransportCost& tc,
                                int gpus, double tokens_per_gpu, double hot_factor) {
  if (gpus <= 1) return {};
  CommTime c = ep_all_to_all(hw, gpus, m.moe.num_experts, m.moe.top_k, m.hidden_size, tokens_per_gpu,
                             dtype_bytes(p.dispatch), dtype_bytes(p.combine), DispatchStyle::normal, hot_factor);
  const double xfer = transfer_overhead_s(tc, tokens_per_gpu);
  c.dispatch_s += xfer;
  c.combine_s += xfer;
  return c;
}

/// Two-batch overlap of one prefill MoE layer, per micro-batch: four pairings, attention with the
/// other micro-batch's combine and dispatch, experts with its dispatch and combine (the stage
/// order of DeepSeek's prefill figure and of SGLang's prefill strategy, both micro-batches in
/// step; decode staggers them, two_batch_overlap_slot_s), and the transport's share `contention` of
/// the SMs is partitioned off for the whole layer, so compute runs at (1 - contention) of its
/// speed in every pairing, not only while a transfer is in flight. Why: DeepSeek's published
/// prefill overlap (deepseek-ai/profile-data README figure) runs computation on 108 SMs and
/// DeepEP's normal kernels on 24 SMs side by side, the communication stream busy through the
/// layer; SGLang reports the same (lmsys.org 2025-05-05 large-scale-ep: "no-TBO 8k outperforms
/// TBO 16k in per-kernel speed ... reduced SMs with TBO", and communication under TBO slower
/// than DeepEP's unit tests, i.e. its kernels stay resident longer than their transfers).
/// contention 0 gives the ideal max() pairing.
inline double prefill_overlap_slot_s(double attention_s, double ffn_s, double dispatch_s, double combine_s,
                                     double contention) {
  const double slow = 1.0 / std::max(1e-3, 1.0 - std::clamp(contention, 0.0, 1.0));
  const double a = attention_s * slow, f = ffn_s * slow;
  return 0.5 * (std::max(a, combine_s) + std::max(a, dispatch_s) + std::max(f, dispatch_s) + std::max(f, combine_s));
}

/// One forward pass of a prefill instance.
struct PrefillPass {
  double sequences = 0;   ///< per attention rank
  double new_tokens = 0;  ///< per sequence in this pass
  double prefix_tokens = 0;
  double attention_s = 0, ffn_s = 0, dispatch_s = 0, combine_s = 0;  ///< per MoE layer per micro-batch
  double all_reduce_s = 0;                                           ///< TP: both all-reduces of one layer
  double slot_s = 0;                                                 ///< per MoE layer per micro-batch
  double moe_layers_s = 0, dense_layers_s = 0, lm_head_s = 0;
  double time_s = 0;
  double flops = 0;          ///< useful FLOPs of the pass on one GPU (balanced)
  double routed_tokens = 0;  ///< token-expert pairs on the hot FFN GPU per micro-batch
  StageTime attention, ffn;
  OpList attention_ops, ffn_ops;
  bool comm_scale_out_bound = false;
};

struct PrefillEvaluation {
  bool feasible = false;
  Infeasible reason = Infeasible::none;
  const char* shape_problem = "";
  Binding binding = Binding::bad_shape;
  double input_tokens = 0;
  int passes_per_request = 0;    ///< forward passes one prompt takes (chunked when > 1)
  double requests_per_pass = 0;  ///< prompts per attention rank per pass
  double latency_s = 0;          ///< one prompt's prefill time, no queueing (sum of its passes)
  double mean_pass_s = 0;
  double tokens_per_s_per_gpu = 0;  ///< prompt tokens per second per GPU at full load
  double requests_per_s = 0;        ///< whole instance at full load
  /// Concurrent prompts the instance serves (attention ranks x prompts per pass): the server
  /// count of its queue.
  double request_slots = 0;
  double hfu = 0;
  TransportKind transport = TransportKind::deepep_normal;
  double transport_contention = 0;
  double expert_load_imbalance = 1;
  MemoryUse memory;
  PrefillPass last_pass;  ///< the pass that finishes the prompt (longest prefix)
};

namespace detail {

inline PrefillEvaluation prefill_bad_shape(const char* why) {
  PrefillEvaluation e;
  e.reason = Infeasible::bad_shape;
  e.binding = Binding::bad_shape;
  e.shape_problem = why;
  return e;
}

}  // namespace detail

/// One forward pass: `sequences` per attention rank, each `c` new tokens after `prefix`.
inline PrefillPass prefill_pass(const ModelSpec& m, const Precision& p, const Workload& w, const PrefillDeployment& d,
                                const Efficiencies& eff_in, double sequences, double c, double prefix) {
  PrefillPass r;
  r.sequences = sequences;
  r.new_tokens = c;
  r.prefix_tokens = prefix;
  const Accelerator& hw = *d.hw;
  const TransportCost& tc = eff_in.transport(d.resolved_transport());
  std::optional<Efficiencies> eager;
  const Efficiencies& eff = detail::launch_efficiencies(eff_in, tc, eager);
  const int tp = d.tp();
  const int mb = d.parallel == PrefillParallel::ep ? d.micro_batches : 1;
  const double seqs_mb = sequences / mb;
  const double tokens_mb = seqs_mb * c;  // per attention rank per micro-batch
  const double small_s = detail::small_kernels_s(eff);
  r.attention_ops = prefill_attention_ops(m, p, seqs_mb, c, prefix, tp, true);
  r.attention = stage_time(r.attention_ops, hw, eff);
  r.attention_s = r.attention.time_s + small_s;
  const StageTime dense = stage_time(prefill_attention_ops(m, p, seqs_mb, c, prefix, tp, false), hw, eff);
  const double slots = double(m.moe.num_experts + d.redundant_experts);
  double ffn_flops_balanced = 0;
  if (d.parallel == PrefillParallel::ep) {
    const int gpus = d.gpus;
    const double global = tokens_mb * gpus;
    r.routed_tokens = prefill_expert_ops(r.ffn_ops, m, p, w, gpus, slots, tokens_mb);
    const double hot_factor = r.routed_tokens / std::max(1e-30, tokens_mb * m.moe.top_k);
    r.ffn = stage_time(r.ffn_ops, hw, eff);
    ffn_flops_balanced = r.ffn.flops * (global * m.moe.top_k / gpus) / std::max(1e-30, r.routed_tokens);
    const CommTime comm = prefill_ep_comm(m, p, hw, tc, gpus, tokens_mb, hot_factor);
    r.dispatch_s = comm.dispatch_s;
    r.combine_s = comm.combine_s;
    r.comm_scale_out_bound = comm.scale_out_bound;
    r.ffn_s = r.ffn.time_s;
    r.slot_s = mb == 1 ? r.attention_s + r.ffn_s + r.dispatch_s + r.combine_s
                       : prefill_overlap_slot_s(r.attention_s, r.ffn_s, r.dispatch_s, r.combine_s, tc.contention);
  } else {
    // Every GPU of the TP group holds every expert, split tp ways; it computes all routed pairs.
    r.routed_tokens = tokens_mb * m.moe.top_k;
    r.ffn_ops = ffn_stage_ops(m, p, r.routed_tokens, m.moe.num_experts, tp, tokens_mb, 0);
    add_ffn_elementwise(r.ffn_ops, m, p, tokens_mb, tp);
    r.ffn = stage_time(r.ffn_ops, hw, eff);
    ffn_flops_balanced = r.ffn.flops;
    r.ffn_s = r.ffn.time_s;
    if (tp > 1) {
      // Ring all-reduce of the layer's bf16 activations, twice per layer.
      const double bytes = tokens_mb * m.hidden_size * 2.0;
      const double link_s = 2.0 * (tp - 1.0) * hw.scale_up.latency_s +
                            2.0 * (tp - 1.0) / tp * bytes / hw.scale_up.sustained_bytes_per_s();
      r.all_reduce_s = 2.0 * (link_s + transfer_overhead_s(tc, tokens_mb));
    }
    r.slot_s = r.attention_s + r.ffn_s + r.all_reduce_s;
  }
  const double dense_all_reduce = r.all_reduce_s;
  r.moe_layers_s = double(m.num_moe_layers()) * mb * r.slot_s;
  r.dense_layers_s = double(m.num_dense_layers) * mb * (dense.time_s + small_s + dense_all_reduce);
  // LM head for the last token of each prompt that finishes in this pass (the caller passes
  // prefix + c == isl for those).
  r.lm_head_s = op_time(lm_head_op(m, sequences, tp), hw, eff).time_s;
  r.time_s = r.moe_layers_s + r.dense_layers_s + r.lm_head_s;
  r.flops = mb * (m.num_moe_layers() * (r.attention.flops + ffn_flops_balanced) + m.num_dense_layers * dense.flops) +
            2.0 * sequences * m.embedding_params() / tp;
  return r;
}

/// Prefill of prompts of `input_tokens` tokens on one instance at full load (every pass full).
/// Workload: routing (expert_load_imbalance, skew) as for decode; its SLO is not used.
inline PrefillEvaluation evaluate_prefill(const ModelSpec& m, const Precision& p, const Workload& w,
                                          const PrefillDeployment& d, double input_tokens,
                                          const Efficiencies& eff = {}) {
  if (!d.hw) return detail::prefill_bad_shape("prefill deployment has no hardware");
  if (d.gpus < 1) return detail::prefill_bad_shape("a prefill instance needs at least one GPU");
  if (!(input_tokens >= 1) || !std::isfinite(input_tokens))
    return detail::prefill_bad_shape("input length must be at least one token");
  if (!(d.chunk_tokens >= 1) || !std::isfinite(d.chunk_tokens))
    return detail::prefill_bad_shape("chunk must be at least one token");
  if (d.parallel == PrefillParallel::ep && (d.micro_batches < 1 || d.micro_batches > 2))
    return detail::prefill_bad_shape("EP prefill supports micro_batches 1 or 2 (two-batch overlap)");
  if (d.parallel == PrefillParallel::tp) {
    if (d.gpus > std::max(1, d.hw->scale_up_domain_gpus))
      return detail::prefill_bad_shape("TP prefill must stay inside one scale-up domain");
    if (m.attention.num_heads % d.gpus != 0)
      return detail::prefill_bad_shape("TP size must divide the attention head count");
  }
  PrefillEvaluation e;
  e.feasible = true;
  e.input_tokens = input_tokens;
  const double chunk = std::floor(d.chunk_tokens);
  const double isl = std::ceil(input_tokens);
  double total_s = 0, flops = 0;
  if (isl <= chunk) {
    e.requests_per_pass = std::floor(chunk / isl);
    e.passes_per_request = 1;
    e.last_pass = prefill_pass(m, p, w, d, eff, e.requests_per_pass, isl, 0);
    total_s = e.last_pass.time_s;
    flops = e.last_pass.flops;
  } else {
    e.requests_per_pass = 1;
    e.passes_per_request = int(std::ceil(isl / chunk));
    for (int j = 0; j < e.passes_per_request; ++j) {
      const double prefix = j * chunk;
      const double c = std::min(chunk, isl - prefix);
      PrefillPass pass = prefill_pass(m, p, w, d, eff, 1, c, prefix);
      if (j + 1 < e.passes_per_request) pass.time_s -= pass.lm_head_s;  // no token sampled yet
      total_s += pass.time_s;
      flops += pass.flops;
      if (j + 1 == e.passes_per_request) e.last_pass = pass;
    }
  }
  e.latency_s = total_s;
  e.mean_pass_s = total_s / e.passes_per_request;
  e.request_slots = e.requests_per_pass * d.attention_ranks();
  e.requests_per_s = e.request_slots / total_s;
  e.tokens_per_s_per_gpu = e.requests_per_s * isl / d.gpus;
  const TransportKind tk = d.resolved_transport();
  e.transport = tk;
  e.transport_contention = d.parallel == PrefillParallel::ep && d.micro_batches == 2 ? eff.transport(tk).contention : 0;
  const double peak = d.hw->peak_flops_per_s(p.weights);
  e.hfu = flops / (total_s * peak);
  const PrefillPass& lp = e.last_pass;
  const double slots = double(m.moe.num_experts + d.redundant_experts);
  if (d.parallel == PrefillParallel::ep) {
    const double mean =
        lp.sequences / d.micro_batches * lp.new_tokens * m.moe.top_k * d.gpus / std::min<double>(d.gpus, slots);
    e.expert_load_imbalance = mean > 0 ? lp.routed_tokens / mean : 1;
  }

  // Memory per GPU: weights, and the KV of the prompts in flight (prefix + chunk).
  MemoryUse mem;
  mem.capacity_bytes = d.hw->hbm_bytes * eff.usable_hbm_fraction;
  if (d.parallel == PrefillParallel::ep)
    mem.weights_bytes =
        detail::attention_side_weight_bytes(m, p, 1, true, false) +
        std::max(1.0, std::ceil(slots / d.gpus)) * m.num_moe_layers() * m.expert_params() * dtype_bytes(p.weights);
  else
    mem.weights_bytes =
        detail::attention_side_weight_bytes(m, p, d.gpus, true, false) +
        double(m.moe.num_experts) * m.num_moe_layers() * m.expert_params() * dtype_bytes(p.weights) / d.gpus;
  mem.kv_bytes = e.requests_per_pass * detail::kv_bytes_per_sequence(m, p, isl) * detail::kv_share_per_rank(m, d.tp());
  e.memory = mem;

  // Binding roof of the finishing pass.
  const double net = lp.dispatch_s + lp.combine_s + lp.all_reduce_s;
  const double comp = lp.attention_s + lp.ffn_s;
  if (net >= (d.micro_batches == 2 && d.parallel == PrefillParallel::ep ? comp : std::max(lp.attention_s, lp.ffn_s)))
    e.binding = lp.comm_scale_out_bound ? Binding::scale_out_network : Binding::scale_up_network;
  else
    e.binding =
        lp.attention_s >= lp.ffn_s ? detail::stage_binding(true, lp.attention) : detail::stage_binding(false, lp.ffn);
  if (mem.weights_bytes > mem.capacity_bytes) {
    e.feasible = false;
    e.reason = Infeasible::weights_exceed_hbm;
    e.binding = Binding::weights_exceed_hbm;
  } else if (mem.weights_bytes + mem.kv_bytes > mem.capacity_bytes) {
    e.feasible = false;
    e.reason = Infeasible::kv_exceeds_hbm;
    e.binding = Binding::kv_exceeds_hbm;
  }
  return e;
}

/// KV-cache bytes of one prompt as it leaves prefill (all layers, the stored KV format).
inline double prompt_kv_bytes(const ModelSpec& m, const Precision& p, double input_tokens) {
  return detail::kv_bytes_per_sequence(m, p, input_tokens);
}

}  // namespace ridgeline
