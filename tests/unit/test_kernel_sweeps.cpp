// SPDX-License-Identifier: Apache-2.0
// The calibrator's kernel sweeps: the CPU decode-attention kernel against its reference (and the
// checker catching wrong results), FLOP/byte counts against the model's attention core, sweep
// grids and expert token distributions, and the attention efficiency fit on synthetic data.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <numeric>

#include "calibrator/kernel_backend.hpp"
#include "calibrator/sweep_grid.hpp"
#include "io/efficiency_reader.hpp"
#include "ridgeline/attention_fit.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/ops.hpp"

using namespace ridgeline;
using namespace ridgeline::calib;

namespace {

AttentionShape tiny_mla(int batch = 2, int context = 37) {
  AttentionShape s;
  s.kind = AttentionKernelKind::mla;
  s.batch = batch;
  s.context_tokens = context;
  s.q_heads = 4;
  s.latent_dim = 32;
  s.rope_dim = 16;
  s.dtype_bytes = 4;
  return s;
}

AttentionShape tiny_gqa(int batch = 2, int context = 50) {
  AttentionShape s;
  s.kind = AttentionKernelKind::gqa;
  s.batch = batch;
  s.context_tokens = context;
  s.q_heads = 8;
  s.kv_heads = 2;
  s.head_dim = 16;
  s.dtype_bytes = 4;
  return s;
}

std::vector<float> run_cpu(const AttentionShape& s, const AttentionInputs& in, int splits, int threads) {
  std::vector<float> out(attention_output_elements(s));
  attention_cpu(s, in, out.data(), splits, threads);
  return out;
}

const io::Database& kdb() {
  static const io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

OpCost attn_core(const OpList& ops) {
  for (const auto& op : ops)
    if (std::string_view(op.name) == "attn_core") return op;
  FAIL("no attn_core op");
  return {};
}

}  // namespace

TEST_CASE("CPU decode attention matches the double reference for every split and thread count", "[kernels]") {
  for (const AttentionShape& s : {tiny_mla(), tiny_gqa()}) {
    const AttentionInputs in = make_attention_inputs(s, 7, false);
    const std::vector<double> ref = attention_reference(s, in);
    for (int splits : {0, 1, 3, 5})
      for (int threads : {1, 2}) {
        const CheckResult c = check_against_reference(run_cpu(s, in, splits, threads), ref, 1e-5);
        INFO(attention_kernel_name(s.kind) << " splits " << splits << " threads " << threads);
        CHECK(c.ok);
        CHECK(c.max_relative_error < 1e-5);
      }
  }
}

TEST_CASE("the reference checker catches a wrong kernel result", "[kernels]") {
  for (const AttentionShape& s : {tiny_mla(), tiny_gqa()}) {
    INFO(attention_kernel_name(s.kind));
    const AttentionInputs in = make_attention_inputs(s, 11, false);
    const std::vector<double> ref = attention_reference(s, in);
    // A kernel that ignores the last context token (an off-by-one in the split bounds).
    AttentionShape shorter = s;
    shorter.context_tokens = s.context_tokens - 1;
    AttentionInputs cut = make_attention_inputs(shorter, 11, false);
    cut.q = in.q;
    const size_t per_token = s.kind == AttentionKernelKind::mla ? size_t(s.latent_dim + s.rope_dim) : s.head_dim;
    const size_t rows = s.kind == AttentionKernelKind::mla ? size_t(s.batch) : size_t(s.batch) * s.kv_heads;
    for (size_t r = 0; r < rows; ++r)
      for (size_t t = 0; t < size_t(shorter.context_tokens); ++t)
        for (size_t d = 0; d < per_token; ++d) {
          const size_t from = (r * s.context_tokens + t) * per_token + d,
                       to = (r * shorter.context_tokens + t) * per_token + d;
          cut.k[to] = in.k[from];
          if (!in.v.empty()) cut.v[to] = in.v[from];
        }
    const CheckResult dropped = check_against_reference(run_cpu(shorter, cut, 0, 1), ref, 1e-4);
    CHECK_FALSE(dropped.ok);
    CHECK(dropped.max_relative_error > 1e-3);
    // A kernel without the softmax scale.
    AttentionInputs unscaled = in;
    for (auto& x : unscaled.q) x *= 3.0f;
    CHECK_FALSE(check_against_reference(run_cpu(s, unscaled, 0, 1), ref, 1e-4).ok);
    // One element off by 1 % of the largest output, a NaN, a missing element.
    std::vector<float> good = run_cpu(s, in, 2, 1);
    REQUIRE(check_against_reference(good, ref, 1e-4).ok);
    double scale = 0;
    for (double x : ref) scale = std::max(scale, std::abs(x));
    std::vector<float> bad = good;
    bad[bad.size() / 2] += float(0.01 * scale);
    const CheckResult one = check_against_reference(bad, ref, 1e-4);
    CHECK_FALSE(one.ok);
    CHECK(one.worst_index == bad.size() / 2);
    CHECK(one.max_relative_error == Approx(0.01).epsilon(0.01));
    bad = good;
    bad[0] = std::numeric_limits<float>::quiet_NaN();
    CHECK_FALSE(check_against_reference(bad, ref, 1e-4).ok);
    bad = good;
    bad.pop_back();
    CHECK_FALSE(check_against_reference(bad, ref, 1e-4).ok);
  }
}

TEST_CASE("bf16 rounding: nearest even, exact on representable values", "[kernels]") {
  CHECK(round_to_bf16(1.0f) == 1.0f);
  CHECK(round_to_bf16(-0.5f) == -0.5f);
  CHECK(round_to_bf16(1.0f + 1.0f / 512) == 1.0f);               // halfway: to even
  CHECK(round_to_bf16(1.0f + 3.0f / 512) == 1.0f + 4.0f / 512);  // halfway: to even (up)
  CHECK(std::abs(round_to_bf16(0.3f) - 0.3f) <= 0.3f / 256);
}

TEST_CASE("attention FLOPs and KV bytes match the model's attention core", "[kernels]") {
  const Precision p;
  SECTION("MLA (DeepSeek-V3, absorbed) at TP 1 and TP 8") {
    const ModelSpec& m = kdb().model("deepseek-v3");
    REQUIRE(m.mean_attended_tokens(4096) == 4096);
    for (int tp : {1, 8})
      for (int batch : {1, 32}) {
        const OpCost core = attn_core(attention_stage_ops(m, p, batch, 1.0, 4096, tp, true, true));
        AttentionShape s;
        s.kind = AttentionKernelKind::mla;
        s.batch = batch;
        s.context_tokens = 4096;
        s.q_heads = m.attention.num_heads / tp;
        s.latent_dim = m.attention.kv_lora_rank;
        s.rope_dim = m.attention.qk_rope_head_dim;
        s.dtype_bytes = int(dtype_bytes(p.kv_cache));
        CHECK(s.flops() == Approx(core.flops));
        CHECK(s.kv_bytes() == Approx(core.hbm_bytes));
        CHECK(s.rows_per_group() == Approx(core.rows_per_group));
        CHECK(s.kv_elements_per_token() == m.kv_elements_per_token_per_layer());
      }
  }
  SECTION("GQA (Qwen3-235B-A22B)") {
    const ModelSpec& m = kdb().model("qwen3-235b-a22b");
    REQUIRE(m.attention.kind == AttentionKind::gqa);
    REQUIRE(m.mean_attended_tokens(2048) == 2048);
    const OpCost core = attn_core(attention_stage_ops(m, p, 16, 1.0, 2048, 1, true, true));
    AttentionShape s;
    s.kind = AttentionKernelKind::gqa;
    s.batch = 16;
    s.context_tokens = 2048;
    s.q_heads = m.attention.num_heads;
    s.kv_heads = m.attention.num_kv_heads;
    s.head_dim = m.attention.head_dim;
    s.dtype_bytes = int(dtype_bytes(p.kv_cache));
    CHECK(s.flops() == Approx(core.flops));
    CHECK(s.kv_bytes() == Approx(core.hbm_bytes));
    CHECK(s.rows_per_group() == Approx(core.rows_per_group));
  }
}

TEST_CASE("sweep lists, grids and percentiles", "[kernels]") {
  CHECK(parse_int_list("1..64", "--batch", 1, 4096) == std::vector<int>{1, 2, 4, 8, 16, 32, 64});
  CHECK(parse_int_list("3..20", "--batch", 1, 4096) == std::vector<int>{3, 6, 12, 20});
  CHECK(parse_int_list("16,1,4,4", "--batch", 1, 4096) == std::vector<int>{1, 4, 16});
  CHECK(parse_int_list("1..4,100", "--batch", 1, 4096) == std::vector<int>{1, 2, 4, 100});
  for (const char* bad : {"", "0", "a", "8..2", "1,,2", "-1", "5000", "1..", "1.5"})
    CHECK_THROWS_AS(parse_int_list(bad, "--batch", 1, 4096), UsageError);
  try {
    parse_int_list("0", "--context", 1, 10);
    FAIL("no throw");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).find("--context") != std::string::npos);
  }
  int skipped = -1;
  const auto g = make_grid({1, 2, 4}, {100, 1000}, 10.0, 0, &skipped);
  REQUIRE(g.size() == 6);
  CHECK(skipped == 0);
  CHECK((g[0].batch == 1 && g[0].context_tokens == 100 && g[1].context_tokens == 1000 && g[5].batch == 4));
  // 10 bytes per token, cap 20000 bytes: (2, 1000) = 20000 stays, (4, 1000) = 40000 goes.
  const auto capped = make_grid({1, 2, 4}, {100, 1000}, 10.0, 20000, &skipped);
  CHECK(capped.size() == 5);
  CHECK(skipped == 1);
  CHECK(percentile({5, 1, 3, 2, 4}, 50) == 3);
  CHECK(percentile({5, 1, 3, 2, 4}, 99) == 5);
  CHECK(percentile({7}, 99) == 7);
}

TEST_CASE("expert token distributions: exact totals, skew as asked", "[kernels]") {
  const auto bal = expert_tokens(100, 8, Skew{});
  CHECK(std::accumulate(bal.begin(), bal.end(), 0) == 100);
  CHECK(*std::max_element(bal.begin(), bal.end()) - *std::min_element(bal.begin(), bal.end()) <= 1);
  const auto z = expert_tokens(1000, 16, parse_skew("zipf:1.2"));
  CHECK(std::accumulate(z.begin(), z.end(), 0) == 1000);
  CHECK(std::is_sorted(z.rbegin(), z.rend()));
  // Share of expert 0 is 1 / H(16, 1.2).
  double h = 0;
  for (int i = 1; i <= 16; ++i) h += 1.0 / std::pow(i, 1.2);
  CHECK(z[0] == Approx(1000 / h).margin(1));
  const auto hot = expert_tokens(1000, 8, parse_skew("hot:0.5"));
  CHECK(hot[0] == 500);
  CHECK(std::accumulate(hot.begin(), hot.end(), 0) == 1000);
  CHECK(expert_tokens(7, 1, parse_skew("hot:0.3")) == std::vector<int>{7});
  CHECK(parse_skew("balanced").kind == Skew::balanced);
  CHECK(parse_skew("zipf:1.2").text() == "zipf:1.2");
  for (const char* bad : {"zipf", "zipf:", "zipf:x", "zipf:0", "zipf:9", "hot:1.5", "hot:0", "uniform:1", "zipf:1.2x"})
    CHECK_THROWS_AS(parse_skew(bad), UsageError);
}

TEST_CASE("attention fit recovers efficiencies and overhead from synthetic samples", "[kernels][fit]") {
  const double P = 1e12, W = 1e10;  // ridge 100 FLOP/byte
  for (int tile : {1, 64}) {
    const double ec = 0.62, em = 0.81, ov = 3e-6;
    std::vector<AttentionSample> s;
    // MLA with 2..128 heads (1.9 H FLOP/byte at bf16; padded to 64 rows: 121+) and GQA with 1
    // or 2 query heads per KV head (1-2 FLOP/byte; padded: 64): both sides of the ridge.
    for (int heads : {2, 4, 16, 32, 128, -8, -16})
      for (int ctx : {512, 2048, 8192})
        for (int batch : {1, 8}) {
          AttentionShape sh;
          sh.kind = heads > 0 ? AttentionKernelKind::mla : AttentionKernelKind::gqa;
          sh.batch = batch;
          sh.context_tokens = ctx;
          sh.q_heads = std::abs(heads);
          sh.kv_heads = 8;
          const double pad = tile_padding_factor(sh.rows_per_group(), tile);
          const double t = std::max(sh.flops() * pad / (P * ec), sh.kv_bytes() / (W * em)) + ov;
          s.push_back({sh, t, t});
        }
    const AttentionEfficiencyFit f = fit_attention_efficiency(s, P, W, tile);
    INFO("tile " << tile);
    REQUIRE(f.compute_measured());
    REQUIRE(f.memory_measured());
    CHECK(f.compute_efficiency == Approx(ec).epsilon(1e-6));
    CHECK(f.memory_efficiency == Approx(em).epsilon(1e-6));
    CHECK(f.overhead_s == Approx(ov).epsilon(1e-4));
    CHECK(f.rms_relative_error < 1e-6);
    // A wrong efficiency would show in the error: scale every time by 1.3 and the fit follows.
    for (auto& x : s) x.time_s *= 1.3;
    const AttentionEfficiencyFit g = fit_attention_efficiency(s, P, W, tile);
    CHECK(g.compute_efficiency == Approx(ec / 1.3).epsilon(1e-6));
  }
}

TEST_CASE("attention fit: one regime only, entries, and the calibration reader", "[kernels][fit]") {
  const double P = 1e12, W = 1e11;
  std::vector<AttentionSample> mem;
  for (int ctx : {256, 1024, 4096}) {
    AttentionShape sh;
    sh.kind = AttentionKernelKind::gqa;
    sh.context_tokens = ctx;
    sh.q_heads = 8;
    sh.kv_heads = 8;  // 1 query head per KV head: 0.5 FLOP/byte at 2 bytes, far below the ridge
    mem.push_back({sh, sh.kv_bytes() / (W * 0.7), 0});
  }
  const AttentionEfficiencyFit f = fit_attention_efficiency(mem, P, W);
  CHECK_FALSE(f.compute_measured());
  CHECK(f.memory_efficiency == Approx(0.7));
  const auto entries = attention_efficiency_entries(f);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].first == "attention_memory");
  CHECK_THROWS_AS(fit_attention_efficiency({}, P, W), Error);
  CHECK_THROWS_AS(fit_attention_efficiency(mem, 0, W), UsageError);

  // The key names are the ones the calibration reader accepts, and they land in Efficiencies.
  AttentionEfficiencyFit both;
  both.compute_efficiency = 0.5;
  both.memory_efficiency = 0.75;
  both.compute_bound_samples = both.memory_bound_samples = 1;
  io::Json block = io::Json::object();
  for (const auto& [k, v] : attention_efficiency_entries(both)) block[k] = v;
  Efficiencies e;
  const auto set = io::read_efficiency_block(io::Reader(block, "cal.json", "/efficiency"), e);
  CHECK(set.size() == 2);
  CHECK(e.attention_compute == 0.5);
  CHECK(e.attention_memory == 0.75);
}

TEST_CASE("CPU grouped GEMM: verified, skewed groups skip idle experts", "[kernels]") {
  auto k = make_cpu_kernels(1, 0);
  GemmProblem p;
  p.tokens = expert_tokens(12, 4, parse_skew("hot:1"));  // every token on expert 0
  p.hidden = 32;
  p.intermediate = 16;
  p.dtype = "fp32";
  CHECK(p.active_experts() == 1);
  CHECK(p.flops() == Approx(2.0 * 12 * 32 * 16));
  CHECK(p.bytes() == Approx(1.0 * 32 * 16 * 4 + 12.0 * (32 + 16) * 4));
  CHECK(k->verify_gemm(p).ok);
  const auto t = k->time_gemm(p, 2);
  CHECK(t.size() == 2);
  CHECK(t[0] > 0);
  const CheckResult att = k->verify_attention(tiny_mla(1, 20));
  CHECK(att.ok);
}
