// SPDX-License-Identifier: Apache-2.0
// L3 schedules and the evaluation of one deployment for decode.
//
// EP (DeepSeek / SGLang): attention data-parallel on every GPU, experts over all GPUs.
//   m = 1 (NBO): slot = t_a + t_dispatch + t_f + t_combine.
//   m = 2 (TBO): compute of one micro-batch overlaps the all-to-all of the other, so per
//   micro-batch slot = max(t_a + t_f, t_dispatch + t_combine).
// AFD (MegaScale-Infer / Step-3): A instances (DP x TP_a), F GPUs (EP x expert-TP), m
//   micro-batches ping-pong. One layer round trip R = t_a + t_dispatch + t_f + t_combine;
//   the per-micro-batch slot is max(t_a, t_f, t_dispatch, t_combine, R / m) and the iteration
//   T_total = R + slot x (m L - 1)   (MegaScale-Infer Eq. 5; equal to it when bubble-free).
// Both: + dense layers, LM head and the iteration gap t_g; TPOT = iteration / L_accept.
// TP inside a worker (docs/shapes.md): attention TP t adds a ring all-reduce of the instance's
// hidden states over the t GPUs per layer (dense layers: two) inside the attention stage; expert
// TP e a ring reduce-scatter of the rank's expert outputs (summed over its experts per token)
// over the e GPUs, in the combine phase; both on the scale-up links.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "ridgeline/comm.hpp"
#include "ridgeline/deployment.hpp"
#include "ridgeline/efficiency.hpp"
#include "ridgeline/load.hpp"
#include "ridgeline/model.hpp"
#include "ridgeline/ops.hpp"
#include "ridgeline/workload.hpp"

namespace ridgeline {

enum class Infeasible { none, bad_shape, weights_exceed_hbm, kv_exceeds_hbm, slo_violated };

inline const char* infeasible_name(Infeasible r) {
  switch (r) {
    case Infeasible::none:
      return "none";
    case Infeasible::bad_shape:
      return "bad_shape";
    case Infeasible::weights_exceed_hbm:
      return "weights_exceed_hbm";
    case Infeasible::kv_exceeds_hbm:
      return "kv_exceeds_hbm";
    case Infeasible::slo_violated:
      return "slo_violated";
  }
  return "?";
}

/// What limits a plan: the roof the slowest stage sits under, or the violated constraint.
enum class Binding {
  attention_compute,
  attention_kv_read,
  attention_weight_read,
  ffn_compute,
  ffn_weight_read,
  scale_out_network,
  scale_up_network,
  pipeline_bubble,
  fixed_overhead,
  weights_exceed_hbm,
  kv_exceeds_hbm,
  slo,
  bad_shape,
};

inline const char* binding_name(Binding b) {
  switch (b) {
    case Binding::attention_compute:
      return "attention_compute";
    case Binding::attention_kv_read:
      return "attention_kv_read";
    case Binding::attention_weight_read:
      return "attention_weight_read";
    case Binding::ffn_compute:
      return "ffn_compute";
    case Binding::ffn_weight_read:
      return "ffn_weight_read";
    case Binding::scale_out_network:
      return "scale_out_network";
    case Binding::scale_up_network:
      return "scale_up_network";
    case Binding::pipeline_bubble:
      return "pipeline_bubble";
    case Binding::fixed_overhead:
      return "fixed_overhead";
    case Binding::weights_exceed_hbm:
      return "weights_exceed_hbm";
    case Binding::kv_exceeds_hbm:
      return "kv_exceeds_hbm";
    case Binding::slo:
      return "slo";
    case Binding::bad_shape:
      return "bad_shape";
  }
  return "?";
}

struct MemoryUse {
  double weights_bytes = 0;   ///< per GPU
  double kv_bytes = 0;        ///< per GPU
  double capacity_bytes = 0;  ///< usable HBM per GPU
};

/// One micro-batch's attention side split where decode's two-batch overlap splits it (sums to
/// Evaluation::attention_s): the attention projections' time is shared out by their weights.
struct AttentionStages {
  double before_core_s = 0;  ///< norms, q and kv projections (MLA: W_UK absorbed), RoPE, small kernels
  double after_core_s = 0;   ///< core, W_UV and o_proj, the attention-TP all-reduce, router
  double shared_s = 0;       ///< shared experts
};

struct Evaluation {
  bool feasible = false;
  Infeasible reason = Infeasible::none;
  Binding binding = Binding::bad_shape;
  const char* shape_problem = "";  ///< set when reason == bad_shape

  // Per MoE layer, per micro-batch (seconds).
  double attention_s = 0, ffn_s = 0, dispatch_s = 0, combine_s = 0;
  double slot_s = 0;          ///< pipeline slot per micro-batch per MoE layer
  double moe_layers_s = 0;    ///< all MoE layers, all micro-batches
  double dense_layers_s = 0;  ///< all dense layers, all micro-batches
  double lm_head_s = 0;
  double mtp_s = 0;  ///< MTP draft pass: drafts x MTP layers, each priced as one MoE layer
  double gap_s = 0;
  double iteration_s = 0;
  double tpot_s = 0;
  double budget_slot_s = 0;  ///< AFD t_B = (SLO L_accept - t_g) / (m_min L), m_min = 3 (paper Eq. 1)

  double sequences = 0;     ///< in flight, all micro-batches
  double tokens_per_s = 0;  ///< whole deployment
  double tokens_per_s_per_gpu = 0;
  double tokens_per_s_per_user = 0;
  double tokens_per_s_per_dollar_hour = 0;  ///< tokens/s divided by the deployment's $/hour
  double usd_per_million_tokens = 0;
  double tokens_per_s_per_watt = 0;
  int total_gpus = 0;

  double hfu = 0;  ///< useful FLOPs / (iteration x sum of GPU peaks), each GPU's peak FLOP-weighted
  /// over the precisions its work runs in (FP8 expert GEMMs at the FP8 peak, BF16 attention math
  /// at the BF16 peak): the harmonic mean sum(flops) / sum(flops_i / peak_i), per GPU.
  double hfu_peak_flops_per_s = 0;
  const char* hfu_peak_precision = "";  ///< the precision whose FLOPs take the most peak time
  /// TP collectives per MoE layer per micro-batch, already inside attention_s / combine_s: the
  /// attention-TP all-reduce of the hidden states and the expert-TP reduce-scatter of the outputs.
  double attention_tp_comm_s = 0, expert_tp_comm_s = 0;
  double ffn_ofu = 0;        ///< routed-expert FLOPs / (t_f x peak): operator utilisation
  double ffn_occupancy = 0;  ///< S_t = t_f / slot
  double ffn_hfu = 0;        ///< = OFU x S_t on the FFN GPUs
  double attention_bubble_fraction = 0;
  double ffn_bubble_fraction = 0;
  bool bubble_free = true;              ///< paper Eqs. 3-4 generalised: (m-1) t_a >= t_f + t_c, (m-1) t_f >= t_a + t_c
  double tokens_per_ffn_gpu = 0;        ///< routed token-expert pairs per FFN GPU per micro-batch (hot rank)
  double scale_out_bytes_per_gpu = 0;   ///< per micro-batch per MoE layer
  double expert_load_imbalance = 1;     ///< hot FFN rank's load / mean rank load (given or computed)
  double context_length_imbalance = 1;  ///< slowest attention instance's summed KV length / mean (context_cv)
  double transfer_overhead_s = 0;       ///< transport software cost in each dispatch / combine
  TransportKind transport = TransportKind::deepep_low_latency;
  double transport_contention = 0;  ///< fraction of the GPU the transport holds while in flight

  const char* attention_dominant_op = "";
  Bound attention_dominant_bound = Bound::memory;
  const char* ffn_dominant_op = "";
  Bound ffn_dominant_bound = Bound::memory;
  bool comm_scale_out_bound = false;

  MemoryUse attention_memory, ffn_memory;  ///< EP: both are the same GPU

  /// attention_s split where EP's two-batch overlap splits it (two_batch_overlap_slot_s).
  AttentionStages attention_stages;

  /// The operators of one MoE layer per micro-batch on the busiest attention GPU and FFN GPU
  /// (what breakdown.ops reports; time them with op_time and launch_efficiencies).
  OpList attention_ops, ffn_ops;
};

namespace detail {

/// Bytes of the non-expert weights a DP attention rank holds (attention, dense FFN, router,
/// embeddings, LM head, plus shared experts when they run on the attention side).
inline double attention_side_weight_bytes(const ModelSpec& m, const Precision& p, int tp, bool shared_here,
                                          bool with_mtp) {
  const double w = dtype_bytes(p.weights);
  double b = m.num_layers * m.attention_params_per_layer() * w / tp;
  b += m.num_dense_layers * m.dense_ffn_params() * w / tp;
  b += m.num_moe_layers() * m.router_params() * 2.0;
  if (shared_here) b += m.num_moe_layers() * m.shared_expert_params() * w / tp;
  b += (m.embedding_params() + m.lm_head_params()) * 2.0 / tp;  // kept in bf16
  if (with_mtp && m.mtp_layers > 0)                             // an MTP module is about one MoE layer + a projection
    b += m.mtp_layers *
         (m.attention_params_per_layer() + m.shared_expert_params() + 2.0 * m.hidden_size * m.hidden_size) * w / tp;
  return b;
}

/// KV bytes of one sequence; the MTP module keeps its own KV cache when drafting is on.
inline double kv_bytes_per_sequence(const ModelSpec& m, const Precision& p, double context, bool with_mtp = false) {
  const double layers = m.num_layers + (with_mtp ? m.mtp_layers : 0);
  return layers * m.mean_attended_tokens(context) * m.kv_elements_per_token_per_layer() * dtype_bytes(p.kv_cache);
}

/// Token-expert pairs on the busiest FFN rank per micro-batch: `global_tokens` tokens routed
/// over `ranks` EP ranks holding `slots` expert slots (experts + EPLB replicas). The fullest rank
/// holds ceil(slots / ranks) slots; ranks beyond the slot count sit idle and take no load.
/// A given expert_load_imbalance multiplies that rank's mean share; 0 computes uniform routing.
inline double hot_rank_load(const ModelSpec& m, const Workload& w, double slots, int ranks, double global_tokens) {
  const double group = std::ceil(slots / std::max(1, ranks));
  const int active = int(std::min<double>(ranks, slots));
  if (w.expert_load_imbalance > 0) return global_tokens * m.moe.top_k * group / slots * w.expert_load_imbalance;
  const double uniform = uniform_hot_rank_load(int(slots), m.moe.top_k, active, group, global_tokens);
  const auto& skew = w.routing_skew_by_ranks;
  if (!skew || skew->empty()) return uniform;
  return uniform * (*skew)[std::min<size_t>(size_t(active), skew->size() - 1)];
}

/// Efficiencies for a layer whose transport cannot be captured in a CUDA graph: every kernel
/// pays the eager launch cost. `scratch` holds the copy when one is needed (the search's inner
/// loop avoids copying otherwise).
inline const Efficiencies& launch_efficiencies(const Efficiencies& eff, const TransportCost& t,
                                               std::optional<Efficiencies>& scratch) {
  if (t.graph_capturable) return eff;
  scratch.emplace(eff);
  scratch->kernel_overhead_s = std::max(eff.kernel_overhead_s, eff.eager_launch_overhead_s);
  return *scratch;
}

/// The MTP draft pass: each draft token runs the MTP module's layers once, priced as one MoE
/// layer of the main model at the same batch (DeepSeek-V3's MTP module is one such layer).
inline double mtp_draft_s(const ModelSpec& m, const Workload& w, double moe_layer_s) {
  if (!w.mtp_drafting() || m.mtp_layers <= 0) return 0;
  return double(w.mtp_draft_tokens) * m.mtp_layers * moe_layer_s;
}

/// Share of a sequence's KV one TP rank stores (MLA latent is replicated over TP).
inline double kv_share_per_rank(const ModelSpec& m, int tp) {
  if (m.attention.kind == AttentionKind::mla) return 1.0;
  return 1.0 / std::min<double>(tp, std::max(1, m.attention.num_kv_heads));
}

inline Binding stage_binding(bool attention, const StageTime& st) {
  if (attention) {
    if (st.dominant_bound == Bound::compute) return Binding::attention_compute;
    return std::string_view(st.dominant_op) == "attn_core" ? Binding::attention_kv_read
                                                           : Binding::attention_weight_read;
  }
  return st.dominant_bound == Bound::compute ? Binding::ffn_compute : Binding::ffn_weight_read;
}

/// FLOPs by the precision they run in, for the FLOP-weighted peak of HFU.
struct PeakMix {
  double flops = 0, peak_s = 0;
  std::array<double, 7> peak_s_by_dtype{};
  void add(const OpCost& op, const Accelerator& hw, double times) {
    if (!(op.flops > 0) || !(times > 0)) return;
    const double f = op.flops * times;
    const double t = f / hw.peak_flops_per_s(op.math);
    flops += f;
    peak_s += t;
    peak_s_by_dtype[size_t(op.math)] += t;
  }
  void add(const OpList& ops, const Accelerator& hw, double times) {
    for (const auto& op : ops) add(op, hw, times);
  }
  /// FLOP-weighted (harmonic) peak of this work; `fallback` when there are no FLOPs.
  double peak_flops_per_s(double fallback) const { return peak_s > 0 ? flops / peak_s : fallback; }
};

/// The useful work of an attention-side list built for the slowest instance: its sequences
/// carry `seq_imbalance` and its core's attended length is `core_ratio` (mean / slowest) too long.
/// Every operator's FLOPs are linear in the sequences, the core's in the attended length, so the
/// balanced FLOPs follow without rebuilding the list. Imbalance is lost time, not work.
inline double balanced_flops_factor(const OpCost& op, double seq_imbalance, double core_ratio) {
  return (op.kind == OpKind::attention ? core_ratio : 1.0) / seq_imbalance;
}
/// Adds such a list's balanced FLOPs, `times` over, to `mix` and returns the list's balanced
/// FLOPs (once): one pass and one factor per operator for both.
inline double add_balanced(PeakMix& mix, const OpList& ops, const Accelerator& hw, double times, double seq_imbalance,
                           double core_ratio) {
  double f = 0;
  for (const auto& op : ops) {
    const double factor = balanced_flops_factor(op, seq_imbalance, core_ratio);
    f += op.flops * factor;
    mix.add(op, hw, times * factor);
  }
  return f;
}

/// KV length of the slowest attention instance's sequences (context_length_imbalance) and the
/// ratio of the mean attended length to its attended length.
struct SlowestContext {
  double imbalance = 1, context_tokens = 0, core_ratio = 1;
};
inline SlowestContext slowest_context(const ModelSpec& m, const Workload& w, double seqs_per_instance, int instances) {
  SlowestContext c;
  c.imbalance = context_length_imbalance(w.context_cv, seqs_per_instance, instances);
  c.context_tokens = w.context_tokens * c.imbalance;
  if (c.imbalance != 1.0) {
    const double slow = m.mean_attended_tokens(c.context_tokens);
    c.core_ratio = slow > 0 ? m.mean_attended_tokens(w.context_tokens) / slow : 1.0;
  }
  return c;
}

inline const char* binding_precision(const std::array<double, 7>& peak_s_by_dtype, DType fallback) {
  size_t best = size_t(fallback);
  for (size_t i = 0; i < peak_s_by_dtype.size(); ++i)
    if (peak_s_by_dtype[i] > peak_s_by_dtype[best]) best = i;
  return dtype_name(DType(best));
}

/// Bytes of activations moved by TP collectives (hidden states and expert outputs in bf16).
inline constexpr double kTpActivationBytes = 2.0;

/// Expert-TP reduce-scatter of one EP rank's outputs: each GPU of the rank holds partial sums
/// for the distinct tokens the rank serves (its `routed` token-expert pairs, k / D pairs per
/// token, D = expected ranks a token's top-k reach), `act` bytes each.
inline double expert_tp_reduce_s(const ModelSpec& m, const Link& up, int expert_tp, int ep_ranks, double routed,
                                 double act, double fixed_s) {
  if (expert_tp <= 1) return 0;
  const double d = expected_distinct_groups(m.moe.num_experts, m.moe.top_k, std::max(1, ep_ranks));
  const double distinct = routed * d / std::max(1, m.moe.top_k);
  return ring_reduce_scatter_s(up, expert_tp, distinct * act, fixed_s);
}

/// Iteration, TPOT and the throughput figures (not HFU: the caller sets that).
inline void finish_throughput(Evaluation& e, const Deployment& d, const Workload& w) {
  e.iteration_s = e.moe_layers_s + e.dense_layers_s + e.lm_head_s + e.mtp_s + e.gap_s;
  e.tpot_s = e.iteration_s / w.mtp_acceptance;
  e.total_gpus = d.total_gpus();
  e.sequences = d.sequences();
  e.tokens_per_s = e.sequences * w.mtp_acceptance / e.iteration_s;
  e.tokens_per_s_per_gpu = e.tokens_per_s / e.total_gpus;
  e.tokens_per_s_per_user = 1.0 / e.tpot_s;
  double usd_per_h = 0, watts = 0;
  if (d.strategy == Strategy::ep) {
    usd_per_h = d.attention.hw->price_usd_per_gpu_hour * d.attention.gpus;
    watts = d.attention.hw->power_w * d.attention.gpus;
  } else {
    usd_per_h =
        d.attention.hw->price_usd_per_gpu_hour * d.attention.gpus + d.ffn.hw->price_usd_per_gpu_hour * d.ffn.gpus;
    watts = d.attention.hw->power_w * d.attention.gpus + d.ffn.hw->power_w * d.ffn.gpus;
  }
  e.tokens_per_s_per_dollar_hour = usd_per_h > 0 ? e.tokens_per_s / usd_per_h : 0;
  e.usd_per_million_tokens = e.tokens_per_s > 0 ? usd_per_h / (e.tokens_per_s * 3600.0) * 1e6 : 0;
  e.tokens_per_s_per_watt = watts > 0 ? e.tokens_per_s / watts : 0;
}

/// HFU from the useful FLOPs and the sum of the GPUs' (FLOP-weighted) peaks.
inline void set_hfu(Evaluation& e, double useful_flops, double peak_sum) {
  e.hfu = useful_flops / (e.iteration_s * peak_sum);
  e.hfu_peak_flops_per_s = peak_sum / e.total_gpus;
}

inline void check_memory(Evaluation& e) {
  for (const MemoryUse* mu : {&e.attention_memory, &e.ffn_memory}) {
    if (mu->capacity_bytes <= 0) continue;
    if (mu->weights_bytes > mu->capacity_bytes) {
      e.feasible = false;
      e.reason = Infeasible::weights_exceed_hbm;
      e.binding = Binding::weights_exceed_hbm;
      return;
    }
  }
  for (const MemoryUse* mu : {&e.attention_memory, &e.ffn_memory}) {
    if (mu->capacity_bytes <= 0) continue;
    if (mu->weights_bytes + mu->kv_bytes > mu->capacity_bytes) {
      e.feasible = false;
      e.reason = Infeasible::kv_exceeds_hbm;
      e.binding = Binding::kv_exceeds_hbm;
      return;
    }
  }
}

/// Memory per GPU of a (well-formed) EP deployment; evaluate_ep's, also used by the batch search
/// for the closed-form KV limit.
/// `local_experts`: max(1, ceil(expert slots / EP ranks)), as evaluate_ep has it.
inline MemoryUse ep_memory(const ModelSpec& m, const Precision& p, const Workload& w, const Deployment& d,
                           const Efficiencies& eff, double local_experts) {
  const Accelerator& hw = *d.attention.hw;
  const int tp = d.attention.tp, etp = d.ffn.tp;
  MemoryUse mem;
  mem.capacity_bytes = hw.hbm_bytes * eff.usable_hbm_fraction;
  mem.weights_bytes = attention_side_weight_bytes(m, p, tp, true, w.mtp_draft_tokens > 0) +
                      local_experts * m.num_moe_layers() * m.expert_params() * dtype_bytes(p.weights) / etp;
  // Each GPU stores its share of its instance's batch_per_gpu x tp sequences: MLA's latent is
  // replicated over the TP group (tp x the KV per GPU), GQA/MHA KV heads are split.
  mem.kv_bytes = d.batch_per_gpu * tp * kv_bytes_per_sequence(m, p, w.context_tokens, w.mtp_draft_tokens > 0) *
                 kv_share_per_rank(m, tp);
  return mem;
}

/// The expert slots (experts + EPLB replicas) the fullest of `ep_ranks` ranks holds.
inline double local_expert_slots(const ModelSpec& m, const Deployment& d, int ep_ranks) {
  const double slots = double(m.moe.num_experts + d.redundant_experts);
  return std::max(1.0, std::ceil(slots / ep_ranks));
}

inline MemoryUse ep_memory(const ModelSpec& m, const Precision& p, const Workload& w, const Deployment& d,
                           const Efficiencies& eff) {
  return ep_memory(m, p, w, d, eff, local_expert_slots(m, d, d.attention.gpus / d.ffn.tp));
}

/// Memory per GPU of each side of a (well-formed) AFD deployment; evaluate_afd's. `seqs_a`:
/// sequences per attention instance per micro-batch, global_batch / micro_batches / instances.
inline void afd_memory(const ModelSpec& m, const Precision& p, const Workload& w, const Deployment& d,
                       const Efficiencies& eff, double seqs_a, double local_experts, MemoryUse& ma, MemoryUse& mf) {
  const int mb = d.micro_batches;
  const bool shared_on_ffn = d.shared_experts_on_ffn && m.moe.num_shared_experts > 0;
  const int L = m.num_moe_layers();
  ma = MemoryUse{};
  ma.capacity_bytes = d.attention.hw->hbm_bytes * eff.usable_hbm_fraction;
  ma.weights_bytes = attention_side_weight_bytes(m, p, d.attention.tp, !shared_on_ffn, w.mtp_draft_tokens > 0);
  ma.kv_bytes = seqs_a * mb * kv_bytes_per_sequence(m, p, w.context_tokens, w.mtp_draft_tokens > 0) *
                kv_share_per_rank(m, d.attention.tp);
  mf = MemoryUse{};
  mf.capacity_bytes = d.ffn.hw->hbm_bytes * eff.usable_hbm_fraction;
  mf.weights_bytes = local_experts * L * m.expert_params() * dtype_bytes(p.weights) / d.ffn.tp +
                     (shared_on_ffn ? L * m.shared_expert_params() * dtype_bytes(p.weights) : 0);
}

inline void afd_memory(const ModelSpec& m, const Precision& p, const Workload& w, const Deployment& d,
                       const Efficiencies& eff, MemoryUse& ma, MemoryUse& mf) {
  const double seqs_a = d.global_batch / d.micro_batches / (d.attention.gpus / d.attention.tp);
  afd_memory(m, p, w, d, eff, seqs_a, local_expert_slots(m, d, d.ffn.gpus / d.ffn.tp), ma, mf);
}

/// Per layer per micro-batch: the small kernels the operator list does not cost.
inline double small_kernels_s(const Efficiencies& eff) {
  return eff.small_kernels_per_layer * eff.kernel_overhead_s;
}

/// Splits one micro-batch's attention stage (its operator list `ops`, their times `op_s`, the small
/// kernels and the attention-TP all-reduce) at the attention core.
inline AttentionStages attention_stages(const ModelSpec& m, const OpList& ops, const std::array<double, 8>& op_s,
                                        double small_s, double tp_comm_s) {
  AttentionStages st;
  st.before_core_s = small_s;
  st.after_core_s = tp_comm_s;
  const double total = m.attention_params_per_layer();
  const double after_share = total > 0 ? std::clamp(m.attention_params_after_core() / total, 0.0, 1.0) : 0.0;
  for (int i = 0; i < ops.size; ++i) {
    const char* name = ops.ops[size_t(i)].name;  // the op_name objects: pointer comparisons
    const double t = op_s[size_t(i)];
    if (name == op_name::attn_proj) {
      st.after_core_s += after_share * t;
      st.before_core_s += (1 - after_share) * t;
    } else if (name == op_name::attn_core || name == op_name::router) {
      st.after_core_s += t;
    } else if (name == op_name::shared_experts) {
      st.shared_s += t;
    } else {
      st.before_core_s += t;
    }
  }
  return st;
}

/// Two-batch overlap per micro-batch, in the stage order of DeepSeek's decode design
/// (deepseek-ai/profile-data, decoding figure) that SGLang's two-batch overlap runs for decode
/// (its "deepseek blog decode" operations strategy, micro-batch B two stages behind A):
///   dispatch A in flight beside shared experts A and B's attention before the core,
///   FFN A with nothing in flight (it needs A's dispatched tokens and feeds A's combine),
///   combine A in flight beside B's core, o_proj and router;
/// then the same with A and B swapped. Each overlap is B(compute, comm) (compute slowed by the
/// transport's contention while the transfer flies). Compute-bound: attention + FFN, nothing
/// lost; transfer-bound: dispatch + FFN + combine (the routed experts are never hidden).
inline double two_batch_overlap_slot_s(const AttentionStages& a, double ffn_s, double dispatch_s, double combine_s,
                                       double contention) {
  return overlapped_busy_s(a.shared_s + a.before_core_s, dispatch_s, contention) + ffn_s +
         overlapped_busy_s(a.after_core_s, combine_s, contention);
}

/// The last step of both schedules: fixed costs may outweigh the MoE layers; then memory and the
/// SLO turn a plan infeasible, naming the violated constraint as its binding.
inline void apply_constraints(Evaluation& e, const Workload& w) {
  if (e.dense_layers_s + e.lm_head_s + e.gap_s > e.moe_layers_s) e.binding = Binding::fixed_overhead;
  check_memory(e);
  if (e.feasible && e.tpot_s > w.tpot_slo_s) {
    e.feasible = false;
    e.reason = Infeasible::slo_violated;
    e.binding = Binding::slo;
  }
}

inline void mark_bad_shape(Evaluation& e, const char* why) {
  e.feasible = false;
  e.reason = Infeasible::bad_shape;
  e.binding = Binding::bad_shape;
  e.shape_problem = why;
}

inline Evaluation bad_shape(const char* why) {
  Evaluation e;
  e.feasible = false;
  e.reason = Infeasible::bad_shape;
  e.binding = Binding::bad_shape;
  e.shape_problem = why;
  return e;
}

}  // namespace detail

/// Evaluates an EP deployment: gpus / attention.tp DP attention instances of attention.tp GPUs
/// each (1: DP attention on every GPU), experts over gpus / ffn.tp EP ranks, each expert split
/// ffn.tp ways (attention.tp = ffn.tp = gpus: a pure-TP worker without all-to-all).
/// `full` false (the batch search's probes): only what feasibility, TPOT and the throughput
/// figures need; HFU, OFU and the binding roof are left unset (the rest is computed by the same
/// expressions, so it is bit-identical to a full evaluation). A run-time flag, not a template
/// parameter: one copy of the function keeps the compiler's inlining as it was.
inline Evaluation evaluate_ep(const ModelSpec& m, const Precision& p, const Workload& w, const Deployment& d,
                              const Efficiencies& eff_in, bool full = true) {
  Evaluation e;  // the only object returned (NRVO): no copy of this ~1.2 kB struct
  const Accelerator& hw = *d.attention.hw;
  const int gpus = d.attention.gpus;
  const TransportKind tk = d.resolved_transport();
  const TransportCost& tc = eff_in.transport(tk);
  std::optional<Efficiencies> eager;
  const Efficiencies& eff = detail::launch_efficiencies(eff_in, tc, eager);
  if (gpus < 1) {
    detail::mark_bad_shape(e, "EP needs at least one GPU");
    return e;
  }
  if (d.micro_batches < 1 || d.micro_batches > 2) {
    detail::mark_bad_shape(e, "EP supports micro_batches 1 (no overlap) or 2 (two-batch overlap)");
    return e;
  }
  if (!(d.batch_per_gpu > 0)) {
    detail::mark_bad_shape(e, "batch_per_gpu must be positive");
    return e;
  }
  const int tp = d.attention.tp, etp = d.ffn.tp;
  if (tp < 1 || gpus % tp != 0) {
    detail::mark_bad_shape(e, "EP attention TP must divide the GPU count");
    return e;
  }
  if (etp < 1 || gpus % etp != 0) {
    detail::mark_bad_shape(e, "EP expert TP must divide the GPU count");
    return e;
  }
  if (tp > 1 && m.attention.num_heads % tp != 0) {
    detail::mark_bad_shape(e, "attention TP must divide the model's attention heads");
    return e;
  }
  if (std::max(tp, etp) > std::max(1, hw.scale_up_domain_gpus)) {
    detail::mark_bad_shape(e, "attention TP and expert TP must fit one scale-up domain");
    return e;
  }
  e.feasible = true;
  const int mb = d.micro_batches;
  const int ep_ranks = gpus / etp;
  const double q_per_seq = 1.0 + w.mtp_draft_tokens;
  const double seqs = d.batch_per_gpu / mb;  // per GPU per micro-batch
  const double tokens = seqs * q_per_seq;    // each GPU dispatches its 1/tp share of its instance
  const double act = detail::kTpActivationBytes * m.hidden_size;
  const TransportCost& tp_tc = eff_in.transport(TransportKind::nccl);

  // Attention side: the DP instance's batch (tp GPUs' worth; the slowest instance carries
  // attention_imbalance), heads and weights split tp ways. With tp > 1 the instance's hidden
  // states are all-reduced (reduce-scatter before dispatch, all-gather after combine).
  // Dense layers run the same attention with a dense MLP: their shared operators are built and
  // timed once.
  // The slowest instance also holds the longest sequences (context_cv).
  const detail::SlowestContext slow = detail::slowest_context(m, w, seqs * tp, gpus / tp);
  e.context_length_imbalance = slow.imbalance;
  OpList dense_ops;
  attention_stage_ops(e.attention_ops, m, attention_precision(p, hw), seqs * tp * w.attention_imbalance, q_per_seq,
                      slow.context_tokens, tp, true, true, m.num_dense_layers > 0 ? &dense_ops : nullptr);
  StageTime att, dense;
  std::array<double, 8> att_op_s;
  stage_times(e.attention_ops, dense_ops, hw, eff, att, dense, &att_op_s);
  e.attention_tp_comm_s = ring_all_reduce_s(hw.scale_up, tp, tokens * tp * w.attention_imbalance * act, tp_tc.fixed_s);
  // FFN side: routed experts of this GPU's EP rank. Redundant experts add slots but cut the hot factor.
  const double slots = double(m.moe.num_experts + d.redundant_experts);
  const double local_experts = std::max(1.0, std::ceil(slots / ep_ranks));
  const double batch_tokens_global = tokens * gpus;
  const double routed = detail::hot_rank_load(m, w, slots, ep_ranks, batch_tokens_global);  // hot rank
  const double hot_factor = routed / (tokens * m.moe.top_k);  // its receive vs. its own sends
  ffn_stage_ops(e.ffn_ops, m, p, routed, local_experts, etp, batch_tokens_global, 0);
  const StageTime ffn = stage_time(e.ffn_ops, hw, eff);
  e.expert_tp_comm_s = detail::expert_tp_reduce_s(m, hw.scale_up, etp, ep_ranks, routed, act, tp_tc.fixed_s);
  // Pure-RDMA low-latency kernels reach every peer over the NIC: a scale-up domain of one GPU.
  const Accelerator* comm_hw = &hw;
  std::optional<Accelerator> rdma_only;  // built only when used: an Accelerator holds strings
  if (d.all_to_all_pure_rdma && d.dispatch_style == DispatchStyle::low_latency) {
    rdma_only.emplace(hw);
    rdma_only->scale_up_domain_gpus = 1;
    comm_hw = &*rdma_only;
  }
  // One EP rank (a pure-TP worker): every GPU already holds every token, no all-to-all.
  const CommTime comm =
      ep_ranks > 1 ? ep_all_to_all(*comm_hw, gpus, m.moe.num_experts, m.moe.top_k, m.hidden_size, tokens,
                                   dtype_bytes(p.dispatch), dtype_bytes(p.combine), d.dispatch_style, hot_factor)
                   : CommTime{};
  const double small_s = detail::small_kernels_s(eff);
  const double a2a_s = ep_ranks > 1 ? transfer_overhead_s(tc, tokens) : 0.0;
  e.attention_s = att.time_s + small_s + e.attention_tp_comm_s;
  const double ffn_s = ffn.time_s;
  e.ffn_s = ffn_s;
  e.dispatch_s = comm.dispatch_s + a2a_s;
  e.combine_s = comm.combine_s + a2a_s + e.expert_tp_comm_s;
  e.scale_out_bytes_per_gpu = comm.scale_out_bytes;
  e.comm_scale_out_bound = comm.scale_out_bound;
  e.tokens_per_ffn_gpu = routed;
  const double compute = e.attention_s + ffn_s;
  const double network = e.dispatch_s + e.combine_s;
  e.attention_stages = detail::attention_stages(m, e.attention_ops, att_op_s, small_s, e.attention_tp_comm_s);
  // TBO: each transfer of one micro-batch overlaps a compute stage of the other, slowed by what
  // the transport holds of the GPU (the function that prices AFD's ping-pong), in the stage
  // order decode stacks run (two_batch_overlap_slot_s).
  e.slot_s =
      mb == 1 ? compute + network
              : detail::two_batch_overlap_slot_s(e.attention_stages, ffn_s, e.dispatch_s, e.combine_s, tc.contention);
  e.moe_layers_s = m.num_moe_layers() * mb * e.slot_s;
  e.mtp_s = detail::mtp_draft_s(m, w, mb * e.slot_s);
  e.expert_load_imbalance = routed / (batch_tokens_global * m.moe.top_k / std::min<double>(ep_ranks, slots));
  e.transfer_overhead_s = a2a_s;
  e.transport = tk;
  e.transport_contention = mb == 1 ? 0.0 : tc.contention;

  // A dense layer under attention TP all-reduces twice: after attention and after its MLP.
  e.dense_layers_s = m.num_dense_layers * mb * (dense.time_s + small_s + 2.0 * e.attention_tp_comm_s);
  const OpCost lm_head = lm_head_op(m, d.batch_per_gpu * q_per_seq * tp, tp);
  e.lm_head_s = op_time(lm_head, hw, eff).time_s;
  e.gap_s = w.step_gap_s();

  e.attention_dominant_op = att.dominant_op;
  e.attention_dominant_bound = att.dominant_bound;
  e.ffn_dominant_op = ffn.dominant_op;
  e.ffn_dominant_bound = ffn.dominant_bound;
  detail::finish_throughput(e, d, w);
  // Memory per GPU.
  e.attention_memory = detail::ep_memory(m, p, w, d, eff, local_experts);
  e.ffn_memory = e.attention_memory;
  if (!full) {
    detail::apply_constraints(e, w);
    return e;
  }
  e.ffn_ofu = ffn.time_s > 0 ? ffn.flops / (ffn.time_s * hw.peak_flops_per_s(p.weights)) : 0;
  e.ffn_occupancy = e.slot_s > 0 ? ffn.time_s / e.slot_s : 0;
  e.ffn_hfu = e.ffn_ofu * e.ffn_occupancy;

  // Useful FLOPs per GPU per iteration (balanced work; imbalance is lost time, not work).
  // The peak each FLOP is measured against: that of the precision it runs in.
  const double imb = w.attention_imbalance;
  const double ffn_balance = routed / (batch_tokens_global * m.moe.top_k / ep_ranks);
  detail::PeakMix mix;
  const double att_flops_bal =
      detail::add_balanced(mix, e.attention_ops, hw, double(mb) * m.num_moe_layers(), imb, slow.core_ratio);
  mix.add(e.ffn_ops, hw, double(mb) * m.num_moe_layers() / ffn_balance);
  const double dense_flops_bal =
      detail::add_balanced(mix, dense_ops, hw, double(mb) * m.num_dense_layers, imb, slow.core_ratio);
  mix.add(lm_head, hw, 1.0);
  const double ffn_flops_bal = ffn.flops / ffn_balance;
  const double flops_gpu =
      mb * (m.num_moe_layers() * (att_flops_bal + ffn_flops_bal) + m.num_dense_layers * dense_flops_bal) +
      2.0 * d.batch_per_gpu * q_per_seq * m.embedding_params();
  detail::set_hfu(e, flops_gpu * gpus, mix.peak_flops_per_s(hw.peak_flops_per_s(p.weights)) * gpus);
  e.hfu_peak_precision = detail::binding_precision(mix.peak_s_by_dtype, p.weights);

  // Binding roof.
  if (ep_ranks > 1 && (mb == 2 ? network >= compute : network >= std::max(e.attention_s, ffn_s)))
    e.binding = comm.scale_out_bound ? Binding::scale_out_network : Binding::scale_up_network;
  else if (std::max(e.attention_tp_comm_s, e.expert_tp_comm_s) > std::max(att.time_s, ffn.time_s))
    e.binding = Binding::scale_up_network;
  else
    e.binding = e.attention_s >= ffn_s ? detail::stage_binding(true, att) : detail::stage_binding(false, ffn);
  detail::apply_constraints(e, w);
  return e;
}

/// Evaluates an AFD deployment (A instances DP x TP_a, F GPUs EP x expert-TP, m micro-batches).
/// `full`: as for evaluate_ep.
inline Evaluation evaluate_afd(const ModelSpec& m, const Precision& p, const Workload& w, const Deployment& d,
                               const Efficiencies& eff_in, bool full = true) {
  Evaluation e;  // the only object returned (NRVO): no copy of this ~1.2 kB struct
  const TransportKind tk = d.resolved_transport();
  const TransportCost& tc = eff_in.transport(tk);
  std::optional<Efficiencies> eager;
  const Efficiencies& eff = detail::launch_efficiencies(eff_in, tc, eager);
  const Accelerator& ha = *d.attention.hw;
  const Accelerator& hf = *d.ffn.hw;
  if (d.attention.gpus < 1 || d.ffn.gpus < 1) {
    detail::mark_bad_shape(e, "AFD needs GPUs on both sides");
    return e;
  }
  if (d.attention.tp < 1 || d.attention.gpus % d.attention.tp != 0) {
    detail::mark_bad_shape(e, "attention GPUs must be a multiple of attention TP");
    return e;
  }
  if (d.ffn.tp < 1 || d.ffn.gpus % d.ffn.tp != 0) {
    detail::mark_bad_shape(e, "FFN GPUs must be a multiple of expert TP");
    return e;
  }
  if (d.micro_batches < 1) {
    detail::mark_bad_shape(e, "micro_batches must be at least 1");
    return e;
  }
  if (!(d.global_batch > 0)) {
    detail::mark_bad_shape(e, "global_batch must be positive");
    return e;
  }
  e.feasible = true;
  const int mb = d.micro_batches;
  const int n_a = d.attention.gpus / d.attention.tp;  // attention DP instances
  const int ep_ranks = d.ffn.gpus / d.ffn.tp;
  const double q_per_seq = 1.0 + w.mtp_draft_tokens;
  const double mb_seqs = d.global_batch / mb;  // sequences per micro-batch
  const double seqs_a = mb_seqs / n_a;         // per attention instance per micro-batch
  const double mb_tokens = mb_seqs * q_per_seq;
  const bool shared_on_ffn = d.shared_experts_on_ffn && m.moe.num_shared_experts > 0;

  // Dense layers and the LM head run on the attention side, outside the ping-pong; a dense
  // layer's attention operators are the MoE layer's, built and timed once.
  const detail::SlowestContext slow = detail::slowest_context(m, w, seqs_a, n_a);
  e.context_length_imbalance = slow.imbalance;
  OpList dense_ops;
  attention_stage_ops(e.attention_ops, m, attention_precision(p, ha), seqs_a * w.attention_imbalance, q_per_seq,
                      slow.context_tokens, d.attention.tp, true, !shared_on_ffn,
                      m.num_dense_layers > 0 ? &dense_ops : nullptr);
  StageTime att, dense;
  std::array<double, 8> att_op_s;
  stage_times(e.attention_ops, dense_ops, ha, eff, att, dense, &att_op_s);
  const double slots = double(m.moe.num_experts + d.redundant_experts);
  const double local_experts = std::max(1.0, std::ceil(slots / ep_ranks));
  const double routed = detail::hot_rank_load(m, w, slots, ep_ranks, mb_tokens);
  const double mean_routed = mb_tokens * m.moe.top_k / ep_ranks;
  const double shared_tokens = shared_on_ffn ? mb_tokens / d.ffn.gpus : 0;
  ffn_stage_ops(e.ffn_ops, m, p, routed, local_experts, d.ffn.tp, mb_tokens, shared_tokens);
  const StageTime ffn_ops_time = stage_time(e.ffn_ops, hf, eff);
  // TP collectives on each side's scale-up links (0 at TP 1): the attention instance's hidden
  // states over TP_a, the expert outputs over expert-TP.
  const double act = detail::kTpActivationBytes * m.hidden_size;
  const double tp_fixed_s = eff_in.transport(TransportKind::nccl).fixed_s;
  e.attention_tp_comm_s =
      ring_all_reduce_s(ha.scale_up, d.attention.tp, seqs_a * q_per_seq * w.attention_imbalance * act, tp_fixed_s);
  e.expert_tp_comm_s = detail::expert_tp_reduce_s(m, hf.scale_up, d.ffn.tp, ep_ranks, routed, act, tp_fixed_s);
  const StageTime& ffn = ffn_ops_time;

  M2NInput in{};
  in.attn_hw = &ha;
  in.ffn_hw = &hf;
  in.tokens_per_attn_gpu = seqs_a * q_per_seq / d.attention.tp * w.attention_imbalance;
  in.micro_batch_tokens = mb_tokens;
  in.tokens_per_ffn_gpu = routed;
  in.hot_factor = routed / (mb_tokens * m.moe.top_k * std::ceil(slots / ep_ranks) / slots);
  in.ffn_gpus = d.ffn.gpus;
  in.ffn_gpus_per_node = std::min(hf.gpus_per_node, d.ffn.gpus);
  in.num_experts = m.moe.num_experts;
  in.top_k = m.moe.top_k;
  in.hidden = m.hidden_size;
  in.dispatch_bytes_per_elem = dtype_bytes(p.dispatch);
  in.combine_bytes_per_elem = dtype_bytes(p.combine);
  in.same_domain = &ha == &hf && ha.is_superpod() && d.total_gpus() <= ha.scale_up_domain_gpus;
  const CommTime comm = afd_m2n(in);

  const double small_s = detail::small_kernels_s(eff);
  e.attention_s = att.time_s + small_s + e.attention_tp_comm_s;
  if (full)  // reported only: AFD's ping-pong does not split the attention stage
    e.attention_stages = detail::attention_stages(m, e.attention_ops, att_op_s, small_s, e.attention_tp_comm_s);
  e.ffn_s = ffn.time_s;
  // The same per-transfer cost as EP's all-to-all, for this deployment's transport; the per-token
  // part is paid by the busier end (an attention GPU's sends or an FFN GPU's distinct receives).
  const double xfer_s = transfer_overhead_s(tc, std::max(in.tokens_per_attn_gpu, comm.tokens_received_per_ffn_gpu));
  e.dispatch_s = comm.dispatch_s + xfer_s;
  e.combine_s = comm.combine_s + xfer_s + e.expert_tp_comm_s;
  e.scale_out_bytes_per_gpu = comm.scale_out_bytes;
  e.comm_scale_out_bound = comm.scale_out_bound;
  e.tokens_per_ffn_gpu = routed;
  const double t_c = e.dispatch_s + e.combine_s;
  const double round_trip = e.attention_s + ffn.time_s + t_c;
  // Each side computes one micro-batch while it sends one and receives another (opposite link
  // directions, so in flight together): its busy time is priced as EP's two-batch overlap is.
  const double in_flight = std::max(e.dispatch_s, e.combine_s);
  const double busiest = std::max({overlapped_busy_s(e.attention_s, in_flight, tc.contention),
                                   overlapped_busy_s(ffn.time_s, in_flight, tc.contention), e.dispatch_s, e.combine_s});
  e.slot_s = std::max(busiest, round_trip / mb);
  const int L = m.num_moe_layers();
  e.moe_layers_s = L > 0 ? round_trip + e.slot_s * (double(mb) * L - 1.0) : 0;
  e.mtp_s = detail::mtp_draft_s(m, w, L > 0 ? e.moe_layers_s / L : 0);
  e.expert_load_imbalance = routed / (mb_tokens * m.moe.top_k / std::min<double>(ep_ranks, slots));
  e.transfer_overhead_s = xfer_s;
  e.transport = tk;
  e.transport_contention = tc.contention;
  e.attention_bubble_fraction = 1.0 - e.attention_s / e.slot_s;
  e.ffn_bubble_fraction = 1.0 - ffn.time_s / e.slot_s;
  e.bubble_free = (mb - 1) * e.attention_s >= ffn.time_s + t_c && (mb - 1) * ffn.time_s >= e.attention_s + t_c;

  e.dense_layers_s = double(m.num_dense_layers) * mb *
                     (dense.time_s + small_s + 2.0 * e.attention_tp_comm_s);  // double: layers x mb can pass INT_MAX
  const OpCost lm_head = lm_head_op(m, seqs_a * mb * q_per_seq, d.attention.tp);
  e.lm_head_s = op_time(lm_head, ha, eff).time_s;
  e.gap_s = w.step_gap_s();
  e.budget_slot_s = (w.tpot_slo_s * w.mtp_acceptance - w.iteration_gap_s) / (3.0 * m.num_layers);

  e.attention_dominant_op = att.dominant_op;
  e.attention_dominant_bound = att.dominant_bound;
  e.ffn_dominant_op = ffn.dominant_op;
  e.ffn_dominant_bound = ffn.dominant_bound;
  detail::finish_throughput(e, d, w);
  detail::afd_memory(m, p, w, d, eff, seqs_a, local_experts, e.attention_memory, e.ffn_memory);
  if (!full) {
    detail::apply_constraints(e, w);
    return e;
  }
  const double peak_f = hf.peak_flops_per_s(p.weights);
  e.ffn_ofu = ffn.time_s > 0 ? ffn.flops / (ffn.time_s * peak_f) : 0;
  e.ffn_occupancy = ffn.time_s / e.slot_s;
  e.ffn_hfu = e.ffn_ofu * e.ffn_occupancy;

  // Each side's peak is FLOP-weighted over the precisions its work runs in.
  const double imb = w.attention_imbalance;
  detail::PeakMix mix_a, mix_f;
  const double att_flops_bal = detail::add_balanced(mix_a, e.attention_ops, ha, double(mb) * L, imb, slow.core_ratio);
  const double dense_flops_bal =
      detail::add_balanced(mix_a, dense_ops, ha, double(mb) * m.num_dense_layers, imb, slow.core_ratio);
  const double flops = mb * (L * (att_flops_bal * d.attention.gpus + ffn.flops * mean_routed / routed * d.ffn.gpus) +
                             m.num_dense_layers * dense_flops_bal * d.attention.gpus) +
                       2.0 * d.global_batch * q_per_seq * m.embedding_params();
  mix_a.add(lm_head, ha, 1.0);
  mix_f.add(e.ffn_ops, hf, double(mb) * L * mean_routed / routed);
  const double peak_a_eff = mix_a.peak_flops_per_s(ha.peak_flops_per_s(p.weights));
  const double peak_f_eff = mix_f.peak_flops_per_s(peak_f);
  detail::set_hfu(e, flops, peak_a_eff * d.attention.gpus + peak_f_eff * d.ffn.gpus);
  std::array<double, 7> by_dtype{};
  for (size_t i = 0; i < by_dtype.size(); ++i)
    by_dtype[i] = mix_a.peak_s_by_dtype[i] * d.attention.gpus + mix_f.peak_s_by_dtype[i] * d.ffn.gpus;
  e.hfu_peak_precision = detail::binding_precision(by_dtype, p.weights);

  if (e.slot_s > busiest * (1.0 + 1e-9))
    e.binding = Binding::pipeline_bubble;
  else if (std::max(e.dispatch_s, e.combine_s) >= std::max(e.attention_s, ffn.time_s))
    e.binding = comm.scale_out_bound ? Binding::scale_out_network : Binding::scale_up_network;
  else
    e.binding = e.attention_s >= ffn.time_s ? detail::stage_binding(true, att) : detail::stage_binding(false, ffn);
  detail::apply_constraints(e, w);
  return e;
}

inline Evaluation evaluate(const ModelSpec& m, const Precision& p, const Workload& w, const Deployment& d,
                           const Efficiencies& eff = {}) {
  if (!d.attention.hw || (d.strategy == Strategy::afd && !d.ffn.hw))
    return detail::bad_shape("deployment has no hardware");
  return d.strategy == Strategy::ep ? evaluate_ep(m, p, w, d, eff) : evaluate_afd(m, p, w, d, eff);
}

/// The batch search's probe: feasibility, TPOT, memory and the throughput figures (tokens/s per
/// GPU, per $/hour, per W) as evaluate() computes them, without HFU, OFU or the binding roof.
inline Evaluation evaluate_probe(const ModelSpec& m, const Precision& p, const Workload& w, const Deployment& d,
                                 const Efficiencies& eff = {}) {
  if (!d.attention.hw || (d.strategy == Strategy::afd && !d.ffn.hw))
    return detail::bad_shape("deployment has no hardware");
  return d.strategy == Strategy::ep ? evaluate_ep(m, p, w, d, eff, false) : evaluate_afd(m, p, w, d, eff, false);
}

}  // namespace ridgeline
