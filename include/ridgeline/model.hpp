// SPDX-License-Identifier: Apache-2.0
// ModelSpec: the shape of an MoE transformer, and the counts that follow from it alone
// (parameters, KV bytes per token). Every FFN is a gated SwiGLU: 3 x hidden x intermediate.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

namespace ridgeline {

enum class AttentionKind { mha, gqa, mla, mfa };

inline const char* attention_kind_name(AttentionKind k) {
  switch (k) {
    case AttentionKind::mha: return "mha";
    case AttentionKind::gqa: return "gqa";
    case AttentionKind::mla: return "mla";
    case AttentionKind::mfa: return "mfa";
  }
  return "?";
}

struct AttentionSpec {
  AttentionKind kind = AttentionKind::gqa;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  // MLA (DeepSeek) and MFA (Step-3) low-rank factors.
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;
  // Sliding-window / chunked attention on some layers (0 = none).
  int sliding_window_tokens = 0;
  int num_sliding_window_layers = 0;
};

struct MoESpec {
  int num_experts = 0;
  int top_k = 0;
  int expert_intermediate_size = 0;
  int num_shared_experts = 0;
  int shared_expert_intermediate_size = 0;
};

struct ModelSpec {
  std::string id;
  std::string name;
  int num_layers = 0;
  int num_dense_layers = 0;
  int hidden_size = 0;
  int vocab_size = 0;
  bool tie_word_embeddings = false;
  int dense_intermediate_size = 0;
  AttentionSpec attention;
  MoESpec moe;
  int mtp_layers = 0;
  double published_total_params = 0;
  std::string param_count_note;
  std::vector<std::string> sources;

  int num_moe_layers() const { return num_layers - num_dense_layers; }

  /// Attention projection parameters of one layer (biases and norms not counted).
  double attention_params_per_layer() const {
    const double H = hidden_size;
    const auto& a = attention;
    switch (a.kind) {
      case AttentionKind::mha:
      case AttentionKind::gqa:
        return H * a.num_heads * a.head_dim + 2.0 * H * a.num_kv_heads * a.head_dim +
               double(a.num_heads) * a.head_dim * H;
      case AttentionKind::mla: {
        const double qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
        const double q = a.q_lora_rank > 0
                             ? H * a.q_lora_rank + double(a.q_lora_rank) * a.num_heads * qk
                             : H * a.num_heads * qk;
        const double kv_a = H * (a.kv_lora_rank + a.qk_rope_head_dim);
        const double kv_b = double(a.kv_lora_rank) * a.num_heads * (a.qk_nope_head_dim + a.v_head_dim);
        const double o = double(a.num_heads) * a.v_head_dim * H;
        return q + kv_a + kv_b + o;
      }
      case AttentionKind::mfa:
        return H * a.q_lora_rank + double(a.q_lora_rank) * a.num_heads * a.head_dim +
               2.0 * H * a.num_kv_heads * a.head_dim + double(a.num_heads) * a.head_dim * H;
    }
    return 0;
  }

  /// Of attention_params_per_layer(), the weights applied after the attention core: the output
  /// projection, and for MLA (absorbed in decode) the value up-projection W_UV as well.
  double attention_params_after_core() const {
    const auto& a = attention;
    if (a.kind == AttentionKind::mla)
      return double(a.num_heads) * a.v_head_dim * (double(hidden_size) + a.kv_lora_rank);
    return double(a.num_heads) * a.head_dim * hidden_size;
  }

  double expert_params() const { return 3.0 * hidden_size * moe.expert_intermediate_size; }
  double shared_expert_params() const {
    return 3.0 * hidden_size * moe.shared_expert_intermediate_size * moe.num_shared_experts;
  }
  double dense_ffn_params() const { return 3.0 * hidden_size * dense_intermediate_size; }
  double router_params() const { return double(moe.num_experts) * hidden_size; }
  double embedding_params() const { return double(vocab_size) * hidden_size; }
  double lm_head_params() const { return tie_word_embeddings ? 0.0 : embedding_params(); }

  /// Total parameters (MTP modules, norms and biases excluded).
  double total_params() const {
    const double moe_layer = moe.num_experts * expert_params() + shared_expert_params() + router_params();
    return embedding_params() + lm_head_params() + num_layers * attention_params_per_layer() +
           num_dense_layers * dense_ffn_params() + num_moe_layers() * moe_layer;
  }

  /// Parameters touched by one token (embedding row excluded, LM head included).
  double active_params() const {
    const double moe_layer = moe.top_k * expert_params() + shared_expert_params() + router_params();
    return lm_head_params() + (tie_word_embeddings ? embedding_params() : 0.0) +
           num_layers * attention_params_per_layer() + num_dense_layers * dense_ffn_params() +
           num_moe_layers() * moe_layer;
  }

  /// KV-cache elements stored per token per layer (MLA: compressed latent + RoPE key;
  /// GQA/MFA: K and V of every KV head).
  double kv_elements_per_token_per_layer() const {
    const auto& a = attention;
    if (a.kind == AttentionKind::mla) return double(a.kv_lora_rank + a.qk_rope_head_dim);
    return 2.0 * a.num_kv_heads * a.head_dim;
  }

  /// Context tokens one layer attends to, given the sequence length (sliding window aware),
  /// averaged over layers.
  double mean_attended_tokens(double context_tokens) const {
    const auto& a = attention;
    if (a.sliding_window_tokens <= 0 || a.num_sliding_window_layers <= 0) return context_tokens;
    const double windowed = std::min<double>(context_tokens, a.sliding_window_tokens);
    const double f = double(a.num_sliding_window_layers) / num_layers;
    return f * windowed + (1 - f) * context_tokens;
  }
};

}  // namespace ridgeline
