// SPDX-License-Identifier: Apache-2.0
// The shape of one decode-attention kernel call and its FLOPs and HBM bytes, counted exactly as
// ops.hpp's attention core (attn_core) counts them, so measured samples compare with the
// model's predictions. C++17 and dependency-free: the calibrator's CUDA sources include it.
#pragma once
#include <algorithm>

namespace ridgeline {

enum class AttentionKernelKind { mla, gqa };

inline const char* attention_kernel_name(AttentionKernelKind k) {
  return k == AttentionKernelKind::mla ? "mla" : "gqa";
}

/// One decode step of attention (one query token per sequence) over `batch` sequences of
/// `context_tokens` tokens each.
///  - MLA (absorbed weights, DeepSeek-V3): `q_heads` heads share one latent KV per token of
///    `latent_dim` (kv_lora_rank, 512) + `rope_dim` (64) elements; scores over latent + rope,
///    values in the latent. kv_heads and head_dim are unused.
///  - GQA: `q_heads` query heads, `kv_heads` KV heads, K and V of `head_dim` each.
struct AttentionShape {
  AttentionKernelKind kind = AttentionKernelKind::mla;
  int batch = 1;
  int context_tokens = 1;
  int q_heads = 1;
  int kv_heads = 1;
  int head_dim = 128;
  int latent_dim = 512;
  int rope_dim = 64;
  int dtype_bytes = 2;  ///< bytes per element of Q, KV cache and output

  /// Useful FLOPs (multiply-add = 2), the formula of ops.hpp's attn_core:
  /// MLA 2 B H L (2 latent + rope); GQA 4 B H L head_dim.
  double flops() const {
    const double bhl = double(batch) * q_heads * context_tokens;
    return kind == AttentionKernelKind::mla ? 2.0 * bhl * (2.0 * latent_dim + rope_dim) : 4.0 * bhl * head_dim;
  }
  /// KV elements per token (ModelSpec::kv_elements_per_token_per_layer).
  double kv_elements_per_token() const {
    return kind == AttentionKernelKind::mla ? double(latent_dim + rope_dim) : 2.0 * kv_heads * head_dim;
  }
  /// KV-cache bytes read: the model's attention HBM bytes (ops.hpp counts only these).
  double kv_bytes() const { return double(batch) * context_tokens * kv_elements_per_token() * dtype_bytes; }
  /// Query read + output written: small in decode, reported apart so the fit stays comparable
  /// with the model, which does not count them.
  double qo_bytes() const {
    const double q = kind == AttentionKernelKind::mla ? double(latent_dim + rope_dim) : double(head_dim);
    const double o = kind == AttentionKernelKind::mla ? double(latent_dim) : double(head_dim);
    return double(batch) * q_heads * (q + o) * dtype_bytes;
  }
  /// Query rows one KV group packs into a tile (ops.hpp's OpCost::rows_per_group).
  double rows_per_group() const {
    return kind == AttentionKernelKind::mla ? double(q_heads) : double(q_heads) / std::max(1, kv_heads);
  }
  /// FLOP per KV byte: compare with the ridge peak FLOP/s / peak bytes/s.
  double intensity() const { return flops() / kv_bytes(); }
};

}  // namespace ridgeline
