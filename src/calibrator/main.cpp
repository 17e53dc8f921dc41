// SPDX-License-Identifier: Apache-2.0
// ridgeline-calibrate: measure, fit, and write a calibration file that `ridgeline evaluate
// --calibration` and `ridgeline validate --calibration` read.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "backend.hpp"
#include "io/files.hpp"
#include "kernel_sweeps.hpp"
#include "report/report.hpp"
#include "ridgeline/calibration_fit.hpp"
#include "ridgeline/io/database.hpp"

using namespace ridgeline;
using nlohmann::json;

namespace {

std::string today() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

json to_json(const calib::Run& r, const GemmEfficiencyFit& g, const AlphaBetaFit& link, const LinearFit& gemm_linear,
             const std::vector<std::string>& argv) {
  json samples;
  for (const auto& s : r.gemm)
    samples["grouped_gemm"].push_back({{"tokens_per_expert", s.tokens_per_expert},
                                       {"experts", s.experts},
                                       {"hidden", s.hidden},
                                       {"intermediate", s.intermediate},
                                       {"weight_bytes_per_elem", s.weight_bytes_per_elem},
                                       {"time_s", s.time_s},
                                       {"achieved_flops_per_s", s.flops() / s.time_s}});
  for (const auto& s : r.stream) samples["stream"].push_back({{"bytes", s.bytes}, {"time_s", s.time_s}});
  for (const auto& s : r.link) samples["link"].push_back({{"message_bytes", s.message_bytes}, {"time_s", s.time_s}});
  json j;
  j["description"] = fmt::format("Measured by ridgeline-calibrate ({} backend) on {}", r.backend, r.device);
  j["source"] = fmt::format("ridgeline-calibrate {} backend, {}, {}", r.backend, r.device, today());
  // Only what was measured is set; attention efficiencies keep their defaults (no attention
  // kernel in this backend), and the file says so.
  // A regime the sweep never reached is left out, so the model keeps its default for it.
  json not_measured = {"attention_compute", "attention_memory", "usable_hbm_fraction"};
  j["efficiency"] = json::object();
  if (g.compute_measured()) {
    j["efficiency"]["gemm_compute"] = g.compute_efficiency;
    j["efficiency"]["kernel_overhead"] = g.overhead_s;
  } else {
    not_measured.push_back("gemm_compute");
    not_measured.push_back("kernel_overhead");
  }
  if (g.memory_measured())
    j["efficiency"]["gemm_memory"] = g.memory_efficiency;
  else
    not_measured.push_back("gemm_memory");
  j["provenance"] = {{"tool", "ridgeline-calibrate"},
                     {"version", report::kVersion},
                     {"argv", argv},
                     {"date", today()},
                     {"backend", r.backend},
                     {"device", r.device},
                     {"peak_flops_per_s", r.peak_flops_per_s},
                     {"peak_bytes_per_s", r.peak_bytes_per_s},
                     {"peak_source", r.peak_source},
                     {"not_measured", not_measured},
                     {"notes", r.notes}};
  j["fits"] = {{"gemm",
                {{"compute_efficiency", g.compute_efficiency},
                 {"memory_efficiency", g.memory_efficiency},
                 {"overhead_s", g.overhead_s},
                 {"compute_bound_samples", g.compute_bound_samples},
                 {"memory_bound_samples", g.memory_bound_samples},
                 {"rms_relative_error", g.rms_relative_error}}},
               {"gemm_time_vs_tokens",
                {{"slope_s_per_token", gemm_linear.slope},
                 {"intercept_s", gemm_linear.intercept},
                 {"rms_relative_error", gemm_linear.rms_relative_error},
                 {"note", "MegaScale-Infer T_e = k3 b_e + k4 over the measured range"}}},
               {"link",
                {{"kind", r.link_kind},
                 {"alpha_s", link.alpha_s},
                 {"bytes_per_s", link.bytes_per_s},
                 {"rms_relative_error", link.rms_relative_error}}}};
  j["samples"] = samples;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  // `ridgeline-calibrate attention|gemm ...`: kernel sweeps (kernel_sweeps.cpp).
  if (const int rc = calib::kernel_sweep_main(argc, argv); rc >= 0) return rc;
  CLI::App app{
      "ridgeline-calibrate: measure grouped GEMMs, memory streaming and transfers on this machine, fit the\n"
      "roofline efficiencies (gemm_compute, gemm_memory, kernel_overhead) and an alpha-beta link model, and\n"
      "write a calibration file for `ridgeline evaluate --calibration` / `ridgeline validate --calibration`.\n"
      "Backends: cpu (always; tests the loop on any machine) and cuda (cuBLAS + NCCL, when built with nvcc).\n"
      "Kernel sweeps: `ridgeline-calibrate attention --help` (decode attention) and `ridgeline-calibrate gemm\n"
      "--help` (expert grouped GEMM, balanced and skewed).",
      "ridgeline-calibrate"};
  std::string backend = "cpu", out, hardware, data_dir;
  calib::Options o;
  app.add_option("--backend", backend, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--out,-o", out, "calibration JSON file to write")->required();
  app.add_option("--hardware", hardware,
                 "hwdb id whose datasheet peaks the efficiencies are relative to (default: the best measured)");
  app.add_option("--data-dir", data_dir, "folder holding hwdb/ (default: $RIDGELINE_DATA_DIR or the source tree)");
  app.add_flag("--quick", o.quick, "fewer sizes and repetitions (seconds instead of a minute)");
  app.add_option("--experts", o.experts, "cpu backend: GEMMs per group")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--hidden", o.hidden, "cpu backend: GEMM K (hidden size)")
      ->check(CLI::Range(16, 65536))
      ->capture_default_str();
  app.add_option("--intermediate", o.intermediate, "cpu backend: GEMM N per expert")
      ->check(CLI::Range(16, 65536))
      ->capture_default_str();
  app.add_option("--repetitions", o.repetitions, "timed repetitions per point (median kept)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  std::vector<std::string> args(argv, argv + argc);
  try {
    // Before a minute of measuring: the output must not be a device, a folder or inside the data
    // folder being read (the write itself is atomic: temp file + rename).
    {
      std::vector<std::filesystem::path> dirs;
      const char* env = std::getenv("RIDGELINE_DATA_DIR");
      const std::string root = !data_dir.empty() ? data_dir : env ? env : "";
      if (!hardware.empty() && !root.empty())
        dirs = {std::filesystem::path(root) / "hwdb", std::filesystem::path(root) / "models"};
      io::check_output_path(out, {}, dirs, "--out");
    }
    if (!hardware.empty() && backend == "cpu")
      throw ConfigError("--hardware " + hardware +
                        ": the cpu backend measures this host, not an accelerator. Fix: "
                        "drop --hardware (peaks are then the best measured) or use --backend cuda on a GPU machine.");
    if (!hardware.empty()) {
      const io::Database db = data_dir.empty() ? io::Database::load_default()
                                               : io::Database::load(std::filesystem::path(data_dir) / "hwdb",
                                                                    std::filesystem::path(data_dir) / "models");
      const Accelerator& hw = db.hardware(hardware);
      o.peak_flops_per_s = hw.peak_flops_per_s(DType::bf16);
      o.peak_bytes_per_s = hw.hbm_bytes_per_s;
      o.peak_source = "datasheet (hwdb/" + hw.id + ".json)";
    }
    calib::Run run;
    if (backend == "cpu") {
      run = calib::run_cpu(o);
    } else {
      const int rc = calib::run_cuda(o, run);
      if (rc != 0) return rc;
    }
    calib::resolve_peaks(o, run);
    const GemmEfficiencyFit g = fit_gemm_efficiency(run.gemm, run.peak_flops_per_s, run.peak_bytes_per_s);
    const AlphaBetaFit link = fit_alpha_beta(run.link);
    std::vector<double> x, y;
    for (const auto& s : run.gemm) {
      x.push_back(s.tokens_per_expert * s.experts);
      y.push_back(s.time_s);
    }
    const LinearFit lin = fit_linear(x, y);
    const json j = to_json(run, g, link, lin, args);
    if (!g.compute_measured() || !g.memory_measured())
      fmt::print(stderr,
                 "ridgeline-calibrate: warning: every GEMM sample was {}-bound (ridge {:.3g} FLOP/byte on this "
                 "host), so {} was not measured and keeps its default. Fix: sweep larger shapes (--hidden, "
                 "--intermediate, more tokens) or run an optimised build.\n",
                 g.compute_measured() ? "compute" : "memory", run.peak_flops_per_s / run.peak_bytes_per_s,
                 g.compute_measured() ? "gemm_memory" : "gemm_compute and kernel_overhead");
    io::write_file_atomic(out, j.dump(2) + "\n", "--out");
    fmt::print(
        "{} backend on {}\n  gemm_compute {:.3f}  gemm_memory {:.3f}  kernel_overhead {:.2f} us  (fit rms {:.1f} %)\n"
        "  link alpha {:.2f} us, {:.2f} GB/s  (fit rms {:.1f} %)\n  wrote {}\n",
        run.backend, run.device, g.compute_efficiency, g.memory_efficiency, g.overhead_s * 1e6,
        100 * g.rms_relative_error, link.alpha_s * 1e6, link.bytes_per_s / 1e9, 100 * link.rms_relative_error, out);
  } catch (const Error& e) {
    fmt::print(stderr, "ridgeline-calibrate: error: {}\n", e.what());
    return 1;
  } catch (const std::system_error&) {  // fmt::print on a failing stdout
    if (!std::ferror(stdout)) throw;
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    fmt::print(stderr,
               "ridgeline-calibrate: error: cannot write the summary to standard output ({}); the "
               "calibration file was written.\n",
               std::strerror(errno ? errno : EIO));
    return 1;
  }
  return 0;
}
