// SPDX-License-Identifier: Apache-2.0
#include "kernel_sweeps.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

#include "io/files.hpp"
#include "io/json_reader.hpp"
#include "kernel_backend.hpp"
#include "report/report.hpp"
#include "ridgeline/attention_fit.hpp"
#include "ridgeline/calibration_fit.hpp"
#include "ridgeline/io/database.hpp"
#include "sweep_grid.hpp"

namespace ridgeline::calib {

using nlohmann::json;

struct CommonFlags {
  std::string backend = "cpu";
  std::string json_out;
  std::string calibration_out;
  std::string hardware;
  std::string data_dir;
  int repetitions = 7;
  bool quick = false;
  bool merge = false;
  int threads = 1;
};

struct AttentionFlags : CommonFlags {
  std::string kinds = "mla,gqa";
  std::string batch;    // empty: the backend's default grid
  std::string context;  // idem
  int mla_heads = 128, latent_dim = 512, rope_dim = 64;
  int gqa_q_heads = 64, gqa_kv_heads = 4, head_dim = 128;
  int splits = 0;
  double max_kv_mib = 0;  // 0: the backend's default cap
};

struct GemmFlags : CommonFlags {
  std::string tokens;  // tokens per expert on average (empty: the backend's default)
  std::string skews = "balanced,zipf:1.2";
  std::string dtypes;  // empty: every dtype the device runs
  int experts = 8, hidden = 2048, intermediate = 1024;
};

struct KernelSweepCommands {
  CLI::App* attention = nullptr;
  CLI::App* gemm = nullptr;
  AttentionFlags a;
  GemmFlags g;
};

namespace {

constexpr const char* kFlashMlaSource =
    "DeepSeek FlashMLA README: BF16 decode on H800 SXM5 reaches up to 660 TFLOPS compute-bound and 3000 GB/s "
    "memory-bound (CUDA 12.8)";
constexpr double kFlashMlaFlopsPerS = 660e12, kFlashMlaBytesPerS = 3000e9;
constexpr double kH800PeakFlopsPerS = 989.5e12, kH800PeakBytesPerS = 3350e9;  // BF16 dense, HBM3 datasheet

std::string now_utc() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

json environment(const KernelBackend& k, int threads) {
  json e;
  e["backend"] = k.name();
  e["device"] = k.device();
  struct utsname u {};
  if (uname(&u) == 0) e["host"] = {{"os", u.sysname}, {"release", u.release}, {"machine", u.machine}};
  e["hardware_threads"] = std::thread::hardware_concurrency();
  e["threads_used"] = threads;
#ifdef __VERSION__
  e["compiler"] = __VERSION__;
#endif
#ifdef NDEBUG
  e["build"] = "optimised (NDEBUG)";
#else
  e["build"] = "debug (assertions on): timings are not representative";
#endif
  return e;
}

void add_common(CLI::App* c, CommonFlags& f) {
  c->add_option("--backend", f.backend, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  c->add_option("--json", f.json_out, "raw samples file to write (JSON: environment, every timed point, the fit)");
  c->add_option("--out,-o", f.calibration_out,
                "calibration file to write with the fitted efficiencies (for `ridgeline evaluate --calibration`)");
  c->add_option("--hardware", f.hardware,
                "cuda: hwdb id whose datasheet peaks the efficiencies are relative to (default: measured peaks)");
  c->add_option("--data-dir", f.data_dir, "folder holding hwdb/ (default: $RIDGELINE_DATA_DIR or the source tree)");
  c->add_option("--repetitions", f.repetitions, "timed repetitions per point (median and p99 kept)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  c->add_flag("--quick", f.quick, "fewer repetitions (3) and quick peak probes (tests, CI)");
  c->add_flag("--merge", f.merge,
              "-o FILE exists: keep its other efficiency keys and fits and replace only what this sweep measured "
              "(one calibration file from `attention` and `gemm` runs)");
  c->add_option("--threads", f.threads, "cpu: worker threads of the attention kernel")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
}

// Before a minute of measuring: outputs must be writable places that are not inputs.
void check_outputs(const CommonFlags& f) {
  std::vector<std::filesystem::path> dirs;
  const char* env = std::getenv("RIDGELINE_DATA_DIR");
  const std::string root = !f.data_dir.empty() ? f.data_dir : env ? env : "";
  if (!root.empty()) dirs = {std::filesystem::path(root) / "hwdb", std::filesystem::path(root) / "models"};
  if (!f.json_out.empty()) io::check_output_path(f.json_out, {}, dirs, "--json");
  if (!f.calibration_out.empty()) io::check_output_path(f.calibration_out, {}, dirs, "--out");
  if (!f.json_out.empty() && f.json_out == f.calibration_out)
    throw UsageError("--json and --out name the same file " + f.json_out + "; give two different files");
}

struct Peaks {
  double flops_per_s = 0, bytes_per_s = 0;
  std::string source;
  std::string hardware_id;  ///< --hardware's hwdb id (GPU backends only): the file applies there
  int tile_rows = 1;
};

Peaks resolve_peaks(const CommonFlags& f, KernelBackend& k) {
  Peaks p;
  p.tile_rows = k.attention_tile_rows();
  if (!f.hardware.empty()) {
    const io::Database db = f.data_dir.empty() ? io::Database::load_default()
                                               : io::Database::load(std::filesystem::path(f.data_dir) / "hwdb",
                                                                    std::filesystem::path(f.data_dir) / "models");
    const Accelerator& hw = db.hardware(f.hardware);
    p.flops_per_s = hw.peak_flops_per_s(DType::bf16);
    p.bytes_per_s = hw.hbm_bytes_per_s;
    p.tile_rows = hw.attention_tile_rows;
    p.hardware_id = hw.id;
    p.source = "datasheet (hwdb/" + hw.id + ".json, BF16 dense and HBM)";
    return p;
  }
  fmt::print(stderr, "measuring this device's peaks (GEMM, streaming read) ...\n");
  const MeasuredPeaks m = k.measure_peaks(f.quick);
  p.flops_per_s = m.flops_per_s;
  p.bytes_per_s = m.bytes_per_s;
  p.source = m.how + "; pass --hardware for datasheet-relative efficiencies";
  return p;
}

// Writes a calibration file with `eff` as its efficiency block.
void write_calibration(const CommonFlags& f, const KernelBackend& k, const std::string& what, const json& eff,
                       const json& not_measured, const json& fits, const Peaks& pk,
                       const std::vector<std::string>& argv) {
  json j;
  j["description"] =
      fmt::format("{} kernels measured by ridgeline-calibrate {} ({} backend) on {}", what, what, k.name(), k.device());
  j["source"] = fmt::format("ridgeline-calibrate {} --backend {}, {}, {}", what, k.name(), k.device(), now_utc());
  j["efficiency"] = eff;
  j["provenance"] = {{"tool", "ridgeline-calibrate " + what},
                     {"version", report::kVersion},
                     {"argv", argv},
                     {"date", now_utc()},
                     {"backend", k.name()},
                     {"device", k.device()},
                     {"peak_flops_per_s", pk.flops_per_s},
                     {"peak_bytes_per_s", pk.bytes_per_s},
                     {"peak_source", pk.source},
                     {"not_measured", not_measured},
                     {"notes",
                      {"only the efficiency keys listed here were measured; every other key keeps the model's "
                       "default"}}};
  if (!pk.hardware_id.empty()) j["provenance"]["hardware_id"] = pk.hardware_id;
  j["fits"] = fits;
  if (f.merge && std::filesystem::exists(f.calibration_out)) {
    // Earlier sweeps' keys stay unless this one measured them; what it measured leaves not_measured.
    const json old = io::read_json_file(f.calibration_out);
    if (!old.is_object() || !old.contains("efficiency") || !old["efficiency"].is_object())
      throw ConfigError(f.calibration_out +
                        ": /efficiency: missing or not an object, so there is nothing to merge "
                        "with. Fix: drop --merge, or point -o at a calibration file ridgeline-calibrate wrote");
    json e = old["efficiency"];
    for (auto it = eff.begin(); it != eff.end(); ++it) e[it.key()] = it.value();
    j["efficiency"] = e;
    json nm = json::array();
    if (old.contains("provenance") && old["provenance"].contains("not_measured"))
      for (const auto& k : old["provenance"]["not_measured"])
        if (k.is_string() && !e.contains(k.get<std::string>())) nm.push_back(k);
    for (const auto& k : not_measured)
      if (!e.contains(k.get<std::string>()) && std::find(nm.begin(), nm.end(), k) == nm.end()) nm.push_back(k);
    j["provenance"]["not_measured"] = nm;
    if (old.contains("fits") && old["fits"].is_object())
      for (auto it = old["fits"].begin(); it != old["fits"].end(); ++it)
        if (!j["fits"].contains(it.key())) j["fits"][it.key()] = it.value();
    if (old.contains("source") && old["source"].is_string())
      j["source"] = old["source"].get<std::string>() + "; " + j["source"].get<std::string>();
    j["description"] = "Merged calibration: " + j["description"].get<std::string>();
    // Applies to one hwdb id only when both parts were measured there.
    const std::string old_hw = old.contains("provenance") && old["provenance"].is_object() &&
                                       old["provenance"].contains("hardware_id") &&
                                       old["provenance"]["hardware_id"].is_string()
                                   ? old["provenance"]["hardware_id"].get<std::string>()
                                   : "";
    if (old_hw != pk.hardware_id) j["provenance"].erase("hardware_id");
  }
  io::write_file_atomic(f.calibration_out, j.dump(2) + "\n", "--out");
}

std::unique_ptr<KernelBackend> open_backend(const CommonFlags& f, int splits, int& rc) {
  if (f.backend == "cpu") return make_cpu_kernels(f.threads, splits);
  std::string why;
  auto k = make_cuda_kernels(why);
  if (!k) {
    fmt::print(stderr, "ridgeline-calibrate: {}\n", why);
    rc = 2;
  }
  return k;
}

std::string si(double v, const char* unit) {
  const char* p[] = {"", "k", "M", "G", "T", "P"};
  int i = 0;
  while (std::abs(v) >= 1000 && i < 5) {
    v /= 1000;
    ++i;
  }
  return fmt::format("{:.3g} {}{}", v, p[i], unit);
}

std::string time_str(double s) {
  if (s < 1e-3) return fmt::format("{:.1f} us", s * 1e6);
  if (s < 1) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

// ---------------------------------------------------------------------------------- attention --

int run_attention(const AttentionFlags& f, const std::vector<std::string>& argv) {
  // Flags first (exit 2), then outputs and device.
  std::vector<AttentionKernelKind> kinds;
  for (const auto& k : {std::string("mla"), std::string("gqa")})
    if (("," + f.kinds + ",").find("," + k + ",") != std::string::npos)
      kinds.push_back(k == "mla" ? AttentionKernelKind::mla : AttentionKernelKind::gqa);
  for (size_t a = 0, b; a <= f.kinds.size(); a = b + 1) {
    b = f.kinds.find(',', a);
    if (b == std::string::npos) b = f.kinds.size();
    const std::string item = f.kinds.substr(a, b - a);
    if (item != "mla" && item != "gqa") throw UsageError("--kernels " + f.kinds + ": '" + item + "' is not mla or gqa");
  }
  if (f.gqa_q_heads % f.gqa_kv_heads != 0)
    throw UsageError(
        fmt::format("--gqa-heads {} is not a multiple of --gqa-kv-heads {}", f.gqa_q_heads, f.gqa_kv_heads));
  const bool cuda = f.backend == "cuda";
  const std::vector<int> batches =
      parse_int_list(f.batch.empty() ? (cuda ? "1,8,32,64,128" : "1,4,16") : f.batch, "--batch", 1, 4096);
  const std::vector<int> contexts =
      parse_int_list(f.context.empty() ? (cuda ? "1024,4096,16384" : "512,2048") : f.context, "--context", 1, 1 << 20);
  if (!f.hardware.empty() && !cuda)
    throw ConfigError("--hardware " + f.hardware +
                      ": the cpu backend measures this host, not an accelerator. Fix: drop --hardware (peaks are "
                      "then measured) or use --backend cuda on a GPU machine.");
  check_outputs(f);
  int rc = 0;
  auto k = open_backend(f, f.splits, rc);
  if (!k) return rc;
  const int reps = f.quick ? std::min(3, f.repetitions) : f.repetitions;
  const double cap_bytes = (f.max_kv_mib > 0 ? f.max_kv_mib : cuda ? 32768.0 : 1024.0) * 1048576.0;

  auto shape_of = [&](AttentionKernelKind kind, int b, int l) {
    AttentionShape s;
    s.kind = kind;
    s.batch = b;
    s.context_tokens = l;
    s.dtype_bytes = k->attention_dtype_bytes();
    if (kind == AttentionKernelKind::mla) {
      s.q_heads = f.mla_heads;
      s.kv_heads = 1;
      s.latent_dim = f.latent_dim;
      s.rope_dim = f.rope_dim;
    } else {
      s.q_heads = f.gqa_q_heads;
      s.kv_heads = f.gqa_kv_heads;
      s.head_dim = f.head_dim;
    }
    return s;
  };

  // Verify every kernel before any timing: a small odd-sized problem (ragged tiles and splits).
  json checks = json::array();
  for (auto kind : kinds) {
    const AttentionShape small = shape_of(kind, 2, 300);
    const CheckResult c = k->verify_attention(small);
    checks.push_back({{"kernel", attention_kernel_name(kind)},
                      {"batch", small.batch},
                      {"context_tokens", small.context_tokens},
                      {"max_relative_error", c.ok ? c.max_relative_error : -1},
                      {"bound", k->attention_error_bound()},
                      {"ok", c.ok}});
    fmt::print(
        "check {} decode attention (batch 2, context 300) against the double reference: max relative error "
        "{:.2e} (bound {:.0e}) {}\n",
        attention_kernel_name(kind), c.max_relative_error, k->attention_error_bound(), c.ok ? "ok" : "FAILED");
    if (!c.ok) {
      fmt::print(stderr,
                 "ridgeline-calibrate attention: the {} kernel on {} gives wrong results (max relative error {:.3g} "
                 "at element {}); refusing to time it. Fix: report this with the device and build.\n",
                 attention_kernel_name(kind), k->device(), c.max_relative_error, c.worst_index);
      return 1;
    }
  }
  const Peaks pk = resolve_peaks(f, *k);
  const double ridge = pk.flops_per_s / pk.bytes_per_s;
  fmt::print("device: {}\npeaks: {} FLOP/s, {} B/s ({}); ridge {:.1f} FLOP/byte\n", k->device(), si(pk.flops_per_s, ""),
             si(pk.bytes_per_s, ""), pk.source, ridge);

  struct Job {
    AttentionShape s;
  };
  std::vector<Job> jobs;
  int skipped_total = 0;
  for (auto kind : kinds) {
    int skipped = 0;
    const AttentionShape unit = shape_of(kind, 1, 1);
    for (const auto& g : make_grid(batches, contexts, unit.kv_bytes(), cap_bytes, &skipped))
      jobs.push_back({shape_of(kind, g.batch, g.context_tokens)});
    skipped_total += skipped;
  }
  if (skipped_total > 0)
    fmt::print("{} grid points left out: their KV cache exceeds --max-kv-mib {:.0f}\n", skipped_total,
               cap_bytes / 1048576.0);
  if (jobs.empty())
    throw UsageError("no grid point fits under --max-kv-mib; raise it or use smaller --batch/--context");

  fmt::print("\n{:>4} {:>6} {:>8} {:>6} {:>10} {:>10} {:>11} {:>11} {:>11} {:>11} {:>8}\n", "kern", "batch", "context",
             "heads", "FLOP", "KV bytes", "median", "p99", "FLOP/s", "KV B/s", "bound");
  fmt::print("{:>4} {:>6} {:>8} {:>6} {:>10} {:>10} {:>11} {:>11} {:>11} {:>11} {:>8}\n", "", "seqs", "tokens", "q", "",
             "", "", "", "achieved", "achieved", "(ridge)");
  std::vector<AttentionSample> samples;
  json rows = json::array();
  for (size_t i = 0; i < jobs.size(); ++i) {
    const AttentionShape& s = jobs[i].s;
    fmt::print(stderr, "[{}/{}] {} batch {} context {} ...\n", i + 1, jobs.size(), attention_kernel_name(s.kind),
               s.batch, s.context_tokens);
    const std::vector<double> t = k->time_attention(s, reps);
    AttentionSample a{s, median(t), percentile(t, 99)};
    samples.push_back(a);
    const double pad = tile_padding_factor(s.rows_per_group(), pk.tile_rows);
    const bool compute_bound = s.flops() * pad / s.kv_bytes() >= ridge;
    fmt::print("{:>4} {:>6} {:>8} {:>6} {:>10} {:>10} {:>11} {:>11} {:>11} {:>11} {:>8}\n",
               attention_kernel_name(s.kind), s.batch, s.context_tokens, s.q_heads, si(s.flops(), ""),
               si(s.kv_bytes(), "B"), time_str(a.time_s), time_str(a.p99_s), si(s.flops() / a.time_s, ""),
               si(s.kv_bytes() / a.time_s, ""), compute_bound ? "compute" : "memory");
    std::fflush(stdout);
    rows.push_back({{"kernel", attention_kernel_name(s.kind)},
                    {"batch", s.batch},
                    {"context_tokens", s.context_tokens},
                    {"q_heads", s.q_heads},
                    {"kv_heads", s.kind == AttentionKernelKind::mla ? 1 : s.kv_heads},
                    {"head_dim", s.kind == AttentionKernelKind::mla ? 0 : s.head_dim},
                    {"latent_dim", s.kind == AttentionKernelKind::mla ? s.latent_dim : 0},
                    {"rope_dim", s.kind == AttentionKernelKind::mla ? s.rope_dim : 0},
                    {"dtype", k->attention_dtype()},
                    {"dtype_bytes", s.dtype_bytes},
                    {"flops", s.flops()},
                    {"kv_bytes", s.kv_bytes()},
                    {"bytes_moved", s.kv_bytes() + s.qo_bytes()},
                    {"time_median_s", a.time_s},
                    {"time_p99_s", a.p99_s},
                    {"repetitions", reps},
                    {"achieved_flops_per_s", s.flops() / a.time_s},
                    {"achieved_kv_bytes_per_s", s.kv_bytes() / a.time_s},
                    {"tile_padding", pad},
                    {"bound", compute_bound ? "compute" : "memory"}});
  }

  const AttentionEfficiencyFit fit = fit_attention_efficiency(samples, pk.flops_per_s, pk.bytes_per_s, pk.tile_rows);
  std::vector<OverheadSample> overheads = k->measure_overheads(reps * 10);
  fmt::print(
      "\nfit: attention_compute {} ({} compute-bound samples), attention_memory {} ({} memory-bound), "
      "overhead {}, rms error {:.1f} %\n",
      fit.compute_measured() ? fmt::format("{:.3f}", fit.compute_efficiency) : "not measured",
      fit.compute_bound_samples, fit.memory_measured() ? fmt::format("{:.3f}", fit.memory_efficiency) : "not measured",
      fit.memory_bound_samples, time_str(fit.overhead_s), 100 * fit.rms_relative_error);
  for (const auto& o : overheads)
    fmt::print("{}: {} per empty kernel (p99 {}, {} kernels)\n", o.what, time_str(o.per_kernel_s),
               time_str(o.p99_per_kernel_s), o.kernels);

  // Published figures: FlashMLA is the same kernel family as our MLA decode on Hopper.
  json published;
  double best_mla_flops = 0, best_mla_bytes = 0;
  for (const auto& a : samples)
    if (a.shape.kind == AttentionKernelKind::mla) {
      best_mla_flops = std::max(best_mla_flops, a.shape.flops() / a.time_s);
      best_mla_bytes = std::max(best_mla_bytes, a.shape.kv_bytes() / a.time_s);
    }
  if (cuda) {
    published = {
        {"source", kFlashMlaSource},
        {"flashmla_compute_flops_per_s", kFlashMlaFlopsPerS},
        {"flashmla_memory_bytes_per_s", kFlashMlaBytesPerS},
        {"flashmla_fraction_of_h800_peak",
         {{"compute", kFlashMlaFlopsPerS / kH800PeakFlopsPerS}, {"memory", kFlashMlaBytesPerS / kH800PeakBytesPerS}}},
        {"best_mla_flops_per_s", best_mla_flops},
        {"best_mla_kv_bytes_per_s", best_mla_bytes},
        {"ratio_to_flashmla_compute", best_mla_flops / kFlashMlaFlopsPerS},
        {"ratio_to_flashmla_memory", best_mla_bytes / kFlashMlaBytesPerS},
        {"note", "FlashMLA numbers are for H800; compare fractions of peak when this device differs"}};
    if (best_mla_flops > 0)
      fmt::print(
          "vs FlashMLA (H800, {:.0f} TFLOPS / {:.0f} GB/s = {:.2f} / {:.2f} of peak): best MLA here {:.1f} "
          "TFLOPS ({:.2f}x), {:.0f} GB/s ({:.2f}x); fitted {:.2f} / {:.2f} of this device's peaks\n",
          kFlashMlaFlopsPerS / 1e12, kFlashMlaBytesPerS / 1e9, kFlashMlaFlopsPerS / kH800PeakFlopsPerS,
          kFlashMlaBytesPerS / kH800PeakBytesPerS, best_mla_flops / 1e12, best_mla_flops / kFlashMlaFlopsPerS,
          best_mla_bytes / 1e9, best_mla_bytes / kFlashMlaBytesPerS, fit.compute_efficiency, fit.memory_efficiency);
  } else {
    published = {{"note",
                  "CPU backend: achieved FLOP/s and bytes/s only; the published FlashMLA figures (660 TFLOPS, "
                  "3000 GB/s) are for H800 GPUs and are not comparable"}};
    double gf = 0, gb = 0;
    for (const auto& a : samples) {
      gf = std::max(gf, a.shape.flops() / a.time_s);
      gb = std::max(gb, a.shape.kv_bytes() / a.time_s);
    }
    fmt::print(
        "cpu: best achieved {:.2f} GFLOP/s and {:.2f} GB/s of KV (host peaks {:.2f} GFLOP/s, {:.2f} GB/s); "
        "no published CPU figure to compare with\n",
        gf / 1e9, gb / 1e9, pk.flops_per_s / 1e9, pk.bytes_per_s / 1e9);
  }

  json fitj = {{"compute_efficiency", fit.compute_efficiency},
               {"memory_efficiency", fit.memory_efficiency},
               {"overhead_s", fit.overhead_s},
               {"compute_bound_samples", fit.compute_bound_samples},
               {"memory_bound_samples", fit.memory_bound_samples},
               {"rms_relative_error", fit.rms_relative_error},
               {"tile_rows", pk.tile_rows},
               {"model",
                "time = max(FLOPs x tile padding / (peak x attention_compute), KV bytes / (HBM x "
                "attention_memory)) + overhead"}};
  json eff = json::object(), not_measured = json::array();
  for (const auto& [key, v] : attention_efficiency_entries(fit)) eff[key] = v;
  for (const char* key : {"attention_compute", "attention_memory"})
    if (!eff.contains(key)) not_measured.push_back(key);
  for (const auto& o : overheads)
    if (o.what == "eager_launch") eff["eager_launch_overhead"] = o.per_kernel_s;
  if (!f.json_out.empty()) {
    json j = {{"tool", "ridgeline-calibrate attention"},
              {"version", report::kVersion},
              {"argv", argv},
              {"date", now_utc()},
              {"environment", environment(*k, f.threads)},
              {"peaks", {{"flops_per_s", pk.flops_per_s}, {"bytes_per_s", pk.bytes_per_s}, {"source", pk.source}}},
              {"checks", checks},
              {"samples", rows},
              {"fit", fitj},
              {"efficiency", eff},
              {"published_comparison", published}};
    for (const auto& o : overheads)
      j["overheads"].push_back({{"what", o.what},
                                {"kernels", o.kernels},
                                {"per_kernel_s", o.per_kernel_s},
                                {"p99_per_kernel_s", o.p99_per_kernel_s}});
    io::write_file_atomic(f.json_out, j.dump(2) + "\n", "--json");
    fmt::print("wrote {}\n", f.json_out);
  }
  if (!f.calibration_out.empty()) {
    if (eff.empty())
      throw Error(
          "the attention sweep measured no efficiency (no sample on either side of the ridge); "
          "no calibration written. Fix: widen --batch/--context");
    write_calibration(f, *k, "attention", eff, not_measured, {{"attention", fitj}}, pk, argv);
    fmt::print("wrote {} (efficiency: {})\n", f.calibration_out, eff.dump());
  }
  return 0;
}

// --------------------------------------------------------------------------------------- gemm --

int run_gemm(const GemmFlags& f, const std::vector<std::string>& argv) {
  const bool cuda = f.backend == "cuda";
  const std::vector<int> tokens =
      parse_int_list(f.tokens.empty() ? (cuda ? "1..512" : "1,4,16,64,256") : f.tokens, "--tokens", 1, 1 << 16);
  std::vector<Skew> skews{Skew{}};
  for (size_t a = 0, b; a <= f.skews.size(); a = b + 1) {
    b = f.skews.find(',', a);
    if (b == std::string::npos) b = f.skews.size();
    const Skew s = parse_skew(f.skews.substr(a, b - a));
    if (s.kind != Skew::balanced) skews.push_back(s);
  }
  if (!f.hardware.empty() && !cuda)
    throw ConfigError("--hardware " + f.hardware +
                      ": the cpu backend measures this host, not an accelerator. Fix: drop --hardware (peaks are "
                      "then measured) or use --backend cuda on a GPU machine.");
  check_outputs(f);
  int rc = 0;
  auto k = open_backend(f, 0, rc);
  if (!k) return rc;
  const std::vector<std::string> can = k->gemm_dtypes();
  std::vector<std::string> dtypes;
  if (f.dtypes.empty()) {
    dtypes = can;
  } else {
    for (size_t a = 0, b; a <= f.dtypes.size(); a = b + 1) {
      b = f.dtypes.find(',', a);
      if (b == std::string::npos) b = f.dtypes.size();
      const std::string d = f.dtypes.substr(a, b - a);
      if (std::find(can.begin(), can.end(), d) == can.end()) {
        std::string all;
        for (const auto& c : can) all += (all.empty() ? "" : ", ") + c;
        throw UsageError("--dtype " + d + ": this device runs " + all);
      }
      dtypes.push_back(d);
    }
  }
  const int reps = f.quick ? std::min(3, f.repetitions) : f.repetitions;
  auto problem = [&](int per_expert, const Skew& skew, const std::string& dt) {
    GemmProblem p;
    p.tokens = expert_tokens(int64_t(per_expert) * f.experts, f.experts, skew);
    p.hidden = f.hidden;
    p.intermediate = f.intermediate;
    p.dtype = dt;
    return p;
  };
  json checks = json::array();
  for (const auto& dt : dtypes)
    for (const auto& sk : skews) {
      const GemmProblem small = problem(3, sk, dt);
      const CheckResult c = k->verify_gemm(small);
      checks.push_back(
          {{"dtype", dt}, {"skew", sk.text()}, {"max_relative_error", c.max_relative_error}, {"ok", c.ok}});
      fmt::print(
          "check {} grouped GEMM ({} experts, {} tokens, {}) against the double reference: max relative "
          "error {:.2e} {}\n",
          dt, f.experts, 3 * f.experts, sk.text(), c.max_relative_error, c.ok ? "ok" : "FAILED");
      if (!c.ok) {
        fmt::print(stderr,
                   "ridgeline-calibrate gemm: the {} grouped GEMM on {} gives wrong results (max relative error "
                   "{:.3g}); refusing to time it. Fix: report this with the device and build.\n",
                   dt, k->device(), c.max_relative_error);
        return 1;
      }
    }
  const Peaks pk = resolve_peaks(f, *k);
  const double ridge = pk.flops_per_s / pk.bytes_per_s;
  fmt::print("device: {}\npeaks: {} FLOP/s, {} B/s ({}); ridge {:.1f} FLOP/byte\n", k->device(), si(pk.flops_per_s, ""),
             si(pk.bytes_per_s, ""), pk.source, ridge);
  fmt::print("\n{:>5} {:>12} {:>7} {:>8} {:>6} {:>10} {:>10} {:>11} {:>11} {:>11} {:>11} {:>8}\n", "dtype", "skew",
             "tok/exp", "max tok", "active", "FLOP", "bytes", "median", "p99", "FLOP/s", "B/s", "vs bal.");
  const size_t total = dtypes.size() * skews.size() * tokens.size();
  size_t done = 0;
  json rows = json::array();
  std::vector<GemmSample> fit_samples;
  for (const auto& dt : dtypes)
    for (int tpe : tokens) {
      double balanced_s = 0;
      for (const auto& sk : skews) {
        const GemmProblem p = problem(tpe, sk, dt);
        fmt::print(stderr, "[{}/{}] {} {} tokens/expert {} ...\n", ++done, total, dt, tpe, sk.text());
        const std::vector<double> t = k->time_gemm(p, reps);
        const double med = median(t), p99 = percentile(t, 99);
        if (sk.kind == Skew::balanced) balanced_s = med;
        const int max_tok = *std::max_element(p.tokens.begin(), p.tokens.end());
        fmt::print("{:>5} {:>12} {:>7} {:>8} {:>6} {:>10} {:>10} {:>11} {:>11} {:>11} {:>11} {:>7.2f}x\n", dt,
                   sk.text(), tpe, max_tok, p.active_experts(), si(p.flops(), ""), si(p.bytes(), "B"), time_str(med),
                   time_str(p99), si(p.flops() / med, ""), si(p.bytes() / med, ""),
                   balanced_s > 0 ? med / balanced_s : 1.0);
        std::fflush(stdout);
        rows.push_back({{"dtype", dt},
                        {"dtype_bytes", p.dtype_bytes()},
                        {"skew", sk.text()},
                        {"experts", f.experts},
                        {"active_experts", p.active_experts()},
                        {"hidden", f.hidden},
                        {"intermediate", f.intermediate},
                        {"tokens_per_expert_mean", tpe},
                        {"tokens_per_expert", p.tokens},
                        {"flops", p.flops()},
                        {"bytes_moved", p.bytes()},
                        {"time_median_s", med},
                        {"time_p99_s", p99},
                        {"repetitions", reps},
                        {"achieved_flops_per_s", p.flops() / med},
                        {"achieved_bytes_per_s", p.bytes() / med},
                        {"slowdown_vs_balanced", balanced_s > 0 ? med / balanced_s : 1.0}});
        // The efficiency fit uses balanced groups of the dtype the peaks refer to.
        if (sk.kind == Skew::balanced && dt == dtypes.front()) {
          GemmSample g;
          g.tokens_per_expert = p.total_tokens() / std::max(1, p.active_experts());
          g.experts = p.active_experts();
          g.hidden = f.hidden;
          g.intermediate = f.intermediate;
          g.weight_bytes_per_elem = p.dtype_bytes();
          g.time_s = med;
          fit_samples.push_back(g);
        }
      }
    }
  const GemmEfficiencyFit fit = fit_gemm_efficiency(fit_samples, pk.flops_per_s, pk.bytes_per_s);
  fmt::print(
      "\nfit ({} balanced): gemm_compute {} ({} compute-bound), gemm_memory {} ({} memory-bound), "
      "overhead {}, rms error {:.1f} %\n",
      dtypes.front(), fit.compute_measured() ? fmt::format("{:.3f}", fit.compute_efficiency) : "not measured",
      fit.compute_bound_samples, fit.memory_measured() ? fmt::format("{:.3f}", fit.memory_efficiency) : "not measured",
      fit.memory_bound_samples, time_str(fit.overhead_s), 100 * fit.rms_relative_error);
  json fitj = {{"dtype", dtypes.front()},
               {"compute_efficiency", fit.compute_efficiency},
               {"memory_efficiency", fit.memory_efficiency},
               {"overhead_s", fit.overhead_s},
               {"compute_bound_samples", fit.compute_bound_samples},
               {"memory_bound_samples", fit.memory_bound_samples},
               {"rms_relative_error", fit.rms_relative_error}};
  json eff = json::object(), not_measured = json::array();
  if (fit.compute_measured()) {
    eff["gemm_compute"] = std::clamp(fit.compute_efficiency, 1e-3, 1.0);
    eff["kernel_overhead"] = fit.overhead_s;
  } else {
    not_measured.push_back("gemm_compute");
    not_measured.push_back("kernel_overhead");
  }
  if (fit.memory_measured())
    eff["gemm_memory"] = std::clamp(fit.memory_efficiency, 1e-3, 1.0);
  else
    not_measured.push_back("gemm_memory");
  if (!f.json_out.empty()) {
    json j = {{"tool", "ridgeline-calibrate gemm"},
              {"version", report::kVersion},
              {"argv", argv},
              {"date", now_utc()},
              {"environment", environment(*k, 1)},
              {"peaks", {{"flops_per_s", pk.flops_per_s}, {"bytes_per_s", pk.bytes_per_s}, {"source", pk.source}}},
              {"checks", checks},
              {"samples", rows},
              {"fit", fitj},
              {"efficiency", eff}};
    io::write_file_atomic(f.json_out, j.dump(2) + "\n", "--json");
    fmt::print("wrote {}\n", f.json_out);
  }
  if (!f.calibration_out.empty()) {
    write_calibration(f, *k, "gemm", eff, not_measured, {{"gemm", fitj}}, pk, argv);
    fmt::print("wrote {} (efficiency: {})\n", f.calibration_out, eff.dump());
  }
  return 0;
}

}  // namespace

std::shared_ptr<KernelSweepCommands> register_kernel_sweeps(CLI::App& app) {
  auto c = std::make_shared<KernelSweepCommands>();
  AttentionFlags& a = c->a;
  c->attention = app.add_subcommand(
      "attention",
      "Decode attention (MLA with absorbed weights, GQA) over a batch x context grid: each kernel is checked against "
      "a double-precision reference, then timed (median and p99); prints a table, writes --json RAW and, with -o, "
      "the fitted attention_compute / attention_memory efficiencies.");
  add_common(c->attention, a);
  c->attention->add_option("--kernels", a.kinds, "kernels to sweep: mla, gqa or mla,gqa")->capture_default_str();
  c->attention->add_option("--batch", a.batch,
                           "sequences per call, a list (1,4,16) or doubling range (1..128) [default: 1,4,16 on cpu, "
                           "1,8,32,64,128 on cuda]");
  c->attention->add_option("--context", a.context,
                           "context length in tokens, a list or range [default: 512,2048 on cpu, 1024,4096,16384 on "
                           "cuda]");
  c->attention->add_option("--mla-heads", a.mla_heads, "MLA query heads per GPU (DeepSeek-V3: 128 at TP 1)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  c->attention->add_option("--latent-dim", a.latent_dim, "MLA latent (kv_lora_rank) elements per token")
      ->check(CLI::Range(16, 4096))
      ->capture_default_str();
  c->attention->add_option("--rope-dim", a.rope_dim, "MLA decoupled RoPE key elements per token")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  c->attention->add_option("--gqa-heads", a.gqa_q_heads, "GQA query heads (Qwen3-235B-A22B: 64)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  c->attention->add_option("--gqa-kv-heads", a.gqa_kv_heads, "GQA KV heads (Qwen3-235B-A22B: 4)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  c->attention->add_option("--head-dim", a.head_dim, "GQA head dimension in elements")
      ->check(CLI::Range(8, 1024))
      ->capture_default_str();
  c->attention->add_option("--splits", a.splits, "KV splits per sequence (flash-decoding); 0 = automatic")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  c->attention
      ->add_option("--max-kv-mib", a.max_kv_mib,
                   "leave out grid points whose KV cache exceeds this many MiB [default: 1024 on cpu, 32768 "
                   "on cuda]")
      ->check(CLI::Range(1.0, 1e7));

  GemmFlags& g = c->g;
  c->gemm = app.add_subcommand(
      "gemm",
      "Grouped GEMM of MoE experts (tokens per expert balanced or skewed): checked against a double-precision "
      "reference, then timed; prints a table, writes --json RAW and, with -o, the fitted gemm_compute, "
      "gemm_memory and kernel_overhead.");
  add_common(c->gemm, g);
  c->gemm->add_option("--tokens", g.tokens,
                      "mean routed tokens per expert, a list or doubling range [default: 1,4,16,64,256 on cpu, 1..512 "
                      "on cuda]");
  c->gemm
      ->add_option("--skew", g.skews,
                   "token distributions besides balanced, comma-separated: zipf:S (share of expert i ~ "
                   "1/(i+1)^S) or hot:F (fraction F of the tokens on one expert)")
      ->capture_default_str();
  c->gemm->add_option("--dtype", g.dtypes,
                      "element types, comma-separated: fp32 (cpu), bf16 and fp8 (cuda, fp8 on compute capability "
                      ">= 8.9) [default: all the device runs]");
  c->gemm->add_option("--experts", g.experts, "experts (GEMMs) per group")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  c->gemm->add_option("--hidden", g.hidden, "GEMM K (hidden size) in elements")
      ->check(CLI::Range(16, 65536))
      ->capture_default_str();
  c->gemm->add_option("--intermediate", g.intermediate, "GEMM N per expert in elements")
      ->check(CLI::Range(16, 65536))
      ->capture_default_str();
  return c;
}

int run_kernel_sweeps(const KernelSweepCommands& c, const std::vector<std::string>& argv) {
  const bool att = c.attention && c.attention->parsed(), gem = c.gemm && c.gemm->parsed();
  if (!att && !gem) return -1;
  const char* name = att ? "attention" : "gemm";
  try {
    return att ? run_attention(c.a, argv) : run_gemm(c.g, argv);
  } catch (const UsageError& e) {
    fmt::print(stderr, "ridgeline-calibrate {}: {}\n", name, e.what());
    return 2;
  } catch (const Error& e) {
    fmt::print(stderr, "ridgeline-calibrate {}: error: {}\n", name, e.what());
    return 1;
  } catch (const std::system_error&) {  // fmt::print on a failing stdout
    if (!std::ferror(stdout)) throw;
    fmt::print(stderr, "ridgeline-calibrate {}: error: cannot write to standard output ({})\n", name,
               std::strerror(errno ? errno : EIO));
    return 1;
  }
}

int kernel_sweep_main(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "attention") != 0 && std::strcmp(argv[1], "gemm") != 0)) return -1;
  CLI::App app{"ridgeline-calibrate: kernel sweeps", "ridgeline-calibrate"};
  app.require_subcommand(1, 1);
  auto cmds = register_kernel_sweeps(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  const int rc = run_kernel_sweeps(*cmds, std::vector<std::string>(argv, argv + argc));
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    fmt::print(stderr, "ridgeline-calibrate: error: cannot write to standard output ({})\n",
               std::strerror(errno ? errno : EIO));
    return rc == 0 ? 1 : rc;
  }
  return rc;
}

}  // namespace ridgeline::calib
