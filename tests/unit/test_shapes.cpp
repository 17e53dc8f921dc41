// SPDX-License-Identifier: Apache-2.0
// Serving-stack shapes inside EP workers (docs/shapes.md): DP x TP attention, expert TP inside
// EP, pure-TP workers; the TP collectives they add; HFU against the peak of the precision that
// binds; the scenario keys that name the shapes.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "ridgeline/error.hpp"
#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/search.hpp"

using namespace ridgeline;

static const io::Database& db() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

static Deployment ep(const Accelerator& hw, int gpus, double batch, int tp, int etp, int mb = 1) {
  Deployment d;
  d.strategy = Strategy::ep;
  d.attention = {&hw, gpus, tp};
  d.ffn = {&hw, gpus, etp};
  d.batch_per_gpu = batch;
  d.micro_batches = mb;
  return d;
}

static const OpCost& op_named(const OpList& ops, const std::string& name) {
  for (const auto& op : ops)
    if (name == op.name) return op;
  FAIL("no op " << name);
  return ops.ops[0];
}

/// The ring all-reduce written out independently of ring_all_reduce_s.
static double ring(const Accelerator& hw, int t, double bytes) {
  const double fixed = Efficiencies{}.transport(TransportKind::nccl).fixed_s;
  return hw.scale_up.latency_s + fixed + 2.0 * (t - 1) / t * bytes / (hw.scale_up.bytes_per_s * hw.scale_up.efficiency);
}

TEST_CASE("EP attention TP 2 halves attention weights per GPU and adds a ring all-reduce", "[shapes][evaluate]") {
  const auto& m = db().model("deepseek-v3");
  const auto& hw = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  w.context_tokens = 4096;
  const Precision p{};
  const auto e1 = evaluate(m, p, w, ep(hw, 32, 16, 1, 1));
  const auto e2 = evaluate(m, p, w, ep(hw, 32, 16, 2, 1));
  REQUIRE(e1.feasible);
  REQUIRE(e2.feasible);
  CHECK(e1.attention_tp_comm_s == 0);
  CHECK(op_named(e2.attention_ops, "attn_proj").hbm_bytes ==
        Approx(op_named(e1.attention_ops, "attn_proj").hbm_bytes / 2));
  // Per GPU: attention (and the other TP-split) weights shrink, experts stay.
  const double side1 = detail::attention_side_weight_bytes(m, p, 1, true, false);
  const double side2 = detail::attention_side_weight_bytes(m, p, 2, true, false);
  CHECK(side2 < 0.6 * side1);
  CHECK(e1.attention_memory.weights_bytes - e2.attention_memory.weights_bytes == Approx(side1 - side2));
  // MLA: the latent KV is shared by the heads, so each TP rank keeps all of its instance's KV.
  CHECK(e2.attention_memory.kv_bytes == Approx(2 * e1.attention_memory.kv_bytes));
  // One all-reduce of the instance's hidden states (16 x 2 sequences, bf16) per MoE layer.
  const double bytes = 16.0 * 2 * m.hidden_size * 2.0;
  CHECK(e2.attention_tp_comm_s == Approx(ring(hw, 2, bytes)));
  CHECK(e2.attention_s >= e2.attention_tp_comm_s);
  // The all-to-all per GPU is unchanged: each rank dispatches its share of the instance's tokens.
  CHECK(e2.dispatch_s == Approx(e1.dispatch_s));
  // GQA splits its KV heads over the TP ranks instead.
  const auto& q = db().model("qwen3-235b-a22b");
  const auto g1 = evaluate(q, p, w, ep(hw, 16, 16, 1, 1));
  const auto g4 = evaluate(q, p, w, ep(hw, 16, 16, 4, 1));
  CHECK(g4.attention_memory.kv_bytes == Approx(g1.attention_memory.kv_bytes));  // 4x sequences, 1/4 of each
}

TEST_CASE("EP expert TP: same expert bytes per GPU, a reduce-scatter of the expert outputs", "[shapes][evaluate]") {
  const auto& m = db().model("deepseek-v3");
  const auto& hw = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  const auto e1 = evaluate(m, {}, w, ep(hw, 64, 16, 1, 1));
  const auto e2 = evaluate(m, {}, w, ep(hw, 64, 16, 1, 2));
  REQUIRE(e2.feasible);
  // 256 experts over 32 EP ranks of 2 GPUs: 8 experts per rank, half of each per GPU; the same
  // bytes as 4 whole experts per GPU over 64 ranks.
  CHECK(e2.attention_memory.weights_bytes == Approx(e1.attention_memory.weights_bytes));
  CHECK(e1.expert_tp_comm_s == 0);
  // Each GPU holds partial sums of the distinct tokens its rank serves (pairs summed per token
  // first); a ring reduce-scatter moves (e - 1) / e of them, in the combine phase.
  const double fixed = Efficiencies{}.transport(TransportKind::nccl).fixed_s;
  const double distinct =
      e2.tokens_per_ffn_gpu * expected_distinct_groups(m.moe.num_experts, m.moe.top_k, 32) / m.moe.top_k;
  CHECK(distinct < e2.tokens_per_ffn_gpu);
  CHECK(e2.expert_tp_comm_s == Approx(hw.scale_up.latency_s + fixed +
                                      0.5 * distinct * m.hidden_size * 2.0 / hw.scale_up.sustained_bytes_per_s()));
  CHECK(e2.combine_s > e2.expert_tp_comm_s);
  CHECK(ring_reduce_scatter_s(hw.scale_up, 4, 1e6, 0) ==
        Approx(ring_all_reduce_s(hw.scale_up, 4, 1e6, 0) - (ring_all_reduce_s(hw.scale_up, 4, 1e6, 0) -
                                                             hw.scale_up.latency_s) / 2));
  // Each GPU of a rank computes every routed token of that rank against half of each expert.
  CHECK(op_named(e2.ffn_ops, "experts_gate_up").flops ==
        Approx(2.0 * e2.tokens_per_ffn_gpu * m.expert_params() * 2.0 / 3.0 / 2));
}

TEST_CASE("Pure-TP worker: every weight split over the GPUs, two TP collectives, no all-to-all", "[shapes][evaluate]") {
  const auto& m = db().model("qwen3-30b-a3b");
  const auto& hw = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  const Precision p{};
  const int g = 4;
  const auto e = evaluate(m, p, w, ep(hw, g, 32, g, g));
  REQUIRE(e.feasible);
  CHECK(e.dispatch_s == 0);
  CHECK(e.combine_s == e.expert_tp_comm_s);  // the reduce-scatter only
  CHECK(e.transfer_overhead_s == 0);
  CHECK(e.attention_tp_comm_s > 0);
  CHECK(e.expert_tp_comm_s > 0);
  // Every GPU sees every token of the worker: batch_per_gpu x g tokens, top_k pairs each.
  CHECK(e.tokens_per_ffn_gpu == Approx(32.0 * g * m.moe.top_k));
  // The model's weights over g GPUs (the router and norms, a few MB, are replicated).
  const double whole = detail::attention_side_weight_bytes(m, p, 1, true, false) +
                       double(m.moe.num_experts) * m.num_moe_layers() * m.expert_params() * dtype_bytes(p.weights);
  CHECK(e.attention_memory.weights_bytes == Approx(whole / g).epsilon(0.01));
  CHECK(e.attention_memory.weights_bytes > whole / g);
}

TEST_CASE("EP shapes that cannot run are bad shapes", "[shapes][evaluate]") {
  const auto& m = db().model("deepseek-v3");
  const auto& hw = db().hardware("h800");  // 8-GPU NVLink domain
  Workload w;
  CHECK(evaluate(m, {}, w, ep(hw, 32, 16, 3, 1)).reason == Infeasible::bad_shape);   // 3 does not divide 32
  CHECK(evaluate(m, {}, w, ep(hw, 32, 16, 16, 1)).reason == Infeasible::bad_shape);  // beyond NVLink
  CHECK(evaluate(m, {}, w, ep(hw, 32, 16, 1, 16)).reason == Infeasible::bad_shape);
  CHECK(evaluate(m, {}, w, ep(hw, 30, 16, 1, 4)).reason == Infeasible::bad_shape);
}

TEST_CASE("HFU is measured against the FLOP-weighted peak of the precisions the work runs in", "[shapes][hfu]") {
  const auto& m = db().model("deepseek-v3");
  const auto& hw = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 1.0;
  Precision fp8;  // FP8 GEMMs, BF16 attention math, BF16 router and LM head
  const auto e = evaluate(m, fp8, w, ep(hw, 128, 64, 1, 1, 2));
  REQUIRE(e.feasible);
  CHECK(e.hfu_peak_flops_per_s > hw.peak_flops_per_s(DType::bf16));
  CHECK(e.hfu_peak_flops_per_s < hw.peak_flops_per_s(DType::fp8));
  CHECK((std::string(e.hfu_peak_precision) == "fp8" || std::string(e.hfu_peak_precision) == "bf16"));
  // Against the FP8 peak alone (the former definition) HFU is lower.
  CHECK(e.hfu * e.hfu_peak_flops_per_s / hw.peak_flops_per_s(DType::fp8) < e.hfu);
  // All-BF16 work has the BF16 peak.
  Precision bf16;
  bf16.weights = DType::bf16;
  const auto b = evaluate(m, bf16, w, ep(hw, 128, 16, 1, 1, 2));
  REQUIRE(b.reason != Infeasible::bad_shape);
  CHECK(b.hfu_peak_flops_per_s == Approx(hw.peak_flops_per_s(DType::bf16)));
  CHECK(std::string(b.hfu_peak_precision) == "bf16");
  // The longer the context, the more of the work is BF16 attention math: the peak moves down.
  Workload longer = w;
  longer.context_tokens = 8 * w.context_tokens;
  const auto l = evaluate(m, fp8, longer, ep(hw, 128, 8, 1, 1, 2));
  CHECK(l.hfu_peak_flops_per_s < e.hfu_peak_flops_per_s);
}

TEST_CASE("ring_all_reduce_s: nothing for one rank, 2(t-1)/t of the bytes over scale-up", "[shapes][comm]") {
  Link up;
  up.bytes_per_s = 100e9;
  up.efficiency = 0.5;
  up.latency_s = 2e-6;
  CHECK(ring_all_reduce_s(up, 1, 1e6, 10e-6) == 0);
  CHECK(ring_all_reduce_s(up, 8, 0, 10e-6) == 0);
  CHECK(ring_all_reduce_s(up, 2, 1e6, 10e-6) == Approx(2e-6 + 10e-6 + 1e6 / 50e9));
  CHECK(ring_all_reduce_s(up, 8, 1e6, 0) == Approx(2e-6 + 1.75e6 / 50e9));
}

TEST_CASE("Search: attention TP is chosen where DP attention's replicated weights do not fit", "[shapes][search]") {
  const auto& m = db().model("deepseek-v3");
  Accelerator small = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 0.1;
  w.context_tokens = 4096;
  const Precision p{};
  const int gpus = 64;
  // HBM sized so that attention TP 8's weights leave 8 GB but DP attention's weights do not fit.
  const double experts = std::ceil(double(m.moe.num_experts) / gpus) * m.num_moe_layers() * m.expert_params();
  const double w1 = detail::attention_side_weight_bytes(m, p, 1, true, false) + experts;
  const double w8 = detail::attention_side_weight_bytes(m, p, 8, true, false) + experts;
  REQUIRE(w1 > w8 + 8e9);
  small.hbm_bytes = (w8 + 8e9) / Efficiencies{}.usable_hbm_fraction;
  SearchSpace s;
  s.ep_hardware = {&small};
  s.search_afd = false;
  s.exact_gpus = gpus;
  s.threads = 1;
  s.ep_attention_tp = {1};
  s.ep_pure_tp = false;
  const auto dp_only = search_plans(m, p, w, s);
  CHECK(!dp_only.best_ep());
  CHECK(dp_only.rejected[int(Rejection::weights_exceed_hbm)] > 0);
  s.ep_attention_tp = {1, 2, 4, 8};
  s.ep_pure_tp = true;
  const auto all = search_plans(m, p, w, s);
  CHECK(all.shapes > dp_only.shapes);
  REQUIRE(all.best_ep());
  CHECK(all.best_ep()->deployment.attention.tp > 1);
  CHECK(all.best_ep()->deployment.ffn.tp == 1);  // 64 GPUs: no pure TP beyond one NVLink domain
}

TEST_CASE("Search: pure-TP workers are tried inside one scale-up domain", "[shapes][search]") {
  const auto& m = db().model("qwen3-30b-a3b");
  const auto& hw = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 0.05;
  SearchSpace s;
  s.ep_hardware = {&hw};
  s.search_afd = false;
  s.exact_gpus = 4;
  s.threads = 1;
  s.top_k = 100;
  const auto r = search_plans(m, {}, w, s);
  bool pure = false, dp_tp = false;
  for (const auto& c : r.ep) {
    pure = pure || (c.deployment.attention.tp == 4 && c.deployment.ffn.tp == 4);
    dp_tp = dp_tp || (c.deployment.attention.tp == 2 && c.deployment.ffn.tp == 1);
    CHECK(c.evaluation.feasible);
  }
  CHECK(pure);
  CHECK(dp_tp);
}

TEST_CASE("Search: expert TP inside EP is tried once there are more GPUs than experts", "[shapes][search]") {
  const auto& m = db().model("mixtral-8x7b");  // 8 experts
  const auto& hw = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 0.05;
  SearchSpace s;
  s.ep_hardware = {&hw};
  s.search_afd = false;
  s.threads = 1;
  s.top_k = 1000;
  for (int gpus : {8, 16}) {
    s.exact_gpus = gpus;
    const auto r = search_plans(m, {}, w, s);
    bool etp2 = false, etp_beyond = false;
    for (const auto& c : r.ep) {
      const int etp = c.deployment.ffn.tp;
      if (etp == gpus) continue;  // pure TP
      etp2 = etp2 || etp == 2;
      // Only while experts outnumber neither: gpus / (etp / 2) > experts.
      etp_beyond = etp_beyond || (etp > 1 && gpus / (etp / 2) <= m.moe.num_experts);
    }
    INFO(gpus << " GPUs");
    CHECK(etp2 == (gpus > m.moe.num_experts));
    CHECK_FALSE(etp_beyond);
  }
}

TEST_CASE("Scenario keys attention_tp / expert_tp: read, written back, errors name the field", "[shapes][scenario]") {
  auto scenario = [](const std::string& extra) {
    return R"({"model": "deepseek-v3", "workload": {"context_tokens": 4096, "tpot_slo": "50 ms"},
      "deployment": {"strategy": "ep", "hardware": "h800", "gpus": 32, "batch_per_gpu": 16)" +
           extra + "}}";
  };
  const auto s = io::parse_scenario(scenario(R"(, "attention_tp": 4, "expert_tp": 2)"), "s.json", db());
  CHECK(s.deployment.attention.tp == 4);
  CHECK(s.deployment.ffn.tp == 2);
  auto error = [&](const std::string& extra) {
    try {
      io::parse_scenario(scenario(extra), "s.json", db());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  for (const char* bad : {R"(, "attention_tp": 3)", R"(, "attention_tp": 16)", R"(, "attention_tp": 0)"}) {
    const std::string msg = error(bad);
    INFO(bad << " -> " << msg);
    CHECK(msg.find("attention_tp") != std::string::npos);
    CHECK(msg.find("s.json") != std::string::npos);
  }
  for (const char* bad : {R"(, "expert_tp": 5)", R"(, "expert_tp": 32)"}) {
    const std::string msg = error(bad);
    INFO(bad << " -> " << msg);
    CHECK(msg.find("expert_tp") != std::string::npos);
  }
}
