// SPDX-License-Identifier: Apache-2.0
// The fuzz target bodies, shared by the libFuzzer executables (tests/fuzz/fuzz_*.cpp) and by
// the regression replay unit test (tests/unit/test_fuzz_regressions.cpp).
//
// Contract checked on every input: a loader either succeeds or throws ridgeline::Error (clear
// message). Anything else escaping -- std::exception from a library, a nlohmann exception, a
// broken invariant (thrown as std::logic_error), a sanitizer report -- is a finding.
#pragma once
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "io/json_reader.hpp"
#include "present/search.hpp"
#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/io/validation.hpp"
#include "ridgeline/units.hpp"
#include "support/invariants.hpp"

namespace ridgeline::fuzz {

[[noreturn]] inline void broken(const std::string& what) {
  throw std::logic_error("invariant broken: " + what);
}

inline void check_finite_positive(const char* name, double v) {
  if (!std::isfinite(v) || v <= 0) broken(std::string(name) + " = " + std::to_string(v));
}

/// Unit parser: first byte picks the dimension, the rest is the text.
inline int units_target(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto dim = static_cast<Dimension>(data[0] % 7);
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const double v = parse_quantity(text, dim);
    if (!std::isfinite(v)) broken("parse_quantity returned a non-finite value for \"" + text + "\"");
  } catch (const Error&) {
  }
  return 0;
}

inline int hardware_target(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const Accelerator a = io::parse_accelerator(text, "fuzz-hw.json", "fuzz-hw");
    check_finite_positive("hbm_bytes", a.hbm_bytes);
    check_finite_positive("hbm_bytes_per_s", a.hbm_bytes_per_s);
    check_finite_positive("scale_up.sustained_bytes_per_s", a.scale_up.sustained_bytes_per_s());
    check_finite_positive("scale_out.sustained_bytes_per_s", a.scale_out.sustained_bytes_per_s());
    if (!a.supports(DType::bf16) && !a.supports(DType::fp8)) broken("hardware without a bf16 or fp8 peak loaded");
  } catch (const Error&) {
  }
  return 0;
}

inline int model_target(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const ModelSpec m = io::parse_model(text, "fuzz-model.json", "fuzz-model");
    check_finite_positive("total_params", m.total_params());
    check_finite_positive("active_params", m.active_params());
    check_finite_positive("kv_elements_per_token_per_layer", m.kv_elements_per_token_per_layer());
    if (m.active_params() > m.total_params() * (1 + 1e-12) + m.embedding_params())
      broken("active_params exceeds total_params + embedding");
  } catch (const Error&) {
  }
  return 0;
}

/// The repository's databases, loaded once (scenarios name hardware and models by id).
inline const io::Database& repo_db() {
  static const io::Database db = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return db;
}

/// Scenario loader, then the evaluation of what it loaded: no NaN, no negative time, ever.
inline int scenario_target(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const io::Scenario s = io::parse_scenario(text, "fuzz-scenario.json", repo_db());
    const Evaluation e = evaluate(s.model, s.precision, s.workload, s.deployment, s.efficiencies);
    const std::string problem = testing::evaluation_problem(e, s.workload);
    if (!problem.empty()) broken("evaluation of a loaded scenario: " + problem);
    // The round trip must load again.
    (void)io::parse_scenario(io::scenario_to_json(s), "fuzz-roundtrip.json", repo_db());
  } catch (const Error&) {
  }
  return 0;
}

/// Path-aware Reader over arbitrary JSON: every accessor on every key either returns a checked
/// value or throws ConfigError. (Ridgeline has no calibration file format yet; this target covers
/// the quantity/number/integer readers such a loader would be built from.)
inline int reader_target(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const io::Json j = io::parse_json_text(text, "fuzz-reader.json");
    if (!j.is_object()) return 0;
    const io::Reader r(j, "fuzz-reader.json");
    int k = 0;
    for (auto it = j.begin(); it != j.end(); ++it, ++k) {
      const std::string key = it.key();
      try {
        switch (k % 6) {
          case 0: {
            const double v = r.quantity(key, static_cast<Dimension>(k % 7), k % 2 == 0);
            if (!std::isfinite(v) || v < 0) broken("Reader::quantity returned " + std::to_string(v));
            break;
          }
          case 1:
            (void)r.integer(key, 0);
            break;
          case 2: {
            const double v = r.number_in(key, 0.0, 1.0);
            if (!(v >= 0.0 && v <= 1.0)) broken("Reader::number_in out of range");
            break;
          }
          case 3:
            (void)r.opt_strings(key);
            break;
          case 4:
            (void)r.opt_object(key);
            break;
          case 5:
            (void)r.opt_bool(key, false);
            break;
        }
      } catch (const ConfigError& e) {
        const std::string msg = e.what();
        if (msg.find("fuzz-reader.json: /") != 0) broken("error does not name the file and JSON path: " + msg);
      }
    }
  } catch (const Error&) {
  }
  return 0;
}

/// The calibration and validation loaders read files: the input goes to a per-process temp file.
inline std::filesystem::path temp_input(const uint8_t* data, size_t size, const char* name) {
  const auto p =
      std::filesystem::temp_directory_path() / ("ridgeline-fuzz-" + std::to_string(::getpid()) + "-" + name + ".json");
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return p;
}

/// Calibration files (`ridgeline validate --calibration`): efficiencies stay in their ranges.
inline int calibration_target(const uint8_t* data, size_t size) {
  const auto file = temp_input(data, size, "calibration");
  try {
    const io::Calibration c = io::load_calibration(file, Efficiencies{});
    const Efficiencies& f = c.efficiencies;
    for (double v : {f.gemm_compute, f.gemm_memory, f.attention_compute, f.attention_memory, f.usable_hbm_fraction})
      if (!(v > 0 && v <= 1)) broken("calibrated efficiency outside (0, 1]: " + std::to_string(v));
    if (!(f.attention_kv_reread >= 0 && f.attention_kv_reread <= 1))
      broken("attention_kv_reread outside [0, 1]: " + std::to_string(f.attention_kv_reread));
    if (!std::isfinite(f.kernel_overhead_s) || f.kernel_overhead_s < 0)
      broken("kernel_overhead_s negative or not finite");
  } catch (const Error&) {
  }
  std::filesystem::remove(file);
  return 0;
}

/// Validation points (a scenario plus a "measured" block), then the evaluation of the scenario.
inline int validation_target(const uint8_t* data, size_t size) {
  const auto file = temp_input(data, size, "validation");
  try {
    const io::ValidationPoint v = io::load_validation_point(file, repo_db());
    const io::Scenario& s = v.scenario;
    const Evaluation e = evaluate(s.model, s.precision, s.workload, s.deployment, s.efficiencies);
    const std::string problem = testing::evaluation_problem(e, s.workload);
    if (!problem.empty()) broken("evaluation of a loaded validation point: " + problem);
    if (!std::isfinite(v.measured.tokens_per_s_per_gpu)) broken("measured value not finite");
  } catch (const Error&) {
  }
  std::filesystem::remove(file);
  return 0;
}

/// The search-flag validation layer the CLI and the Python bindings share (check_search_flags,
/// resolve_search): the input is lines `field=value` setting SearchFlags fields as typed on a
/// command line. Either a clear Error, or a setup whose search (a small budget, one thread) gives
/// plans with finite, non-negative numbers.
inline int flags_target(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  present::SearchFlags f;
  f.threads = 1;
  auto split = [](const std::string& v) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i <= v.size(); ++i)
      if (i == v.size() || v[i] == ',') {
        out.push_back(v.substr(start, i - start));
        start = i + 1;
      }
    return out;
  };
  auto ints = [&](const std::string& v) {
    std::vector<int> out;
    for (const auto& x : split(v)) out.push_back(int(std::strtol(x.c_str(), nullptr, 10)));
    return out;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    const char* c = v.c_str();
    if (k == "model") f.model = v;
    else if (k == "hardware") f.hardware = split(v);
    else if (k == "attention_hardware") f.attention_hardware = split(v);
    else if (k == "ffn_hardware") f.ffn_hardware = split(v);
    else if (k == "slo") f.slo = v;
    else if (k == "context") f.context = v;
    else if (k == "weights") f.weights = v;
    else if (k == "kv_cache") f.kv_cache = v;
    else if (k == "dispatch") f.dispatch = v;
    else if (k == "combine") f.combine = v;
    else if (k == "mtp_acceptance") f.mtp_acceptance = std::strtod(c, nullptr);
    else if (k == "mtp_draft_tokens") f.mtp_draft_tokens = int(std::strtol(c, nullptr, 10));
    else if (k == "strategy") f.strategy = v;
    else if (k == "gpus") f.gpus = int(std::strtol(c, nullptr, 10));
    else if (k == "max_gpus") f.max_gpus = int(std::strtol(c, nullptr, 10));
    else if (k == "objective") f.objective = v;
    else if (k == "afd_micro_batches") f.afd_micro_batches = ints(v);
    else if (k == "require_bubble_free") f.require_bubble_free = v == "1";
    else if (k == "gap") f.gap = v;
    else if (k == "mtp_step_gap") f.mtp_step_gap = v;
    else if (k == "routing") f.routing = v;
    else if (k == "ep_transport") f.ep_transport = v;
    else if (k == "afd_transport") f.afd_transport = v;
    else if (k == "dispatch_styles") f.dispatch_styles = split(v);
    else if (k == "attention_tp") f.attention_tp = ints(v);
  }
  try {
    present::check_search_flags(f, true);
    const present::SearchSetup s = present::resolve_search(f, repo_db());
    // The search itself only on small budgets: the fuzzer's throughput is in the checks.
    if (s.space.max_gpus > 32 || s.space.exact_gpus > 32) return 0;
    const SearchResult r = search_plans(*s.model, s.precision, s.workload, s.space, s.efficiencies);
    for (const Candidate* c : {r.best_ep(), r.best_afd()}) {
      if (!c) continue;
      const std::string problem = testing::evaluation_problem(c->evaluation, s.workload);
      if (!problem.empty()) broken("best plan of a validated search: " + problem);
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace ridgeline::fuzz
