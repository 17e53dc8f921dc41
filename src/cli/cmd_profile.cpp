// SPDX-License-Identifier: Apache-2.0
// `ridgeline profile-check RAW_DIR --hardware ID [--write FILE] [--json]`: fits the operator
// roofline's efficiencies to measured kernel tables (hwdb/calibration/raw/<hardware>/, written by
// tools/calibration_import.py) on half of each table's rows, reports the model's per-operator
// error on the other half, and with --write fits all rows and writes a hardware profile
// (hwdb/calibration/<hardware>.json) that `--calibration` reads.
#include <fmt/format.h>

#include <fstream>

#include "checks.hpp"
#include "cli.hpp"
#include "io/files.hpp"
#include "report/report.hpp"
#include "ridgeline/io/profile_samples.hpp"

namespace ridgeline::cli {

namespace {

nlohmann::json errors_json(const std::vector<OperatorError>& errs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : errs)
    out.push_back({{"operator", e.op},
                   {"samples", e.samples},
                   {"median_abs_error", e.median_abs_error},
                   {"max_abs_error", e.max_abs_error},
                   {"median_signed_error", e.median_signed_error}});
  return out;
}

/// Compute-bound GEMM samples (intensity above the ridge): without any, gemm_compute is not measured.
int compute_bound_gemms(const ProfileSamples& s, const Accelerator& hw) {
  int n = 0;
  for (const auto& g : s.gemm) {
    const double flops = 2.0 * g.groups * g.m * g.n * g.k;
    const double bytes =
        g.groups * g.n * g.k * g.weight_bytes + g.groups * g.m * (g.k * g.activation_bytes + 2.0 * g.n);
    if (flops / bytes >= hw.peak_flops_per_s(dtype_for_bytes(g.weight_bytes)) / hw.hbm_bytes_per_s) ++n;
  }
  return n;
}

/// The profile file: only measured parameters, each with the table it came from.
nlohmann::json profile_json(const ProfileSamples& s, const Efficiencies& f, const Accelerator& hw,
                            const nlohmann::json& sources, const std::vector<OperatorError>& held_out,
                            const std::string& raw_dir, const std::vector<std::string>& argv) {
  using nlohmann::json;
  json eff = json::object(), params = json::object();
  const json files = sources.is_object() && sources.contains("files") ? sources["files"] : json::object();
  auto from = [&](const char* file) { return files.contains(file) ? files[file] : json{{"file", file}}; };
  json not_measured = json::array();
  if (!s.gemm.empty()) {
    if (compute_bound_gemms(s, hw) > 0) {
      eff["gemm_compute"] = f.gemm_compute;
      params["gemm_compute"] = from("gemm.csv");
    } else {
      not_measured.push_back("gemm_compute");
    }
    eff["gemm_memory"] = f.gemm_memory;
    eff["kernel_overhead"] = f.kernel_overhead_s;
    params["gemm_memory"] = params["kernel_overhead"] = from("gemm.csv");
  }
  if (!s.mla.empty()) {
    eff["attention_compute"] = f.attention_compute;
    eff["attention_memory"] = f.attention_memory;
    params["attention_compute"] = params["attention_memory"] = from("mla_decode.csv");
    if (mla_samples_split_heads(s.mla, hw)) {
      eff["attention_kv_reread"] = f.attention_kv_reread;
      params["attention_kv_reread"] = from("mla_decode.csv");
    }
  } else if (!s.attention_peaks.empty()) {
    for (const auto& p : s.attention_peaks) {
      const char* key = p.compute ? "attention_compute" : "attention_memory";
      eff[key] = p.compute ? f.attention_compute : f.attention_memory;
      params[key] = from("attention_peaks.csv");
    }
  }
  if (!s.all_to_all.empty()) {
    const TransportCost& t = f.transport(TransportKind::deepep_low_latency);
    const bool one_size = std::all_of(s.all_to_all.begin(), s.all_to_all.end(),
                                      [&](const AllToAllSample& a) { return a.tokens == s.all_to_all[0].tokens; });
    eff["transport"]["deepep_low_latency"]["fixed"] = t.fixed_s;
    params["transport.deepep_low_latency.fixed"] = from("deepep_ll.csv");
    if (!one_size) {
      eff["transport"]["deepep_low_latency"]["per_token"] = t.per_token_s;
      params["transport.deepep_low_latency.per_token"] = from("deepep_ll.csv");
    } else {
      not_measured.push_back("transport.deepep_low_latency.per_token (one token count in the table)");
    }
  }
  const std::string device = files.is_object() && !files.empty() && files.begin()->contains("device")
                                 ? (*files.begin())["device"].get<std::string>()
                                 : hw.name;
  json j;
  j["description"] = fmt::format(
      "Hardware profile of {} ({}): operator-roofline efficiencies fitted to measured kernel "
      "tables by ridgeline profile-check. Check: ridgeline profile-check {} --hardware {}",
      hw.name, hw.id, raw_dir, hw.id);
  j["source"] = sources.is_object() && sources.contains("origin") ? sources["origin"].get<std::string>()
                                                                  : std::string("raw samples in ") + raw_dir;
  j["applies_to"] = json::array({hw.id});
  j["provenance"] = {{"tool", "ridgeline profile-check"},
                     {"version", report::kVersion},
                     {"argv", argv},
                     {"hardware_id", hw.id},
                     {"device", device},
                     {"link_kind", "scale-up (NVLink) inside one node; DeepEP rows beyond one node use scale-out RDMA"},
                     {"raw_samples", raw_dir},
                     {"parameters", params},
                     {"not_measured", not_measured},
                     {"kept_from_defaults",
                      "gemm_overlap, usable_hbm_fraction, small_kernels_per_layer, eager_launch_overhead and the "
                      "contention of every transport (not in the tables)"}};
  j["efficiency"] = eff;
  j["fits"] = {{"held_out", errors_json(held_out)},
               {"held_out_method",
                "fit on rows 0, 2, 4, ... of each table, error on rows 1, 3, 5, ...; "
                "error = predicted / measured - 1"}};
  return j;
}

}  // namespace

void add_profile_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::string dir, hardware, model = "deepseek-v3", write;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "profile-check",
      "Fit the operator roofline's efficiencies to measured kernel tables (a folder of raw samples such as\n"
      "hwdb/calibration/raw/h200, from tools/calibration_import.py) on half of each table's rows and report the\n"
      "model's per-operator error on the other half; --write fits all rows and writes a hardware profile.");
  cmd->add_option("raw_dir", opt->dir, "folder with gemm.csv, mla_decode.csv, moe.csv, deepep_ll.csv")->required();
  cmd->add_option("--hardware", opt->hardware, "hwdb id the samples were measured on")->required();
  cmd->add_option("--model", opt->model, "MLA model whose shapes price the MLA and MoE rows")->capture_default_str();
  cmd->add_option("--write", opt->write, "write the profile (fitted on all rows) to this file");
  cmd->add_flag("--json", opt->json, "print JSON instead of a table");
  cmd->callback([opt, &ctx] {
    const auto& db = ctx.db();
    const Accelerator& hw = db.hardware(opt->hardware);
    const ModelSpec& m = db.model(opt->model);
    if (m.attention.kind != AttentionKind::mla)
      throw FlagError("--model " + opt->model + ": not an MLA model. Fix: pass deepseek-v3");
    const ProfileSamples s = io::load_profile_samples(opt->dir);
    nlohmann::json sources;
    if (const std::string text = io::profile_sources_json(opt->dir); !text.empty()) {
      try {
        sources = nlohmann::json::parse(text);
      } catch (const nlohmann::json::exception& e) {
        throw ConfigError(opt->dir + "/sources.json: not valid JSON (" + e.what() + "). Fix: rerun the importer");
      }
    }
    const auto held = held_out_errors(s, m, hw);
    const Efficiencies all = fit_profile(s, m, hw);
    if (!opt->write.empty()) {
      // Not ctx.check_output: a profile belongs in hwdb/calibration/, inside the data folder; only the
      // raw samples being read are protected.
      io::check_output_path(opt->write, {}, {opt->dir}, "--write");
      std::ofstream out(opt->write);
      out << profile_json(s, all, hw, sources, held, opt->dir, ctx.argv).dump(2) << "\n";
      if (!out) throw ConfigError(opt->write + ": cannot be written. Fix: check the folder exists and is writable");
    }
    if (opt->json) {
      nlohmann::json j = {{"hardware", hw.id}, {"raw_dir", opt->dir}, {"held_out", errors_json(held)}};
      j["fit_all_rows"] = {
          {"gemm_compute", all.gemm_compute},
          {"gemm_memory", all.gemm_memory},
          {"kernel_overhead_s", all.kernel_overhead_s},
          {"attention_compute", all.attention_compute},
          {"attention_memory", all.attention_memory},
          {"attention_kv_reread", all.attention_kv_reread},
          {"deepep_low_latency_fixed_s", all.transport(TransportKind::deepep_low_latency).fixed_s},
          {"deepep_low_latency_per_token_s", all.transport(TransportKind::deepep_low_latency).per_token_s}};
      j["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", j.dump(2));
      return;
    }
    fmt::print("Ridgeline {} — profile check of {} ({}) from {}\n", report::kVersion, hw.id, hw.name, opt->dir);
    fmt::print(
        "  fit on all rows: gemm_compute {:.3f}, gemm_memory {:.3f}, kernel_overhead {:.2f} us, "
        "attention_compute {:.3f}, attention_memory {:.3f}, attention_kv_reread {:.3f}, deepep_low_latency fixed "
        "{:.2f} us + {:.4f} us/token\n",
        all.gemm_compute, all.gemm_memory, all.kernel_overhead_s * 1e6, all.attention_compute, all.attention_memory,
        all.attention_kv_reread, all.transport(TransportKind::deepep_low_latency).fixed_s * 1e6,
        all.transport(TransportKind::deepep_low_latency).per_token_s * 1e6);
    fmt::print("  held out (fit on even rows, checked on odd rows; error = predicted / measured - 1):\n");
    fmt::print("  {:<12} {:>7} {:>14} {:>10} {:>14}\n", "operator", "samples", "median |err|", "max |err|",
               "median signed");
    for (const auto& e : held)
      fmt::print("  {:<12} {:>7} {:>13.1f}% {:>9.1f}% {:>+13.1f}%\n", e.op, e.samples, 100 * e.median_abs_error,
                 100 * e.max_abs_error, 100 * e.median_signed_error);
    if (!opt->write.empty()) fmt::print("  wrote {}\n", opt->write);
  });
}

}  // namespace ridgeline::cli
