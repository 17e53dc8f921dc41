// SPDX-License-Identifier: Apache-2.0
// `ridgeline roofline --model M --hardware H [--batch B --context C --ep N]`: the per-operator
// roofline of one decode MoE layer on one GPU of an EP deployment (DP attention, EP experts).
#include <fmt/format.h>

#include "checks.hpp"
#include "cli.hpp"
#include "present/commands.hpp"
#include "report/report.hpp"

namespace ridgeline::cli {

namespace {
DType parse_dtype_flag(const std::string& s, const char* flag) {
  for (DType d : {DType::fp4, DType::int4, DType::fp8, DType::int8, DType::bf16, DType::fp16, DType::fp32})
    if (s == dtype_name(d)) return d;
  throw FlagError(
      fmt::format("{} \"{}\": unknown number format. Fix: use fp4, fp8, int8, bf16, fp16 or fp32.", flag, s));
}
}  // namespace

void add_roofline_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::string model, hardware, weights = "fp8", kv = "bf16";
    double batch = 128, context = 4096;
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
  cmd->add_option("--batch,-b", o->batch, "sequences per GPU")
      ->check(FiniteRange(1e-3, limits::kMaxBatch))
      ->capture_default_str();
  cmd->add_option("--context,-c", o->context, "context tokens per sequence")
      ->check(FiniteRange(1, limits::kMaxContextTokens))
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
    if (o->json) {  // built by the library, as Python's ridgeline.roofline()
      auto j = present::roofline_json({o->model, o->hardware, o->weights, o->kv, o->batch, o->context, o->ep}, db);
      j["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", j.dump(2));
      return;
    }
    const ModelSpec& m = db.model(o->model);
    const Accelerator& hw = db.hardware(o->hardware);
    Precision p;
    p.weights = parse_dtype_flag(o->weights, "--weights");
    p.kv_cache = parse_dtype_flag(o->kv, "--kv");
    Efficiencies eff;
    OpList ops = attention_stage_ops(m, p, o->batch, 1.0, o->context, 1, true, true);
    const double local = std::max(1.0, std::ceil(double(m.moe.num_experts) / o->ep));
    const double routed = o->batch * m.moe.top_k;
    for (const auto& op : ffn_stage_ops(m, p, routed, local, 1, o->batch * o->ep, 0)) ops.add(op);
    ops.add(lm_head_op(m, o->batch, 1));
    report::Table t;
    t.header = {"operator", "FLOPs", "HBM bytes", "intensity", "time", "bound", "ridge"};
    t.units = {"", "GFLOP", "MB", "FLOP/B", "us", "", "FLOP/B"};
    double total = 0;
    for (const auto& op : ops) {
      const OpTime ti = op_time(op, hw, eff);
      const double intensity = op.hbm_bytes > 0 ? op.flops / op.hbm_bytes : 0;
      const double ridge = hw.peak_flops_per_s(op.math) / hw.hbm_bytes_per_s;
      total += ti.time_s;
      t.rows.push_back({op.name, fmt::format("{:.3f}", op.flops / 1e9), fmt::format("{:.2f}", op.hbm_bytes / 1e6),
                        fmt::format("{:.1f}", intensity), fmt::format("{:.2f}", ti.time_s * 1e6), bound_name(ti.bound),
                        fmt::format("{:.0f}", ridge)});
    }
    if (o->csv) {
      fmt::print("{}", t.csv());
    } else {
      fmt::print(
          "{} on {}: one MoE decode layer, {:.0f} sequences x {:.0f} context per GPU, experts over {} GPUs "
          "({:.0f} local, {:.0f} token-expert pairs)\n\n{}\n  layer time (operators in sequence): {:.1f} us\n",
          m.name, hw.name, o->batch, o->context, o->ep, local, routed, t.render(), total * 1e6);
    }
  });
}

}  // namespace ridgeline::cli
