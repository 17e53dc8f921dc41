// SPDX-License-Identifier: Apache-2.0
// Random *valid* models, accelerators, workloads and deployments for property tests. Ranges
// cover today's MoE models and accelerators with margin on both sides; the generator is seeded
// so a failing case is reproducible from its index.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

#include "ridgeline/deployment.hpp"
#include "ridgeline/hardware.hpp"
#include "ridgeline/model.hpp"
#include "ridgeline/workload.hpp"

namespace ridgeline::testing {

/// A portable RNG: mt19937_64 bits turned into numbers by hand (std distributions differ
/// between standard libraries, and a property test must replay the same cases everywhere).
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  double uniform(double lo, double hi) { return lo + (hi - lo) * double(g_() >> 11) * 0x1.0p-53; }
  /// Log-uniform: for quantities that span decades (bandwidths, FLOP/s, batches).
  double log_uniform(double lo, double hi) { return std::exp(uniform(std::log(lo), std::log(hi))); }
  int integer(int lo, int hi) { return lo + int(g_() % uint64_t(hi - lo + 1)); }
  bool chance(double p) { return uniform(0, 1) < p; }
  template <class T, size_t N>
  T pick(const T (&v)[N]) {
    return v[g_() % N];
  }

 private:
  std::mt19937_64 g_;
};

inline ModelSpec random_model(Rng& r) {
  ModelSpec m;
  m.id = m.name = "random-model";
  m.num_layers = r.integer(1, 96);
  m.num_dense_layers = r.chance(0.1) ? m.num_layers : r.integer(0, std::min(3, m.num_layers));
  m.hidden_size = 64 * r.integer(4, 128);
  m.vocab_size = r.integer(1000, 260000);
  m.tie_word_embeddings = r.chance(0.2);
  m.dense_intermediate_size = m.num_dense_layers > 0 ? 64 * r.integer(4, 400) : 0;
  auto& a = m.attention;
  const AttentionKind kinds[] = {AttentionKind::mha, AttentionKind::gqa, AttentionKind::mla, AttentionKind::mfa};
  a.kind = r.pick(kinds);
  a.num_heads = r.integer(1, 128);
  if (a.kind == AttentionKind::mla) {
    a.num_kv_heads = a.num_heads;
    a.q_lora_rank = r.chance(0.3) ? 0 : 64 * r.integer(2, 32);
    a.kv_lora_rank = 64 * r.integer(2, 16);
    a.qk_nope_head_dim = 32 * r.integer(1, 6);
    a.qk_rope_head_dim = 32 * r.integer(0, 4);
    a.v_head_dim = 32 * r.integer(1, 6);
    a.head_dim = a.v_head_dim;
  } else {
    a.num_kv_heads = a.kind == AttentionKind::mha ? a.num_heads : r.integer(1, a.num_heads);
    a.head_dim = 32 * r.integer(2, 8);
    if (a.kind == AttentionKind::mfa) a.q_lora_rank = 256 * r.integer(1, 16);
  }
  if (r.chance(0.2)) {
    a.sliding_window_tokens = 128 * r.integer(1, 64);
    a.num_sliding_window_layers = r.integer(1, m.num_layers);
  }
  m.moe.num_experts = r.chance(0.05) ? 1 : r.integer(2, 512);
  m.moe.top_k = r.integer(1, std::min(16, m.moe.num_experts));
  m.moe.expert_intermediate_size = 64 * r.integer(2, 64);
  m.moe.num_shared_experts = r.integer(0, 2);
  m.moe.shared_expert_intermediate_size = m.moe.num_shared_experts > 0 ? 64 * r.integer(2, 64) : 0;
  m.mtp_layers = r.integer(0, 1);
  return m;
}

inline Link random_link(Rng& r, double lo_bytes_per_s, double hi_bytes_per_s) {
  Link l;
  l.bytes_per_s = r.log_uniform(lo_bytes_per_s, hi_bytes_per_s);
  l.efficiency = r.uniform(0.3, 1.0);
  l.latency_s = r.chance(0.2) ? 0.0 : r.log_uniform(1e-7, 2e-5);
  return l;
}

inline Accelerator random_accelerator(Rng& r) {
  Accelerator h;
  h.id = h.name = "random-hw";
  const double bf16 = r.log_uniform(5e13, 5e15);
  h.peak_bf16_flops_per_s = bf16;
  if (r.chance(0.8)) h.peak_fp8_flops_per_s = 2 * bf16;
  if (r.chance(0.3)) h.peak_fp4_flops_per_s = 4 * bf16;
  h.hbm_bytes = r.log_uniform(16e9, 400e9);
  h.hbm_bytes_per_s = r.log_uniform(3e11, 1.5e13);
  h.scale_up = random_link(r, 2e10, 2e12);
  const int domains[] = {1, 2, 4, 8, 16, 72, 384};
  h.scale_up_domain_gpus = r.pick(domains);
  const int per_node[] = {1, 2, 4, 8};
  h.gpus_per_node = std::min(h.scale_up_domain_gpus, r.pick(per_node));
  h.scale_out = random_link(r, 1e9, 1e11);
  h.price_usd_per_gpu_hour = r.chance(0.2) ? 0.0 : r.uniform(0.2, 12);
  h.power_w = r.chance(0.2) ? 0.0 : r.uniform(150, 1500);
  return h;
}

inline Workload random_workload(Rng& r) {
  Workload w;
  w.context_tokens = r.log_uniform(16, 262144);
  w.tpot_slo_s = r.log_uniform(2e-3, 1.0);
  w.mtp_draft_tokens = r.chance(0.3) ? r.integer(1, 3) : 0;
  w.mtp_acceptance = r.uniform(1.0, 1.0 + w.mtp_draft_tokens);
  w.iteration_gap_s = r.chance(0.5) ? 0.0 : r.log_uniform(1e-5, 1e-2);
  w.expert_load_imbalance = r.chance(0.5) ? 1.0 : r.uniform(1.0, 3.0);
  w.attention_imbalance = r.chance(0.5) ? 1.0 : r.uniform(1.0, 2.0);
  return w;
}

/// Weights in a format the accelerator(s) compute natively; attention math always bf16.
inline Precision random_precision(Rng& r, const Accelerator& a, const Accelerator& f) {
  Precision p;
  const bool fp8 = a.supports(DType::fp8) && f.supports(DType::fp8);
  const bool fp4 = a.supports(DType::fp4) && f.supports(DType::fp4);
  p.weights = fp4 && r.chance(0.3) ? DType::fp4 : fp8 && r.chance(0.7) ? DType::fp8 : DType::bf16;
  p.kv_cache = r.chance(0.5) ? DType::fp8 : DType::bf16;
  p.dispatch = r.chance(0.7) ? DType::fp8 : DType::bf16;
  p.combine = r.chance(0.8) ? DType::bf16 : DType::fp8;
  p.attention_math = DType::bf16;
  return p;
}

inline Deployment random_ep(Rng& r, const Accelerator& hw) {
  Deployment d;
  d.strategy = Strategy::ep;
  d.attention = {&hw, r.chance(0.1) ? 1 : 8 * r.integer(1, 64), 1};
  d.ffn = d.attention;
  d.micro_batches = r.integer(1, 2);
  d.batch_per_gpu = std::round(r.log_uniform(1, 1024));
  d.dispatch_style = r.chance(0.5) ? DispatchStyle::low_latency : DispatchStyle::normal;
  d.redundant_experts = r.chance(0.3) ? r.integer(1, 64) : 0;
  return d;
}

inline Deployment random_afd(Rng& r, const Accelerator& a, const Accelerator& f) {
  Deployment d;
  d.strategy = Strategy::afd;
  const int tps[] = {1, 1, 2, 4, 8};
  const int tp_a = r.pick(tps);
  d.attention = {&a, tp_a * r.integer(1, 64), tp_a};
  const int tp_f = r.chance(0.8) ? 1 : 2;
  d.ffn = {&f, tp_f * r.integer(1, 128), tp_f};
  d.micro_batches = r.integer(1, 4);
  d.global_batch = std::round(r.log_uniform(1, 65536));
  d.shared_experts_on_ffn = r.chance(0.3);
  d.redundant_experts = r.chance(0.3) ? r.integer(1, 64) : 0;
  return d;
}

}  // namespace ridgeline::testing
