// SPDX-License-Identifier: Apache-2.0
// The plan search (L6): batch search correctness, determinism, and the qualitative results of
// MegaScale-Infer (megascale-infer.md §1-§3) and the AFD roofline paper (afd-roofline-paper.md
// §6). Tests state relations (A beats B), not exact numbers, so they survive model refinements.
#include <catch2/catch.hpp>

#include "ridgeline/io/database.hpp"
#include "ridgeline/search.hpp"

using namespace ridgeline;

namespace {

const io::Database& db() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

SearchSpace homogeneous(const Accelerator& hw) {
  SearchSpace s;
  s.ep_hardware = s.attention_hardware = s.ffn_hardware = {&hw};
  return s;
}

/// Best AFD tokens/s per GPU over best EP tokens/s per GPU (DeepSeek-style fp8 serving, 50 ms).
double afd_over_ep(const std::string& model, const std::string& hw, const Efficiencies& eff = {}) {
  Workload w;
  w.tpot_slo_s = 0.050;
  const SearchResult r = search_plans(db().model(model), Precision{}, w, homogeneous(db().hardware(hw)), eff);
  REQUIRE(r.best_ep());
  REQUIRE(r.best_afd());
  return r.best_afd()->score / r.best_ep()->score;
}

/// MegaScale-Infer's setting: bf16 everywhere, 150 ms TPOT SLO.
Precision bf16() {
  Precision p;
  p.weights = p.dispatch = p.combine = p.kv_cache = DType::bf16;
  return p;
}
Workload megascale_workload() {
  Workload w;
  w.tpot_slo_s = 0.150;
  return w;
}

}  // namespace

TEST_CASE("batch search returns the largest feasible batch (brute-force check)", "[search]") {
  const auto& m = db().model("dbrx");
  const auto& hw = db().hardware("a800");
  for (int na : {1, 3, 8}) {
    Deployment d;
    d.strategy = Strategy::afd;
    d.micro_batches = 3;
    d.attention = {&hw, 4 * na, 4};
    d.ffn = {&hw, 16, 1};
    const BatchSearchResult r = best_batch(m, bf16(), megascale_workload(), d, {});
    REQUIRE(r.found);
    d.global_batch = double(r.batch);
    CHECK(evaluate(m, bf16(), megascale_workload(), d).feasible);
    d.global_batch = double(r.batch + 1);
    const Evaluation next = evaluate(m, bf16(), megascale_workload(), d);
    CHECK_FALSE(next.feasible);
    CHECK(r.limit == next.reason);  // the reported limit is what stops one more sequence
    CHECK(r.evaluations < 30);      // bracketing, not a linear scan
  }
}

TEST_CASE("search results do not depend on the thread count", "[search]") {
  SearchSpace s = homogeneous(db().hardware("h800"));
  s.top_k = 5;
  s.keep_pareto = true;
  s.threads = 1;
  const SearchResult a = search_plans(db().model("deepseek-v3"), Precision{}, Workload{}, s);
  s.threads = 4;
  const SearchResult b = search_plans(db().model("deepseek-v3"), Precision{}, Workload{}, s);
  REQUIRE(a.ep.size() == b.ep.size());
  REQUIRE(a.afd.size() == b.afd.size());
  for (size_t i = 0; i < a.afd.size(); ++i) {
    CHECK(a.afd[i].score == b.afd[i].score);
    CHECK(a.afd[i].deployment.attention.gpus == b.afd[i].deployment.attention.gpus);
    CHECK(a.afd[i].deployment.global_batch == b.afd[i].deployment.global_batch);
  }
  CHECK(a.pareto.size() == b.pareto.size());
  CHECK(a.evaluations == b.evaluations);
  CHECK(a.rejected == b.rejected);
}

TEST_CASE("every searched plan is feasible and the Pareto frontier is non-dominated", "[search]") {
  SearchSpace s = homogeneous(db().hardware("h800"));
  s.top_k = 10;
  s.keep_pareto = true;
  Workload w;
  const auto& m = db().model("deepseek-v3");
  const SearchResult r = search_plans(m, Precision{}, w, s);
  for (const auto* list : {&r.ep, &r.afd, &r.pareto})
    for (const auto& c : *list) {
      const Evaluation e = evaluate(m, Precision{}, w, c.deployment);
      CHECK(e.feasible);
      CHECK(e.tokens_per_s_per_gpu == Approx(c.evaluation.tokens_per_s_per_gpu));
      CHECK(c.deployment.total_gpus() <= s.max_gpus);
    }
  REQUIRE(r.pareto.size() >= 2);
  for (size_t i = 1; i < r.pareto.size(); ++i) {
    CHECK(r.pareto[i].evaluation.tokens_per_s_per_user <= r.pareto[i - 1].evaluation.tokens_per_s_per_user);
    CHECK(r.pareto[i].evaluation.tokens_per_s_per_gpu > r.pareto[i - 1].evaluation.tokens_per_s_per_gpu);
  }
}

TEST_CASE("a GPU budget is respected and counted", "[search]") {
  SearchSpace s = homogeneous(db().hardware("h800"));
  s.max_gpus = 64;
  const SearchResult r = search_plans(db().model("deepseek-v3"), Precision{}, Workload{}, s);
  REQUIRE(r.best_ep());
  CHECK(r.best_ep()->deployment.total_gpus() <= 64);
  if (r.best_afd()) CHECK(r.best_afd()->deployment.total_gpus() <= 64);
  CHECK(r.rejected[int(Rejection::budget)] > 0);
  s.exact_gpus = 32;
  s.max_gpus = 32;
  const SearchResult x = search_plans(db().model("deepseek-v3"), Precision{}, Workload{}, s);
  for (const auto* c : {x.best_ep(), x.best_afd()})
    if (c) CHECK(c->deployment.total_gpus() == 32);
}

TEST_CASE("MegaScale-Infer m_min = ceil(2 (1 + T_c / T_f)) is 3 or 4", "[search][megascale]") {
  // megascale-infer.md §8 check 1: one hop T_c, T_a = T_e = T_f = 1.
  for (double r : {0.1, 0.49, 0.5}) CHECK(min_bubble_free_micro_batches(1, 1, 2 * r) == 3);
  for (double r : {0.51, 0.75, 0.99}) CHECK(min_bubble_free_micro_batches(1, 1, 2 * r) == 4);
  // The model's own best DBRX AFD plan: its m_min is 3 or 4, and the evaluation agrees that the
  // same micro-batch size is bubble-free at m_min and not at m_min - 1.
  const auto& m = db().model("dbrx");
  SearchSpace s = homogeneous(db().hardware("a800"));
  s.search_ep = false;
  s.require_bubble_free = true;
  const SearchResult r = search_plans(m, bf16(), megascale_workload(), s);
  REQUIRE(r.best_afd());
  const Evaluation& e = r.best_afd()->evaluation;
  CHECK(e.dispatch_s + e.combine_s < 2 * std::max(e.attention_s, e.ffn_s));  // hideable (Eq. 2)
  const int m_min = min_bubble_free_micro_batches(e.attention_s, e.ffn_s, e.dispatch_s + e.combine_s);
  CHECK((m_min == 3 || m_min == 4));
  Deployment d = r.best_afd()->deployment;
  const double per_micro_batch = d.global_batch / d.micro_batches;
  for (int mb : {m_min - 1, m_min}) {
    d.micro_batches = mb;
    d.global_batch = per_micro_batch * mb;
    CHECK(evaluate(m, bf16(), megascale_workload(), d).bubble_free == (mb == m_min));
  }
}

TEST_CASE("MegaScale-Infer balance rule n_a = k1 E / (k3 K) and the model's balance point", "[search][megascale]") {
  // megascale-infer.md §8 check 3: k1/k3 = 2, E = 16, K = 4 gives DBRX's n_a = 8.
  CHECK(balance_rule_instances(2.0, 1.0, 16, 4) == Approx(8.0));
  // Fit k1 (attention time per sequence) and k3 (expert time per token) from the model's own
  // stage times on A800 around the operating point, and check the rule against the search's
  // balance (which keeps the intercepts) within a factor of two.
  const auto& m = db().model("dbrx");
  const auto& hw = db().hardware("a800");
  const Precision p = bf16();
  const Workload w = megascale_workload();
  const Efficiencies eff;
  const int tp_a = 4;
  auto t_a = [&](double seqs) {
    return stage_time(attention_stage_ops(m, p, seqs, 1, w.context_tokens, tp_a, true, true), hw, eff).time_s;
  };
  auto t_e = [&](double tokens_per_expert) {
    return stage_time(ffn_stage_ops(m, p, tokens_per_expert, 1, 1, 1e6, 0), hw, eff).time_s;
  };
  const double k1 = (t_a(512) - t_a(256)) / 256;
  const double k3 = (t_e(2048) - t_e(1024)) / 1024;
  const double rule = balance_rule_instances(k1, k3, m.moe.num_experts, m.moe.top_k);
  const double model = balanced_attention_instances(m, p, w, eff, hw, tp_a, hw, m.moe.num_experts, 1, 3);
  INFO("rule " << rule << " model " << model);
  CHECK(rule > 0);
  CHECK(model / rule > 0.5);
  CHECK(model / rule < 2.0);
}

TEST_CASE("DBRX: per-GPU throughput rises with attention DP until T_a ~ T_e, then falls", "[search][megascale]") {
  const auto& m = db().model("dbrx");
  const auto& hw = db().hardware("a800");
  std::vector<double> tput, ratio;
  for (int na = 1; na <= 16; ++na) {
    Deployment d;
    d.strategy = Strategy::afd;
    d.micro_batches = 3;
    d.attention = {&hw, 4 * na, 4};
    d.ffn = {&hw, m.moe.num_experts, 1};  // one expert per FFN GPU, as in the paper
    const BatchSearchResult r = best_batch(m, bf16(), megascale_workload(), d, {});
    REQUIRE(r.found);
    tput.push_back(r.best.tokens_per_s_per_gpu);
    ratio.push_back(r.best.attention_s / r.best.ffn_s);
  }
  const size_t peak = size_t(std::max_element(tput.begin(), tput.end()) - tput.begin());
  INFO("peak at n_a = " << peak + 1 << ", T_a/T_e there = " << ratio[peak]);
  CHECK(peak > 0);                // rises first ...
  CHECK(peak + 1 < tput.size());  // ... then falls within the sweep
  for (size_t i = 1; i <= peak; ++i) CHECK(tput[i] > tput[i - 1]);
  for (size_t i = peak + 1; i < tput.size(); ++i) CHECK(tput[i] < tput[i - 1]);
  CHECK(ratio[peak] > 0.75);  // the peak sits where attention and expert times balance
  CHECK(ratio[peak] < 1.33);
  CHECK(ratio.front() > ratio.back());  // more attention instances: T_a/T_e falls
}

TEST_CASE("heterogeneous H20 attention + L40S experts beats either kind alone on tokens/s per $",
          "[search][megascale]") {
  // MegaScale-Infer §4.3 with its own Table 3 prices (normalised to L20 = 1): H20 1.85, L40S 1.08.
  // (hwdb's cloud rental prices rank the two the other way round; the paper's claim is about its prices.)
  Accelerator h20 = db().hardware("h20"), l40s = db().hardware("l40s");
  h20.price_usd_per_gpu_hour = 1.85;
  l40s.price_usd_per_gpu_hour = 1.08;
  for (const char* model : {"dbrx", "mixtral-8x22b", "megascale-scaled-moe"}) {
    const auto& m = db().model(model);
    auto best = [&](const Accelerator* a, const Accelerator* f, bool with_ep) {
      SearchSpace s;
      s.objective = Objective::tokens_per_dollar;
      s.search_ep = with_ep;
      s.ep_hardware = {a};
      s.attention_hardware = {a};
      s.ffn_hardware = {f};
      const SearchResult r = search_plans(m, bf16(), megascale_workload(), s);
      double v = 0;
      for (const Candidate* c : {r.best_ep(), r.best_afd()})
        if (c) v = std::max(v, c->score);
      return v;
    };
    const double hetero = best(&h20, &l40s, false);
    const double h20_only = best(&h20, &h20, true);
    const double l40s_only = best(&l40s, &l40s, true);
    INFO(model << ": H20+L40S " << hetero << ", H20 " << h20_only << ", L40S " << l40s_only);
    CHECK(hetero > h20_only);
    CHECK(hetero > l40s_only);
  }
}

TEST_CASE("AFD paper verdicts under the realistic defaults: the ratios README 'What changed' documents",
          "[search][afd-paper]") {
  // The paper (ideal overlap, balanced routing, no per-transfer cost) finds EP >= AFD for
  // DeepSeek-V3 on 400 Gb/s H800, a narrower gap on GB200 and Step-3 more AFD-friendly. With the
  // realistic defaults (decode TBO stage order, uniform routing imbalance, KV-length spread,
  // per-transfer costs, 5 ms step gap, measured hardware profiles) the first two hold and the
  // third reverses; README "What changed in the default plan's answer" explains why. This test
  // pins those numbers (+-10 %), so a model change that moves a verdict has to update the README
  // with it.
  const double dsv3_h800 = afd_over_ep("deepseek-v3", "h800");
  const double dsv3_gb200 = afd_over_ep("deepseek-v3", "gb200");
  const double step3_h800 = afd_over_ep("step-3", "h800");
  INFO("AFD/EP: DSv3 H800 " << dsv3_h800 << ", DSv3 GB200 " << dsv3_gb200 << ", Step-3 H800 " << step3_h800);
  CHECK(dsv3_h800 == Approx(0.83).epsilon(0.10));
  CHECK(dsv3_gb200 == Approx(0.87).epsilon(0.10));
  CHECK(step3_h800 == Approx(0.73).epsilon(0.10));
  // Under the symmetric what-if (every transport contends like a spinning DeepEP kernel) EP wins
  // DeepSeek-V3 on H800 clearly: the zero-SM property of CPU-driven RDMA carries AFD's case.
  Efficiencies symmetric;
  for (auto& t : symmetric.transports) t.contention = 0.5;
  CHECK(afd_over_ep("deepseek-v3", "h800", symmetric) < 0.9);
}

TEST_CASE("the BALANCE pruning finds (nearly) the plan a scan of every attention count finds", "[search]") {
  struct Case {
    const char* model;
    const char* hw;
    bool bf16_weights;
    double slo_s;
  };
  for (const Case& k : {Case{"deepseek-v3", "h800", false, 0.05}, Case{"dbrx", "a800", true, 0.15},
                        Case{"step-3", "gb200", false, 0.05}}) {
    SearchSpace s = homogeneous(db().hardware(k.hw));
    s.search_ep = false;
    s.max_gpus = 256;
    Workload w;
    w.tpot_slo_s = k.slo_s;
    const Precision p = k.bf16_weights ? bf16() : Precision{};
    const SearchResult pruned = search_plans(db().model(k.model), p, w, s);
    s.scan_all_attention_counts = true;
    const SearchResult full = search_plans(db().model(k.model), p, w, s);
    REQUIRE(pruned.best_afd());
    REQUIRE(full.best_afd());
    INFO(k.model << " on " << k.hw << ": pruned " << pruned.best_afd()->score << " (" << pruned.shapes
                 << " shapes), full scan " << full.best_afd()->score << " (" << full.shapes << " shapes)");
    CHECK(pruned.best_afd()->score >= 0.95 * full.best_afd()->score);
    CHECK(pruned.shapes < full.shapes);
  }
}

TEST_CASE("batch search: a hint changes the number of evaluations, never the answer", "[search]") {
  // TPOT affine in the batch with an intercept (as evaluate's is); feasible up to the SLO.
  for (long answer : {3L, 57L, 1000L, 4321L, 99999L}) {
    const double slo_s = 0.05, t0_s = 0.01, per_seq_s = (slo_s - t0_s) / (double(answer) + 0.5);
    auto eval = [&](long b) {
      Evaluation e;
      e.tpot_s = t0_s + per_seq_s * double(b);
      e.feasible = e.tpot_s <= slo_s;
      e.reason = e.feasible ? Infeasible::none : Infeasible::slo_violated;
      return e;
    };
    const BatchSearchResult plain = largest_feasible_batch(eval, 1, long(1) << 24, slo_s);
    REQUIRE(plain.batch == answer);
    for (long hint : {answer, answer - 1, answer + 1, answer / 2, answer * 3, 1L << 30}) {
      const BatchSearchResult r = largest_feasible_batch(eval, 1, long(1) << 24, slo_s, hint);
      INFO("answer " << answer << ", hint " << hint);
      CHECK(r.batch == answer);
      CHECK(r.limit == plain.limit);
    }
    // A close hint puts the first secant next to the answer: no more evaluations than without it.
    CHECK(largest_feasible_batch(eval, 1, long(1) << 24, slo_s, answer).evaluations <= plain.evaluations);
  }
}

TEST_CASE("batch search from a hint (memory known up front): the answer, limit and failure of the plain search",
          "[search]") {
  // TPOT affine in the batch; KV memory linear in it (weights + kv_per x batch against the
  // capacity); feasibility as evaluate decides it (weights, then KV, then the SLO).
  struct Case {
    double slo_s, t0_s, per_seq_s, weights, kv_per, capacity;
    long answer;  // 0: none
  };
  const Case cases[] = {
      {0.05, 0.01, 0.04 / 1000.5, 10, 0, 100, 1000},   // SLO-bound at 1000, no KV
      {0.05, 0.01, 0.04 / 1000.5, 10, 0.2, 100, 450},  // KV-bound at 450 before the SLO
      {0.05, 0.01, 0.04 / 57.5, 10, 0.001, 100, 57},   // SLO-bound at 57, KV far
      {0.05, 0.06, 1e-6, 10, 0.2, 100, 0},             // the SLO fails at every batch
      {0.05, 0.01, 1e-6, 120, 0.2, 100, 0},            // the weights do not fit
  };
  for (const Case& k : cases) {
    auto memory_at = [&](long b, MemoryUse& a, MemoryUse& f) {
      a.capacity_bytes = k.capacity;
      a.weights_bytes = k.weights;
      a.kv_bytes = k.kv_per * double(b);
      f = a;
    };
    auto eval = [&](long b) {
      Evaluation e;
      e.tpot_s = k.t0_s + k.per_seq_s * double(b);
      memory_at(b, e.attention_memory, e.ffn_memory);
      e.feasible = true;
      detail::check_memory(e);
      if (e.feasible && e.tpot_s > k.slo_s) e.feasible = false, e.reason = Infeasible::slo_violated;
      return e;
    };
    const BatchSearchResult plain = largest_feasible_batch(eval, 2, long(1) << 24, k.slo_s);
    CHECK(plain.found == (k.answer > 0));
    if (k.answer > 0) CHECK(plain.batch == k.answer);
    for (long hint : {3L, 56L, 57L, 58L, 449L, 450L, 451L, 999L, 1000L, 1001L, 5000L, 1L << 23}) {
      for (double slope : {0.0, k.per_seq_s, 3 * k.per_seq_s, 0.2 * k.per_seq_s}) {
        const BatchSearchResult r = largest_feasible_batch(eval, 2, long(1) << 24, k.slo_s, hint, memory_at, slope);
        INFO("answer " << plain.batch << " found " << plain.found << ", hint " << hint << ", slope " << slope);
        CHECK(r.found == plain.found);
        CHECK(r.batch == plain.batch);
        CHECK(r.limit == plain.limit);
        CHECK(r.best.feasible == plain.best.feasible);
        CHECK(r.best.reason == plain.best.reason);
        CHECK(r.best.tpot_s == plain.best.tpot_s);
      }
    }
    // An exact hint costs two evaluations (the hint and the batch above it).
    if (plain.found && plain.batch < 1000)
      CHECK(largest_feasible_batch(eval, 2, long(1) << 24, k.slo_s, plain.batch, memory_at).evaluations <= 2);
  }
}

TEST_CASE("search: probes without HFU, full evaluations of the returned plans", "[search]") {
  // The plans search_plans returns carry the full evaluation at their batch, whatever the
  // objective (HFU searches with full evaluations throughout).
  Workload w;
  w.tpot_slo_s = 0.05;
  const ModelSpec& m = db().model("deepseek-v3");
  for (Objective o : {Objective::tokens_per_gpu, Objective::tokens_per_dollar, Objective::hfu}) {
    SearchSpace s = homogeneous(db().hardware("h800"));
    s.max_gpus = 128;
    s.top_k = 5;
    s.keep_pareto = true;
    s.objective = o;
    const SearchResult r = search_plans(m, Precision{}, w, s);
    REQUIRE(r.best_ep());
    REQUIRE(r.best_afd());
    for (const auto* v : {&r.ep, &r.afd, &r.pareto})
      for (const Candidate& c : *v) {
        const Evaluation e = evaluate(m, Precision{}, w, c.deployment);
        CHECK(c.evaluation.hfu == e.hfu);
        CHECK(c.evaluation.hfu > 0);
        CHECK(c.evaluation.binding == e.binding);
        CHECK(c.evaluation.tpot_s == e.tpot_s);
        CHECK(c.score == objective_value(e, o));
      }
  }
}
