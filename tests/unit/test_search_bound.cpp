// SPDX-License-Identifier: Apache-2.0
// The AFD search's branch and bound (search_bound.hpp): the bound is at or above the score of
// every feasible plan of its family, and a search that skips families by it returns the plans
// of the search that does not, for several models, hardware mixes, SLOs and objectives.
#include <catch2/catch.hpp>

#include "ridgeline/io/database.hpp"
#include "ridgeline/search.hpp"

using namespace ridgeline;

namespace {

const io::Database& db() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

SearchSpace kinds(const std::vector<std::string>& ids) {
  SearchSpace s;
  for (const auto& id : ids) s.ep_hardware.push_back(&db().hardware(id));
  s.attention_hardware = s.ffn_hardware = s.ep_hardware;
  return s;
}

void require_same_plans(const std::vector<Candidate>& a, const std::vector<Candidate>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].score == b[i].score);
    CHECK(search_detail::plan_key(a[i]) == search_detail::plan_key(b[i]));
  }
}

}  // namespace

TEST_CASE("AFD score bound: no feasible plan of a family scores above it", "[search][bound]") {
  struct Case {
    const char* model;
    const char* attention;
    const char* ffn;
    double slo_s;
    int mtp_draft;
  };
  for (const Case& k : {Case{"deepseek-v3", "h800", "h800", 0.050, 0}, Case{"deepseek-v3", "h20", "h800", 0.030, 0},
                        Case{"deepseek-v3", "gb200", "gb200", 0.100, 1},
                        Case{"qwen3-235b-a22b", "h200", "l40s", 0.050, 0}, Case{"step-3", "h800", "h800", 0.050, 0}}) {
    const ModelSpec& m = db().model(k.model);
    const Accelerator& ha = db().hardware(k.attention);
    const Accelerator& hf = db().hardware(k.ffn);
    Workload w;
    w.tpot_slo_s = k.slo_s;
    w.mtp_draft_tokens = k.mtp_draft;
    if (k.mtp_draft > 0) w.mtp_acceptance = 1.7;
    const Precision p;
    const Efficiencies eff;
    int checked = 0;
    double tightest = 0;  // the largest score / bound seen
    for (int tp_a : {1, 2, 8})
      for (int mb : {3, 4})
        for (int ffn_gpus : {8, 16, 32, 64}) {
          const double rate_a = afd_attention_rate_bound(m, p, w, eff, ha, tp_a, mb, true);
          const double rate_f = afd_ffn_rate_bound(m, p, w, eff, hf, ffn_gpus, 1, mb);
          const double bound = afd_score_bound(rate_a, 1, rate_f, 1);
          REQUIRE(std::isfinite(bound));
          for (int instances : {1, 4, 12, 40, 96, 200, 400}) {
            Deployment d;
            d.strategy = Strategy::afd;
            d.micro_batches = mb;
            d.attention = {&ha, instances * tp_a, tp_a};
            d.ffn = {&hf, ffn_gpus, 1};
            for (double batch = mb; batch < 1e6; batch *= 1.37) {
              d.global_batch = std::floor(batch);
              const Evaluation e = evaluate(m, p, w, d, eff);
              if (!e.feasible) continue;
              ++checked;
              INFO(k.model << " " << k.attention << "/" << k.ffn << " TP_a " << tp_a << " m " << mb << " F " << ffn_gpus
                           << " n_a " << instances << " batch " << d.global_batch);
              REQUIRE(e.tokens_per_s_per_gpu <= bound);
              tightest = std::max(tightest, e.tokens_per_s_per_gpu / bound);
            }
          }
        }
    INFO(k.model << " " << k.attention << "/" << k.ffn);
    CHECK(checked > 50);
    // Useful, not only sound: the best plans reach 0.65-0.84 of their family's bound, 0.43 for H20
    // attention at 30 ms, where the communication the bound leaves out takes the largest share.
    CHECK(tightest > 0.3);
  }
}

TEST_CASE("AFD score bound: infeasible SLOs bound to zero, rates grow with a looser SLO", "[search][bound]") {
  const ModelSpec& m = db().model("deepseek-v3");
  const Accelerator& h = db().hardware("h800");
  Workload w;
  w.tpot_slo_s = 0.004;  // below the 5 ms step gap: nothing is feasible
  CHECK(afd_attention_rate_bound(m, Precision{}, w, {}, h, 1, 3, true) == 0);
  CHECK(afd_ffn_rate_bound(m, Precision{}, w, {}, h, 16, 1, 3) == 0);
  double last_a = 0, last_f = 0;
  for (double slo : {0.020, 0.050, 0.100, 0.200}) {
    w.tpot_slo_s = slo;
    const double a = afd_attention_rate_bound(m, Precision{}, w, {}, h, 1, 3, true);
    const double f = afd_ffn_rate_bound(m, Precision{}, w, {}, h, 16, 1, 3);
    CHECK(a >= last_a);
    CHECK(f >= last_f);
    last_a = a, last_f = f;
  }
}

TEST_CASE("AFD search with the score bound returns the plans of the search without it", "[search][bound]") {
  struct Case {
    const char* model;
    std::vector<std::string> hardware;
    double slo_s;
    Objective objective;
    int top_k;
  };
  const std::vector<Case> cases = {
      {"deepseek-v3", {"h800"}, 0.050, Objective::tokens_per_gpu, 3},
      {"deepseek-v3", {"h800", "h20", "gb200"}, 0.030, Objective::tokens_per_gpu, 5},
      {"deepseek-v3", {"h20", "l40s", "h200"}, 0.100, Objective::tokens_per_dollar, 3},
      {"qwen3-235b-a22b", {"h800", "l40s"}, 0.050, Objective::tokens_per_watt, 2},
      {"step-3", {"h800", "h20"}, 0.050, Objective::tokens_per_gpu, 4},
  };
  for (const Case& k : cases) {
    INFO(k.model << " SLO " << k.slo_s << " objective " << objective_name(k.objective));
    SearchSpace s = kinds(k.hardware);
    s.search_ep = false;
    s.max_gpus = 512;
    s.objective = k.objective;
    s.top_k = k.top_k;
    Workload w;
    w.tpot_slo_s = k.slo_s;
    const ModelSpec& m = db().model(k.model);
    const SearchResult pruned = search_plans(m, Precision{}, w, s);
    s.prune_by_bound = false;
    const SearchResult full = search_plans(m, Precision{}, w, s);
    REQUIRE(full.best_afd());
    require_same_plans(pruned.afd, full.afd);
    CHECK(full.rejected[int(Rejection::score_bound)] == 0);
    CHECK(pruned.rejected[int(Rejection::score_bound)] > 0);
    CHECK(pruned.shapes < full.shapes);
  }
}

TEST_CASE("AFD search with the score bound: counts do not depend on the thread count", "[search][bound]") {
  SearchSpace s = kinds({"h800", "h20", "h200"});
  s.top_k = 3;
  s.threads = 1;
  const ModelSpec& m = db().model("deepseek-v3");
  const SearchResult a = search_plans(m, Precision{}, Workload{}, s);
  s.threads = 3;
  const SearchResult b = search_plans(m, Precision{}, Workload{}, s);
  require_same_plans(a.afd, b.afd);
  require_same_plans(a.ep, b.ep);
  CHECK(a.shapes == b.shapes);
  CHECK(a.evaluations == b.evaluations);
  CHECK(a.rejected == b.rejected);
  CHECK(a.rejected[int(Rejection::score_bound)] > 0);
}
