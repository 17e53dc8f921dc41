// SPDX-License-Identifier: Apache-2.0
// EP and AFD are priced by the same transport model: the same transport and contention give
// both strategies the same per-transfer cost, and changing the contention moves both.
#include <catch2/catch.hpp>

#include "ridgeline/evaluate.hpp"
#include "ridgeline/imbalance.hpp"
#include "ridgeline/io/database.hpp"

using namespace ridgeline;

namespace {
const io::Database& tdb() {
  static const io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

Deployment ep_plan(const Accelerator& hw, int gpus, double batch, TransportKind t) {
  Deployment d;
  d.strategy = Strategy::ep;
  d.micro_batches = 2;
  d.attention = {&hw, gpus, 1};
  d.ffn = d.attention;
  d.batch_per_gpu = batch;
  d.transport = t;
  return d;
}

Deployment afd_plan(const Accelerator& hw, int a, int f, double global_batch, TransportKind t) {
  Deployment d;
  d.strategy = Strategy::afd;
  d.micro_batches = 3;
  d.attention = {&hw, a, 1};
  d.ffn = {&hw, f, 1};
  d.global_batch = global_batch;
  d.transport = t;
  return d;
}
}  // namespace

TEST_CASE("symmetry: one transport gives EP and AFD the same per-transfer cost", "[transport]") {
  const auto& m = tdb().model("deepseek-v3");
  const auto& hw = tdb().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  const Efficiencies eff;
  for (int k = 0; k < kTransportKinds; ++k) {
    const auto t = TransportKind(k);
    if (t == TransportKind::deepep_normal) continue;  // EP-only byte pattern (forwarded per node)
    // 64 tokens per sending GPU on both sides: EP 64 sequences per micro-batch per GPU; AFD 16
    // attention GPUs with 3 x 16 x 64 sequences.
    const Evaluation ep = evaluate(m, {}, w, ep_plan(hw, 64, 128, t), eff);
    const Evaluation afd = evaluate(m, {}, w, afd_plan(hw, 16, 16, 3.0 * 16 * 64, t), eff);
    INFO(transport_name(t));
    CHECK(ep.transport == t);
    CHECK(afd.transport == t);
    CHECK(ep.transport_contention == afd.transport_contention);
    // Same transport, same tokens per sending GPU: the same software cost per transfer.
    CHECK(ep.transfer_overhead_s == Approx(transfer_overhead_s(eff.transport(t), 64)));
    CHECK(afd.transfer_overhead_s >= transfer_overhead_s(eff.transport(t), 64) - 1e-12);
  }
}

TEST_CASE("symmetry: raising a transport's contention slows EP and AFD alike", "[transport]") {
  const auto& m = tdb().model("deepseek-v3");
  const auto& hw = tdb().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  for (TransportKind t : {TransportKind::deepep_low_latency, TransportKind::cpu_rdma}) {
    Efficiencies lo, hi;
    lo.transports[size_t(t)].contention = 0.0;
    hi.transports[size_t(t)].contention = 1.0;
    const double ep_lo = evaluate(m, {}, w, ep_plan(hw, 64, 128, t), lo).slot_s;
    const double ep_hi = evaluate(m, {}, w, ep_plan(hw, 64, 128, t), hi).slot_s;
    const double afd_lo = evaluate(m, {}, w, afd_plan(hw, 16, 16, 3072, t), lo).slot_s;
    const double afd_hi = evaluate(m, {}, w, afd_plan(hw, 16, 16, 3072, t), hi).slot_s;
    INFO(transport_name(t));
    CHECK(ep_hi > ep_lo);
    CHECK(afd_hi > afd_lo);
    // Contention 1 serialises compute and transfers on both schedules.
    const Evaluation e = evaluate(m, {}, w, ep_plan(hw, 64, 128, t), hi);
    CHECK(e.slot_s == Approx(e.attention_s + e.ffn_s + e.dispatch_s + e.combine_s));
    const Evaluation a = evaluate(m, {}, w, afd_plan(hw, 16, 16, 3072, t), hi);
    CHECK(a.slot_s >= a.attention_s + std::max(a.dispatch_s, a.combine_s) - 1e-12);
  }
}

TEST_CASE("transport: overlapped busy time between ideal overlap and the serial sum", "[transport]") {
  CHECK(overlapped_busy_s(3, 2, 0) == Approx(3));
  CHECK(overlapped_busy_s(3, 2, 1) == Approx(5));
  CHECK(overlapped_busy_s(1, 4, 0.5) == Approx(4));  // compute finishes inside the transfer
  CHECK(overlapped_busy_s(3, 2, 0.5) == Approx(4));
}

TEST_CASE("load: the closed-form hot rank follows the exact uniform-routing distribution", "[transport][imbalance]") {
  // (experts, top_k, ranks, tokens): decode-sized micro-batches from EP8 to EP256.
  const double cases[][4] = {{256, 8, 8, 512},    {256, 8, 32, 2048},  {256, 8, 64, 4096},
                             {256, 8, 128, 8192}, {256, 8, 256, 8192}, {64, 6, 16, 1024},
                             {128, 8, 32, 512},   {256, 8, 144, 6336}, {160, 6, 32, 768}};
  for (const auto& c : cases) {
    const int e = int(c[0]), k = int(c[1]), r = int(c[2]);
    const double tokens = c[3];
    const LoadStats exact = uniform_routing_load(e, k, r, tokens);
    const double group = std::ceil(double(e) / r);
    const double fast = uniform_hot_rank_load(e, k, r, group, tokens);
    INFO("E=" << e << " k=" << k << " R=" << r << " tokens=" << tokens << " exact " << exact.expected_max << " fast "
              << fast);
    CHECK(fast == Approx(exact.expected_max).epsilon(0.05));
  }
}

TEST_CASE("counting: more GPUs than experts leave GPUs idle instead of spreading load", "[transport]") {
  const auto& m = tdb().model("deepseek-v3");  // 256 routed experts
  const auto& hw = tdb().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  w.expert_load_imbalance = 1.0;  // isolate the counting
  const Evaluation e256 = evaluate(m, {}, w, ep_plan(hw, 256, 64, TransportKind::deepep_low_latency));
  const Evaluation e288 = evaluate(m, {}, w, ep_plan(hw, 288, 64, TransportKind::deepep_low_latency));
  // Same tokens per GPU: 288 GPUs send 288/256 x the tokens to the same 256 expert holders.
  CHECK(e288.tokens_per_ffn_gpu == Approx(e256.tokens_per_ffn_gpu * 288.0 / 256.0));
  // 144 GPUs: the fullest holds 2 experts, not 256/144 = 1.78.
  const Evaluation e144 = evaluate(m, {}, w, ep_plan(hw, 144, 64, TransportKind::deepep_low_latency));
  CHECK(e144.tokens_per_ffn_gpu == Approx(32.0 * 144 * 8 * 2 / 256));
}
