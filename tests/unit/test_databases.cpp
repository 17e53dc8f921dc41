// SPDX-License-Identifier: Apache-2.0
// Every shipped hwdb/ and models/ file loads, has sources, sane ranges, and parameter counts
// that match the published totals.
#include <catch2/catch.hpp>

#include "ridgeline/io/database.hpp"

using namespace ridgeline;

static const io::Database& db() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

TEST_CASE("the required accelerators and models are present", "[db]") {
  for (const char* id : {"a100-80g", "a800", "h100-sxm", "h800", "h20", "h200", "b200", "b300", "gb200", "gb300", "l40s",
                         "l20", "mi300x", "mi325x", "mi355x", "ascend-910b", "ascend-910c"})
    CHECK(db().has_hardware(id));
  for (const char* id : {"deepseek-v3", "deepseek-v2", "kimi-k2", "qwen3-235b-a22b", "qwen3-30b-a3b", "qwen3-coder-480b",
                         "mixtral-8x7b", "mixtral-8x22b", "dbrx", "llama-4-scout", "llama-4-maverick", "gpt-oss-120b",
                         "glm-4.5", "step-3", "ernie-4.5-300b", "megascale-scaled-moe"})
    CHECK(db().has_model(id));
}

TEST_CASE("hardware values are in physical ranges (catches GB/s typed as B/s)", "[db]") {
  for (const auto& id : db().hardware_ids()) {
    INFO(id);
    const auto& h = db().hardware(id);
    CHECK(h.hbm_bytes_per_s > 1e11);
    CHECK(h.hbm_bytes_per_s < 1e14);
    CHECK(h.hbm_bytes > 16e9);
    CHECK(h.hbm_bytes < 1e12);
    CHECK(h.scale_out.bytes_per_s > 1e9);
    CHECK(h.scale_out.bytes_per_s < 1e12);
    CHECK(h.scale_up.bytes_per_s >= h.scale_out.bytes_per_s);
    CHECK(h.peak_flops_per_s(DType::bf16) > 5e13);
    CHECK(h.price_usd_per_gpu_hour > 0);
    CHECK(h.power_w > 0);
    CHECK_FALSE(h.sources.empty());
  }
}

TEST_CASE("computed parameter counts match published totals within 2 %", "[db][params]") {
  for (const auto& id : db().model_ids()) {
    INFO(id);
    const auto& m = db().model(id);
    REQUIRE(m.published_total_params > 0);
    CHECK(m.total_params() / m.published_total_params == Approx(1.0).margin(0.02));
    CHECK_FALSE(m.sources.empty());
  }
}

TEST_CASE("aliases and close matches", "[db]") {
  CHECK(db().hardware("h800-sxm").id == "h800");
  CHECK(db().model("deepseek-r1").id == "deepseek-v3");
  CHECK_THROWS_WITH(db().hardware("h8000"), Catch::Contains("h800"));
  CHECK_THROWS_WITH(db().model("deepseek-v4"), Catch::Contains("deepseek-v3"));
  CHECK_THROWS_AS(db().hardware("../etc/passwd"), LookupError);
}
