// SPDX-License-Identifier: Apache-2.0
#include "present/plan.hpp"

#include <chrono>
#include <deque>

#include "present/plan_csv.hpp"

namespace ridgeline::present {

const Candidate* PlanRun::best() const {
  const Candidate* ep = result.best_ep();
  const Candidate* afd = result.best_afd();
  if (!ep) return afd;
  if (!afd) return ep;
  return search_detail::better(*afd, *ep) ? afd : ep;
}

PlanRun run_plan(SearchSetup setup, int top, bool pareto, bool full_sensitivity) {
  PlanRun p;
  p.setup = std::move(setup);
  p.setup.space.top_k = top;
  p.setup.space.keep_pareto = pareto;
  const auto t0 = std::chrono::steady_clock::now();
  const SearchSetup& s = p.setup;
  p.result = search_plans(*s.model, s.precision, s.workload, s.space, s.efficiencies);
  p.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  p.full_sensitivity = full_sensitivity;
  // Robustness of the verdict: the full re-search with --sensitivity, else the two best plans
  // re-sized at each end of every range (a few ms).
  const SearchResult& r = p.result;
  if (r.best_ep() && r.best_afd()) {
    p.sensitivity = run_sensitivity(s, r.best_ep(), r.best_afd(), full_sensitivity);
    p.robustness = robustness_line(p.sensitivity, strategy_name(p.best()->deployment.strategy), full_sensitivity);
  }
  return p;
}

void add_per_hardware(PlanRun& run, const SearchFlags& flags, const io::Database& db) {
  run.per_hardware.clear();
  if (flags.hardware.size() <= 1) return;
  std::deque<Accelerator> owned;
  for (const Accelerator* hw : run.setup.space.ep_hardware) {
    SearchFlags f = flags;
    f.hardware = {hw->id};
    f.attention_hardware.clear();
    f.ffn_hardware.clear();
    run.per_hardware.emplace_back(hw->id, run_point(f, db, "", owned));
  }
}

nlohmann::json plan_json(const PlanRun& run, bool pareto) {
  const SearchSetup& s = run.setup;
  const SearchResult& r = run.result;
  const Candidate* best = run.best();
  nlohmann::json j;
  j["model"] = s.model->id;
  j["objective"] = objective_name(s.space.objective);
  j["tpot_slo_ms"] = s.workload.tpot_slo_s * 1e3;
  j["context_tokens"] = s.workload.context_tokens;
  j["ep"] = r.best_ep() ? candidate_json(s, *r.best_ep()) : nlohmann::json();
  j["afd"] = r.best_afd() ? candidate_json(s, *r.best_afd()) : nlohmann::json();
  j["winner"] = best ? strategy_name(best->deployment.strategy) : "none";
  j["ratio"] =
      r.best_ep() && r.best_afd() ? nlohmann::json(r.best_afd()->score / r.best_ep()->score) : nlohmann::json();
  j["ratio_is"] = "best AFD score / best EP score";
  if (!run.per_hardware.empty()) {
    nlohmann::json ph = nlohmann::json::array();
    for (const auto& [id, p] : run.per_hardware)
      ph.push_back({{"hardware", id},
                    {"ep", p.ep ? plan_fields(*p.ep) : nlohmann::json()},
                    {"afd", p.afd ? plan_fields(*p.afd) : nlohmann::json()},
                    {"winner", point_winner(p)}});
    j["per_hardware"] = ph;
  }
  nlohmann::json tj = nlohmann::json::array();
  for (const auto* list : {&r.ep, &r.afd})
    for (const auto& c : *list) tj.push_back(candidate_json(s, c));
  j["top"] = tj;
  if (pareto) {
    nlohmann::json pj = nlohmann::json::array();
    for (const auto& c : r.pareto) pj.push_back(candidate_json(s, c));
    j["pareto"] = pj;
  }
  nlohmann::json rej;
  for (int k = 0; k < kRejectionKinds; ++k) rej[rejection_name(Rejection(k))] = r.rejected[k];
  j["rejected"] = rej;
  j["search"] = {{"shapes", r.shapes}, {"evaluations", r.evaluations}, {"wall_s", run.wall_s}};
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& in : s.inputs) inputs.push_back({{"name", in.name}, {"value", in.value}, {"source", in.source}});
  j["inputs"] = inputs;
  if (!s.calibration_source.empty())
    j["calibration"] = {
        {"file", s.calibration_file}, {"source", s.calibration_source}, {"values", s.calibration_values}};
  nlohmann::json sj = nlohmann::json::array();
  for (const auto& row : run.sensitivity)
    sj.push_back({{"parameter", row.parameter},
                  {"low", row.low},
                  {"high", row.high},
                  {"ep_low", row.ep_low},
                  {"ep_high", row.ep_high},
                  {"afd_low", row.afd_low},
                  {"afd_high", row.afd_high},
                  {"winner_low", row.winner_low},
                  {"winner_high", row.winner_high}});
  j[run.full_sensitivity ? "sensitivity" : "sensitivity_resized"] = sj;
  j["verdict_robustness"] = run.robustness;
  return j;
}

}  // namespace ridgeline::present
