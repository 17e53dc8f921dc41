// SPDX-License-Identifier: Apache-2.0
// Validation: the error statistics, and the kernel-level checks of the operator and
// communication models against published kernel tables (levels b and c).
#include <catch2/catch.hpp>
#include <cstdio>

#include "ridgeline/comm.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/ops.hpp"
#include "ridgeline/validation.hpp"

using namespace ridgeline;

static const io::Database& vdb() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

TEST_CASE("signed_error: positive when the model is optimistic") {
  CHECK(signed_error(110, 100) == Approx(0.10));
  CHECK(signed_error(80, 100) == Approx(-0.20));
  CHECK_THROWS_AS(signed_error(1, 0), UsageError);
}

TEST_CASE("summarize_errors: median, max, bias and share of optimistic predictions") {
  const ErrorSummary odd = summarize_errors({0.10, -0.30, 0.05});
  CHECK(odd.points == 3);
  CHECK(odd.median_abs_error == Approx(0.10));
  CHECK(odd.max_abs_error == Approx(0.30));
  CHECK(odd.mean_signed_error == Approx(-0.05));
  CHECK(odd.share_optimistic == Approx(2.0 / 3.0));
  const ErrorSummary even = summarize_errors({0.10, -0.20, 0.40, -0.05});
  CHECK(even.median_abs_error == Approx(0.15));  // mean of the middle two of 0.05 0.10 0.20 0.40
  CHECK(even.share_optimistic == Approx(0.5));
  CHECK(summarize_errors({}).points == 0);
}

namespace {
struct GemmPoint {
  const char* id;
  double groups, m, n, k, tflops;
};
// DeepGEMM README (commit 55ab91f, 2025-02), H800 SXM5, FP8 1x128/128x128 block scaling: the
// dense M=64/128/4096 rows and the masked (decode) and contiguous grouped rows (ids c_deepgemm_*).
const GemmPoint kDeepGemm[] = {
    {"dense_m64_n2112_k7168", 1, 64, 2112, 7168, 206},
    {"dense_m64_n24576_k1536", 1, 64, 24576, 1536, 289},
    {"dense_m64_n32768_k512", 1, 64, 32768, 512, 219},
    {"dense_m64_n7168_k16384", 1, 64, 7168, 16384, 336},
    {"dense_m64_n4096_k7168", 1, 64, 4096, 7168, 287},
    {"dense_m64_n7168_k2048", 1, 64, 7168, 2048, 295},
    {"dense_m128_n2112_k7168", 1, 128, 2112, 7168, 352},
    {"dense_m128_n24576_k1536", 1, 128, 24576, 1536, 535},
    {"dense_m128_n32768_k512", 1, 128, 32768, 512, 358},
    {"dense_m128_n7168_k16384", 1, 128, 7168, 16384, 645},
    {"dense_m128_n4096_k7168", 1, 128, 4096, 7168, 533},
    {"dense_m128_n7168_k2048", 1, 128, 7168, 2048, 510},
    {"dense_m4096_n2112_k7168", 1, 4096, 2112, 7168, 1009},
    {"dense_m4096_n24576_k1536", 1, 4096, 24576, 1536, 1125},
    {"dense_m4096_n32768_k512", 1, 4096, 32768, 512, 751},
    {"dense_m4096_n7168_k16384", 1, 4096, 7168, 16384, 1426},
    {"dense_m4096_n4096_k7168", 1, 4096, 4096, 7168, 1265},
    {"dense_m4096_n7168_k2048", 1, 4096, 7168, 2048, 1168},
    {"contig_g4_m8192_n4096_k7168", 4, 8192, 4096, 7168, 1346},
    {"contig_g4_m8192_n7168_k2048", 4, 8192, 7168, 2048, 1214},
    {"contig_g8_m4096_n4096_k7168", 8, 4096, 4096, 7168, 1346},
    {"contig_g8_m4096_n7168_k2048", 8, 4096, 7168, 2048, 1214},
    {"masked_g1_m1024_n4096_k7168", 1, 1024, 4096, 7168, 1233},
    {"masked_g1_m1024_n7168_k2048", 1, 1024, 7168, 2048, 925},
    {"masked_g2_m512_n4096_k7168", 2, 512, 4096, 7168, 1040},
    {"masked_g2_m512_n7168_k2048", 2, 512, 7168, 2048, 916},
    {"masked_g4_m256_n4096_k7168", 4, 256, 4096, 7168, 932},
    {"masked_g4_m256_n7168_k2048", 4, 256, 7168, 2048, 815},
};

double gemm_error(const GemmPoint& g, const Accelerator& hw, const Efficiencies& eff) {
  const double rows = g.groups * g.m;
  OpCost op{"gemm",
            OpKind::gemm,
            DType::fp8,
            2.0 * rows * g.n * g.k,
            g.groups * g.n * g.k * 1.0 + rows * g.k * 1.0 + rows * g.n * 2.0,
            1,
            0};  // fp8 W and A, bf16 out
  const double measured_s = op.flops / (g.tflops * 1e12);
  return signed_error(op_time(op, hw, eff).time_s, measured_s);  // time: > 0 = model too slow
}
}  // namespace

TEST_CASE("kernel check: op_time against DeepGEMM's H800 FP8 GEMM table (28 shapes)") {
  const Accelerator& h800 = vdb().hardware("h800");
  std::vector<double> errs, ideal;
  Efficiencies roofline;  // the plain max() roofline, for comparison
  roofline.gemm_overlap = 1.0;
  roofline.gemm_memory = 0.80;
  for (const auto& g : kDeepGemm) {
    errs.push_back(gemm_error(g, h800, Efficiencies{}));
    ideal.push_back(gemm_error(g, h800, roofline));
  }
  const ErrorSummary s = summarize_errors(errs), r = summarize_errors(ideal);
  std::printf(
      "DeepGEMM H800 (kernel time): defaults median |err| %.1f %%, max %.1f %%; plain roofline %.1f %% / %.1f %%\n",
      100 * s.median_abs_error, 100 * s.max_abs_error, 100 * r.median_abs_error, 100 * r.max_abs_error);
  CHECK(s.median_abs_error < 0.08);
  CHECK(s.max_abs_error < 0.30);
  CHECK(s.median_abs_error < r.median_abs_error);  // the overlap term must earn its place
}

TEST_CASE("kernel check: EP all-to-all + overhead against DeepEP low-latency (June 2025, H800, 128 tokens)") {
  const Accelerator& h800 = vdb().hardware("h800");
  const Efficiencies eff;
  // DeepEP README (commit d8dd185): EP, dispatch us, combine us (b_deepep_v1_ll_ep*_2025_06).
  const double table[][3] = {{8, 77, 114}, {16, 118, 195}, {32, 155, 273}, {64, 173, 314}};
  std::vector<double> errs;
  for (const auto& row : table) {
    const CommTime c = ep_all_to_all(h800, int(row[0]), 256, 8, 7168, 128, 1.0, 2.0, DispatchStyle::low_latency, 1.0);
    const double ed = signed_error(c.dispatch_s + transfer_overhead_s(eff.transport(TransportKind::deepep_low_latency), 128), row[1] * 1e-6);
    const double ec = signed_error(c.combine_s + transfer_overhead_s(eff.transport(TransportKind::deepep_low_latency), 128), row[2] * 1e-6);
    std::printf("DeepEP LL EP%-3.0f dispatch %+.1f %%, combine %+.1f %% (kernel time)\n", row[0], 100 * ed, 100 * ec);
    errs.push_back(ed);
    errs.push_back(ec);
  }
  const ErrorSummary s = summarize_errors(errs);
  CHECK(s.median_abs_error < 0.15);
  CHECK(s.max_abs_error < 0.35);
}

TEST_CASE("kernel check: pure-RDMA EP all-to-all against DeepEP low-latency (February 2025, H800, 128 tokens)") {
  Accelerator rdma = vdb().hardware("h800");
  rdma.scale_up_domain_gpus = 1;  // what Deployment::all_to_all_pure_rdma does
  const Efficiencies eff;
  // DeepEP README (commit ebfe47e): EP, dispatch us, combine us (b_deepep_v1_ll_ep*_2025_02).
  const double table[][3] = {{8, 163, 318},  {16, 173, 329},  {32, 182, 350},
                             {64, 186, 353}, {128, 192, 369}, {256, 194, 360}};
  std::vector<double> errs;
  for (const auto& row : table) {
    const CommTime c = ep_all_to_all(rdma, int(row[0]), 256, 8, 7168, 128, 1.0, 2.0, DispatchStyle::low_latency, 1.0);
    errs.push_back(signed_error(c.dispatch_s + transfer_overhead_s(eff.transport(TransportKind::deepep_low_latency), 128), row[1] * 1e-6));
    errs.push_back(signed_error(c.combine_s + transfer_overhead_s(eff.transport(TransportKind::deepep_low_latency), 128), row[2] * 1e-6));
    std::printf("DeepEP LL pure RDMA EP%-3.0f dispatch %+.1f %%, combine %+.1f %% (kernel time)\n", row[0],
                100 * errs[errs.size() - 2], 100 * errs.back());
  }
  const ErrorSummary s = summarize_errors(errs);
  CHECK(s.median_abs_error < 0.15);
  CHECK(s.max_abs_error < 0.35);
}

TEST_CASE("kernel check: attention core against FlashMLA's compute-bound H800 decode (660 TFLOPS)") {
  const Accelerator& h800 = vdb().hardware("h800");
  const ModelSpec& m = vdb().model("deepseek-v3");
  Precision p;
  // 128 sequences x 2 query tokens (h_q x s_q = 256 >= 128: compute-bound), 4K context.
  const OpList ops = attention_stage_ops(m, p, 128, 2, 4096, 1, true, true);
  const OpCost* core = nullptr;
  for (const auto& op : ops)
    if (std::string_view(op.name) == "attn_core") core = &op;
  REQUIRE(core != nullptr);
  const OpTime t = op_time(*core, h800, Efficiencies{});
  CHECK(t.bound == Bound::compute);
  const double achieved_tflops = core->flops / t.time_s / 1e12;
  std::printf("FlashMLA H800 compute-bound: model %.0f TFLOPS vs 660 published (%+.1f %%)\n", achieved_tflops,
              100 * signed_error(achieved_tflops, 660));
  CHECK(std::abs(signed_error(achieved_tflops, 660)) < 0.10);
}
