// SPDX-License-Identifier: Apache-2.0
// Scenario workload.routing / eplb_redundant_experts -> expert_load_imbalance -> evaluate.
#include <catch2/catch.hpp>

#include "ridgeline/evaluate.hpp"
#include "ridgeline/imbalance.hpp"
#include "ridgeline/io/database.hpp"

using namespace ridgeline;

namespace {

const io::Database& db() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

std::string ep_scenario(const std::string& workload_extra) {
  return R"({"model": "deepseek-v3",
    "workload": {"context_tokens": 4096, "tpot_slo": "1 s")" +
         workload_extra + R"(},
    "deployment": {"strategy": "ep", "hardware": "h800", "gpus": 64, "batch_per_gpu": 64, "micro_batches": 2}})";
}

std::string error_of(const std::string& text) {
  try {
    io::parse_scenario(text, "s.json", db());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("routing in a scenario sets expert_load_imbalance from imbalance.hpp", "[imbalance][scenario]") {
  const auto uni = io::parse_scenario(ep_scenario(R"(, "routing": {"uniform": true})"), "s.json", db());
  // EP over 64 GPUs, 64 sequences per GPU in 2 micro-batches: 32 tokens per rank per micro-batch.
  CHECK(uni.workload.expert_load_imbalance ==
        Approx(uniform_routing_load(256, 8, 64, 32.0 * 64).load_factor).epsilon(1e-12));
  const auto zipf = io::parse_scenario(ep_scenario(R"(, "routing": {"zipf": 0.6})"), "s.json", db());
  const auto eplb =
      io::parse_scenario(ep_scenario(R"(, "routing": {"zipf": 0.6}, "eplb_redundant_experts": 32)"), "s.json", db());
  CHECK(zipf.workload.expert_load_imbalance > uni.workload.expert_load_imbalance);
  CHECK(eplb.workload.expert_load_imbalance < zipf.workload.expert_load_imbalance);
  CHECK(eplb.deployment.redundant_experts == 32);
  // The hot rank sets t_f and receives more dispatch bytes.
  const auto e_uni = evaluate(uni.model, uni.precision, uni.workload, uni.deployment, uni.efficiencies);
  const auto e_zipf = evaluate(zipf.model, zipf.precision, zipf.workload, zipf.deployment, zipf.efficiencies);
  CHECK(e_zipf.ffn_s > e_uni.ffn_s);
  CHECK(e_zipf.dispatch_s > e_uni.dispatch_s);
  CHECK(e_zipf.tokens_per_s_per_gpu < e_uni.tokens_per_s_per_gpu);
}

TEST_CASE("routing: bad values give errors naming the JSON path and the fix", "[imbalance][scenario]") {
  CHECK_THAT(error_of(ep_scenario(R"(, "routing": {"zipf": -1})")),
             Catch::Contains("/workload/routing/zipf") && Catch::Contains("Fix"));
  CHECK_THAT(error_of(ep_scenario(R"(, "routing": {"zipf": 1, "uniform": true})")),
             Catch::Contains("exactly one routing model"));
  CHECK_THAT(error_of(ep_scenario(R"(, "routing": {"histogram": [1, 2, 3]})")),
             Catch::Contains("/workload/routing/histogram") && Catch::Contains("256"));
  CHECK_THAT(error_of(ep_scenario(R"(, "routing": {"zipf": 1}, "expert_load_imbalance": 1.2)")),
             Catch::Contains("given together with expert_load_imbalance"));
  CHECK_THAT(error_of(ep_scenario(R"(, "routing": {"zpif": 1})")), Catch::Contains("did you mean \"zipf\""));
  CHECK_THAT(error_of(ep_scenario(R"(, "eplb_redundant_experts": -3)")),
             Catch::Contains("/workload/eplb_redundant_experts"));
  std::string hist = "[";
  for (int i = 0; i < 256; ++i) hist += (i ? "," : "") + std::string(i == 7 ? "\"a\"" : "1");
  hist += "]";
  CHECK_THAT(error_of(ep_scenario(R"(, "routing": {"histogram": )" + hist + "}")),
             Catch::Contains("/workload/routing/histogram/7"));
}

TEST_CASE("routing in an AFD scenario: the hot FFN rank gets more pairs and sets t_f", "[imbalance][scenario]") {
  auto afd = [](const std::string& extra) {
    return io::parse_scenario(R"({"model": "deepseek-v3",
      "workload": {"context_tokens": 4096, "tpot_slo": "1 s")" +
                                  extra + R"(},
      "deployment": {"strategy": "afd", "micro_batches": 3, "global_batch": 2304,
                     "attention": {"hardware": "h800", "gpus": 16}, "ffn": {"hardware": "h800", "gpus": 16}}})",
                              "s.json", db());
  };
  const auto uni = afd(R"(, "routing": {"uniform": true})");
  const auto hot = afd(R"(, "routing": {"zipf": 0.8})");
  // 16 EP ranks, 2304 / 3 = 768 tokens per micro-batch.
  CHECK(uni.workload.expert_load_imbalance == Approx(uniform_routing_load(256, 8, 16, 768).load_factor));
  CHECK(hot.workload.expert_load_imbalance > uni.workload.expert_load_imbalance);
  const auto eu = evaluate(uni.model, uni.precision, uni.workload, uni.deployment, uni.efficiencies);
  const auto eh = evaluate(hot.model, hot.precision, hot.workload, hot.deployment, hot.efficiencies);
  CHECK(eh.tokens_per_ffn_gpu > eu.tokens_per_ffn_gpu);
  CHECK(eh.ffn_s > eu.ffn_s);
  CHECK(eh.dispatch_s >= eu.dispatch_s);
}
