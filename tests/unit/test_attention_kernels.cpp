// SPDX-License-Identifier: Apache-2.0
// Decode attention kernels pad the query rows of one KV-head group to the hardware's tile
// (64 rows on Hopper's FlashMLA / FlashAttention-3): few query heads per KV head waste compute.
#include <catch2/catch.hpp>

#include "plans.hpp"
#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"

using namespace ridgeline;

namespace {
const io::Database& adb() {
  static const io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}
OpCost core_of(const OpList& ops) {
  for (const auto& op : ops)
    if (std::string_view(op.name) == "attn_core") return op;
  FAIL("no attention core");
  return {};
}
}  // namespace

TEST_CASE("tile padding: rows rounded up to the tile", "[attention]") {
  CHECK(tile_padding_factor(16, 64) == Approx(4.0));
  CHECK(tile_padding_factor(64, 64) == Approx(1.0));
  CHECK(tile_padding_factor(65, 64) == Approx(128.0 / 65));
  CHECK(tile_padding_factor(16, 1) == Approx(1.0));
  CHECK(adb().hardware("h20").attention_tile_rows == 64);
  CHECK(adb().hardware("mi300x").attention_tile_rows == 16);
}

TEST_CASE("GQA decode on Hopper: 16 query heads per KV head run 4x the useful FLOPs", "[attention]") {
  const ModelSpec& m = adb().model("qwen3-235b-a22b");  // 64 query heads, 4 KV heads
  Accelerator h20 = adb().hardware("h20");
  const OpList ops = attention_stage_ops(m, Precision{}, 64, 1.0, 4096, 1, true, true);
  const OpCost core = core_of(ops);
  CHECK(core.rows_per_group == Approx(16));
  const OpTime hopper = op_time(core, h20, Efficiencies{});
  h20.attention_tile_rows = 1;  // unknown architecture: no padding modelled
  const OpTime ideal = op_time(core, h20, Efficiencies{});
  CHECK(hopper.compute_s == Approx(4.0 * ideal.compute_s));
  // MTP doubles the rows per group (2 query tokens per sequence) and halves the waste.
  const OpCost mtp = core_of(attention_stage_ops(m, Precision{}, 64, 2.0, 4096, 1, true, true));
  CHECK(mtp.rows_per_group == Approx(32));
}

TEST_CASE("MLA decode: 128 heads fill Hopper tiles; TP 8 leaves 16 rows per tile", "[attention]") {
  const ModelSpec& m = adb().model("deepseek-v3");
  CHECK(core_of(attention_stage_ops(m, Precision{}, 32, 1.0, 4096, 1, true, true)).rows_per_group == Approx(128));
  CHECK(core_of(attention_stage_ops(m, Precision{}, 32, 1.0, 4096, 8, true, true)).rows_per_group == Approx(16));
}

TEST_CASE("Blackwell MLA: 17-32 rows run two 16-row CTAs that each stream the KV", "[attention]") {
  const ModelSpec& m = adb().model("deepseek-v3");
  const Accelerator& b200 = adb().hardware("b200");
  const Accelerator& h200 = adb().hardware("h200");
  REQUIRE(b200.attention_tiles_by_rows);
  REQUIRE(!h200.attention_tiles_by_rows);
  Efficiencies eff;
  eff.hardware_profiles = false;  // the mechanism under this test's own re-read values
  eff.attention_kv_reread = 0.3;

  // Attention TP 4: 32 heads per GPU. Blackwell: two CTAs, no padding, 1.3 KV streams.
  const OpCost tp4 = core_of(attention_stage_ops(m, Precision{}, 256, 1.0, 8192, 4, true, true));
  REQUIRE(tp4.rows_per_group == Approx(32));
  REQUIRE(tp4.latent_kv);
  const AttentionKernelShape split = attention_kernel_shape(tp4.rows_per_group, true, b200);
  CHECK(split.padding == Approx(1.0));
  CHECK(split.kv_ctas == Approx(2.0));
  CHECK(split.kv_streams(eff.attention_kv_reread) == Approx(1.3));
  // Hopper: one 64-row tile, the KV read once.
  const AttentionKernelShape tile = attention_kernel_shape(tp4.rows_per_group, true, h200);
  CHECK(tile.padding == Approx(2.0));
  CHECK(tile.kv_streams(eff.attention_kv_reread) == Approx(1.0));

  // The memory time follows the streams: memory-bound at 8K context, it scales with the re-read.
  eff.attention_kv_reread = 0.0;
  const OpTime l2_absorbs = op_time(tp4, b200, eff);
  eff.attention_kv_reread = 1.0;
  const OpTime both_from_hbm = op_time(tp4, b200, eff);
  CHECK(both_from_hbm.memory_s == Approx(2.0 * l2_absorbs.memory_s));

  // 16 rows (TP 8) are one 16-row CTA; 128 rows (DP attention) run the 64-row kernel; 8 rows an
  // 8-row tile: no re-read and no padding in any of them.
  for (int tp : {16, 8, 1}) {
    const OpCost c = core_of(attention_stage_ops(m, Precision{}, 256, 1.0, 8192, tp, true, true));
    const AttentionKernelShape k = attention_kernel_shape(c.rows_per_group, true, b200);
    CHECK(k.kv_ctas == Approx(1.0));
    CHECK(k.padding == Approx(1.0));
  }
  // MTP: two query tokens per sequence at TP 8 are 32 rows, two CTAs (one per token).
  const OpCost mtp = core_of(attention_stage_ops(m, Precision{}, 256, 2.0, 8192, 8, true, true));
  CHECK(attention_kernel_shape(mtp.rows_per_group, true, b200).kv_ctas == Approx(2.0));
  // The roofline's ridge moves with the streams: more bytes, so a higher intensity to turn compute-bound.
  eff.attention_kv_reread = 0.3;
  const double ridge = ridge_flop_per_byte(tp4, b200, eff);
  eff.attention_kv_reread = 0.0;
  CHECK(ridge == Approx(1.3 * ridge_flop_per_byte(tp4, b200, eff)));
}

TEST_CASE("Blackwell GQA: one CTA per group with the smallest tile of 8-128 rows that holds it", "[attention]") {
  const Accelerator& b200 = adb().hardware("b200");
  const ModelSpec& qwen = adb().model("qwen3-235b-a22b");  // 16 query heads per KV head
  const OpCost core = core_of(attention_stage_ops(qwen, Precision{}, 64, 1.0, 4096, 1, true, true));
  REQUIRE(!core.latent_kv);
  const AttentionKernelShape k = attention_kernel_shape(core.rows_per_group, false, b200);
  CHECK(k.padding == Approx(1.0));  // Hopper pads these 16 rows to 64: 4x
  CHECK(k.kv_ctas == Approx(1.0));
  CHECK(attention_kernel_shape(24, false, b200).padding == Approx(32.0 / 24));
  CHECK(attention_kernel_shape(24, false, b200).kv_ctas == Approx(1.0));
  CHECK(attention_kernel_shape(100, false, b200).padding == Approx(128.0 / 100));
  CHECK(attention_kernel_shape(4, false, b200).padding == Approx(2.0));
}

TEST_CASE("attention math follows an FP8 KV cache on Blackwell unless it is stated", "[attention]") {
  const ModelSpec& m = adb().model("deepseek-v3");
  const Accelerator& b200 = adb().hardware("b200");
  const Accelerator& h200 = adb().hardware("h200");
  REQUIRE(b200.attention_math_follows_kv);
  REQUIRE(!h200.attention_math_follows_kv);
  Precision fp8_kv;
  fp8_kv.kv_cache = DType::fp8;
  CHECK(attention_precision(fp8_kv, b200).attention_math == DType::fp8);
  CHECK(attention_precision(fp8_kv, h200).attention_math == DType::bf16);       // Hopper keeps BF16
  CHECK(attention_precision(Precision{}, b200).attention_math == DType::bf16);  // BF16 KV: BF16 math
  Precision stated = fp8_kv;
  stated.attention_math_given = true;  // a scenario that says bf16 keeps it
  CHECK(attention_precision(stated, b200).attention_math == DType::bf16);

  // The evaluation prices the core in that format: FP8's doubled peak halves a compute-bound core.
  const Deployment d = test::ep_plan(b200, 8, 256);
  Workload w;
  w.context_tokens = 1024;
  const Evaluation follows = evaluate(m, fp8_kv, w, d, Efficiencies{});
  const Evaluation bf16 = evaluate(m, stated, w, d, Efficiencies{});
  const OpCost& core_fp8 = follows.attention_ops.ops[1];
  REQUIRE(std::string_view(core_fp8.name) == "attn_core");
  CHECK(core_fp8.math == DType::fp8);
  CHECK(bf16.attention_ops.ops[1].math == DType::bf16);
  CHECK(follows.attention_s < bf16.attention_s);
}
