// SPDX-License-Identifier: Apache-2.0
// Schedule and evaluation invariants (MegaScale-Infer Eq. 5, EP overlap, feasibility as a value).
#include <catch2/catch.hpp>

#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"

using namespace ridgeline;

static const io::Database& db() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

static Deployment ep(const Accelerator& hw, int gpus, double batch, int mb) {
  Deployment d;
  d.strategy = Strategy::ep;
  d.attention = {&hw, gpus, 1};
  d.ffn = d.attention;
  d.batch_per_gpu = batch;
  d.micro_batches = mb;
  return d;
}

static Deployment afd(const Accelerator& a, int ga, const Accelerator& f, int gf, double batch, int mb) {
  Deployment d;
  d.strategy = Strategy::afd;
  d.attention = {&a, ga, 1};
  d.ffn = {&f, gf, 1};
  d.global_batch = batch;
  d.micro_batches = mb;
  return d;
}

TEST_CASE("EP: two-batch overlap is not much slower than no overlap at equal batch", "[evaluate][ep]") {
  const auto& m = db().model("deepseek-v3");
  const auto& hw = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  const auto e1 = evaluate(m, {}, w, ep(hw, 128, 128, 1));
  const auto e2 = evaluate(m, {}, w, ep(hw, 128, 128, 2));
  REQUIRE(e1.feasible);
  REQUIRE(e2.feasible);
  CHECK(e2.tokens_per_s_per_gpu > 0.9 * e1.tokens_per_s_per_gpu);
  CHECK(e1.slot_s == Approx(e1.attention_s + e1.ffn_s + e1.dispatch_s + e1.combine_s));
  // Two-batch overlap: compute slowed by what DeepEP's low-latency kernels hold of the GPU.
  const double f = Efficiencies{}.transport(TransportKind::deepep_low_latency).contention;
  const double net = e2.dispatch_s + e2.combine_s;
  CHECK(e2.slot_s >= std::max(net, e2.attention_s + e2.ffn_s) - 1e-12);
  // Decode stage order: dispatch beside shared experts + attention before the core, FFN alone,
  // combine beside the core, o_proj and router; the three attention parts sum to attention_s.
  const AttentionStages& st = e2.attention_stages;
  CHECK(st.before_core_s + st.after_core_s + st.shared_s == Approx(e2.attention_s));
  CHECK(st.before_core_s > 0);
  CHECK(st.after_core_s > st.before_core_s);  // the core and o_proj outweigh the q / kv projections
  CHECK(st.shared_s > 0);
  CHECK(e2.slot_s == Approx(overlapped_busy_s(st.shared_s + st.before_core_s, e2.dispatch_s, f) + e2.ffn_s +
                            overlapped_busy_s(st.after_core_s, e2.combine_s, f)));
}

TEST_CASE("EP two-batch overlap: the routed experts are never hidden, the attention parts are", "[evaluate][ep]") {
  const AttentionStages a{2.0, 5.0, 1.0};
  // Compute-bound: nothing lost, the slot is all the compute.
  CHECK(detail::two_batch_overlap_slot_s(a, 4.0, 1.0, 2.0, 0) == Approx(2.0 + 1.0 + 4.0 + 5.0));
  // Transfer-bound: dispatch + FFN + combine; the experts run while nothing is in flight.
  CHECK(detail::two_batch_overlap_slot_s(a, 4.0, 10.0, 20.0, 0) == Approx(10.0 + 4.0 + 20.0));
  // Contention slows only the compute that overlaps a transfer.
  CHECK(detail::two_batch_overlap_slot_s(a, 4.0, 2.5, 4.0, 0.5) == Approx((3.0 + 1.25) + 4.0 + (5.0 + 2.0)));
}

TEST_CASE("AFD iteration follows MegaScale-Infer Eq. 5 when bubble-free", "[evaluate][afd]") {
  const auto& m = db().model("deepseek-v3");
  const auto& hw = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  const auto e = evaluate(m, {}, w, afd(hw, 16, hw, 16, 2304, 3));
  REQUIRE(e.reason != Infeasible::bad_shape);
  const double tf = std::max(e.attention_s, e.ffn_s);
  if (e.slot_s == Approx(tf)) {
    const double L = m.num_moe_layers();
    const double eq5 = (e.attention_s + e.ffn_s + e.dispatch_s + e.combine_s) + tf * (3 * L - 1);
    CHECK(e.moe_layers_s == Approx(eq5));
  }
  CHECK(e.iteration_s == Approx(e.moe_layers_s + e.dense_layers_s + e.lm_head_s + e.gap_s));
  CHECK(e.tpot_s == Approx(e.iteration_s));
}

TEST_CASE("AFD with two micro-batches leaves bubbles when the round trip exceeds 2 slots", "[evaluate][afd]") {
  const auto& m = db().model("deepseek-v3");
  const auto& hw = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  const auto e = evaluate(m, {}, w, afd(hw, 16, hw, 16, 2304, 2));
  const double rt = e.attention_s + e.ffn_s + e.dispatch_s + e.combine_s;
  CHECK(e.slot_s == Approx(std::max({e.attention_s, e.ffn_s, rt / 2})));
  CHECK_FALSE(e.bubble_free);
}

TEST_CASE("infeasible plans are values with a reason", "[evaluate]") {
  const auto& m = db().model("deepseek-v3");
  const auto& hw = db().hardware("h800");
  Workload w;
  SECTION("weights do not fit one node") {
    const auto e = evaluate(m, {}, w, ep(hw, 8, 1, 1));
    CHECK_FALSE(e.feasible);
    CHECK(e.reason == Infeasible::weights_exceed_hbm);
  }
  SECTION("KV does not fit") {
    const auto e = evaluate(m, {}, w, ep(hw, 128, 4096, 2));
    CHECK_FALSE(e.feasible);
    CHECK(e.reason == Infeasible::kv_exceeds_hbm);
  }
  SECTION("SLO") {
    w.tpot_slo_s = 0.001;
    const auto e = evaluate(m, {}, w, ep(hw, 128, 64, 2));
    CHECK_FALSE(e.feasible);
    CHECK(e.reason == Infeasible::slo_violated);
  }
  SECTION("bad shape") {
    const auto e = evaluate(m, {}, w, ep(hw, 128, 64, 3));
    CHECK(e.reason == Infeasible::bad_shape);
  }
}

TEST_CASE("outputs are finite and positive for every model on every accelerator", "[evaluate]") {
  Workload w;
  w.tpot_slo_s = 10;
  Precision p;
  p.weights = DType::bf16;
  p.dispatch = DType::bf16;
  for (const auto& mid : db().model_ids()) {
    for (const auto& hid : db().hardware_ids()) {
      INFO(mid << " on " << hid);
      const auto& hw = db().hardware(hid);
      const auto e = evaluate(db().model(mid), p, w, ep(hw, 64, 16, 2));
      CHECK(std::isfinite(e.tpot_s));
      CHECK(e.tpot_s > 0);
      CHECK(std::isfinite(e.tokens_per_s_per_gpu));
      CHECK(e.hfu >= 0);
      CHECK(e.hfu <= 1.0);
      const auto a = evaluate(db().model(mid), p, w, afd(hw, 16, hw, 16, 512, 3));
      CHECK(std::isfinite(a.tpot_s));
      CHECK(a.hfu <= 1.0);
    }
  }
}

TEST_CASE("more scale-out bandwidth never lowers EP throughput", "[evaluate][property]") {
  const auto& m = db().model("deepseek-v3");
  Accelerator slow = db().hardware("h800");
  Accelerator fast = slow;
  fast.scale_out.bytes_per_s *= 4;
  Workload w;
  w.tpot_slo_s = 1;
  const auto a = evaluate(m, {}, w, ep(slow, 128, 128, 2));
  const auto b = evaluate(m, {}, w, ep(fast, 128, 128, 2));
  CHECK(b.tokens_per_s_per_gpu >= a.tokens_per_s_per_gpu);
}
