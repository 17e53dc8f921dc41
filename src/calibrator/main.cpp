// SPDX-License-Identifier: Apache-2.0
// ridgeline-calibrate: measure, fit, and write a calibration file that `ridgeline evaluate
// --calibration` and `ridgeline validate --calibration` read. Subcommands: run (the default: GEMM,
// stream and link sweeps on this machine), m2n (M->N transfers between MPI ranks, m2n.hpp) and fit
// (raw m2n results -> calibration, fit.cpp).
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
#include "commands.hpp"
#include "host_info.hpp"
#include "io/files.hpp"
#include "kernel_sweeps.hpp"
#include "m2n.hpp"
#include "m2n_memory.hpp"
#include "report/report.hpp"
#include "ridgeline/calibration_fit.hpp"
#include "ridgeline/io/database.hpp"

using namespace ridgeline;
using nlohmann::json;

namespace {

std::string today() {
  return calib::utc_now();
}

json to_json(const calib::Run& r, const GemmEfficiencyFit& g, const AlphaBetaFit& link, const LinearFit& gemm_linear,
             const std::vector<std::string>& argv, const json& host_load) {
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
  for (size_t i = 0; i < r.link.size(); ++i) {
    json row = {{"message_bytes", r.link[i].message_bytes}, {"time_s", r.link[i].time_s}};
    if (i < r.link_stats.size()) row["time_p99_s"] = r.link_stats[i].p99_s;
    samples["link"].push_back(row);
  }
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
                     {"host_load", host_load},
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

struct RunArgs {
  std::string backend = "cpu", out, hardware, data_dir;
  calib::Options o;
};

/// The one-shot calibration's flags, on the top level (the default command) and on `run`.
void add_run_options(CLI::App* app, RunArgs& a) {
  app->add_option("--backend", a.backend, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app->add_option("--out,-o", a.out, "calibration JSON file to write (required)");
  app->add_option("--hardware", a.hardware,
                  "hwdb id whose datasheet peaks the efficiencies are relative to (default: the best measured)");
  app->add_option("--data-dir", a.data_dir, "folder holding hwdb/ (default: $RIDGELINE_DATA_DIR or the source tree)");
  app->add_flag("--quick", a.o.quick, "fewer sizes and repetitions (seconds instead of a minute)");
  app->add_option("--experts", a.o.experts, "cpu backend: GEMMs per group")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app->add_option("--hidden", a.o.hidden, "cpu backend: GEMM K (hidden size)")
      ->check(CLI::Range(16, 65536))
      ->capture_default_str();
  app->add_option("--intermediate", a.o.intermediate, "cpu backend: GEMM N per expert")
      ->check(CLI::Range(16, 65536))
      ->capture_default_str();
  app->add_option("--repetitions", a.o.repetitions, "GEMM: timed repetitions per point (median kept)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app->add_option("-b,--min-bytes", a.o.link_min_bytes,
                  "link sweep: smallest message in bytes (default 1024; 4096 with --quick)")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 30));
  app->add_option("-e,--max-bytes", a.o.link_max_bytes,
                  "link sweep: largest message in bytes (default 16777216 = 16 MiB; 4 MiB with --quick)")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 30));
  app->add_option("-f,--factor", a.o.link_factor, "link sweep: size multiplier between rows (default 4)")
      ->check(CLI::Range(1.01, 1024.0));
  app->add_option("-w,--warmup", a.o.warmup, "stream and link sweeps: untimed iterations per row (default 1)")
      ->check(CLI::Range(0, 10000));
  app->add_option("-n,--iters", a.o.iterations,
                  "stream and link sweeps: timed iterations per row (default: --repetitions for stream, 3x it for "
                  "the link)")
      ->check(CLI::Range(1, 100000));
}

int cmd_run(RunArgs& a, const std::vector<std::string>& args) {
  if (a.out.empty()) {
    fmt::print(stderr, "ridgeline-calibrate: --out is required (the calibration file to write); see --help\n");
    return 2;
  }
  if (a.o.link_min_bytes && a.o.link_max_bytes && a.o.link_max_bytes < a.o.link_min_bytes) {
    fmt::print(stderr, "ridgeline-calibrate: -e/--max-bytes {} is below -b/--min-bytes {}\n", a.o.link_max_bytes,
               a.o.link_min_bytes);
    return 2;
  }
  calib::Options& o = a.o;
  const std::string& out = a.out;
  // Before a minute of measuring: the output must not be a device, a folder or inside the data
  // folder being read (the write itself is atomic: temp file + rename).
  {
    std::vector<std::filesystem::path> dirs;
    const char* env = std::getenv("RIDGELINE_DATA_DIR");
    const std::string root = !a.data_dir.empty() ? a.data_dir : env ? env : "";
    if (!a.hardware.empty() && !root.empty())
      dirs = {std::filesystem::path(root) / "hwdb", std::filesystem::path(root) / "models"};
    io::check_output_path(out, {}, dirs, "--out");
  }
  if (!a.hardware.empty() && a.backend == "cpu")
    throw ConfigError("--hardware " + a.hardware +
                      ": the cpu backend measures this host, not an accelerator. Fix: "
                      "drop --hardware (peaks are then the best measured) or use --backend cuda on a GPU machine.");
  std::string hardware_id;  // --hardware (cuda only): the hwdb id the file applies to
  if (!a.hardware.empty()) {
    const io::Database db = a.data_dir.empty() ? io::Database::load_default()
                                               : io::Database::load(std::filesystem::path(a.data_dir) / "hwdb",
                                                                    std::filesystem::path(a.data_dir) / "models");
    const Accelerator& hw = db.hardware(a.hardware);
    o.peak_flops_per_s = hw.peak_flops_per_s(DType::bf16);
    o.peak_bytes_per_s = hw.hbm_bytes_per_s;
    o.peak_source = "datasheet (hwdb/" + hw.id + ".json)";
    hardware_id = hw.id;
  }
  const calib::HostLoad load_before = calib::read_host_load();
  // nccl-tests-style rows as the stream and link sweeps run (the GEMM sweep is summarised after).
  std::string last_sweep;
  o.on_row = [&](const char* sweep_name, double bytes, const sweep::TimeStats& st) {
    if (last_sweep != sweep_name) {
      last_sweep = sweep_name;
      fmt::print("# {} sweep{}\n# {:>12s} {:>12s} {:>12s} {:>11s} {:>8s}\n# {:>12s} {:>12s} {:>12s} {:>11s} {:>8s}\n",
                 sweep_name, std::string(sweep_name) == "link" ? " (one transfer = half a round trip)" : "", "size",
                 "time med", "time p99", "bandwidth", "spread", "(B)", "(us)", "(us)", "(GB/s)", "(%)");
    }
    fmt::print("  {:>12.0f} {:>12.2f} {:>12.2f} {:>11.3f} {:>8.1f}\n", bytes, st.median_s * 1e6, st.p99_s * 1e6,
               bytes / st.median_s / 1e9, 100 * st.relative_spread);
    std::fflush(stdout);
  };
  calib::Run run;
  if (a.backend == "cpu") {
    run = calib::run_cpu(o);
  } else {
    const int rc = calib::run_cuda(o, run);
    if (rc != 0) return rc;
  }
  calib::resolve_peaks(o, run);
  const GemmEfficiencyFit g = fit_gemm_efficiency(run.gemm, run.peak_flops_per_s, run.peak_bytes_per_s);
  const AlphaBetaFit link = fit_alpha_beta(run.link);
  std::vector<double> x, y, spreads;
  for (const auto& s : run.gemm) {
    x.push_back(s.tokens_per_expert * s.experts);
    y.push_back(s.time_s);
  }
  for (const auto& s : run.link_stats) spreads.push_back(s.relative_spread);
  for (const auto& s : run.stream_stats) spreads.push_back(s.relative_spread);
  const double spread = spreads.empty() ? 0 : median(spreads);
  const bool loaded = load_before.loaded() || spread > 0.25;
  const json host_load = {{"loadavg_1min", load_before.loadavg_1min},
                          {"cores", load_before.cores},
                          {"median_relative_spread", spread},
                          {"loaded", loaded}};
  const LinearFit lin = fit_linear(x, y);
  json j = to_json(run, g, link, lin, args, host_load);
  if (!hardware_id.empty()) j["provenance"]["hardware_id"] = hardware_id;
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
      "  link alpha {:.2f} us, {:.2f} GB/s  (fit rms {:.1f} %)\n",
      run.backend, run.device, g.compute_efficiency, g.memory_efficiency, g.overhead_s * 1e6,
      100 * g.rms_relative_error, link.alpha_s * 1e6, link.bytes_per_s / 1e9, 100 * link.rms_relative_error);
  if (loaded)
    fmt::print(
        "  LOADED host: load average {:.2f} on {} cores, repeated iterations spread {:.0f} %: numbers are noisy\n",
        load_before.loadavg_1min, load_before.cores, 100 * spread);
  fmt::print("  wrote {}\n", out);
  return 0;
}

/// The rank this process will have under mpirun / srun, from the launcher's environment (before
/// MPI_Init): only rank 0 prints flag errors, not every process.
bool launcher_rank_zero() {
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"})
    if (const char* r = std::getenv(v)) return std::string(r) == "0";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // `ridgeline-calibrate attention|gemm ...`: kernel sweeps (kernel_sweeps.cpp).
  if (const int rc = calib::kernel_sweep_main(argc, argv); rc >= 0) return rc;
  CLI::App app{
      "ridgeline-calibrate: measure this machine and write a calibration file for `ridgeline evaluate\n"
      "--calibration` / `ridgeline validate --calibration`. Three commands:\n"
      "  (none) or run  grouped GEMMs, memory streaming and a link sweep on this machine; fits the roofline\n"
      "                 efficiencies (gemm_compute, gemm_memory, kernel_overhead) and an alpha-beta link model\n"
      "                 and writes the file (-o). Backends: cpu (any machine) and cuda (cuBLAS + NCCL).\n"
      "  m2n            M->N and N->M transfers between MPI ranks (mpirun -np M+N ...), nccl-tests style:\n"
      "                 payload checked before timing, median and p99 per size, a table as it runs, --json RAW.\n"
      "  fit            RAW... -> calibration: robust alpha-beta fit with uncertainties; refuses poor fits.\n"
      "  attention/gemm kernel sweeps: decode attention and expert grouped GEMM (balanced, skewed).\n"
      "Run `ridgeline-calibrate COMMAND --help` for each command's flags. Guide: docs/calibration.md.",
      "ridgeline-calibrate"};
  app.require_subcommand(0, 1);
  RunArgs run_args;
  add_run_options(&app, run_args);
  CLI::App* run_cmd = app.add_subcommand("run", "the one-shot calibration (the same as no command)");
  add_run_options(run_cmd, run_args);

  calib::M2NOptions m;
  std::size_t min_bytes = m.min_bytes, max_bytes = m.max_bytes;
  CLI::App* m2n = app.add_subcommand(
      "m2n",
      "M->N (attention -> FFN) and N->M transfer sweeps between MPI ranks, one process per rank:\n"
      "  mpirun -np 4 ridgeline-calibrate m2n --backend cpu --attention-ranks 3 --ffn-ranks 1 --json raw.json\n"
      "Ranks 0..M-1 are attention ranks, M..M+N-1 FFN ranks. In m2n every attention rank sends one message of\n"
      "the row's size to every FFN rank; n2m is the reverse; --all-to-all adds every rank -> every other rank\n"
      "(DeepEP's pattern: a message = tokens x hidden x bytes per element). Each row: the payload is checked,\n"
      "then -w untimed and -n timed iterations; a phase's time is the slowest rank's. Columns: size per\n"
      "message (B), bytes of the busiest rank (B), median and p99 time (us), algbw = busiest rank's bytes /\n"
      "median time and busbw (GB/s = 1e9 B/s; = algbw for m2n/n2m, x (W-1)/W for all-to-all), #wrong.");
  m2n->add_option("--backend", m.backend,
                  "cpu: MPI_Isend/Irecv between host buffers (runs anywhere); nccl: ncclSend/ncclRecv, one GPU per "
                  "rank; verbs: RDMA write-with-immediate from registered host memory (GPU memory with --gpudirect)")
      ->check(CLI::IsMember({"cpu", "nccl", "verbs"}))
      ->capture_default_str();
  m2n->add_option("--attention-ranks,-M", m.layout.attention_ranks, "M: attention ranks (0 .. M-1); M + N = ranks")
      ->required()
      ->check(CLI::Range(1, 1 << 20));
  m2n->add_option("--ffn-ranks,-N", m.layout.ffn_ranks, "N: FFN ranks (M .. M+N-1)")
      ->required()
      ->check(CLI::Range(1, 1 << 20));
  m2n->add_option("-b,--min-bytes", min_bytes, "smallest message per (sender, receiver) pair, bytes")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 34))
      ->capture_default_str();
  m2n->add_option("-e,--max-bytes", max_bytes, "largest message per pair, bytes (cpu: at most 2^31 - 1)")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 34))
      ->capture_default_str();
  m2n->add_option("-f,--factor", m.factor, "size multiplier between rows (> 1)")
      ->check(CLI::Range(1.01, 1024.0))
      ->capture_default_str();
  m2n->add_option("-w,--warmup", m.warmup, "untimed iterations per size")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  m2n->add_option("-n,--iters", m.iterations, "timed iterations per size (median and p99 over them)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  m2n->add_option("--rounds", m.rounds,
                  "split the -n timed iterations of every size over this many passes through all sizes (a load "
                  "burst on a shared host then hits every size alike; rows print in the last pass)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  m2n->add_flag("--check", m.check_every_iteration,
                "verify the payload after every timed iteration too (it is always verified once before timing)");
  m2n->add_flag("--all-to-all", m.all_to_all, "also sweep the all-to-all pattern over all M + N ranks");
  m2n->add_flag("--gpudirect", m.gpudirect,
                std::string("verbs: send and receive from GPU memory on each rank's GPU (local rank modulo the "
                            "visible GPUs), registered for GPUDirect RDMA (dma-buf, else nvidia-peermem); ") +
                    (calib::gpu_memory_built() ? "this build has CUDA" : "needs a CUDA build: refused in this one"));
  m2n->add_option("--json", m.json_out, "raw results for `ridgeline-calibrate fit` (rank 0 writes)");

  calib::FitArgs f;
  std::string holdout;
  CLI::App* fit = app.add_subcommand(
      "fit",
      "Fit m2n raw files (and the GEMM samples of `run -o` files) and write a calibration file:\n"
      "  ridgeline-calibrate fit raw.json --transport cpu_rdma -o calib.json\n"
      "Per pattern, t = alpha + busiest_rank_bytes / bandwidth is fitted to the per-size medians after MAD\n"
      "outlier rejection; uncertainties by bootstrap. The --pattern fit becomes efficiency.transport.NAME:\n"
      "fixed = alpha (minus the datasheet link latency with --hardware/--link), per_token = bytes per token x\n"
      "(1/measured - 1/datasheet sustained bandwidth), only with --hardware, --link and --hidden.");
  fit->add_option("raw", f.inputs, "m2n --json files and/or calibration files with GEMM samples")
      ->required()
      ->check(CLI::ExistingFile);
  fit->add_option("--out,-o", f.out, "calibration JSON file to write")->required();
  fit->add_option("--pattern", f.pattern, "the pattern whose fit becomes the transport entry")
      ->check(CLI::IsMember({"m2n", "n2m", "all_to_all"}))
      ->capture_default_str();
  fit->add_option("--transport", f.transport,
                  "transport entry to write (default: nccl for the nccl backend, cpu_rdma for verbs, none for cpu)")
      ->check(CLI::IsMember({"deepep_low_latency", "deepep_normal", "nccl", "cpu_rdma"}));
  fit->add_option("--holdout", holdout,
                  "comma-separated message sizes (bytes) left out of the fit; their prediction error is reported");
  fit->add_option("--hardware", f.hardware, "hwdb id whose datasheet link the model adds on its own (subtracted)");
  fit->add_option("--link", f.link, "which link of --hardware was measured")
      ->check(CLI::IsMember({"scale_up", "scale_out"}))
      ->default_val("scale_out");
  fit->add_option("--data-dir", f.data_dir, "folder holding hwdb/ (default: $RIDGELINE_DATA_DIR or the source tree)");
  fit->add_option("--hidden", f.hidden,
                  "model hidden size, for per_token (bytes per token = hidden x --bytes-per-elem)")
      ->check(CLI::Range(1, 1 << 20));
  fit->add_option("--bytes-per-elem", f.bytes_per_elem, "bytes per hidden element on the wire (1 = FP8 dispatch)")
      ->check(CLI::Range(0.125, 8.0))
      ->capture_default_str();
  fit->add_option("--bytes-per-token", f.bytes_per_token, "bytes per token directly (instead of --hidden)")
      ->check(CLI::Range(1.0, 1e9));
  fit->add_option("--max-rms-error", f.max_rms_error, "refuse a fit whose relative RMS error exceeds this fraction")
      ->check(CLI::Range(0.001, 10.0))
      ->capture_default_str();
  fit->add_flag("--accept-poor-fit", f.accept_poor_fit, "write a refused fit anyway (recorded in the file)");
  fit->add_option("--bootstrap", f.bootstrap, "bootstrap resamples for the uncertainties")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
    if (fit->parsed() && !holdout.empty()) {
      size_t pos = 0;
      while (pos <= holdout.size()) {
        const size_t comma = std::min(holdout.find(',', pos), holdout.size());
        const std::string item = holdout.substr(pos, comma - pos);
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || !(v > 0))
          throw CLI::ValidationError("--holdout", "\"" + item + "\" is not a message size in bytes");
        f.holdout_bytes.push_back(v);
        pos = comma + 1;
      }
    }
    if (m2n->parsed() && max_bytes < min_bytes)
      throw CLI::ValidationError("-e/--max-bytes",
                                 std::to_string(max_bytes) + " is below -b/--min-bytes " + std::to_string(min_bytes));
    if (m2n->parsed()) {
      const calib::MemoryChoice mem = calib::choose_memory(m.backend, m.gpudirect, calib::gpu_memory_built());
      if (!mem.error.empty()) throw CLI::ValidationError(mem.error);
    }
    if (m2n->parsed() && m.backend == "cpu" && max_bytes > 0x7fffffffu)
      throw CLI::ValidationError("-e/--max-bytes", "the cpu backend sends at most 2^31 - 1 bytes per MPI message");
  } catch (const CLI::ParseError& e) {
    if (!launcher_rank_zero()) return e.get_exit_code() == 0 ? 0 : 2;
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  std::vector<std::string> args(argv, argv + argc);
  try {
    if (m2n->parsed()) {
      m.min_bytes = min_bytes;
      m.max_bytes = max_bytes;
      m.argv = args;
      return calib::run_m2n(m);
    }
    if (fit->parsed()) {
      f.argv = args;
      return calib::run_fit(f);
    }
    const int rc = cmd_run(run_args, args);
    if (rc != 0) return rc;
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
