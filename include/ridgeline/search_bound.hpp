// SPDX-License-Identifier: Apache-2.0
// Branch and bound for the AFD search: an upper bound on the score of every plan of an
// (attention kind, TP_a, FFN shape, micro-batches) family, so the search can skip families that
// cannot reach the best plans it already holds. The bound is sound, not a heuristic: it only
// drops terms evaluate_afd adds (communication, bubbles, TP collectives, MTP drafts, the spread
// of context lengths) and takes the best batch each side could run on its own.
//
// Why it holds. An AFD step costs at least m L max(t_a, t_f) + gap (evaluate_afd: the MoE layers
// take round_trip + slot (m L - 1), round_trip >= t_a + t_f and slot >= both stages), plus the
// dense layers and the LM head, which run on the attention side; the TPOT SLO needs it under
// SLO x acceptance. So n_a attention instances of TP_a GPUs serve at most n_a R_a tokens/s and the
// FFN side at most R_f, where R = sup over the side's batch x of tokens(x) / (T(x) + gap / m),
// T(x) the side's share of a step per micro-batch (L t_a + dense layers + LM head / m on the
// attention side, L t_f on the FFN side), with m T(x) + gap within the SLO. The plan's score
// T / (c_a n_a TP_a + c_f F) with T <= min(n_a R_a, R_f) is then at most
// 1 / (c_a / rho_a + c_f / rho_f), rho = R per GPU (c: 1 per GPU, $/h or W per GPU by objective).
// The supremum is bounded on a geometric grid x_j = x* 2^(-j/8): on [x_(j+1), x_j] the rate is
// at most x_j / (T(x_(j+1)) + gap / m) because each side's time never decreases with its batch
// (checked on the grid: where it does, the bound gives up and returns infinity).
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>

#include "ridgeline/evaluate.hpp"

namespace ridgeline {

namespace bound_detail {

inline constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// sup over x in (0, x_cap] with t(x) <= budget_s of x / (t(x) + gap_per_mb_s), for t
/// nondecreasing with t(x) >= t_floor_s everywhere. Infinity when it cannot be bounded.
template <class TimeOf>
double rate_sup(TimeOf&& t, double budget_s, double x_cap, double gap_per_mb_s, double t_floor_s) {
  if (!(budget_s > 0)) return 0;  // no batch meets the SLO: no plan of the family is feasible
  const double floor_den = t_floor_s + gap_per_mb_s;
  if (!(floor_den > 0)) return kInfinity;
  // x_hi: a batch above every one meeting the budget (geometric doubling, then bisection).
  double x_hi = 1;
  while (x_hi < x_cap && t(x_hi) <= budget_s) {
    x_hi *= 2;
    if (x_hi > 1e9) return kInfinity;
  }
  x_hi = std::min(x_hi, x_cap);
  // Any x_hi at or above the largest feasible batch keeps the bound sound; 12 halvings leave it
  // within 0.03 % of that batch.
  for (double lo = x_hi / 2, i = 0; i < 12 && lo > 0; ++i) {
    const double mid = 0.5 * (lo + x_hi);
    (t(mid) <= budget_s ? lo : x_hi) = mid;
  }
  constexpr int kSteps = 96;  // 12 octaves at 2^(1/8): the bound is at most 9 % loose
  const double step = std::exp2(-1.0 / 8.0);
  double best = 0, x = x_hi, t_x = t(x_hi);
  // Below x every rate is at most x / floor_den: once that is under the best bucket's bound, no
  // smaller batch can raise it.
  for (int j = 0; j < kSteps && x / floor_den > best; ++j) {
    const double x_next = x * step;
    const double t_next = t(x_next);
    if (t_next > t_x * (1 + 1e-12)) return kInfinity;  // not monotone: no bound
    best = std::max(best, x / (t_next + gap_per_mb_s));
    x = x_next, t_x = t_next;
  }
  return std::max(best, x / floor_den);  // (0, x]: every time is at least the floor
}

}  // namespace bound_detail

/// Tokens/s one attention GPU can serve at most: TP_a GPUs, `micro_batches` micro-batches, the
/// workload's SLO (see the header). `shared_here`: the shared experts run on the attention side.
inline double afd_attention_rate_bound(const ModelSpec& m, const Precision& p, const Workload& w,
                                       const Efficiencies& eff, const Accelerator& ha, int tp_a, int micro_batches,
                                       bool shared_here) {
  const int L = m.num_moe_layers();
  if (L < 1) return bound_detail::kInfinity;
  const double gap = w.step_gap_s();
  const double budget = (w.tpot_slo_s * w.mtp_acceptance - gap) / micro_batches;
  const double q = 1.0 + w.mtp_draft_tokens;
  const double small_s = detail::small_kernels_s(eff);
  const Precision pa = attention_precision(p, ha);
  OpList ops, dense_ops;
  // Per micro-batch: L MoE-layer attention stages, the dense layers (attention and MLP) and the
  // LM head's share, as evaluate_afd prices them at the mean context, without TP collectives.
  auto t_a = [&](double seqs) {
    attention_stage_ops(ops, m, pa, seqs * w.attention_imbalance, q, w.context_tokens, tp_a, true, shared_here,
                        m.num_dense_layers > 0 ? &dense_ops : nullptr);
    StageTime att, dense;
    stage_times(ops, dense_ops, ha, eff, att, dense);
    const double lm_head_s = op_time(lm_head_op(m, seqs * micro_batches * q, tp_a), ha, eff).time_s;
    return L * (att.time_s + small_s) + m.num_dense_layers * (dense.time_s + small_s) + lm_head_s / micro_batches;
  };
  // KV memory caps the sequences per instance exactly as evaluate_afd's memory check does.
  double seqs_cap = bound_detail::kInfinity;
  const double cap = ha.hbm_bytes * eff.usable_hbm_fraction;
  const double weights = detail::attention_side_weight_bytes(m, p, tp_a, shared_here, w.mtp_draft_tokens > 0);
  const double kv = detail::kv_bytes_per_sequence(m, p, w.context_tokens, w.mtp_draft_tokens > 0) *
                    detail::kv_share_per_rank(m, tp_a) * micro_batches;
  if (cap > 0 && kv > 0 && cap > weights) seqs_cap = (cap - weights) / kv;
  const double seqs_per_s = bound_detail::rate_sup(t_a, budget, seqs_cap, gap / micro_batches,
                                                   (L + std::max(0, m.num_dense_layers)) * small_s);
  return seqs_per_s * w.mtp_acceptance / tp_a;
}

/// Tokens/s one FFN GPU can serve at most: `ffn_gpus` GPUs with expert TP `tp_e` (see the header).
inline double afd_ffn_rate_bound(const ModelSpec& m, const Precision& p, const Workload& w, const Efficiencies& eff,
                                 const Accelerator& hf, int ffn_gpus, int tp_e, int micro_batches,
                                 int redundant_experts = 0) {
  const int L = m.num_moe_layers();
  if (L < 1) return bound_detail::kInfinity;
  const double gap = w.step_gap_s();
  const double budget = (w.tpot_slo_s * w.mtp_acceptance - gap) / micro_batches;
  const double q = 1.0 + w.mtp_draft_tokens;
  const int ep_ranks = ffn_gpus / tp_e;
  const double slots = double(m.moe.num_experts + redundant_experts);
  const double local = std::max(1.0, std::ceil(slots / ep_ranks));
  OpList ops;
  auto t_f = [&](double tokens) {
    const double routed = detail::hot_rank_load(m, w, slots, ep_ranks, tokens);
    ffn_stage_ops(ops, m, p, routed, local, tp_e, tokens, 0);
    return L * stage_time(ops, hf, eff).time_s;  // per micro-batch: L MoE layers
  };
  // The time of a vanishing batch is the floor (kernel launches; no expert is active).
  const double tokens_per_s = bound_detail::rate_sup(t_f, budget, bound_detail::kInfinity, gap / micro_batches,
                                                     t_f(std::numeric_limits<double>::min()));
  return tokens_per_s / q * w.mtp_acceptance / ffn_gpus;
}

/// The score bound of a family from the two sides' per-GPU rates and per-GPU weights (1 for
/// tokens/s per GPU; $/h or W per GPU for the cost and power objectives).
inline double afd_score_bound(double rate_a, double weight_a, double rate_f, double weight_f) {
  if (!(rate_a > 0) || !(rate_f > 0)) return 0;
  return 1.0 / (weight_a / rate_a + weight_f / rate_f);
}

}  // namespace ridgeline
