// SPDX-License-Identifier: Apache-2.0
// Property tests over random valid models, accelerators, workloads and EP/AFD deployments
// (tests/support/random_cases.hpp, seeded): the invariants every evaluation must keep.
//  - every output is finite and non-negative; a feasible plan meets every constraint re-checked
//  - more scale-out bandwidth never lowers throughput
//  - doubling every FLOP/s and bandwidth never slows any stage
//  - a looser SLO never makes a feasible plan infeasible
//  - scenario_to_json -> parse_scenario gives the identical evaluation
#include <catch2/catch.hpp>

#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"
#include "support/invariants.hpp"
#include "support/random_cases.hpp"

using namespace ridgeline;
using namespace ridgeline::testing;

namespace {

constexpr int kCases = 400;  // per property; the whole file runs in well under a second

/// One random case. Deployment pointers are bound at evaluation time so copies stay valid.
struct Case {
  ModelSpec m;
  Accelerator a, f;
  bool same_hw = true;  ///< AFD: one accelerator on both sides (pointer-equal, as the loader does)
  Workload w;
  Precision p;
  Deployment d;
  Efficiencies eff;

  Evaluation run() const {
    Deployment b = d;
    b.attention.hw = &a;
    b.ffn.hw = (d.strategy == Strategy::ep || same_hw) ? &a : &f;
    return evaluate(m, p, w, b, eff);
  }
};

Case random_case(int index) {
  Rng r(0x5eed0000u + uint64_t(index));
  Case c;
  c.m = random_model(r);
  c.a = random_accelerator(r);
  c.same_hw = r.chance(0.5);
  c.f = c.same_hw ? c.a : random_accelerator(r);
  c.w = random_workload(r);
  c.p = random_precision(r, c.a, c.f);
  c.d = r.chance(0.5) ? random_ep(r, c.a) : random_afd(r, c.a, c.f);
  if (r.chance(0.3)) c.eff.kernel_overhead_s = 0;
  return c;
}

void scale_hardware(Accelerator& h, double compute, double hbm, double up, double out) {
  for (auto* peak :
       {&h.peak_fp4_flops_per_s, &h.peak_fp8_flops_per_s, &h.peak_bf16_flops_per_s, &h.peak_int8_flops_per_s})
    if (*peak) **peak *= compute;
  h.hbm_bytes_per_s *= hbm;
  h.scale_up.bytes_per_s *= up;
  h.scale_out.bytes_per_s *= out;
}

// Relative slack for "never worse": the compared values are computed by the same formulas, so
// only rounding (a few ulps over a dozen operations) can separate them.
constexpr double kRel = 1e-12;
bool not_slower(double after_s, double before_s) {
  return after_s <= before_s * (1 + kRel);
}

std::string describe(const Case& c, int i) {
  return "case " + std::to_string(i) + ": " + strategy_name(c.d.strategy) + " " +
         attention_kind_name(c.m.attention.kind) + " layers=" + std::to_string(c.m.num_layers) +
         " experts=" + std::to_string(c.m.moe.num_experts) + " top_k=" + std::to_string(c.m.moe.top_k) +
         " gpus=" + std::to_string(c.d.attention.gpus) + "+" + std::to_string(c.d.ffn.gpus) +
         " mb=" + std::to_string(c.d.micro_batches);
}

}  // namespace

TEST_CASE("property: every output is finite and non-negative, feasible plans meet every constraint", "[properties]") {
  int feasible = 0, infeasible = 0;
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(i);
    const Evaluation e = c.run();
    INFO(describe(c, i));
    REQUIRE(evaluation_problem(e, c.w) == "");
    REQUIRE(e.reason != Infeasible::bad_shape);  // the generator only builds valid shapes
    (e.feasible ? feasible : infeasible)++;
  }
  // The generator must reach both outcomes, or the constraint re-check above tests nothing.
  CHECK(feasible > kCases / 20);
  CHECK(infeasible > kCases / 20);
}

TEST_CASE("property: more scale-out bandwidth never lowers throughput", "[properties]") {
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(i);
    Case more = c;
    Rng r{uint64_t(i)};
    const double factor = r.log_uniform(1.01, 20);
    scale_hardware(more.a, 1, 1, 1, factor);
    scale_hardware(more.f, 1, 1, 1, factor);
    const Evaluation e0 = c.run(), e1 = more.run();
    INFO(describe(c, i) << " scale-out x" << factor);
    REQUIRE(e1.tokens_per_s >= e0.tokens_per_s * (1 - kRel));
    REQUIRE(not_slower(e1.tpot_s, e0.tpot_s));
    REQUIRE(not_slower(e1.dispatch_s, e0.dispatch_s));
    REQUIRE(not_slower(e1.combine_s, e0.combine_s));
  }
}

TEST_CASE("property: doubling every FLOP/s and bandwidth never slows anything", "[properties]") {
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(i);
    Case fast = c;
    scale_hardware(fast.a, 2, 2, 2, 2);
    scale_hardware(fast.f, 2, 2, 2, 2);
    const Evaluation e0 = c.run(), e1 = fast.run();
    INFO(describe(c, i));
    for (const auto& [name, before, after] :
         {std::tuple{"attention_s", e0.attention_s, e1.attention_s}, std::tuple{"ffn_s", e0.ffn_s, e1.ffn_s},
          std::tuple{"dispatch_s", e0.dispatch_s, e1.dispatch_s}, std::tuple{"combine_s", e0.combine_s, e1.combine_s},
          std::tuple{"slot_s", e0.slot_s, e1.slot_s},
          std::tuple{"dense_layers_s", e0.dense_layers_s, e1.dense_layers_s},
          std::tuple{"lm_head_s", e0.lm_head_s, e1.lm_head_s},
          std::tuple{"iteration_s", e0.iteration_s, e1.iteration_s}, std::tuple{"tpot_s", e0.tpot_s, e1.tpot_s}}) {
      INFO(name << ": " << before << " s -> " << after << " s");
      REQUIRE(not_slower(after, before));
    }
    REQUIRE(e1.tokens_per_s >= e0.tokens_per_s * (1 - kRel));
    // Faster hardware cannot turn a feasible plan infeasible (memory is unchanged).
    if (e0.feasible) REQUIRE(e1.feasible);
  }
}

TEST_CASE("property: a looser SLO never makes a feasible plan infeasible", "[properties]") {
  for (int i = 0; i < kCases; ++i) {
    Case c = random_case(i);
    const Evaluation e0 = c.run();
    c.w.tpot_slo_s *= 1.5;
    const Evaluation e1 = c.run();
    INFO(describe(c, i));
    if (e0.feasible) REQUIRE(e1.feasible);
    REQUIRE(e1.tokens_per_s == e0.tokens_per_s);  // the SLO is a constraint, not a model input
  }
}

TEST_CASE("property: a scenario written by scenario_to_json evaluates to identical numbers", "[properties]") {
  static const io::Database db = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  const auto hw_ids = db.hardware_ids();
  const auto model_ids = db.model_ids();
  for (int i = 0; i < kCases / 4; ++i) {
    Rng r(0xabc000u + uint64_t(i));
    io::Scenario s;
    s.model = db.model(model_ids[r.integer(0, int(model_ids.size()) - 1)]);
    s.attention_hardware_id = hw_ids[r.integer(0, int(hw_ids.size()) - 1)];
    s.ffn_hardware_id = r.chance(0.5) ? s.attention_hardware_id : hw_ids[r.integer(0, int(hw_ids.size()) - 1)];
    s.hardware.push_back(db.hardware(s.attention_hardware_id));
    s.hardware.push_back(db.hardware(s.ffn_hardware_id));
    s.workload = random_workload(r);
    s.precision = random_precision(r, s.hardware[0], s.hardware[1]);
    s.deployment = r.chance(0.5) ? random_ep(r, s.hardware[0]) : random_afd(r, s.hardware[0], s.hardware[1]);
    if (s.deployment.strategy == Strategy::ep) s.ffn_hardware_id = s.attention_hardware_id;
    s.deployment.attention.hw = &s.hardware[0];
    s.deployment.ffn.hw = s.deployment.strategy == Strategy::ep || s.ffn_hardware_id == s.attention_hardware_id
                              ? &s.hardware[0]
                              : &s.hardware[1];
    const std::string text = io::scenario_to_json(s);
    INFO("case " << i << ":\n" << text);
    const io::Scenario back = io::parse_scenario(text, "roundtrip.json", db);
    const Evaluation e0 = evaluate(s.model, s.precision, s.workload, s.deployment, s.efficiencies);
    const Evaluation e1 = evaluate(back.model, back.precision, back.workload, back.deployment, back.efficiencies);
    REQUIRE(e1.feasible == e0.feasible);
    REQUIRE(e1.reason == e0.reason);
    const auto f0 = nonnegative_fields(e0), f1 = nonnegative_fields(e1);
    for (size_t k = 0; k < f0.size(); ++k) {
      INFO(f0[k].first);
      REQUIRE(f1[k].second == f0[k].second);  // exact: JSON keeps 17 significant digits
    }
    REQUIRE(io::scenario_to_json(back) == text);
  }
}
