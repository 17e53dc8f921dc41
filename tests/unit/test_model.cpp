// SPDX-License-Identifier: Apache-2.0
// Model-level checks from the two papers (megascale-infer.md §1.7, §6; afd-roofline-paper.md §8).
#include <catch2/catch.hpp>

#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"

using namespace ridgeline;

static const io::Database& db() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

TEST_CASE("MegaScale-Infer KV bytes per token (Eq. 8 term 4hL/g)", "[model][megascale]") {
  Precision p;
  p.kv_cache = DType::bf16;
  // 2 tensors x 2 B x (h/g) x L: Mixtral-8x22B 229,376 B; DBRX 163,840 B.
  auto kv = [&](const char* id) {
    const auto& m = db().model(id);
    return m.num_layers * m.kv_elements_per_token_per_layer() * dtype_bytes(p.kv_cache);
  };
  CHECK(kv("mixtral-8x22b") == Approx(229376).epsilon(0.05));
  CHECK(kv("dbrx") == Approx(163840).epsilon(0.05));
}

// Step-3 report Table 2: per-token decode work at 8K context, 8-bit KV.
TEST_CASE("Step-3 per-token workload at 8K within 5 %", "[model][step3]") {
  const auto& m = db().model("step-3");
  Precision p;
  p.kv_cache = DType::fp8;
  p.weights = DType::fp8;
  const double ctx = 8192;
  double kv = 0, flop_attn = 0, flop_lin = 0, flop_ffn = 0;
  for (int layer = 0; layer < m.num_layers; ++layer) {
    const bool moe = layer >= m.num_dense_layers;
    const OpList ops = attention_stage_ops(m, p, 1, 1, ctx, 1, moe, true);
    for (const auto& op : ops) {
      const std::string n = op.name;
      if (n == "attn_core") {
        kv += op.hbm_bytes;
        flop_attn += op.flops;
      } else if (n == "attn_proj") {
        flop_lin += op.flops;
      } else if (n == "shared_experts" || n == "dense_ffn") {
        flop_ffn += op.flops;
      }
    }
    if (moe) flop_ffn += 2.0 * m.moe.top_k * m.expert_params();
  }
  CHECK(kv == Approx(2.56e8).epsilon(0.05));
  CHECK(flop_attn == Approx(3.27e10).epsilon(0.05));
  CHECK(flop_lin == Approx(2.07e10).epsilon(0.05));
  CHECK(flop_ffn == Approx(5.33e10).epsilon(0.05));
}

// afd-roofline-paper §8 check 9: 81.7 GB of FP8 routed-expert weights per rank at N_F = 1
// (one 8-GPU node), 40.9 GB at N_F = 2.
TEST_CASE("DeepSeek-V3 FP8 expert weight bytes per rank", "[model][afd-paper]") {
  const auto& m = db().model("deepseek-v3");
  auto per_rank = [&](int ranks) {
    const double local = std::ceil(double(m.moe.num_experts) / ranks);
    return local * m.num_moe_layers() * m.expert_params() * 1.0;
  };
  CHECK(per_rank(8) / 1e9 == Approx(81.7).margin(0.1));
  CHECK(per_rank(16) / 1e9 == Approx(40.9).margin(0.1));
}

TEST_CASE("expected distinct groups is exact for small cases", "[comm]") {
  // 4 experts in 2 groups, pick 2: P(both in one group) = 2/6 -> E[distinct] = 2 - 1/3.
  CHECK(expected_distinct_groups(4, 2, 2) == Approx(2.0 - 1.0 / 3.0));
  CHECK(expected_distinct_groups(256, 8, 1) == 1.0);
  CHECK(expected_distinct_groups(256, 8, 256) == Approx(8.0));
  CHECK(two_stage_bandwidth(50e9, 160e9, 8, 2) == Approx(160e9));
  CHECK(two_stage_bandwidth(50e9, 160e9, 8, 4) == Approx(100e9));
  CHECK(two_stage_bandwidth(50e9, 160e9, 8, 16) == Approx(50e9));
}

TEST_CASE("AFD M2N: the hot FFN node receives hot_factor x the mean scale-out bytes", "[comm][imbalance]") {
  const auto& hw = db().hardware("h800");
  M2NInput in{};
  in.attn_hw = &hw;
  in.ffn_hw = &hw;
  in.tokens_per_attn_gpu = 1;  // tiny send side, so the receive side sets the time
  in.micro_batch_tokens = 4096;
  in.ffn_gpus = 32;
  in.ffn_gpus_per_node = 8;
  in.num_experts = 256;
  in.top_k = 8;
  in.hidden = 7168;
  in.dispatch_bytes_per_elem = 1;
  in.combine_bytes_per_elem = 2;
  in.tokens_per_ffn_gpu = 4096.0 * 8 / 32;
  const CommTime even = afd_m2n(in);
  in.hot_factor = 2;
  in.tokens_per_ffn_gpu *= 2;
  const CommTime hot = afd_m2n(in);
  CHECK(hot.scale_out_bytes == Approx(2 * even.scale_out_bytes));
  CHECK(hot.dispatch_s > even.dispatch_s);
  CHECK(hot.combine_s > even.combine_s);
}
