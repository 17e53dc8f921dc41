// SPDX-License-Identifier: Apache-2.0
// L2 communication: dispatch/combine bytes per GPU charged to scale-up or scale-out links with
// an alpha-beta cost, EP all-to-all (DeepEP low-latency and normal styles) and AFD M2N with
// two-stage forwarding, whose effective per-rank bandwidth is the paper's
// B_eff(N_F) = min(B_out x max(1, TopK / N_F), B_up)   (AFD-roofline paper Eq. 9).
#pragma once
#include <algorithm>
#include <cmath>
#include <tuple>

#include "ridgeline/hardware.hpp"

namespace ridgeline {

/// Expected number of distinct groups hit when `k` distinct experts are drawn uniformly from
/// `num_experts` split evenly over `groups` groups (exact, hypergeometric).
inline double expected_distinct_groups_uncached(int num_experts, int k, int groups) {
  if (groups <= 1) return 1;
  k = std::min(k, num_experts);
  const double per_group = double(num_experts) / groups;
  // P(group missed) = C(E - e, k) / C(E, k) = prod_{i<k} (E - e - i) / (E - i)
  double miss = 1;
  for (int i = 0; i < k; ++i) {
    const double num = num_experts - per_group - i;
    if (num <= 0) {
      miss = 0;
      break;
    }
    miss *= num / (num_experts - i);
  }
  return groups * (1.0 - miss);
}

/// The same, remembered: the search's inner loop asks for a handful of (E, k, groups) triples
/// millions of times (a k-step product of divisions each). A small per-thread direct-mapped
/// table of exact results; an entry with groups 0 is empty (groups <= 1 never reaches it).
inline double expected_distinct_groups(int num_experts, int k, int groups) {
  if (groups <= 1) return 1;
  struct Entry {
    int num_experts, k, groups;
    double value;
  };
  // Multiplicative hashing: group counts are mostly powers of two, which a small-multiplier hash
  // sends to a few slots.
  static thread_local Entry table[64];  // zero-initialised, no guard
  Entry& e =
      table[(unsigned(groups) * 0xC2B2AE3Du + unsigned(num_experts) * 0x9E3779B1u + unsigned(k) * 0x85EBCA77u) >> 26];
  if (e.groups == groups && e.num_experts == num_experts && e.k == k) return e.value;
  e = {num_experts, k, groups, expected_distinct_groups_uncached(num_experts, k, groups)};
  return e.value;
}

/// The paper's effective per-rank bandwidth under two-stage forwarding (Eq. 9 / Eq. 17).
inline double two_stage_bandwidth(double scale_out_bytes_per_s, double scale_up_bytes_per_s, int top_k,
                                  double ffn_nodes) {
  return std::min(scale_out_bytes_per_s * std::max(1.0, top_k / ffn_nodes), scale_up_bytes_per_s);
}

/// Time of one transfer phase on one GPU that moves `out_bytes` over scale-out and `up_bytes`
/// over scale-up concurrently.
inline double link_phase_s(double out_bytes, const Link& out, double up_bytes, const Link& up) {
  double t = 0;
  if (out_bytes > 0) t = std::max(t, out.latency_s + out_bytes / out.sustained_bytes_per_s());
  if (up_bytes > 0) t = std::max(t, up.latency_s + up_bytes / up.sustained_bytes_per_s());
  return t;
}

/// Ring all-reduce of `bytes` (each rank's buffer) over `ranks` GPUs of one scale-up domain:
/// every rank sends and receives 2 (ranks - 1) / ranks x bytes (reduce-scatter + all-gather),
/// so time = alpha + fixed + 2 (ranks - 1) / ranks x bytes / B_up. This is NCCL's ring
/// all-reduce bus-bandwidth relation, busbw = algbw x 2 (n - 1) / n (nccl-tests
/// doc/PERFORMANCE.md). `fixed_s` is the collective's software cost (launch, barrier), priced as
/// the transport's fixed cost. 0 for a single rank or no bytes.
inline double ring_all_reduce_s(const Link& up, int ranks, double bytes, double fixed_s) {
  if (ranks <= 1 || !(bytes > 0)) return 0;
  return up.latency_s + fixed_s + 2.0 * (ranks - 1.0) / ranks * bytes / up.sustained_bytes_per_s();
}

/// Ring reduce-scatter of `bytes` over `ranks` GPUs (each ends with its reduced 1/ranks share):
/// (ranks - 1) / ranks x bytes per rank, the first half of the ring all-reduce above.
inline double ring_reduce_scatter_s(const Link& up, int ranks, double bytes, double fixed_s) {
  if (ranks <= 1 || !(bytes > 0)) return 0;
  return up.latency_s + fixed_s + (ranks - 1.0) / ranks * bytes / up.sustained_bytes_per_s();
}

enum class DispatchStyle { low_latency, normal };

inline const char* dispatch_style_name(DispatchStyle s) {
  return s == DispatchStyle::low_latency ? "low_latency" : "normal";
}

struct CommTime {
  double dispatch_s = 0;
  double combine_s = 0;
  double scale_out_bytes = 0;  ///< per GPU, dispatch + combine, on the busiest GPU
  double scale_up_bytes = 0;
  bool scale_out_bound = false;            ///< scale-out is the slower link
  double tokens_received_per_ffn_gpu = 0;  ///< AFD: distinct tokens the hot FFN GPU receives per phase
};

/// EP all-to-all for one micro-batch: every GPU sends `tokens` tokens to top_k experts spread
/// over `gpus` GPUs and receives `hot_factor` x the mean share back (routing skew).
/// low_latency: one copy per (token, expert) straight to the expert's GPU (DeepEP LL);
/// normal: one scale-out copy per destination node, NVLink fan-out inside it (DeepEP normal).
inline CommTime ep_all_to_all(const Accelerator& hw, int gpus, int num_experts, int top_k, int hidden, double tokens,
                              double dispatch_bytes_per_elem, double combine_bytes_per_elem, DispatchStyle style,
                              double hot_factor) {
  CommTime c;
  const int domain = std::min(gpus, hw.scale_up_domain_gpus);
  const int nodes = std::max(1, (gpus + domain - 1) / domain);
  const double copies = tokens * top_k * hot_factor;
  double out_copies = 0, up_copies = 0;
  if (nodes <= 1) {
    up_copies = copies * (1.0 - 1.0 / gpus);
  } else if (style == DispatchStyle::low_latency) {
    out_copies = copies * (1.0 - double(domain) / gpus);
    up_copies = copies * (double(domain) - 1.0) / gpus;
  } else {
    const double remote_nodes = expected_distinct_groups(num_experts, top_k, nodes) * (nodes - 1.0) / nodes;
    out_copies = tokens * hot_factor * remote_nodes;
    up_copies = copies * (1.0 - 1.0 / gpus);  // NVLink fan-out, incl. forwarded copies
  }
  const double h = hidden;
  c.dispatch_s = link_phase_s(out_copies * h * dispatch_bytes_per_elem, hw.scale_out,
                              up_copies * h * dispatch_bytes_per_elem, hw.scale_up);
  c.combine_s = link_phase_s(out_copies * h * combine_bytes_per_elem, hw.scale_out,
                             up_copies * h * combine_bytes_per_elem, hw.scale_up);
  const double per_elem = dispatch_bytes_per_elem + combine_bytes_per_elem;
  c.scale_out_bytes = out_copies * h * per_elem;
  c.scale_up_bytes = up_copies * h * per_elem;
  c.scale_out_bound = nodes > 1 && c.scale_out_bytes / hw.scale_out.sustained_bytes_per_s() >
                                       c.scale_up_bytes / hw.scale_up.sustained_bytes_per_s();
  return c;
}

/// AFD M2N for one micro-batch with two-stage forwarding (scale-out to each destination FFN
/// node once, scale-up fan-out inside it). Send side: one attention GPU sends `tokens_per_attn_gpu`;
/// receive side: one FFN GPU receives `tokens_per_ffn_gpu` token-expert pairs.
/// `same_domain`: both sides sit in one scale-up domain (superpod), so no scale-out hop.
struct M2NInput {
  const Accelerator* attn_hw;
  const Accelerator* ffn_hw;
  double tokens_per_attn_gpu;  ///< tokens one attention GPU sends per micro-batch
  double micro_batch_tokens;   ///< tokens of the whole micro-batch
  double tokens_per_ffn_gpu;   ///< token-expert pairs one FFN GPU receives (hot rank)
  int ffn_gpus;
  int ffn_gpus_per_node;
  int num_experts;
  int top_k;
  int hidden;
  double dispatch_bytes_per_elem;
  double combine_bytes_per_elem;
  bool same_domain;
  /// Max/mean load of the hottest FFN rank (routing skew). Its node receives that much more over
  /// scale-out too (as ep_all_to_all charges it); tokens_per_ffn_gpu already includes it.
  double hot_factor = 1.0;
};

inline CommTime afd_m2n(const M2NInput& in) {
  CommTime c;
  const Accelerator& fa = *in.ffn_hw;
  const Accelerator& aa = *in.attn_hw;
  const double h = in.hidden;
  // A token whose top-k experts include several on one FFN GPU crosses to it once: the GPU
  // receives the expected number of distinct tokens that hit it (exact, hypergeometric), scaled
  // by the hot rank's skew, not its token-expert pairs.
  const int ep_gpus = std::max(1, in.ffn_gpus);
  const double distinct_per_gpu =
      in.micro_batch_tokens * in.hot_factor * expected_distinct_groups(in.num_experts, in.top_k, ep_gpus) / ep_gpus;
  c.tokens_received_per_ffn_gpu = std::min(distinct_per_gpu, in.tokens_per_ffn_gpu);
  // Batch-independent parts of the scale-out path, shared by both phases.
  const int nodes = std::max(1, in.ffn_gpus / std::max(1, in.ffn_gpus_per_node));
  const double distinct = in.same_domain ? 0.0 : expected_distinct_groups(in.num_experts, in.top_k, nodes);
  auto phase = [&](double bytes_per_elem) {
    if (in.same_domain) {
      const double send = in.tokens_per_attn_gpu * std::min<double>(in.top_k, in.ffn_gpus) * h * bytes_per_elem;
      const double recv = c.tokens_received_per_ffn_gpu * h * bytes_per_elem;
      const double up =
          std::max(send / aa.scale_up.sustained_bytes_per_s(), recv / fa.scale_up.sustained_bytes_per_s());
      return std::tuple<double, double, bool>{fa.scale_up.latency_s + up, 0.0, false};
    }
    // Cross-kind traffic runs at the slower NIC of the two sides.
    Link out = fa.scale_out;
    if (aa.scale_out.sustained_bytes_per_s() < out.sustained_bytes_per_s()) out = aa.scale_out;
    out.latency_s = std::max(fa.scale_out.latency_s, aa.scale_out.latency_s);
    const double send_out = in.tokens_per_attn_gpu * distinct * h * bytes_per_elem;
    const double recv_out =
        in.micro_batch_tokens * in.hot_factor * distinct / (nodes * double(in.ffn_gpus_per_node)) * h * bytes_per_elem;
    const double recv_up = c.tokens_received_per_ffn_gpu * h * bytes_per_elem * (1.0 - 1.0 / in.ffn_gpus_per_node);
    const double out_s = out.latency_s + std::max(send_out, recv_out) / out.sustained_bytes_per_s();
    const double up_s = recv_up > 0 ? fa.scale_up.latency_s + recv_up / fa.scale_up.sustained_bytes_per_s() : 0;
    return std::tuple<double, double, bool>{std::max(out_s, up_s), std::max(send_out, recv_out), out_s >= up_s};
  };
  const auto [d_s, d_out, d_bound] = phase(in.dispatch_bytes_per_elem);
  const auto [c_s, c_out, c_bound] = phase(in.combine_bytes_per_elem);
  c.dispatch_s = d_s;
  c.combine_s = c_s;
  c.scale_out_bytes = d_out + c_out;
  c.scale_out_bound = d_bound || c_bound;
  return c;
}

}  // namespace ridgeline
