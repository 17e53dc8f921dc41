// SPDX-License-Identifier: Apache-2.0
// Hardware profiles (hwdb/calibration/): fitted on half of each measured kernel table, the
// model's per-operator predictions checked on the other half; the committed profiles must equal a
// fresh fit on all rows.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>

#include "plans.hpp"
#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/io/profile_samples.hpp"
#include "ridgeline/io/validation.hpp"

using namespace ridgeline;

namespace {

const io::Database& pdb() {
  static io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

std::map<std::string, OperatorError> held_out(const std::string& hw) {
  const ProfileSamples s = io::load_profile_samples(RIDGELINE_SOURCE_DIR "/hwdb/calibration/raw/" + hw);
  std::map<std::string, OperatorError> out;
  for (const auto& e : held_out_errors(s, pdb().model("deepseek-v3"), pdb().hardware(hw))) {
    std::printf("profile %-9s %-12s held-out n=%3d median |err| %5.1f %%  max %6.1f %%  median signed %+6.1f %%\n",
                hw.c_str(), e.op.c_str(), e.samples, 100 * e.median_abs_error, 100 * e.max_abs_error,
                100 * e.median_signed_error);
    out[e.op] = e;
  }
  return out;
}

}  // namespace

TEST_CASE("profiles: held-out per-operator error, aiconfigurator-core tables (H100, H200, B200, GB200)") {
  for (const char* hw : {"h100-sxm", "h200", "b200", "gb200"}) {
    INFO(hw);
    const auto e = held_out(hw);
    REQUIRE(e.size() == 4);
    for (const auto& [op, err] : e) {
      INFO(op);
      CHECK(err.samples >= 5);
      CHECK(err.median_abs_error < 0.15);
    }
  }
}

TEST_CASE("profiles: held-out H800 profile against DeepGEMM and DeepEP low-latency tables") {
  const auto e = held_out("h800");
  REQUIRE(e.count("gemm"));
  REQUIRE(e.count("deepep_ll"));
  CHECK(e.at("gemm").median_abs_error < 0.20);
  CHECK(e.at("deepep_ll").median_abs_error < 0.20);
}

TEST_CASE("profiles: every committed hwdb/calibration profile is the fit of its raw samples") {
  for (const char* hw : {"h100-sxm", "h200", "b200", "gb200", "h800"}) {
    INFO(hw);
    const std::string root = RIDGELINE_SOURCE_DIR "/hwdb/calibration/";
    const ProfileSamples s = io::load_profile_samples(root + "raw/" + hw);
    const Efficiencies fit = fit_profile(s, pdb().model("deepseek-v3"), pdb().hardware(hw));
    const io::Calibration cal = io::load_calibration(root + hw + ".json", Efficiencies{});
    REQUIRE(!cal.values.empty());
    for (const auto& v : cal.values) {
      INFO(v.key);
      double want = -1;
      if (v.key == "gemm_compute") want = fit.gemm_compute;
      if (v.key == "gemm_memory") want = fit.gemm_memory;
      if (v.key == "kernel_overhead") want = fit.kernel_overhead_s;
      if (v.key == "attention_compute") want = fit.attention_compute;
      if (v.key == "attention_memory") want = fit.attention_memory;
      if (v.key == "attention_kv_reread") want = fit.attention_kv_reread;
      if (v.key == "transport.deepep_low_latency.fixed")
        want = fit.transport(TransportKind::deepep_low_latency).fixed_s;
      if (v.key == "transport.deepep_low_latency.per_token")
        want = fit.transport(TransportKind::deepep_low_latency).per_token_s;
      CHECK(v.value == Approx(want).epsilon(1e-9));
    }
    // The profile names its device, and it applies to that hardware only.
    CHECK(cal.hardware_id == hw);
    CHECK_NOTHROW(io::check_calibration_applies(cal, pdb().hardware(hw), pdb(), {}));
  }
}

TEST_CASE("calibration device check: a CPU-measured file is refused on H800, naming both, unless mapped") {
  io::Calibration cpu;
  cpu.file = "cpu.json";
  cpu.device = "Intel(R) Xeon(R) CPU";
  const Accelerator& h800 = pdb().hardware("h800");
  try {
    io::check_calibration_applies(cpu, h800, pdb(), {});
    FAIL("accepted");
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    CHECK(m.find("Intel(R) Xeon(R) CPU") != std::string::npos);
    CHECK(m.find("h800") != std::string::npos);
    CHECK(m.find("Fix:") != std::string::npos);
  }
  CHECK_NOTHROW(io::check_calibration_applies(cpu, h800, pdb(), {"h800", false}));
  CHECK_NOTHROW(io::check_calibration_applies(cpu, h800, pdb(), {"h800-sxm", false}));  // an alias
  CHECK_NOTHROW(io::check_calibration_applies(cpu, h800, pdb(), {"", true}));
  CHECK_THROWS_AS(io::check_calibration_applies(cpu, h800, pdb(), {"h200", false}), ConfigError);
  // A profile of one GPU is refused on another; applies_to ["any"] is accepted everywhere.
  io::Calibration h200 = cpu;
  h200.device = "NVIDIA H200";
  h200.hardware_id = "h200";
  CHECK_THROWS_AS(io::check_calibration_applies(h200, h800, pdb(), {}), ConfigError);
  CHECK_NOTHROW(io::check_calibration_applies(h200, pdb().hardware("h200-sxm"), pdb(), {}));
  io::Calibration none;
  none.file = "old.json";
  CHECK_THROWS_WITH(io::check_calibration_applies(none, h800, pdb(), {}), Catch::Contains("records no device"));
  none.applies_to = {"any"};
  CHECK_NOTHROW(io::check_calibration_applies(none, h800, pdb(), {}));
}

TEST_CASE("profiles: attention_kv_reread is fitted only where a table has split-kernel rows") {
  const ModelSpec& m = pdb().model("deepseek-v3");
  for (const char* hw : {"b200", "gb200"}) {
    INFO(hw);
    const ProfileSamples s = io::load_profile_samples(RIDGELINE_SOURCE_DIR "/hwdb/calibration/raw/" + std::string(hw));
    REQUIRE(mla_samples_split_heads(s.mla, pdb().hardware(hw)));
    Efficiencies base;
    base.attention_kv_reread = 1.0;  // start from "no L2 reuse": the fit must move it
    const double fitted = fit_profile(s, m, pdb().hardware(hw), base).attention_kv_reread;
    CHECK(fitted > 0.1);
    CHECK(fitted < 0.6);
  }
  // Hopper runs one 64-row tile for 16-64 heads: nothing identifies the parameter, it is left alone.
  const ProfileSamples h200 = io::load_profile_samples(RIDGELINE_SOURCE_DIR "/hwdb/calibration/raw/h200");
  REQUIRE(!mla_samples_split_heads(h200.mla, pdb().hardware("h200")));
  Efficiencies base;
  base.attention_kv_reread = 0.77;
  CHECK(fit_profile(h200, m, pdb().hardware("h200"), base).attention_kv_reread == 0.77);
}

TEST_CASE("calibration files: attention_kv_reread outside [0, 1] is refused with its JSON path") {
  const std::string file = "kv_reread_bad.json";
  {
    std::ofstream out(file);
    out << R"({"source": "test", "applies_to": ["any"], "efficiency": {"attention_kv_reread": 1.5}})";
  }
  CHECK_THROWS_WITH(io::load_calibration(file, Efficiencies{}),
                    Catch::Contains("attention_kv_reread") && Catch::Contains("1.5") && Catch::Contains(file));
  std::remove(file.c_str());
}

TEST_CASE("profiles: an accelerator's measured profile prices its operators unless a value is given") {
  const Accelerator& h200 = pdb().hardware("h200");
  const Accelerator& h20 = pdb().hardware("h20");
  REQUIRE(h200.roofline_profile);
  CHECK(h200.roofline_profile->source == "hwdb/calibration/h200.json");
  CHECK(!h20.roofline_profile);  // no measured tables shipped for it
  const io::Calibration file = io::load_calibration(RIDGELINE_SOURCE_DIR "/hwdb/calibration/h200.json", {});
  const Efficiencies defaults;
  REQUIRE(file.efficiencies.gemm_compute != Approx(defaults.gemm_compute));

  // A memory-bound and a compute-bound GEMM: the profile's fractions, not the generic ones.
  for (double tokens : {16.0, 8192.0}) {
    const OpCost g = gemm_op("g", tokens, 7168.0 * 2048, 1, DType::fp8);
    Efficiencies fitted = file.efficiencies;  // the same fractions, given (the kernel overhead is not profiled)
    fitted.kernel_overhead_s = defaults.kernel_overhead_s;
    CHECK(op_time(g, h200, defaults).time_s == Approx(op_time(g, h200, fitted).time_s).epsilon(1e-12));
    Efficiencies generic = defaults;
    generic.hardware_profiles = false;
    CHECK(op_time(g, h200, generic).time_s != Approx(op_time(g, h200, defaults).time_s));
    // A given value wins over the profile, field by field.
    Efficiencies given = defaults;
    given.gemm_compute = 0.9;
    given.gemm_memory = 0.9;
    given.given_roofline = kGemmCompute | kGemmMemory;
    Efficiencies same = generic;
    same.gemm_compute = 0.9;
    same.gemm_memory = 0.9;
    CHECK(op_time(g, h200, given).time_s == Approx(op_time(g, h200, same).time_s).epsilon(1e-12));
    // An accelerator without a profile keeps the generic fractions either way.
    CHECK(op_time(g, h20, defaults).time_s == op_time(g, h20, generic).time_s);
  }
  // The attention-efficiency scale applies on top of the profile, capped at 1.
  Efficiencies scaled;
  scaled.attention_efficiency_scale = 100;
  CHECK(roofline_fractions(scaled, h200).attention_compute == 1.0);
  CHECK(roofline_fractions(scaled, h200).gemm_compute == Approx(file.efficiencies.gemm_compute));
}

TEST_CASE("profiles: EP and AFD on the same accelerator take its profile alike") {
  const ModelSpec& m = pdb().model("deepseek-v3");
  const Accelerator& gb200 = pdb().hardware("gb200");
  REQUIRE(gb200.roofline_profile);
  const Deployment ep = test::ep_plan(gb200, 64, 256, 2);
  const Deployment afd = test::afd_plan(gb200, 48, 16, 256.0 * 48, 3);
  Efficiencies generic;
  generic.hardware_profiles = false;
  for (const Deployment& d : {ep, afd}) {
    const Evaluation with = evaluate(m, Precision{}, Workload{}, d, Efficiencies{});
    const Evaluation without = evaluate(m, Precision{}, Workload{}, d, generic);
    // GB200's measured GEMMs reach 0.49 of the FP8 peak, not the generic 0.70: both sides slower.
    CHECK(with.ffn_s > without.ffn_s * 1.2);
    CHECK(with.attention_s > without.attention_s);
    CHECK(with.dispatch_s == without.dispatch_s);  // the transport is not part of the profile
  }
}
