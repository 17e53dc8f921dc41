// SPDX-License-Identifier: Apache-2.0
// Aggregated serving (colocated_step in service.hpp): the prompt pieces of a step sit on the
// busiest attention-DP rank, GEMMs absorb prompt tokens, and validation points with a "serving"
// block are predicted with it.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "plans.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/io/validation.hpp"
#include "ridgeline/service.hpp"

using namespace ridgeline;
namespace fs = std::filesystem;

namespace {

const io::Database& adb() {
  static const io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

ColocatedStep step_with(const ModelSpec& m, const Workload& w, const Deployment& d, const ServiceWorkload& sw,
                        double chunk) {
  const Evaluation e = evaluate(m, Precision{}, w, d, Efficiencies{});
  return colocated_step(m, Precision{}, w, sw.input_tokens, sw.output_tokens, d, e, Efficiencies{}, chunk);
}

ColocatedStep step(const Deployment& d, double isl, double osl, double chunk = 8192) {
  const ModelSpec& m = adb().model("deepseek-v3");
  Workload w;
  w.context_tokens = isl + osl / 2;
  w.tpot_slo_s = 10;
  const Evaluation e = evaluate(m, Precision{}, w, d, Efficiencies{});
  return colocated_step(m, Precision{}, w, isl, osl, d, e, Efficiencies{}, chunk);
}

}  // namespace

TEST_CASE("merged GEMMs: a memory-bound GEMM absorbs extra rows almost free, a compute-bound one does not",
          "[service][aggregated]") {
  const Accelerator& hw = adb().hardware("h200");
  const Efficiencies eff;
  OpList base, small, big;
  base.add(gemm_op("w", 16, 100e6, 1, DType::fp8));  // 16 rows: weight-read bound
  small.add(gemm_op("w", 16, 100e6, 1, DType::fp8));
  big.add(gemm_op("w", 16384, 100e6, 1, DType::fp8));
  const double alone = op_time(small.ops[0], hw, eff).time_s;
  const double merged_small = service_detail::merged_marginal_s(base, small, hw, eff);
  CHECK(merged_small < 0.2 * alone);  // the weights are already streaming
  const double merged_big = service_detail::merged_marginal_s(base, big, hw, eff);
  CHECK(merged_big > 0.5 * op_time(big.ops[0], hw, eff).time_s);
  // A name the base does not have runs as its own kernel.
  OpList other;
  other.add(gemm_op("x", 16, 100e6, 1, DType::fp8));
  CHECK(service_detail::merged_marginal_s(base, other, hw, eff) == Approx(alone));
}

TEST_CASE("co-located step: the busiest rank pays whole prompt pieces", "[service][aggregated]") {
  const Accelerator& hw = adb().hardware("h200");
  // 8 GPUs x 128 sequences, 1K in / 2K out: half a prompt per step; on the steps that carry one,
  // one rank prefills all 1,024 tokens.
  const ColocatedStep s = step(test::ep_plan(hw, 8, 128), 1024, 2048);
  REQUIRE(s.priced);
  CHECK(s.pieces_per_step == Approx(0.5));
  CHECK(s.hot_rank_tokens == Approx(512));        // 0.5 x one 1,024-token prompt
  CHECK(s.prefill_tokens_per_gpu == Approx(64));  // the mean, 1,024 x 128 / 2,048 per GPU
  CHECK(s.chunk_s > 0);
  CHECK(s.tpot_s == Approx(s.decode_s + s.chunk_s));
  CHECK(s.output_tokens_per_s_per_gpu == Approx(128 / s.tpot_s));
  // Smaller pieces: the busiest rank's share of a step shrinks.
  const ColocatedStep small = step(test::ep_plan(hw, 8, 128), 1024, 2048, 256);
  CHECK(small.piece_tokens == 256);
  CHECK(small.chunk_s < s.chunk_s);
  // More prompts than ranks: every rank gets pieces, the busiest ceil(n / ranks).
  const ColocatedStep many = step(test::ep_plan(hw, 8, 128), 1024, 64, 256);  // 16 prompts x 4 pieces per step
  CHECK(many.pieces_per_step == Approx(64));
  CHECK(many.hot_rank_tokens == Approx(8 * 256));
}

TEST_CASE("aggregated validation points: the serving block, predicted below the decode-only figure",
          "[service][aggregated][validation]") {
  const auto points = io::load_validation_points(RIDGELINE_SOURCE_DIR "/examples/validation/aggregated", adb());
  REQUIRE(points.size() >= 3);
  for (const auto& p : points) {
    INFO(p.name);
    REQUIRE(p.aggregated);
    const io::PointPrediction pred = io::predict_point(p, Efficiencies{});
    REQUIRE(pred.aggregated);
    CHECK(pred.aggregated->priced);
    CHECK(pred.tokens_per_s_per_gpu > 0);
    CHECK(pred.tokens_per_s_per_gpu < pred.eval.tokens_per_s_per_gpu);
  }
  // Decode points carry no serving block and are predicted by the decode evaluation alone.
  const auto decode = io::load_validation_points(RIDGELINE_SOURCE_DIR "/examples/validation", adb());
  for (const auto& p : decode) {
    CHECK_FALSE(p.aggregated);
    CHECK(io::predict_point(p, Efficiencies{}).tokens_per_s_per_gpu ==
          evaluate(p.scenario.model, p.scenario.precision, p.scenario.workload, p.scenario.deployment, Efficiencies{})
              .tokens_per_s_per_gpu);
  }
}

TEST_CASE("serving block: bad mode, unknown key and AFD are refused with the JSON path", "[validation][hostile]") {
  const fs::path dir = fs::temp_directory_path() / "ridgeline-test-serving";
  fs::create_directories(dir);
  std::ifstream in(RIDGELINE_SOURCE_DIR "/examples/validation/aggregated/a36-trtllm-h200-dep8.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const auto at = t.find(from);
    REQUIRE(at != std::string::npos);
    t.replace(at, from.size(), to);
    const fs::path f = dir / "point.json";
    std::ofstream(f) << t;
    return f;
  };
  CHECK_THROWS_WITH(io::load_validation_point(with("\"mode\": \"aggregated\"", "\"mode\": \"mixed\""), adb()),
                    Catch::Contains("/serving/mode") && Catch::Contains("aggregated"));
  CHECK_THROWS_WITH(
      io::load_validation_point(with("\"mode\": \"aggregated\"", "\"mode\": \"aggregated\", \"x\": 1"), adb()),
      Catch::Contains("/serving/x") && Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(io::load_validation_point(with("\"input_tokens\": 1024", "\"input_tokens\": -5"), adb()),
                    Catch::Contains("/serving/input_tokens"));
  fs::remove_all(dir);
}

TEST_CASE("co-located instance: the best batch, although output per GPU jumps at piece boundaries",
          "[service][aggregated]") {
  // DeepSeek-V3, 4K in / 1K out, 100 ms TPOT, 2 s TTFT on 32 H800: at 65 sequences per GPU the
  // busiest rank prefills two prompt pieces per step instead of one, so the largest feasible
  // batch is not the best one. Every (piece size, batch) is tried here by brute force.
  const ModelSpec& m = adb().model("deepseek-v3");
  const Accelerator& hw = adb().hardware("h800");
  ServiceWorkload sw;
  sw.input_tokens = 4096;
  sw.output_tokens = 1024;
  sw.tpot_slo_s = 0.1;
  sw.ttft_slo_s = 2.0;
  for (double cv : {0.0, 0.58}) {
    Workload w;
    w.context_tokens = sw.decode_context_tokens();
    w.tpot_slo_s = sw.tpot_slo_s;
    w.context_cv = cv;
    const std::optional<ColocatedPlan> c = colocated_instance(m, Precision{}, w, sw, hw, 32, Efficiencies{});
    REQUIRE(c);
    const double chosen = c->deployment.batch_per_gpu / c->tpot_s;
    double best = 0, best_batch = 0;
    for (double chunk : kColocatedChunks)
      for (int b = 2; b <= 160; ++b) {
        const ColocatedStep s = step_with(m, w, test::ep_plan(hw, 32, b, 2), sw, chunk);
        if (s.priced && s.tpot_s <= sw.tpot_slo_s &&
            std::ceil(sw.input_tokens / s.piece_tokens) * s.tpot_s <= sw.ttft_slo_s && b / s.tpot_s > best)
          best = b / s.tpot_s, best_batch = b;
      }
    INFO("cv " << cv << ": chosen " << c->deployment.batch_per_gpu << " seqs (" << chosen << " tok/s/GPU), best "
               << best_batch << " (" << best << ")");
    CHECK(chosen >= best * (1 - 1e-9));
  }
}
