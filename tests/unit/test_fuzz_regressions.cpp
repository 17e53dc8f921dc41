// SPDX-License-Identifier: Apache-2.0
// Replays every input under tests/fuzz/regressions/<target>/ through the same target body the
// fuzzer runs (tests/fuzz/targets.hpp): each must load or fail with ridgeline::Error, and a
// loaded one must evaluate to finite, non-negative numbers. Crash inputs found by `make fuzz`
// are added there once fixed.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz/targets.hpp"

namespace fs = std::filesystem;

namespace {

using Target = int (*)(const uint8_t*, size_t);

int replay_all(const std::string& name, Target target) {
  const fs::path dir = fs::path(RIDGELINE_SOURCE_DIR) / "tests/fuzz/regressions" / name;
  int n = 0;
  if (!fs::is_directory(dir)) return n;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    INFO("regression input " << e.path().string());
    REQUIRE_NOTHROW(target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("fuzz regression inputs load or fail cleanly", "[fuzz]") {
  int total = 0;
  total += replay_all("units", ridgeline::fuzz::units_target);
  total += replay_all("hardware", ridgeline::fuzz::hardware_target);
  total += replay_all("model", ridgeline::fuzz::model_target);
  total += replay_all("scenario", ridgeline::fuzz::scenario_target);
  total += replay_all("reader", ridgeline::fuzz::reader_target);
  total += replay_all("calibration", ridgeline::fuzz::calibration_target);
  total += replay_all("validation", ridgeline::fuzz::validation_target);
  total += replay_all("flags", ridgeline::fuzz::flags_target);
  CHECK(total > 0);  // the folder is not silently empty or misplaced
}

TEST_CASE("the calibration and validation seeds load", "[fuzz]") {
  for (const auto& e : fs::directory_iterator(fs::path(RIDGELINE_SOURCE_DIR) / "tests/fuzz/seeds/calibration")) {
    INFO(e.path().string());
    REQUIRE_NOTHROW(ridgeline::io::load_calibration(e.path(), ridgeline::Efficiencies{}));
  }
  for (const auto& e : fs::directory_iterator(fs::path(RIDGELINE_SOURCE_DIR) / "examples/validation")) {
    if (e.path().extension() != ".json") continue;
    INFO(e.path().string());
    REQUIRE_NOTHROW(ridgeline::io::load_validation_point(e.path(), ridgeline::fuzz::repo_db()));
  }
}

TEST_CASE("the fuzz targets accept the shipped files as seeds", "[fuzz]") {
  // The seed corpus must exercise the success path: every shipped file loads and evaluates.
  for (const char* sub : {"hwdb", "models", "examples"}) {
    for (const auto& e : fs::directory_iterator(fs::path(RIDGELINE_SOURCE_DIR) / sub)) {
      if (e.path().extension() != ".json") continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      const std::string t = ss.str();
      const auto* d = reinterpret_cast<const uint8_t*>(t.data());
      INFO(e.path().string());
      if (std::string(sub) == "hwdb") {
        REQUIRE_NOTHROW(ridgeline::io::parse_accelerator(t, e.path().string(), e.path().stem().string()));
        REQUIRE_NOTHROW(ridgeline::fuzz::hardware_target(d, t.size()));
      } else if (std::string(sub) == "models") {
        REQUIRE_NOTHROW(ridgeline::io::parse_model(t, e.path().string(), e.path().stem().string()));
        REQUIRE_NOTHROW(ridgeline::fuzz::model_target(d, t.size()));
      } else {
        REQUIRE_NOTHROW(ridgeline::io::parse_scenario(t, e.path().string(), ridgeline::fuzz::repo_db()));
        REQUIRE_NOTHROW(ridgeline::fuzz::scenario_target(d, t.size()));
      }
    }
  }
}

TEST_CASE("the flags target's seeds (valid and hostile flag sets) pass its contract", "[fuzz]") {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(RIDGELINE_SOURCE_DIR) / "tests/fuzz/seeds/flags")) {
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    INFO(e.path().string());
    REQUIRE_NOTHROW(ridgeline::fuzz::flags_target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    ++n;
  }
  CHECK(n >= 5);
}
