// SPDX-License-Identifier: Apache-2.0
// `ridgeline roofline --model M --hardware H [--batch B --context C --ep N]`: the per-operator
// roofline of one decode MoE layer on one GPU of an EP deployment (DP attention, EP experts).
#include <fmt/format.h>

#include "checks.hpp"
#include "cli.hpp"
#include "present/commands.hpp"
#include "report/report.hpp"

namespace ridgeline::cli {

void add_roofline_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::string model, hardware, weights = "fp8", kv = "bf16";
    std::string batch = "128", context = "4096";
    int ep = 64;
    bool json = false, csv = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("roofline",
                         "Per-operator roofline of one decode MoE layer on one GPU: FLOPs, HBM bytes, arithmetic\n"
                         "intensity (FLOP/byte), time, and whether the operator is compute- or memory-bound.\n"
                         "The GPU runs data-parallel attention for --batch sequences and holds 1/--ep of the experts.");
  cmd->add_option("--model,-m", o->model, "model id (ridgeline list models)")->required();
  cmd->add_option("--hardware,-H", o->hardware, "hardware id (ridgeline list hardware)")->required();
  cmd->add_option("--batch,-b", o->batch, "sequences per GPU, e.g. 128 or \"1K\"")
      ->check(QuantityRange(Dimension::count, 1e-3, limits::kMaxBatch, "1e-3 to 1e6 sequences"))
      ->capture_default_str();
  cmd->add_option("--context,-c", o->context, "context tokens per sequence, e.g. 4096 or \"32K\" (= 32768)")
      ->check(QuantityRange(Dimension::count, 1, limits::kMaxContextTokens, "1 to 1e9 tokens"))
      ->capture_default_str();
  cmd->add_option("--ep", o->ep, "GPUs the experts are spread over")
      ->check(FiniteRange(1, limits::kMaxGpus))
      ->capture_default_str();
  cmd->add_option("--weights", o->weights, "weight format (fp8, bf16, fp4, ...)")->capture_default_str();
  cmd->add_option("--kv", o->kv, "KV-cache format")->capture_default_str();
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->add_flag("--csv", o->csv, "print CSV");
  one_output_format(cmd);
  cmd->callback([o, &ctx] {
    const auto& db = ctx.db();
    const ModelSpec& m = db.model(o->model);
    const Accelerator& hw = db.hardware(o->hardware);
    const double batch = parse_flag_quantity(o->batch, Dimension::count);
    const double context = parse_flag_quantity(o->context, Dimension::count);
    // The library computes every row (as Python's ridgeline.roofline()); this shell only prints.
    auto j = present::roofline_json({o->model, o->hardware, o->weights, o->kv, batch, context, o->ep}, db);
    report::Table t;
    t.header = {"operator", "FLOPs", "HBM bytes", "intensity", "time", "bound", "ridge", "peak ridge"};
    t.units = {"", "GFLOP", "MB", "FLOP/B", "us", "", "FLOP/B", "FLOP/B"};
    report::Table csv;
    csv.header = {"operator",
                  "dtype",
                  "flops",
                  "hbm_bytes",
                  "intensity_flop_per_byte",
                  "time_s",
                  "bound",
                  "ridge_flop_per_byte",
                  "peak_ridge_flop_per_byte",
                  "per_layer"};
    for (const auto& op : j["operators"]) {
      const bool per_layer = op["per_layer"].get<bool>();
      const std::string name = op["operator"].get<std::string>();
      const double flops = op["flops"], bytes = op["hbm_bytes"], intensity = op["intensity_flop_per_byte"];
      const double time_s = op["time_s"], ridge = op["ridge_flop_per_byte"],
                   peak_ridge = op["peak_ridge_flop_per_byte"];
      const std::string bound = op["bound"];
      t.rows.push_back({per_layer ? name : name + " (once per step)", fmt::format("{:.3f}", flops / 1e9),
                        fmt::format("{:.2f}", bytes / 1e6), fmt::format("{:.1f}", intensity),
                        fmt::format("{:.2f}", time_s * 1e6), bound, fmt::format("{:.0f}", ridge),
                        fmt::format("{:.0f}", peak_ridge)});
      csv.rows.push_back({name, op["dtype"].get<std::string>(), report::csv_number(flops), report::csv_number(bytes),
                          report::csv_number(intensity), report::csv_number(time_s), bound, report::csv_number(ridge),
                          report::csv_number(peak_ridge), per_layer ? "1" : "0"});
    }
    if (o->json) {
      j["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", j.dump(2));
    } else if (o->csv) {
      fmt::print("{}", csv.csv());
    } else {
      fmt::print(
          "{} on {}: one MoE decode layer, {:g} sequences x {:.0f} context per GPU, experts over {} GPUs "
          "({:.0f} local, {:.0f} token-expert pairs)\n\n{}\n"
          "  layer time (operators in sequence, LM head excluded): {:.1f} us; LM head, once per step: {:.1f} us\n"
          "  ridge: the intensity where an operator turns compute-bound, with the default efficiencies\n"
          "  (compute efficiency / memory efficiency; attention FLOPs padded to the kernel tile); peak ridge:\n"
          "  peak FLOP/s / HBM bandwidth\n",
          m.name, hw.name, batch, context, o->ep, j["local_experts"].get<double>(), j["routed_pairs"].get<double>(),
          t.render(), j["layer_time_s"].get<double>() * 1e6, j["lm_head_time_s"].get<double>() * 1e6);
    }
  });
}

}  // namespace ridgeline::cli
