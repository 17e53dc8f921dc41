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
  cmd->callback([o, &ctx] {
    const auto& db = ctx.db();
    const ModelSpec& m = db.model(o->model);
    const Accelerator& hw = db.hardware(o->hardware);
    Precision p;
    p.weights = parse_format_flag(o->weights, "--weights");
    p.kv_cache = parse_format_flag(o->kv, "--kv");
    const double batch = parse_flag_quantity(o->batch, Dimension::count);
    const double context = parse_flag_quantity(o->context, Dimension::count);
    Efficiencies eff;
    OpList ops = attention_stage_ops(m, p, batch, 1.0, context, 1, true, true);
    const double local = std::max(1.0, std::ceil(double(m.moe.num_experts) / o->ep));
    const double routed = batch * m.moe.top_k;
    for (const auto& op : ffn_stage_ops(m, p, routed, local, 1, batch * o->ep, 0)) ops.add(op);
    // The LM head runs once per step, after the last layer: shown, but not part of the layer time.
    const OpCost head = lm_head_op(m, batch, 1);
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
    double total = 0, head_s = 0;
    auto add_row = [&](const OpCost& op, bool per_layer) {
      const OpTime ti = op_time(op, hw, eff);
      const double intensity = op.hbm_bytes > 0 ? op.flops / op.hbm_bytes : 0;
      const double peak_ridge = hw.peak_flops_per_s(op.math) / hw.hbm_bytes_per_s;
      const double ridge = ridge_flop_per_byte(op, hw, eff);  // the ridge op_time classifies with
      (per_layer ? total : head_s) += ti.time_s;
      const std::string name = per_layer ? op.name : std::string(op.name) + " (once per step)";
      t.rows.push_back({name, fmt::format("{:.3f}", op.flops / 1e9), fmt::format("{:.2f}", op.hbm_bytes / 1e6),
                        fmt::format("{:.1f}", intensity), fmt::format("{:.2f}", ti.time_s * 1e6), bound_name(ti.bound),
                        fmt::format("{:.0f}", ridge), fmt::format("{:.0f}", peak_ridge)});
      csv.rows.push_back({op.name, dtype_name(op.math), report::csv_number(op.flops), report::csv_number(op.hbm_bytes),
                          report::csv_number(intensity), report::csv_number(ti.time_s), bound_name(ti.bound),
                          report::csv_number(ridge), report::csv_number(peak_ridge), per_layer ? "1" : "0"});
    };
    for (const auto& op : ops) add_row(op, true);
    add_row(head, false);
    if (o->json) {  // built by the library, as Python's ridgeline.roofline()
      auto j = present::roofline_json({o->model, o->hardware, o->weights, o->kv, batch, context, o->ep}, db);
      j["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", j.dump(2));
    } else if (o->csv) {
      fmt::print("{}", csv.csv());
    } else {
      fmt::print(
          "{} on {}: one MoE decode layer, {:.0f} sequences x {:.0f} context per GPU, experts over {} GPUs "
          "({:.0f} local, {:.0f} token-expert pairs)\n\n{}\n"
          "  layer time (operators in sequence, LM head excluded): {:.1f} us; LM head, once per step: {:.1f} us\n"
          "  ridge: the intensity where an operator turns compute-bound, with the default efficiencies\n"
          "  (compute efficiency / memory efficiency; attention FLOPs padded to the kernel tile); peak ridge:\n"
          "  peak FLOP/s / HBM bandwidth\n",
          m.name, hw.name, batch, context, o->ep, local, routed, t.render(), total * 1e6, head_s * 1e6);
    }
  });
}

}  // namespace ridgeline::cli
