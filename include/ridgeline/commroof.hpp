// SPDX-License-Identifier: Apache-2.0
// L4 communication-level roofline of an AFD FFN side (the AFD-roofline paper, arXiv 2602.09721,
// §2.3-2.6 and App. A).
//
// Per FFN rank and per budget slot t_B (Eq. 1):
//   bytes on the wire per token      = H x (dispatch + combine bytes)             (Eq. 17: 3H)
//   B_eff(N_F)                       = min(B_out x max(1, TopK x ETP / N_F), B_up)  (Eq. 9)
//   tokens per rank B_rank           = B_eff x (t_B - alpha) / bytes per token      (Eq. 9/17)
//   FLOPs per wire token             = 6 H M / ETP (+ shared experts when on the FFN side)
//   network intensity I_net          = FLOPs per wire token / bytes per token        (= 2M, §2.4)
//   HBM intensity I                  = 2 B_rank / ceil(E x ETP / ranks) / weight bytes (Eq. 10)
//   HFU ceiling                      = min(1, B_rank x FLOPs per token / (FLOPS x t_B)) (Eq. 19)
//   t_G = max(FLOPs / FLOPS, weight bytes / B_mem);  S_t = t_G / t_B;  OFU = HFU / S_t (Eqs. 6-8)
//   ridge expert size M*             = M x FLOPS / (I_net x B_eff)                   (= FLOPS/(2 B_eff))
// Regimes as N_F grows: scale-up bound (TopK ETP / N_F > r), stable intensity (1 < .. <= r),
// scale-out bound = the dead zone (N_F >= TopK ETP), maximum intensity (one local expert).
// Generalisations beyond the paper: any dispatch/combine precision, shared experts on either
// side, expert-TP, GPU-granular superpods (N_F counts GPUs), and alpha (latency) terms.
#pragma once
#include <algorithm>
#include <cmath>

#include "ridgeline/comm.hpp"
#include "ridgeline/hardware.hpp"
#include "ridgeline/model.hpp"
#include "ridgeline/workload.hpp"

namespace ridgeline {

/// The paper's per-micro-batch budget (Eq. 1): t_B = (SLO x L_accept - t_g) / (N_BO x N_layers).
inline double budget_slot_s(double tpot_slo_s, double mtp_acceptance, double gap_s, int num_layers, int n_bo = 3) {
  return (tpot_slo_s * mtp_acceptance - gap_s) / (double(n_bo) * num_layers);
}

/// Inverse of Eq. 1: the TPOT SLO that yields budget `t_b_s`.
inline double slo_for_budget_s(double t_b_s, double mtp_acceptance, double gap_s, int num_layers, int n_bo = 3) {
  return (t_b_s * n_bo * num_layers + gap_s) / mtp_acceptance;
}

enum class CommRegime { scale_up_bound, stable_intensity, scale_out_bound, max_intensity };

inline const char* comm_regime_name(CommRegime r) {
  switch (r) {
    case CommRegime::scale_up_bound:
      return "scale_up_bound";
    case CommRegime::stable_intensity:
      return "stable_intensity";
    case CommRegime::scale_out_bound:
      return "scale_out_bound";
    case CommRegime::max_intensity:
      return "max_intensity";
  }
  return "?";
}

struct CommRoofOptions {
  double budget_s = 0;  ///< t_B; <= 0 means "not given" (ceilings need none)
  int expert_tp = 1;    ///< each expert split over this many ranks
  bool shared_experts_on_ffn = false;
  bool gpu_granular = false;         ///< N_F counts GPUs (superpod placement) instead of nodes
  bool latency_terms = false;        ///< subtract dispatch + combine link latencies from t_B
  int redundant_experts = 0;         ///< EPLB replicas (cost memory and local-expert slots)
  double usable_hbm_fraction = 1.0;  ///< paper: the whole HBM holds the weights
};

/// One FFN-side size N_F.
struct CommRoofPoint {
  int nf = 0;     ///< nodes (or GPUs when gpu_granular)
  int ranks = 0;  ///< FFN GPUs
  CommRegime regime = CommRegime::scale_up_bound;
  double local_experts = 0;  ///< ceil(E x ETP / ranks): expert shards per rank
  double local_experts_continuous = 0;
  double effective_bytes_per_s = 0;  ///< B_eff per rank
  double network_intensity = 0;      ///< FLOP per wire byte
  double hfu_ceiling = 0;            ///< communication roofline, capped at 1
  bool compute_capped = false;       ///< the ceiling hit 1: compute, not network, limits
  // Needs a budget t_B:
  double tokens_per_rank = 0;  ///< token-expert pairs per rank per slot (B_rank)
  double hbm_intensity = 0;    ///< 2 x tokens per local expert / weight bytes (Eq. 10)
  double hbm_intensity_continuous = 0;
  double flops = 0;          ///< per rank per slot (compute-capped)
  double weight_read_s = 0;  ///< expert weights of one layer / HBM bandwidth
  double operator_s = 0;     ///< t_G
  double occupancy = 0;      ///< S_t = t_G / t_B
  double ofu = 0;            ///< FLOPs / (t_G x FLOPS)
  // Memory:
  double weight_bytes = 0;  ///< routed (+ shared) expert weights per rank, all MoE layers
  bool weights_fit = true;
  bool weight_read_fits_budget = true;  ///< t_G <= t_B (only checked when a budget is given)
  bool feasible() const { return weights_fit && weight_read_fits_budget; }
};

/// Everything that does not depend on N_F.
struct CommRoofShape {
  double peak_flops_per_s = 0;
  double scale_up_bytes_per_s = 0;   ///< sustained, per GPU per direction
  double scale_out_bytes_per_s = 0;  ///< sustained; = scale-up on a superpod
  double ratio = 1;                  ///< r = B_up / B_out
  double wire_bytes_per_token = 0;   ///< H x (dispatch + combine)
  double flops_per_token = 0;        ///< per wire token on one rank
  double network_intensity = 0;
  double expert_weight_bytes = 0;  ///< one expert shard, one layer
  int gpus_per_node = 8;
  double latency_s = 0;  ///< dispatch + combine alpha per slot (latency_terms)
};

inline CommRoofShape comm_roof_shape(const ModelSpec& m, const Accelerator& hw, const Precision& p,
                                     const CommRoofOptions& o) {
  CommRoofShape s;
  s.peak_flops_per_s = hw.peak_flops_per_s(p.weights);
  s.scale_up_bytes_per_s = hw.scale_up.sustained_bytes_per_s();
  // Superpod: A<->F traffic stays inside the scale-up domain, so "scale-out" is scale-up.
  s.scale_out_bytes_per_s = hw.is_superpod() ? s.scale_up_bytes_per_s : hw.scale_out.sustained_bytes_per_s();
  s.ratio = s.scale_up_bytes_per_s / s.scale_out_bytes_per_s;
  const double H = m.hidden_size, M = m.moe.expert_intermediate_size, tp = std::max(1, o.expert_tp);
  s.wire_bytes_per_token = H * (dtype_bytes(p.dispatch) + dtype_bytes(p.combine));
  s.flops_per_token = 6.0 * H * M / tp;
  if (o.shared_experts_on_ffn && m.moe.num_shared_experts > 0 && m.moe.top_k > 0)
    // Each token visits the shared experts once; it already travels with one of its top_k
    // routed copies, so per wire copy the shared work is 1/top_k of one shared pass.
    s.flops_per_token +=
        6.0 * H * m.moe.shared_expert_intermediate_size * m.moe.num_shared_experts / (double(m.moe.top_k) * tp);
  s.network_intensity = s.flops_per_token / s.wire_bytes_per_token;
  s.expert_weight_bytes = m.expert_params() * dtype_bytes(p.weights) / tp;
  s.gpus_per_node = o.gpu_granular ? 1 : hw.gpus_per_node;
  if (o.latency_terms) {
    const double hop = hw.is_superpod() ? hw.scale_up.latency_s : hw.scale_out.latency_s + hw.scale_up.latency_s;
    s.latency_s = 2.0 * hop;  // dispatch and combine each pay one (two-stage) hop
  }
  return s;
}

inline CommRoofPoint comm_roof_point(const ModelSpec& m, const Accelerator& hw, const Precision& p,
                                     const CommRoofOptions& o, int nf) {
  const CommRoofShape s = comm_roof_shape(m, hw, p, o);
  CommRoofPoint pt;
  const int tp = std::max(1, o.expert_tp);
  const int K = m.moe.top_k;
  pt.nf = nf;
  pt.ranks = nf * s.gpus_per_node;
  const double shards = double(m.moe.num_experts + o.redundant_experts) * tp;
  pt.local_experts = std::max(1.0, std::ceil(shards / pt.ranks));
  pt.local_experts_continuous = std::max(1.0, shards / pt.ranks);
  // Two-stage forwarding: a token reaches a node once, then fans out to the K x ETP / N_F
  // expert shards it needs there (Eq. 9). GPU-granular: the "node" is one GPU.
  pt.effective_bytes_per_s = two_stage_bandwidth(s.scale_out_bytes_per_s, s.scale_up_bytes_per_s, K * tp, nf);
  pt.network_intensity = s.network_intensity;
  const double fanout = double(K) * tp / nf;
  if (pt.local_experts_continuous <= 1.0)
    pt.regime = CommRegime::max_intensity;
  else if (fanout > s.ratio)
    pt.regime = CommRegime::scale_up_bound;
  else if (fanout > 1.0)
    pt.regime = CommRegime::stable_intensity;
  else
    pt.regime = CommRegime::scale_out_bound;

  const double raw = s.network_intensity * pt.effective_bytes_per_s / s.peak_flops_per_s;
  double usable_fraction = 1.0;  // of the slot left to move bytes once latencies are paid
  if (o.budget_s > 0 && s.latency_s > 0) usable_fraction = std::max(0.0, 1.0 - s.latency_s / o.budget_s);
  pt.hfu_ceiling = std::min(1.0, raw * usable_fraction);
  pt.compute_capped = raw * usable_fraction >= 1.0;

  pt.weight_bytes = pt.local_experts * m.num_moe_layers() * s.expert_weight_bytes;
  if (o.shared_experts_on_ffn)
    pt.weight_bytes += m.num_moe_layers() * m.shared_expert_params() * dtype_bytes(p.weights) / tp;
  pt.weights_fit = pt.weight_bytes <= hw.hbm_bytes * o.usable_hbm_fraction;
  // Weights of one layer are read once per slot (every local expert is hit at these batches).
  pt.weight_read_s = pt.weight_bytes / std::max(1, m.num_moe_layers()) / hw.hbm_bytes_per_s;

  if (o.budget_s > 0) {
    const double t_b = o.budget_s;
    pt.tokens_per_rank = pt.effective_bytes_per_s * t_b * usable_fraction / s.wire_bytes_per_token;
    const double wbytes = dtype_bytes(p.weights);
    pt.hbm_intensity = 2.0 * pt.tokens_per_rank / pt.local_experts / wbytes;
    pt.hbm_intensity_continuous = 2.0 * pt.tokens_per_rank / pt.local_experts_continuous / wbytes;
    pt.flops = std::min(pt.tokens_per_rank * s.flops_per_token, s.peak_flops_per_s * t_b);
    pt.operator_s = std::max(pt.flops / s.peak_flops_per_s, pt.weight_read_s);
    pt.occupancy = pt.operator_s / t_b;
    pt.ofu = pt.operator_s > 0 ? pt.flops / (pt.operator_s * s.peak_flops_per_s) : 0;
    pt.weight_read_fits_budget = pt.operator_s <= t_b;
  }
  return pt;
}

/// N_F where each regime starts (in nodes, or GPUs when gpu_granular). A boundary that does not
/// exist for this hardware (e.g. r = 1 on a superpod) equals the next one.
struct RegimeBoundaries {
  double stable_from = 0;         ///< TopK ETP / r
  double scale_out_from = 0;      ///< TopK ETP: the dead zone starts here
  double max_intensity_from = 0;  ///< E ETP / g: one local expert per rank
};

inline RegimeBoundaries regime_boundaries(const ModelSpec& m, const Accelerator& hw, const Precision& p,
                                          const CommRoofOptions& o) {
  const CommRoofShape s = comm_roof_shape(m, hw, p, o);
  const double kt = double(m.moe.top_k) * std::max(1, o.expert_tp);
  RegimeBoundaries b;
  b.stable_from = kt / s.ratio;
  b.scale_out_from = kt;
  b.max_intensity_from = double(m.moe.num_experts + o.redundant_experts) * std::max(1, o.expert_tp) / s.gpus_per_node;
  return b;
}

/// Ridge expert intermediate size M*: the M at which the network roof meets the compute roof
/// for bandwidth `effective_bytes_per_s` (paper: FLOPS / (2 B_eff)).
inline double ridge_expert_size(const ModelSpec& m, const CommRoofShape& s, double effective_bytes_per_s) {
  const double per_m = s.network_intensity / m.moe.expert_intermediate_size;  // I_net is linear in M
  return s.peak_flops_per_s / (per_m * effective_bytes_per_s);
}

/// Per-rank effective bandwidth needed for a target HFU (paper §8 check 15: 0.3 FLOPS / M for 60 %).
inline double bandwidth_for_hfu(const CommRoofShape& s, double target_hfu) {
  return target_hfu * s.peak_flops_per_s / s.network_intensity;
}

/// Tokens that cross a link of `bytes_per_s` within `t_b_s` (Eq. 17).
inline double tokens_per_slot(double bytes_per_s, double t_b_s, double wire_bytes_per_token) {
  return bytes_per_s * t_b_s / wire_bytes_per_token;
}

/// Batch-overlap rules (paper Eqs. 2-4, §2.2).
struct BubbleCheck {
  bool within_budget = false;         ///< Eq. 2: max(t_a, t_f, t_c) <= t_B
  bool no_attention_bubbles = false;  ///< Eq. 3: 2 t_a >= t_f + t_c
  bool no_ffn_bubbles = false;        ///< Eq. 4: 2 t_f >= t_a + t_c
  bool two_bo_bubble_free = false;    ///< 2BO: t_dispatch + t_f + t_combine <= t_a
  bool three_bo_bubble_free() const { return within_budget && no_attention_bubbles && no_ffn_bubbles; }
};

inline BubbleCheck check_bubbles(double t_a, double t_f, double t_dispatch, double t_combine, double t_b) {
  const double t_c = t_dispatch + t_combine;
  BubbleCheck c;
  c.within_budget = std::max({t_a, t_f, t_c}) <= t_b;
  c.no_attention_bubbles = 2.0 * t_a >= t_f + t_c;
  c.no_ffn_bubbles = 2.0 * t_f >= t_a + t_c;
  c.two_bo_bubble_free = t_dispatch + t_f + t_combine <= t_a;
  return c;
}

}  // namespace ridgeline
