// SPDX-License-Identifier: Apache-2.0
// Properties of the plan search (include/ridgeline/search.hpp) over a few models, accelerators and
// SLOs: a looser SLO never lowers the best plan's throughput (the feasible set only grows), and
// the best plan written as a scenario (what `plan --write-scenario` writes) evaluates to the
// identical numbers when read back.
#include <catch2/catch.hpp>

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
