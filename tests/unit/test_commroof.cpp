// SPDX-License-Identifier: Apache-2.0
// The 16 reproducible checks of afd-roofline-paper.md §8, with the paper's Table 5 inputs
// (examples/paper-afd-roofline/hardware/), within 0.5 percentage points or 1 %.
#include <catch2/catch.hpp>

#include "ridgeline/commroof.hpp"
#include "ridgeline/imbalance.hpp"
#include "ridgeline/io/database.hpp"

using namespace ridgeline;

namespace {

const io::Database& paper() {
  static io::Database d =
      io::Database::load(RIDGELINE_SOURCE_DIR "/examples/paper-afd-roofline/hardware", RIDGELINE_SOURCE_DIR "/models");
  return d;
}
const io::Database& datasheet() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

CommRoofPoint point(const char* model, const char* hw, int nf, CommRoofOptions o = {}) {
  return comm_roof_point(paper().model(model), paper().hardware(hw), Precision{}, o, nf);
}

// t_B of the paper's budget at SLO 50 ms (Eq. 1; §8 check 10).
constexpr double kBudget50ms = (0.050 * 1.7 - 0.015) / (3.0 * 61);

// 0.5 percentage points or 1 %, whichever is looser.
bool close_pct(double got, double want) {
  return std::abs(got - want) <= std::max(0.005, 0.01 * std::abs(want));
}

}  // namespace

TEST_CASE("check 1 (Eq. 9, Eq. 19): H800 + DeepSeek-V3 peak AFD ceiling is 33.1 %", "[commroof][paper]") {
  const auto p = point("deepseek-v3", "h800", 2);
  CHECK(p.regime == CommRegime::scale_up_bound);
  CHECK(p.effective_bytes_per_s == Approx(160e9));  // B_rank = B_ScaleUp = 3.2 B_ScaleOut
  CHECK(close_pct(p.hfu_ceiling, 0.331));
  CHECK(p.hfu_ceiling < 0.60);                       // below large EP's ~60 %
  CHECK(p.network_intensity == Approx(2.0 * 2048));  // I_net = 2M (§2.4)
}

TEST_CASE("check 2 (Eqs. 9-10): H800 + DeepSeek-V3 regime boundaries 2.5 / 8 / 32", "[commroof][paper]") {
  const auto& m = paper().model("deepseek-v3");
  const auto& hw = paper().hardware("h800");
  const auto b = regime_boundaries(m, hw, Precision{}, {});
  CHECK(b.stable_from == Approx(2.5));
  CHECK(b.scale_out_from == Approx(8));
  CHECK(b.max_intensity_from == Approx(32));
  CHECK(point("deepseek-v3", "h800", 2).regime == CommRegime::scale_up_bound);
  CHECK(point("deepseek-v3", "h800", 3).regime == CommRegime::stable_intensity);
  CHECK(point("deepseek-v3", "h800", 6).regime == CommRegime::stable_intensity);
  CHECK(point("deepseek-v3", "h800", 8).regime == CommRegime::scale_out_bound);
  CHECK(point("deepseek-v3", "h800", 24).regime == CommRegime::scale_out_bound);
  CHECK(point("deepseek-v3", "h800", 32).regime == CommRegime::max_intensity);
  // Normalised intensity I / (2 B_ScaleOut), Fig. 2 red (discretised) and blue (continuous).
  CommRoofOptions o;
  o.budget_s = kBudget50ms;
  const double b_out_tokens = tokens_per_slot(50e9, kBudget50ms, 3.0 * 7168);
  auto norm = [&](int nf, bool cont) {
    const auto p = point("deepseek-v3", "h800", nf, o);
    return (cont ? p.hbm_intensity_continuous : p.hbm_intensity) / (2.0 * b_out_tokens);
  };
  CHECK(norm(1, false) == Approx(0.10).margin(0.002));
  CHECK(norm(3, false) == Approx(0.242).margin(0.002));
  CHECK(norm(3, true) == Approx(0.25).margin(0.002));
  CHECK(norm(5, false) == Approx(0.229).margin(0.002));
  CHECK(norm(6, false) == Approx(0.222).margin(0.002));
  CHECK(norm(10, true) == Approx(0.3125).margin(0.002));
  CHECK(norm(10, false) == Approx(0.25).margin(0.002));
}

TEST_CASE("check 3 (Eq. 19 dead zone): H800 HFU flat at 10.3 % for N_F in {8,12,16,24,32}", "[commroof][paper]") {
  CommRoofOptions o;
  o.budget_s = kBudget50ms;
  const double b_out_tokens = tokens_per_slot(50e9, kBudget50ms, 3.0 * 7168);
  const int nfs[] = {8, 12, 16, 24, 32};
  const double intensity[] = {0.25, 1.0 / 3.0, 0.5, 0.5, 1.0};
  double prev_occupancy = 1e9;
  for (int i = 0; i < 5; ++i) {
    const auto p = point("deepseek-v3", "h800", nfs[i], o);
    INFO("N_F = " << nfs[i]);
    CHECK(close_pct(p.hfu_ceiling, 0.103));
    CHECK(p.hbm_intensity / (2.0 * b_out_tokens) == Approx(intensity[i]).margin(0.002));
    CHECK(p.ofu * p.occupancy == Approx(p.hfu_ceiling));  // HFU = OFU x S_t (Eq. 8)
    CHECK(p.occupancy <= prev_occupancy + 1e-12);         // S_t never grows in the dead zone
    prev_occupancy = p.occupancy;
  }
  // Memory-bound at N_F = 8 (4 local experts), compute-bound by N_F = 16: OFU up, S_t down.
  CHECK(point("deepseek-v3", "h800", 16, o).ofu > point("deepseek-v3", "h800", 8, o).ofu);
  CHECK(point("deepseek-v3", "h800", 16, o).occupancy < point("deepseek-v3", "h800", 8, o).occupancy);
}

TEST_CASE("check 4 (Eq. 9): stable-intensity decline on H800: 27.6 / 20.7 / 13.8 %", "[commroof][paper]") {
  CHECK(close_pct(point("deepseek-v3", "h800", 3).hfu_ceiling, 0.276));
  CHECK(close_pct(point("deepseek-v3", "h800", 4).hfu_ceiling, 0.207));
  CHECK(close_pct(point("deepseek-v3", "h800", 6).hfu_ceiling, 0.138));
}

TEST_CASE("check 5 (Eq. 19): superpod invariance, 65.5 % at every N_F on GB200/GB300", "[commroof][paper]") {
  for (const char* hw : {"gb200", "gb300"})
    for (int nf = 1; nf <= 64; ++nf) {
      INFO(hw << " N_F = " << nf);
      const auto ds = point("deepseek-v3", hw, nf);
      const auto kimi = point("kimi-k2", hw, nf);
      CHECK(close_pct(ds.hfu_ceiling, 0.655));
      CHECK(ds.hfu_ceiling == kimi.hfu_ceiling);  // both M = 2048
    }
}

TEST_CASE("check 6 (Eq. 19): M-proportionality on a superpod", "[commroof][paper]") {
  CHECK(close_pct(point("glm-4.7", "gb200", 4).hfu_ceiling, 0.492));
  CHECK(close_pct(point("qwen3-coder-480b", "gb200", 4).hfu_ceiling, 0.819));
  CHECK(point("step-3", "gb200", 4).hfu_ceiling == 1.0);
  CHECK(point("step-3", "gb200", 4).compute_capped);
  CHECK(point("ernie-4.5-300b", "gb200", 4).hfu_ceiling == 1.0);
}

TEST_CASE("check 7 (App. A): ceiling independent of H, TopK and t_B in the network-bound regime", "[commroof][paper]") {
  const auto& hw = paper().hardware("h800");
  ModelSpec m = paper().model("deepseek-v3");
  CommRoofOptions a, b;
  a.budget_s = budget_slot_s(0.050, 1.7, 0.015, 61);
  b.budget_s = budget_slot_s(0.100, 1.7, 0.015, 61);
  const double base = comm_roof_point(m, hw, {}, a, 16).hfu_ceiling;
  CHECK(comm_roof_point(m, hw, {}, b, 16).hfu_ceiling == Approx(base));
  // ...but feasibility does depend on t_B.
  CommRoofOptions tiny;
  tiny.budget_s = 20e-6;
  CHECK_FALSE(comm_roof_point(m, hw, {}, tiny, 2).weight_read_fits_budget);
  CHECK(comm_roof_point(m, hw, {}, a, 2).weight_read_fits_budget);
  m.hidden_size = 4096;
  CHECK(comm_roof_point(m, hw, {}, a, 16).hfu_ceiling == Approx(base));
  m.moe.top_k = 6;  // still N_F >= TopK: dead zone
  CHECK(comm_roof_point(m, hw, {}, a, 16).hfu_ceiling == Approx(base));
}

TEST_CASE("check 8 (Eqs. 9, 19): H20 is compute-capped for N_F <= 4, 69.2 % floor from N_F = 8", "[commroof][paper]") {
  for (int nf : {1, 2, 3, 4}) CHECK(point("deepseek-v3", "h20", nf).hfu_ceiling == 1.0);
  for (int nf : {8, 16, 32}) CHECK(close_pct(point("deepseek-v3", "h20", nf).hfu_ceiling, 0.692));
  // Among the highest-HFU platforms: its dead-zone floor beats every non-superpod Table 5 part.
  for (const char* hw : {"h100-sxm", "h200", "h800", "b200", "b300"})
    CHECK(point("deepseek-v3", "h20", 16).hfu_ceiling > point("deepseek-v3", hw, 16).hfu_ceiling);
}

TEST_CASE("check 9: HBM feasibility flags (81.7 / 40.9 / 126.8 GB, 0.53 ms, 0.21 ms -> SLO 31.5 ms)",
          "[commroof][paper]") {
  const auto ds1 = point("deepseek-v3", "h800", 1);
  CHECK(ds1.weight_bytes == Approx(81.7e9).epsilon(0.01));
  CHECK_FALSE(ds1.weights_fit);
  CHECK_FALSE(point("deepseek-v3", "h100-sxm", 1).weights_fit);
  const auto ds2 = point("deepseek-v3", "h800", 2);
  CHECK(ds2.weight_bytes == Approx(40.9e9).epsilon(0.01));
  CHECK(ds2.weights_fit);
  const auto k1 = point("kimi-k2", "h200", 1);
  CHECK(k1.weight_bytes == Approx(126.8e9).epsilon(0.01));
  CHECK(k1.weights_fit);  // 141 GB
  CHECK_FALSE(point("kimi-k2", "h100-sxm", 1).weights_fit);
  CHECK_FALSE(point("kimi-k2", "h20", 1).weights_fit);  // 96 GB
  CHECK(k1.weight_read_s == Approx(0.53e-3).epsilon(0.01));
  CommRoofOptions o;
  o.budget_s = kBudget50ms;
  CHECK_FALSE(point("kimi-k2", "h200", 1, o).feasible());  // 0.53 ms read > 0.3825 ms t_B
  CHECK(ds2.weight_read_s == Approx(0.21e-3).epsilon(0.01));
  CHECK(slo_for_budget_s(ds2.weight_read_s, 1.7, 0.015, 61) == Approx(31.5e-3).epsilon(0.01));
}

TEST_CASE("check 10 (Eq. 1, Eq. 17): t_B = 0.3825 ms and 889 / 2,846 / 12,807 tokens", "[commroof][paper]") {
  const double t_b = budget_slot_s(0.050, 1.7, 0.015, 61, 3);
  CHECK(t_b == Approx(0.3825e-3).epsilon(0.001));
  const double bytes = 3.0 * 7168;  // fp8 dispatch + bf16 combine
  CHECK(tokens_per_slot(50e9, t_b, bytes) == Approx(889).epsilon(0.01));
  CHECK(tokens_per_slot(160e9, t_b, bytes) == Approx(2846).epsilon(0.01));
  CHECK(tokens_per_slot(720e9, t_b, bytes) == Approx(12807).epsilon(0.01));
  CommRoofOptions o;
  o.budget_s = t_b;
  CHECK(point("deepseek-v3", "h800", 2, o).tokens_per_rank == Approx(2846).epsilon(0.01));
  CHECK(point("deepseek-v3", "h800", 8, o).tokens_per_rank == Approx(889).epsilon(0.01));
}

TEST_CASE("check 11 (Eqs. 2-4): bubble rules", "[commroof][paper]") {
  // 2BO rejected when dispatch + t_f + combine > t_a.
  CHECK_FALSE(check_bubbles(1.0, 0.9, 0.1, 0.1, 1.0).two_bo_bubble_free);
  CHECK(check_bubbles(1.0, 0.6, 0.1, 0.1, 1.0).two_bo_bubble_free);
  // 3BO bubble-free at the ideal point t_a = t_f = t_B >= t_c.
  CHECK(check_bubbles(1.0, 1.0, 0.4, 0.4, 1.0).three_bo_bubble_free());
  CHECK_FALSE(check_bubbles(1.0, 1.0, 0.4, 0.4, 0.9).three_bo_bubble_free());  // Eq. 2
  CHECK_FALSE(check_bubbles(0.5, 1.0, 0.3, 0.3, 1.0).no_attention_bubbles);    // Eq. 3
  CHECK_FALSE(check_bubbles(1.0, 0.5, 0.3, 0.3, 1.0).no_ffn_bubbles);          // Eq. 4
}

TEST_CASE("check 12 (§3.3.1): DP imbalance, alpha_AFD = sigma and alpha_EP >= sigma", "[imbalance][paper]") {
  for (double s : {0.5, 0.7, 0.8, 0.95}) {
    CHECK(alpha_dp_afd(s) == s);
    CHECK(alpha_dp_ep_lower_bound(s) >= s);
  }
}

TEST_CASE("check 13 (Eq. 12): EP imbalance, large EP", "[imbalance][paper]") {
  CHECK(alpha_ep_imbalance_ep(4, 0.7) == Approx(0.921).epsilon(0.001));
  CHECK(alpha_ep_imbalance_ep(4, 0.8) == Approx(0.952).epsilon(0.001));
  CHECK(alpha_ep_imbalance_ep(4, 0.85) == Approx(0.966).epsilon(0.001));
  CHECK(alpha_ep_imbalance_ep(2, 0.7) == Approx(0.875).epsilon(0.001));
  CHECK(alpha_ep_imbalance_ep(2, 0.8) == Approx(0.923).epsilon(0.001));
  CHECK(alpha_ep_imbalance_ep(4, 0.7) > 0.7);                            // > sigma
  CHECK(alpha_ep_imbalance_ep(4, 0.7) > alpha_ep_imbalance_ep(2, 0.7));  // monotone in lambda
}

TEST_CASE("check 14 (Eqs. 13-16, corrected): EP imbalance under AFD", "[imbalance][paper]") {
  CHECK(alpha_ep_imbalance_afd(8, 2, 0.7) == Approx(0.893).epsilon(0.001));
  CHECK(alpha_ep_imbalance_afd(8, 2, 0.7) < alpha_ep_imbalance_ep(4, 0.7));
  CHECK(alpha_ep_imbalance_afd(2, 2, 0.8) == Approx(0.80).epsilon(0.001));
  // Integer sigma N_A: Eq. 13 exactly, and the corrected floor/ceil forms reduce to it.
  CHECK(alpha_ep_imbalance_afd(8, 2, 0.75) == Approx(alpha_afd_exact(8, 2, 0.75)));
  CHECK(alpha_afd_floor(8, 2, 0.75) == Approx(alpha_afd_exact(8, 2, 0.75)));
  CHECK(alpha_afd_ceil(8, 2, 0.75) == Approx(alpha_afd_exact(8, 2, 0.75)));
  CHECK(alpha_afd_exact(8, 2, 0.75) == Approx(alpha_ep_imbalance_ep(4, 0.75)));  // same form as Eq. 12
  // Table of §3 (σ = 0.7 / 0.75 / 0.8 / 0.85).
  const double na_nf[][2] = {{8, 2}, {16, 4}, {24, 6}};
  const double want[][4] = {
      {0.893, 0.9375, 0.9375, 0.944}, {0.917, 0.9375, 0.941, 0.956}, {0.913, 0.9375, 0.950, 0.962}};
  const double sig[] = {0.7, 0.75, 0.8, 0.85};
  for (int c = 0; c < 3; ++c)
    for (int s = 0; s < 4; ++s)
      CHECK(alpha_ep_imbalance_afd(int(na_nf[c][0]), int(na_nf[c][1]), sig[s]) == Approx(want[c][s]).epsilon(0.001));
  // The printed Eq. 14 prefactor is a typo: 3.75 > 1 (regression witness).
  CHECK(alpha_afd_floor_as_printed(8, 2, 0.8) == Approx(3.75));
  for (int na = 1; na <= 32; ++na)
    for (double s = 0.5; s < 1.0; s += 0.05) CHECK(alpha_ep_imbalance_afd(na, 2, s) <= 1.0 + 1e-12);
}

TEST_CASE("check 15 (Eq. 19 inverted): scale-out bandwidth to match EP's 60 % in the dead zone", "[commroof][paper]") {
  auto need = [](const char* model, const char* hw) {
    const auto s = comm_roof_shape(paper().model(model), paper().hardware(hw), {}, {});
    return bandwidth_for_hfu(s, 0.60);
  };
  CHECK(need("deepseek-v3", "h800") == Approx(290e9).epsilon(0.01));
  CHECK(need("deepseek-v3", "b200") == Approx(659e9).epsilon(0.01));
  CHECK(need("step-3", "h800") == Approx(116e9).epsilon(0.01));
  CHECK(need("deepseek-v3", "h800") / 50e9 > 3.0);  // 400 GbE falls 3-6x short
  // Ridge expert size M* = FLOPS / (2 B_eff) (§2.4 table).
  const auto s = comm_roof_shape(paper().model("deepseek-v3"), paper().hardware("h800"), {}, {});
  CHECK(ridge_expert_size(paper().model("deepseek-v3"), s, 160e9) == Approx(6184).epsilon(0.01));
  CHECK(ridge_expert_size(paper().model("deepseek-v3"), s, 50e9) == Approx(19790).epsilon(0.01));
}

TEST_CASE("check 16 (§5.1): expert TP lowers I and helps only when TopK/N_F << r", "[commroof][paper]") {
  CommRoofOptions o, etp;
  o.budget_s = etp.budget_s = kBudget50ms;
  etp.expert_tp = 2;
  // Dead zone (N_F >= TopK x ETP): ETP halves the ceiling and the intensity.
  CHECK(point("deepseek-v3", "h800", 16, etp).hfu_ceiling < point("deepseek-v3", "h800", 16, o).hfu_ceiling);
  CHECK(point("deepseek-v3", "h800", 16, etp).hbm_intensity < point("deepseek-v3", "h800", 16, o).hbm_intensity);
  // Where scale-up is idle (TopK/N_F well under r), ETP costs nothing: it uses the idle NVLink.
  const auto h20 = point("deepseek-v3", "h20", 2, o), h20e = point("deepseek-v3", "h20", 2, etp);
  CHECK(h20e.hfu_ceiling == Approx(h20.hfu_ceiling));
  CHECK(h20e.effective_bytes_per_s > h20.effective_bytes_per_s);
}

TEST_CASE("generalisations: precision, shared experts, GPU-granular, latency terms", "[commroof]") {
  const auto& m = paper().model("deepseek-v3");
  const auto& hw = paper().hardware("h800");
  Precision bf16_combine, fp8_both;
  fp8_both.combine = DType::fp8;
  // fp8 both ways: 2H bytes per token instead of 3H -> 1.5x the intensity.
  CHECK(comm_roof_shape(m, hw, fp8_both, {}).network_intensity ==
        Approx(1.5 * comm_roof_shape(m, hw, bf16_combine, {}).network_intensity));
  CommRoofOptions shared;
  shared.shared_experts_on_ffn = true;
  CHECK(comm_roof_point(m, hw, {}, shared, 16).hfu_ceiling > comm_roof_point(m, hw, {}, {}, 16).hfu_ceiling);
  CHECK(comm_roof_point(m, hw, {}, shared, 2).weight_bytes > comm_roof_point(m, hw, {}, {}, 2).weight_bytes);
  // GPU-granular superpod: N_F counts GPUs; boundaries move by g.
  CommRoofOptions gpu;
  gpu.gpu_granular = true;
  const auto& gb = paper().hardware("gb200");
  CHECK(comm_roof_point(m, gb, {}, gpu, 12).ranks == 12);
  CHECK(regime_boundaries(m, gb, {}, gpu).max_intensity_from == Approx(256));
  CHECK(close_pct(comm_roof_point(m, gb, {}, gpu, 12).hfu_ceiling, 0.655));
  // Latency terms only lower the ceiling, more so for a small t_B.
  CommRoofOptions lat, lat_small;
  lat.latency_terms = lat_small.latency_terms = true;
  lat.budget_s = kBudget50ms;
  lat_small.budget_s = 0.1e-3;
  const double plain = comm_roof_point(m, hw, {}, {}, 8).hfu_ceiling;
  CHECK(comm_roof_point(m, hw, {}, lat, 8).hfu_ceiling < plain);
  CHECK(comm_roof_point(m, hw, {}, lat_small, 8).hfu_ceiling < comm_roof_point(m, hw, {}, lat, 8).hfu_ceiling);
}

TEST_CASE("datasheet hwdb values also work (GB200 differs from the paper's Table 5)", "[commroof]") {
  const auto& m = datasheet().model("deepseek-v3");
  const auto p = comm_roof_point(m, datasheet().hardware("gb200"), {}, {}, 4);
  // hwdb: 5000 TFLOPS dense FP8 vs the paper's 4500 -> 2 x 720 GB/s x 2048 / 5000 TFLOPS.
  CHECK(p.hfu_ceiling == Approx(2.0 * 720e9 * 2048 / 5000e12).epsilon(1e-6));
  const auto h800 = comm_roof_point(m, datasheet().hardware("h800"), {}, {}, 2);
  CHECK(close_pct(h800.hfu_ceiling, 0.331));  // H800 datasheet x 0.8 efficiency = the paper's 160 GB/s
}
