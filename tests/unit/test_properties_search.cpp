// SPDX-License-Identifier: Apache-2.0
// Properties of the plan search (include/ridgeline/search.hpp) over a few models, accelerators and
// SLOs: a looser SLO never lowers the best plan's throughput (the feasible set only grows), and
// the best plan written as a scenario (what `plan --write-scenario` writes) evaluates to the
// identical numbers when read back.
#include <catch2/catch.hpp>

#include <iterator>
#include <random>

#include "ridgeline/io/database.hpp"
#include "ridgeline/search.hpp"
#include "support/invariants.hpp"

using namespace ridgeline;

namespace {

const io::Database& db() {
  static const io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

struct Combo {
  const char* model;
  const char* hardware;
};
// Different attention kinds (MLA, GQA), expert counts and fabrics, kept small to stay fast.
constexpr Combo kCombos[] = {{"deepseek-v3", "h800"}, {"qwen3-235b-a22b", "h20"}, {"mixtral-8x7b", "h100-sxm"}};

SearchSpace space_for(const Accelerator& hw) {
  SearchSpace s;
  s.ep_hardware = s.attention_hardware = s.ffn_hardware = {&hw};
  s.max_gpus = 64;
  return s;
}

double score_of(const Candidate* c) {
  return c ? c->score : 0.0;
}

}  // namespace

TEST_CASE("property: a looser SLO never lowers the best plan's throughput", "[properties][search]") {
  for (const auto& [model, hardware] : kCombos) {
    const auto& m = db().model(model);
    const auto& hw = db().hardware(hardware);
    double prev_ep = 0, prev_afd = 0;
    for (double slo_s : {0.02, 0.035, 0.05, 0.1, 0.2}) {
      Workload w;
      w.tpot_slo_s = slo_s;
      const SearchResult r = search_plans(m, Precision{}, w, space_for(hw));
      INFO(model << " on " << hardware << " at SLO " << slo_s << " s");
      // Rounding in the batch search is the only slack: 1e-9 relative.
      CHECK(score_of(r.best_ep()) >= prev_ep * (1 - 1e-9));
      CHECK(score_of(r.best_afd()) >= prev_afd * (1 - 1e-9));
      prev_ep = std::max(prev_ep, score_of(r.best_ep()));
      prev_afd = std::max(prev_afd, score_of(r.best_afd()));
    }
    CHECK(prev_ep + prev_afd > 0);  // something was feasible, or the property tested nothing
  }
}

TEST_CASE("property: the best plan written as a scenario evaluates to identical numbers", "[properties][search]") {
  for (const auto& [model, hardware] : kCombos) {
    Workload w;
    w.tpot_slo_s = 0.05;
    const auto& m = db().model(model);
    const SearchResult r = search_plans(m, Precision{}, w, space_for(db().hardware(hardware)));
    for (const Candidate* c : {r.best_ep(), r.best_afd()}) {
      if (!c) continue;
      // What `plan --write-scenario` writes (src/cli/plan_common.cpp scenario_of).
      io::Scenario sc;
      sc.model = m;
      sc.workload = w;
      sc.deployment = c->deployment;
      sc.attention_hardware_id = c->deployment.attention.hw->id;
      sc.ffn_hardware_id = c->deployment.ffn.hw ? c->deployment.ffn.hw->id : sc.attention_hardware_id;
      const std::string text = io::scenario_to_json(sc);
      INFO(model << " on " << hardware << ":\n" << text);
      const io::Scenario back = io::parse_scenario(text, "plan.json", db());
      const Evaluation e = evaluate(back.model, back.precision, back.workload, back.deployment, back.efficiencies);
      REQUIRE(e.feasible == c->evaluation.feasible);
      const auto f0 = testing::nonnegative_fields(c->evaluation), f1 = testing::nonnegative_fields(e);
      for (size_t k = 0; k < f0.size(); ++k) {
        INFO(f0[k].first);
        CHECK(f1[k].second == f0[k].second);
      }
    }
  }
}

namespace {

// Random model x hardware x budget x SLO cases for the monotonicity properties. The AFD search is
// the one with a heuristic (BALANCE picks where the attention-count walk starts); EP is exhaustive
// over GPU counts and is checked alongside.
struct RandomCase {
  const ModelSpec* model;
  const Accelerator* hw;
  int budget;
  double slo_s;
  bool bubble_free;
};

RandomCase random_case(std::mt19937_64& rng) {
  static const char* models[] = {"deepseek-v3", "qwen3-235b-a22b", "mixtral-8x7b", "kimi-k2", "step-3",
                                 "gpt-oss-120b", "glm-4.5", "llama-4-maverick", "deepseek-v2", "qwen3-30b-a3b"};
  static const char* hardware[] = {"h800", "h20", "h100-sxm", "h200", "b200", "gb200", "b300", "mi300x"};
  static const int budgets[] = {16, 24, 32, 48, 64, 96, 128};
  auto pick = [&](auto& arr) { return arr[std::uniform_int_distribution<size_t>(0, std::size(arr) - 1)(rng)]; };
  RandomCase r;
  r.model = &db().model(pick(models));
  r.hw = &db().hardware(pick(hardware));
  r.budget = pick(budgets);
  r.slo_s = std::uniform_real_distribution<double>(0.02, 0.15)(rng);
  r.bubble_free = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
  return r;
}

SearchResult search_case(const RandomCase& rc, double slo_s, int budget, bool ep) {
  Workload w;
  w.tpot_slo_s = slo_s;
  SearchSpace s = space_for(*rc.hw);
  s.max_gpus = budget;
  s.require_bubble_free = rc.bubble_free;
  s.search_ep = ep;
  return search_plans(*rc.model, Precision{}, w, s);
}

}  // namespace

TEST_CASE("property: over 200 random cases a looser SLO or a larger budget never lowers the best plan",
          "[properties][search]") {
  std::mt19937_64 rng(20261202);
  int afd_feasible = 0;
  for (int i = 0; i < 200; ++i) {
    const RandomCase rc = random_case(rng);
    const double looser_s = rc.slo_s * std::uniform_real_distribution<double>(1.005, 1.3)(rng);
    const int larger = rc.budget + 8 * std::uniform_int_distribution<int>(1, 4)(rng);
    // EP is exhaustive and slow to repeat: checked on one case in four.
    const bool ep = i % 4 == 0;
    const SearchResult base = search_case(rc, rc.slo_s, rc.budget, ep);
    const SearchResult slo = search_case(rc, looser_s, rc.budget, ep);
    const SearchResult gpus = search_case(rc, rc.slo_s, larger, ep);
    INFO("case " << i << ": " << rc.model->id << " on " << rc.hw->id << ", budget " << rc.budget << " -> " << larger
                 << " GPUs, SLO " << rc.slo_s * 1e3 << " -> " << looser_s * 1e3 << " ms"
                 << (rc.bubble_free ? ", bubble-free" : ""));
    const double afd = score_of(base.best_afd());
    if (afd > 0) ++afd_feasible;
    CHECK(score_of(slo.best_afd()) >= afd * (1 - 1e-9));
    CHECK(score_of(gpus.best_afd()) >= afd * (1 - 1e-9));
    if (ep) {
      CHECK(score_of(slo.best_ep()) >= score_of(base.best_ep()) * (1 - 1e-9));
      CHECK(score_of(gpus.best_ep()) >= score_of(base.best_ep()) * (1 - 1e-9));
    }
  }
  CHECK(afd_feasible >= 50);  // the property was tested on feasible plans, not on empty results
}

TEST_CASE("search: an error inside a worker thread reaches the caller as an exception", "[search]") {
  // A100 has no FP8 peak: every task throws, on every thread.
  SearchSpace s = space_for(db().hardware("a100-80g"));
  s.threads = 4;
  Workload w;
  w.tpot_slo_s = 0.05;
  CHECK_THROWS_WITH(search_plans(db().model("deepseek-v3"), Precision{}, w, s), Catch::Contains("fp8"));
}

TEST_CASE("search: a set cancel flag stops the search with Cancelled", "[search]") {
  SearchSpace s = space_for(db().hardware("h800"));
  const std::atomic<bool> cancel{true};
  s.cancel = &cancel;
  Workload w;
  w.tpot_slo_s = 0.05;
  CHECK_THROWS_AS(search_plans(db().model("deepseek-v3"), Precision{}, w, s), Cancelled);
  const std::atomic<bool> go_on{false};
  s.cancel = &go_on;
  CHECK(search_plans(db().model("deepseek-v3"), Precision{}, w, s).best_ep() != nullptr);
}
