// SPDX-License-Identifier: Apache-2.0
#include "present/plan_csv.hpp"

#include "present/search.hpp"

namespace ridgeline::present {

const std::vector<std::string>& plan_csv_columns() {
  static const std::vector<std::string> kColumns = {"strategy",
                                                    "plan",
                                                    "total_gpus",
                                                    "attention_hardware",
                                                    "attention_gpus",
                                                    "attention_tp",
                                                    "ffn_hardware",
                                                    "ffn_gpus",
                                                    "ffn_tp",
                                                    "ep",
                                                    "micro_batches",
                                                    "dispatch_style",
                                                    "batch_per_gpu",
                                                    "global_batch",
                                                    "sequences",
                                                    "tpot_s",
                                                    "tokens_per_s",
                                                    "tokens_per_s_per_gpu",
                                                    "tokens_per_s_per_user",
                                                    "tokens_per_s_per_dollar_hour",
                                                    "usd_per_million_tokens",
                                                    "tokens_per_s_per_watt",
                                                    "hfu",
                                                    "attention_s",
                                                    "ffn_s",
                                                    "dispatch_s",
                                                    "combine_s",
                                                    "slot_s",
                                                    "iteration_s",
                                                    "binding",
                                                    "batch_limited_by",
                                                    "score"};
  return kColumns;
}

std::vector<std::string> prefixed_plan_columns(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& c : plan_csv_columns()) out.push_back(prefix + c);
  return out;
}

nlohmann::json plan_fields(const Candidate& c, const std::string& prefix) {
  const Deployment& d = c.deployment;
  const Evaluation& e = c.evaluation;
  const bool ep = d.strategy == Strategy::ep;
  // Experts are spread over all GPUs in EP; over the FFN GPUs / expert-TP in AFD.
  const int ep_degree = ep ? d.attention.gpus : d.ffn.gpus / std::max(1, d.ffn.tp);
  nlohmann::json j = {{"strategy", strategy_name(d.strategy)},
                      {"plan", plan_label(d)},
                      {"total_gpus", e.total_gpus},
                      {"attention_hardware", d.attention.hw ? d.attention.hw->id : ""},
                      {"attention_gpus", d.attention.gpus},
                      {"attention_tp", d.attention.tp},
                      {"ffn_hardware", d.ffn.hw ? d.ffn.hw->id : (d.attention.hw ? d.attention.hw->id : "")},
                      {"ffn_gpus", ep ? d.attention.gpus : d.ffn.gpus},
                      {"ffn_tp", ep ? 1 : d.ffn.tp},
                      {"ep", ep_degree},
                      {"micro_batches", d.micro_batches},
                      {"dispatch_style", d.dispatch_style == DispatchStyle::low_latency ? "low_latency" : "normal"},
                      {"batch_per_gpu", ep ? nlohmann::json(d.batch_per_gpu) : nlohmann::json()},
                      {"global_batch", ep ? nlohmann::json() : nlohmann::json(d.global_batch)},
                      {"sequences", e.sequences},
                      {"tpot_s", e.tpot_s},
                      {"tokens_per_s", e.tokens_per_s},
                      {"tokens_per_s_per_gpu", e.tokens_per_s_per_gpu},
                      {"tokens_per_s_per_user", e.tokens_per_s_per_user},
                      {"tokens_per_s_per_dollar_hour", e.tokens_per_s_per_dollar_hour},
                      {"usd_per_million_tokens", e.usd_per_million_tokens},
                      {"tokens_per_s_per_watt", e.tokens_per_s_per_watt},
                      {"hfu", e.hfu},
                      {"attention_s", e.attention_s},
                      {"ffn_s", e.ffn_s},
                      {"dispatch_s", e.dispatch_s},
                      {"combine_s", e.combine_s},
                      {"slot_s", e.slot_s},
                      {"iteration_s", e.iteration_s},
                      {"binding", binding_name(e.binding)},
                      {"batch_limited_by", batch_limit_name(c)},
                      {"score", c.score}};
  if (prefix.empty()) return j;
  nlohmann::json p = nlohmann::json::object();
  for (auto it = j.begin(); it != j.end(); ++it) p[prefix + it.key()] = *it;
  return p;
}

}  // namespace ridgeline::present
