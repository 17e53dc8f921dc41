// SPDX-License-Identifier: Apache-2.0
// `ridgeline-calibrate fit RAW... -o CALIBRATION`: robust alpha-beta fits of m2n raw files (and
// the grouped-GEMM efficiencies of calibration files that carry GEMM samples), written as a
// calibration file `ridgeline evaluate --calibration` reads. The mapping to the model's
// transport entry is documented in docs/calibration.md ("What the fit writes").
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "commands.hpp"
#include "host_info.hpp"
#include "io/files.hpp"
#include "io/json_reader.hpp"
#include "report/report.hpp"
#include "ridgeline/calibration_fit.hpp"
#include "ridgeline/calibration_sweep.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/transport.hpp"

namespace ridgeline::calib {

namespace {

using io::Json;
using io::Reader;

struct HeldOut {
  double message_bytes, busiest_rank_bytes, measured_s;
};

struct PatternData {
  std::vector<LinkSample> fit;  ///< every kept iteration, x = busiest rank bytes
  std::vector<HeldOut> held_out;
};

struct Inputs {
  std::map<std::string, PatternData> patterns;  ///< by pattern name
  std::vector<GemmSample> gemm;
  double peak_flops_per_s = 0, peak_bytes_per_s = 0;
  std::string peak_source;
  std::set<std::string> backends, devices, hostnames, layouts, gemm_devices, gemm_backends;
  std::vector<double> loadavgs;
  bool raw_host_loaded = false;
  int m2n_files = 0, gemm_files = 0;
};

bool in_list(const std::vector<double>& v, double x) {
  return std::any_of(v.begin(), v.end(), [&](double h) { return std::abs(h - x) <= 1e-9 * std::max(1.0, h); });
}

void read_m2n_raw(const Json& j, const std::string& file, const FitArgs& a, Inputs& in) {
  const Reader r(j, file);
  const Reader env = r.object("environment");
  in.backends.insert(env.string("backend"));
  in.devices.insert(env.opt_string("device", "unknown"));
  for (const auto& h : env.opt_strings("hostnames")) in.hostnames.insert(h);
  const Reader lay = env.object("layout");
  const int M = lay.integer("attention_ranks", 1), N = lay.integer("ffn_ranks", 1);
  in.layouts.insert(fmt::format("{} attention -> {} FFN", M, N));
  if (auto hl = r.opt_object("host_load")) {
    in.raw_host_loaded = in.raw_host_loaded || hl->opt_bool("loaded", false);
    in.loadavgs.push_back(hl->opt_number_in("loadavg_1min", -1, 1e6, -1));
  }
  if (!j.contains("results") || !j.at("results").is_array() || j.at("results").empty())
    r.fail("results", "is missing or empty", "re-run `ridgeline-calibrate m2n ... --json FILE` to completion");
  const Json& results = j.at("results");
  for (size_t i = 0; i < results.size(); ++i) {
    const Reader row(results[i], file, "/results/" + std::to_string(i));
    const std::string pattern = row.string("pattern");
    if (pattern != "m2n" && pattern != "n2m" && pattern != "all_to_all")
      row.fail("pattern", "is \"" + pattern + "\"", "use m2n, n2m or all_to_all (what m2n writes)");
    const double msg = row.quantity("message_bytes", Dimension::bytes);
    const double busiest = row.quantity("busiest_rank_bytes", Dimension::bytes);
    if (!row.has("iteration_times_s") || !results[i].at("iteration_times_s").is_array() ||
        results[i].at("iteration_times_s").empty())
      row.fail("iteration_times_s", "is missing or empty", "re-run m2n with -n 1 or more");
    std::vector<double> times;
    const Json& t = results[i].at("iteration_times_s");
    for (size_t k = 0; k < t.size(); ++k) {
      if (!t[k].is_number() || !(t[k].get<double>() > 0) || !std::isfinite(t[k].get<double>()))
        row.fail("iteration_times_s/" + std::to_string(k), "is " + io::short_value(t[k]),
                 "times are positive numbers of seconds; re-run m2n");
      times.push_back(t[k].get<double>());
    }
    PatternData& pd = in.patterns[pattern];
    if (in_list(a.holdout_bytes, msg)) {
      pd.held_out.push_back({msg, busiest, median(times)});
    } else {
      for (double x : times) pd.fit.push_back({busiest, x});
    }
  }
  ++in.m2n_files;
}

void read_calibration_samples(const Json& j, const std::string& file, Inputs& in) {
  const Reader r(j, file);
  const Reader prov = r.object("provenance");
  const Reader samples = r.object("samples");
  if (!samples.has("grouped_gemm")) return;
  const double pf = prov.quantity("peak_flops_per_s", Dimension::flops_per_s);
  const double pb = prov.quantity("peak_bytes_per_s", Dimension::bytes_per_s);
  if (in.gemm_files > 0 && (pf != in.peak_flops_per_s || pb != in.peak_bytes_per_s))
    r.fail("provenance/peak_flops_per_s", "differs from the first calibration file's peaks",
           "fit GEMM samples measured against the same peaks together (one device per fit)");
  in.peak_flops_per_s = pf;
  in.peak_bytes_per_s = pb;
  in.peak_source = prov.opt_string("peak_source", "");
  in.gemm_devices.insert(prov.opt_string("device", "unknown"));
  in.gemm_backends.insert(prov.opt_string("backend", "unknown"));
  const Json& g = j.at("samples").at("grouped_gemm");
  if (!g.is_array()) samples.fail("grouped_gemm", "is not an array", "use the file ridgeline-calibrate wrote");
  for (size_t i = 0; i < g.size(); ++i) {
    const Reader s(g[i], file, "/samples/grouped_gemm/" + std::to_string(i));
    GemmSample gs;
    gs.tokens_per_expert = s.number_in("tokens_per_expert", 1e-9, 1e9);
    gs.experts = s.integer("experts", 1);
    gs.hidden = s.integer("hidden", 1);
    gs.intermediate = s.integer("intermediate", 1);
    gs.weight_bytes_per_elem = s.number_in("weight_bytes_per_elem", 0.125, 8);
    gs.time_s = s.quantity("time_s", Dimension::seconds);
    in.gemm.push_back(gs);
  }
  ++in.gemm_files;
}

std::string link_kind(const std::string& backend, size_t hosts) {
  const std::string where = hosts > 1 ? fmt::format("inter-node ({} hosts)", hosts) : "intra-node (one host)";
  if (backend == "cpu") return "MPI point-to-point between host buffers, " + where;
  if (backend == "nccl") return "NCCL send/recv between GPUs, " + where;
  if (backend == "verbs") return "RDMA write-with-immediate (verbs) from registered host memory, " + where;
  return backend + ", " + where;
}

std::string refit_advice(bool link, bool gemm, double spread) {
  std::string fix = "Fix: ";
  if (link)
    fix += fmt::format(
        "re-run `ridgeline-calibrate m2n` with more timed iterations (-n 100) on an idle host (the iterations' "
        "spread was {:.0f} %), or narrow the size range (-b/-e) to one protocol regime, then fit again; ",
        100 * spread);
  if (gemm)
    fix +=
        "re-run `ridgeline-calibrate run` on an idle host with more --repetitions and shapes on both sides of the "
        "ridge (--hidden, --intermediate), then fit again; ";
  return fix + "--accept-poor-fit writes it anyway and records that in the file";
}

}  // namespace

int run_fit(const FitArgs& a) {
  Inputs in;
  for (const auto& f : a.inputs) {
    const Json j = io::read_json_file(f);
    if (!j.is_object()) throw ConfigError(f + ": not a JSON object. Fix: pass files that m2n --json or run -o wrote");
    if (j.contains("format") && j.at("format") == "ridgeline-calibrate m2n raw")
      read_m2n_raw(j, f, a, in);
    else if (j.contains("samples") && j.contains("provenance"))
      read_calibration_samples(j, f, in);
    else
      throw ConfigError(f +
                        ": neither an m2n raw file (\"format\": \"ridgeline-calibrate m2n raw\") nor a calibration "
                        "file with samples. Fix: pass files that `ridgeline-calibrate m2n --json` or "
                        "`ridgeline-calibrate run -o` wrote");
  }
  if (in.backends.size() > 1)
    throw ConfigError("the m2n files come from different backends (" + fmt::format("{}", fmt::join(in.backends, ", ")) +
                      "). Fix: fit each backend's files separately");
  if (in.patterns.empty() && in.gemm.empty())
    throw ConfigError("no m2n results and no GEMM samples in the inputs. Fix: pass m2n --json files or run -o files");
  const std::string backend = in.backends.empty() ? "" : *in.backends.begin();
  if (!in.patterns.empty() && !in.patterns.count(a.pattern))
    throw ConfigError("--pattern " + a.pattern +
                      ": no such results in the m2n files. Fix: pick one of the patterns "
                      "measured (m2n and n2m always; all_to_all with m2n --all-to-all)");

  // The datasheet link the model adds on its own, when given: subtracted so nothing counts twice.
  const Link* link = nullptr;
  std::optional<io::Database> db;
  std::string link_source, hardware_id;
  if (!a.hardware.empty()) {
    db = a.data_dir.empty() ? io::Database::load_default()
                            : io::Database::load(std::filesystem::path(a.data_dir) / "hwdb",
                                                 std::filesystem::path(a.data_dir) / "models");
    const Accelerator& hw = db->hardware(a.hardware);
    link = a.link == "scale_up" ? &hw.scale_up : &hw.scale_out;
    link_source = "hwdb/" + hw.id + ".json " + a.link;
    hardware_id = hw.id;
    if (!(link->sustained_bytes_per_s() > 0))
      throw ConfigError("--hardware " + a.hardware + " has no " + a.link +
                        " link bandwidth in hwdb. Fix: pick the other --link or another --hardware");
  }
  const double bytes_per_token = a.bytes_per_token > 0 ? a.bytes_per_token : a.hidden * a.bytes_per_elem;

  RobustFitOptions ro;
  ro.bootstrap = a.bootstrap;
  Json fits = Json::object();
  Json eff = Json::object();
  Json not_measured = Json::array({"attention_compute", "attention_memory", "usable_hbm_fraction"});
  std::vector<std::string> refusals;
  bool link_refused = false, gemm_refused = false;
  bool loaded = in.raw_host_loaded;
  double worst_spread = 0;
  std::string summary;
  for (const auto& [pattern, pd] : in.patterns) {
    std::set<double> sizes;
    for (const auto& s : pd.fit) sizes.insert(s.message_bytes);
    if (sizes.size() < 2)
      throw ConfigError(
          fmt::format("{}: only {} message size(s) left to fit after --holdout. Fix: measure more "
                      "sizes (-b/-e/-f) or hold out fewer",
                      pattern, sizes.size()));
    RobustAlphaBetaFit f;
    try {
      f = fit_alpha_beta_robust(pd.fit, ro);
    } catch (const Error& e) {
      // A pattern other than --pattern that cannot be fitted is reported, not fatal.
      const std::string why = fmt::format("{}: {}", pattern, e.what());
      if (pattern == a.pattern)
        throw ConfigError(why +
                          ". Fix: re-run m2n with more iterations (-n) on an idle host, or a wider size range "
                          "(-e) so that the time grows with the message size");
      fits["link"][pattern] = {{"error", why}};
      summary += fmt::format("  {:<10s} not fitted: {}\n", pattern, e.what());
      continue;
    }
    loaded = loaded || f.loaded;
    worst_spread = std::max(worst_spread, f.trial_spread);
    Json held = Json::array();
    double worst_held = 0;
    for (const auto& h : pd.held_out) {
      const double pred = f.predict_s(h.busiest_rank_bytes);
      const double err = (pred - h.measured_s) / h.measured_s;
      worst_held = std::max(worst_held, std::abs(err));
      held.push_back({{"message_bytes", h.message_bytes},
                      {"busiest_rank_bytes", h.busiest_rank_bytes},
                      {"measured_median_s", h.measured_s},
                      {"predicted_s", pred},
                      {"relative_error", err}});
    }
    fits["link"][pattern] = {{"model", "t = alpha + busiest_rank_bytes / bytes_per_s (per phase)"},
                             {"alpha_s", f.alpha_s},
                             {"alpha_stderr_s", f.alpha_stderr_s},
                             {"bytes_per_s", f.bytes_per_s},
                             {"bytes_per_s_stderr", f.bytes_per_s_stderr},
                             {"rms_relative_error", f.rms_relative_error},
                             {"sizes", f.sizes},
                             {"trials_kept", f.trials},
                             {"trials_rejected_as_outliers", f.rejected},
                             {"bootstrap_resamples", f.bootstrap_used},
                             {"trial_spread", f.trial_spread},
                             {"held_out", held}};
    summary += fmt::format(
        "  {:<10s} alpha {:8.2f} +- {:.2f} us   bandwidth {:8.3f} +- {:.3f} GB/s   fit rms {:5.1f} %   {} sizes, "
        "{} trials ({} outliers)",
        pattern, f.alpha_s * 1e6, f.alpha_stderr_s * 1e6, f.bytes_per_s / 1e9, f.bytes_per_s_stderr / 1e9,
        100 * f.rms_relative_error, f.sizes, f.trials, f.rejected);
    summary +=
        held.empty() ? "\n" : fmt::format("   held-out {} sizes, worst {:.1f} %\n", held.size(), 100 * worst_held);
    if (fit_is_poor(f.rms_relative_error, a.max_rms_error)) {
      link_refused = true;
      refusals.push_back(
          fmt::format("the {} link fit's relative RMS error is {:.1f} % (limit {:.0f} %, --max-rms-error)", pattern,
                      100 * f.rms_relative_error, 100 * a.max_rms_error));
    }
    if (pattern != a.pattern) continue;
    // The transport entry: what the model adds to its own datasheet link time per phase.
    std::string name = a.transport;
    if (name.empty()) name = backend == "nccl" ? "nccl" : backend == "verbs" ? "cpu_rdma" : "";
    if (name.empty()) continue;
    double fixed = f.alpha_s;
    if (link) fixed = std::max(0.0, f.alpha_s - link->latency_s);
    Json entry = {{"fixed", fixed}};
    if (link && bytes_per_token > 0)
      entry["per_token"] = std::max(0.0, bytes_per_token * (1.0 / f.bytes_per_s - 1.0 / link->sustained_bytes_per_s()));
    else
      not_measured.push_back("transport." + name + ".per_token");
    not_measured.push_back("transport." + name + ".contention");
    eff["transport"][name] = entry;
    fits["transport_mapping"] = {
        {"transport", name},
        {"from_pattern", pattern},
        {"fixed", link ? "alpha - datasheet latency of " + link_source
                       : "alpha (includes the wire latency the model adds again from hwdb; pass --hardware and "
                         "--link to subtract it)"},
        {"per_token", link && bytes_per_token > 0
                          ? fmt::format("{:g} bytes/token x (1 / measured bandwidth - 1 / sustained {} bandwidth)",
                                        bytes_per_token, link_source)
                          : "not written: needs --hardware, --link and --hidden (or --bytes-per-token)"}};
  }

  if (!in.gemm.empty()) {
    const GemmEfficiencyFit g = fit_gemm_efficiency(in.gemm, in.peak_flops_per_s, in.peak_bytes_per_s);
    if (g.compute_measured()) {
      eff["gemm_compute"] = g.compute_efficiency;
      eff["kernel_overhead"] = g.overhead_s;
    } else {
      not_measured.push_back("gemm_compute");
      not_measured.push_back("kernel_overhead");
    }
    if (g.memory_measured())
      eff["gemm_memory"] = g.memory_efficiency;
    else
      not_measured.push_back("gemm_memory");
    fits["gemm"] = {{"compute_efficiency", g.compute_efficiency},
                    {"memory_efficiency", g.memory_efficiency},
                    {"overhead_s", g.overhead_s},
                    {"compute_bound_samples", g.compute_bound_samples},
                    {"memory_bound_samples", g.memory_bound_samples},
                    {"rms_relative_error", g.rms_relative_error}};
    summary += fmt::format("  gemm       compute {:.3f}  memory {:.3f}  overhead {:.2f} us   fit rms {:.1f} %\n",
                           g.compute_efficiency, g.memory_efficiency, g.overhead_s * 1e6, 100 * g.rms_relative_error);
    if (fit_is_poor(g.rms_relative_error, a.max_rms_error)) {
      gemm_refused = true;
      refusals.push_back(fmt::format("the GEMM fit's relative RMS error is {:.1f} % (limit {:.0f} %)",
                                     100 * g.rms_relative_error, 100 * a.max_rms_error));
    }
  } else {
    for (const char* k : {"gemm_compute", "gemm_memory", "kernel_overhead"}) not_measured.push_back(k);
  }
  fmt::print("{}", summary);
  const HostLoad here = read_host_load();
  if (loaded)
    fmt::print(
        "  LOADED host: repeated trials disagreed by {:.0f} % (median) or the load average exceeded the cores "
        "during the measurement; the numbers are noisy\n",
        100 * worst_spread);
  if (!refusals.empty() && !a.accept_poor_fit) {
    for (const auto& r : refusals) fmt::print(stderr, "ridgeline-calibrate fit: error: {}.\n", r);
    fmt::print(stderr, "{}\n", refit_advice(link_refused, gemm_refused, worst_spread));
    return 1;
  }

  Json j;
  const std::string hosts = fmt::format("{}", fmt::join(in.hostnames, ", "));
  j["description"] =
      fmt::format("Fitted by ridgeline-calibrate fit from {} m2n raw file(s){} ({} backend)", in.m2n_files,
                  in.gemm_files ? fmt::format(" and {} GEMM calibration file(s)", in.gemm_files) : "",
                  backend.empty() ? "run" : backend);
  j["source"] = fmt::format("measured: ridgeline-calibrate {} backend on {}, fitted {}",
                            backend.empty() ? "run" : backend, hosts.empty() ? "this host" : hosts, utc_now());
  j["efficiency"] = eff;
  Json devices = Json::array();
  for (const auto& d : in.devices) devices.push_back(d);
  for (const auto& d : in.gemm_devices) devices.push_back(d);
  j["provenance"] = {{"tool", "ridgeline-calibrate fit"},
                     {"version", report::kVersion},
                     {"argv", a.argv},
                     {"date", utc_now()},
                     {"backend", backend.empty() ? "run" : backend},
                     {"device", devices.size() == 1 ? devices[0] : Json(devices)},
                     {"link_kind", backend.empty() ? "none" : link_kind(backend, in.hostnames.size())},
                     {"hostnames", in.hostnames},
                     {"layouts", in.layouts},
                     {"inputs", a.inputs},
                     {"holdout_bytes", a.holdout_bytes},
                     {"max_rms_relative_error", a.max_rms_error},
                     {"poor_fit_accepted", !refusals.empty()},
                     {"poor_fit_reasons", refusals},
                     {"host_load",
                      {{"loaded", loaded},
                       {"trial_spread", worst_spread},
                       {"loadavg_1min_during_measurement", in.loadavgs},
                       {"loadavg_1min_at_fit", here.loadavg_1min},
                       {"cores_at_fit", here.cores}}},
                     {"not_measured", not_measured}};
  // The hwdb id the file applies to (`evaluate --calibration` accepts it there without a mapping):
  // --hardware, but only when every input was measured on a GPU or an RDMA NIC. A cpu-backend
  // measurement stands in for nothing in hwdb, whatever --hardware says, and stays unmapped.
  if (!hardware_id.empty()) {
    std::set<std::string> all = in.backends;
    all.insert(in.gemm_backends.begin(), in.gemm_backends.end());
    const bool device_measured = !all.empty() && std::all_of(all.begin(), all.end(), [](const std::string& b) {
      return b == "nccl" || b == "verbs" || b == "cuda";
    });
    if (device_measured)
      j["provenance"]["hardware_id"] = hardware_id;
    else
      fmt::print("  not marked as measured on {}: the {} backend measures this host (map it with --calibration-for)\n",
                 hardware_id, fmt::join(all, "/"));
  }
  if (!in.gemm.empty())
    j["provenance"]["gemm_peaks"] = {{"peak_flops_per_s", in.peak_flops_per_s},
                                     {"peak_bytes_per_s", in.peak_bytes_per_s},
                                     {"peak_source", in.peak_source}};
  j["fits"] = fits;
  io::write_file_atomic(a.out, j.dump(2) + "\n", "--out");
  if (!refusals.empty()) fmt::print("  poor fit accepted (--accept-poor-fit); recorded in the file\n");
  fmt::print("  wrote {}\n", a.out);
  return 0;
}

}  // namespace ridgeline::calib
