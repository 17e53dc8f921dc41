// SPDX-License-Identifier: Apache-2.0
#include "present/sensitivity.hpp"

#include <fmt/format.h>

#include <functional>

namespace ridgeline::present {

namespace {

struct End {
  std::string label;
  std::function<void(SearchSetup&)> apply;
};
struct Parameter {
  std::string name;
  End low, high;
};

void set_contention(SearchSetup& s, TransportKind k, double v) {
  s.efficiencies.transports[size_t(k)].contention = v;
}

void scale_fixed_costs(SearchSetup& s, double f) {
  for (auto& t : s.efficiencies.transports) t.fixed_s *= f;
}

void scale_attention(SearchSetup& s, double f) {
  // On each accelerator's own fractions (its measured profile or the generic ones), capped at 1.
  s.efficiencies.attention_efficiency_scale *= f;
}

/// The uncertain parameters and their sourced ranges (README "Defaults and their sources").
std::vector<Parameter> parameters() {
  using TK = TransportKind;
  return {
      {"EP transport contention (deepep_low_latency)",
       {"0", [](SearchSetup& s) { set_contention(s, TK::deepep_low_latency, 0.0); }},
       {"0.5", [](SearchSetup& s) { set_contention(s, TK::deepep_low_latency, 0.5); }}},
      {"AFD transport contention (cpu_rdma)",
       {"0", [](SearchSetup& s) { set_contention(s, TK::cpu_rdma, 0.0); }},
       {"0.5", [](SearchSetup& s) { set_contention(s, TK::cpu_rdma, 0.5); }}},
      {"per-transfer fixed cost (all transports)",
       {"x0.5", [](SearchSetup& s) { scale_fixed_costs(s, 0.5); }},
       {"x2", [](SearchSetup& s) { scale_fixed_costs(s, 2.0); }}},
      {"iteration gap",
       {"2 ms", [](SearchSetup& s) { s.workload.iteration_gap_s = 2e-3; }},
       {"10 ms", [](SearchSetup& s) { s.workload.iteration_gap_s = 10e-3; }}},
      {"expert load imbalance",
       {"balanced", [](SearchSetup& s) { s.workload.expert_load_imbalance = 1.0; }},
       {"uniform x1.2",
        [](SearchSetup& s) {
          // Real routing is skewed beyond uniform even with EPLB (SGLang: 50,302 vs 59,337
          // tok/s/node with default EPLB vs simulated perfect balance, ~1.18x).
          s.workload.expert_load_imbalance = 0;
          s.workload.routing_skew_by_ranks = std::make_shared<const std::vector<double>>(
              std::vector<double>(size_t(s.model->moe.num_experts) + 1, 1.2));
        }}},
      {"KV-length spread (CV)",
       // 0: every sequence equally long (a fixed-length benchmark); 0.92: Azure's public code trace.
       {"0", [](SearchSetup& s) { s.workload.context_cv = 0.0; }},
       {"0.92", [](SearchSetup& s) { s.workload.context_cv = 0.92; }}},
      {"attention kernel efficiency",
       {"x0.8", [](SearchSetup& s) { scale_attention(s, 0.8); }},
       {"x1.1", [](SearchSetup& s) { scale_attention(s, 1.1); }}},
      // Which kernels price the operators: the accelerators' measured profiles (TensorRT-LLM's
      // tables on most GPUs) or the generic fractions (DeepGEMM / FlashMLA on H800).
      {"kernel tables (roofline fractions)",
       {"generic", [](SearchSetup& s) { s.efficiencies.hardware_profiles = false; }},
       {"measured", [](SearchSetup& s) { s.efficiencies.hardware_profiles = true; }}},
  };
}

double resized_score(const SearchSetup& s, const Candidate* c) {
  if (!c) return 0;
  const BatchSearchResult r = best_batch(*s.model, s.precision, s.workload, c->deployment, s.efficiencies);
  if (!r.found) return 0;
  return objective_value(r.best, s.space.objective);
}

std::string winner_of(double ep, double afd) {
  if (ep <= 0 && afd <= 0) return "none";
  return afd > ep ? "afd" : "ep";
}

}  // namespace

std::vector<SensitivityRow> run_sensitivity(const SearchSetup& base, const Candidate* best_ep,
                                            const Candidate* best_afd, bool full) {
  std::vector<SensitivityRow> rows;
  for (const Parameter& p : parameters()) {
    SensitivityRow row;
    row.parameter = p.name;
    row.low = p.low.label;
    row.high = p.high.label;
    for (int end = 0; end < 2; ++end) {
      SearchSetup s = base;
      (end == 0 ? p.low : p.high).apply(s);
      double ep = 0, afd = 0;
      if (full) {
        s.space.top_k = 1;
        s.space.keep_pareto = false;
        const SearchResult r = search_plans(*s.model, s.precision, s.workload, s.space, s.efficiencies);
        ep = r.best_ep() ? r.best_ep()->score : 0;
        afd = r.best_afd() ? r.best_afd()->score : 0;
      } else {
        ep = resized_score(s, best_ep);
        afd = resized_score(s, best_afd);
      }
      (end == 0 ? row.ep_low : row.ep_high) = ep;
      (end == 0 ? row.afd_low : row.afd_high) = afd;
      (end == 0 ? row.winner_low : row.winner_high) = winner_of(ep, afd);
    }
    rows.push_back(row);
  }
  return rows;
}

std::string robustness_line(const std::vector<SensitivityRow>& rows, const std::string& winner, bool full) {
  std::vector<std::string> flips;
  for (const auto& r : rows)
    if (r.winner_low != winner || r.winner_high != winner)
      flips.push_back(fmt::format("{} ({} at {}, {} at {})", r.parameter, r.winner_low, r.low, r.winner_high, r.high));
  const char* how = full ? "re-searched" : "these two plans re-sized";
  if (flips.empty())
    return fmt::format(
        "verdict robust: {} wins at both ends of every uncertain parameter's range ({}; "
        "--sensitivity for the table)",
        winner, how);
  std::string list;
  for (const auto& f : flips) list += (list.empty() ? "" : "; ") + f;
  return fmt::format(
      "verdict NOT robust: the winner changes within the sourced range of {} ({}; --sensitivity "
      "for the table)",
      list, how);
}

}  // namespace ridgeline::present
