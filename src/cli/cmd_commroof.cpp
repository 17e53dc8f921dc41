// SPDX-License-Identifier: Apache-2.0
// `ridgeline commroof`: the communication-level roofline of an AFD FFN side per N_F (L4), and
// `ridgeline deadzone`: the dead-zone floor, peak AFD ceiling and bandwidth to match EP on
// every accelerator of the hardware database.
#include <fmt/format.h>

#include <cctype>

#include "checks.hpp"
#include "cli.hpp"
#include "present/commands.hpp"
#include "report/report.hpp"
#include "report/svg_chart.hpp"
#include "ridgeline/commroof.hpp"
#include "roof_flags.hpp"

namespace ridgeline::cli {

using namespace roof;  // flag helpers of the roofline commands

namespace {

struct RoofFlags {
  std::string hwdb, slo = "50 ms", gap = "15 ms", weights = "fp8", dispatch = "fp8", combine = "bf16";
  std::string shared_on = "attention";
  double mtp_acceptance = 1.7, usable_hbm = 1.0;
  int expert_tp = 1, redundant = 0;
  bool gpu_granular = false, latency = false, json = false, csv = false;
};

void add_roof_flags(CLI::App* cmd, RoofFlags& f) {
  cmd->add_option("--hwdb", f.hwdb,
                  "folder of hardware JSON files to use instead of hwdb/ (examples/paper-afd-roofline/hardware holds "
                  "the AFD paper's Table 5 inputs)");
  cmd->add_option("--slo", f.slo, "TPOT SLO; sets the budget t_B = (SLO x L_accept - t_g) / (3 x layers) (paper Eq. 1)")
      ->capture_default_str();
  cmd->add_option("--mtp-acceptance", f.mtp_acceptance, "L_accept: tokens accepted per step (paper: 1.7)")
      ->check(FiniteRange(1.0, 16.0))
      ->capture_default_str();
  cmd->add_option("--gap", f.gap, "t_g: per-iteration time outside the layer pipeline (paper: 15 ms)")
      ->capture_default_str();
  cmd->add_option("--weights", f.weights, "expert weight / GEMM format")->capture_default_str();
  cmd->add_option("--dispatch", f.dispatch, "A->F payload format (paper: fp8)")->capture_default_str();
  cmd->add_option("--combine", f.combine, "F->A payload format (paper: bf16)")->capture_default_str();
  cmd->add_option("--expert-tp", f.expert_tp, "split each expert over this many FFN ranks (ETP)")
      ->check(FiniteRange(1, 64))
      ->capture_default_str();
  cmd->add_option("--shared-on", f.shared_on, "side that runs the shared experts: attention (paper) or ffn")
      ->check(CLI::IsMember({"attention", "ffn"}))
      ->capture_default_str();
  cmd->add_option("--redundant-experts", f.redundant, "EPLB replicas over the FFN side (cost memory and slots)")
      ->check(FiniteRange(0, 4096))
      ->capture_default_str();
  cmd->add_flag("--gpu-granular", f.gpu_granular, "N_F counts GPUs, not 8-GPU nodes (superpod placement)");
  cmd->add_flag("--latency", f.latency, "subtract dispatch + combine link latencies (alpha terms) from t_B");
  cmd->add_option("--usable-hbm", f.usable_hbm, "fraction of HBM the expert weights may fill (paper: 1.0)")
      ->check(FiniteRange(0.05, 1.0))
      ->capture_default_str();
  cmd->add_flag("--json", f.json, "print JSON (with a meta block)");
  cmd->add_flag("--csv", f.csv, "print CSV");
  one_output_format(cmd);
}

struct Resolved {
  Precision precision;
  CommRoofOptions options;
  double slo_s = 0, gap_s = 0;
};

Resolved resolve(const RoofFlags& f, const ModelSpec& m) {
  Resolved r;
  r.precision.weights = parse_dtype_name(f.weights, "--weights");
  r.precision.dispatch = parse_dtype_name(f.dispatch, "--dispatch");
  r.precision.combine = parse_dtype_name(f.combine, "--combine");
  r.slo_s = parse_flag_quantity(f.slo, Dimension::seconds, "--slo");
  try {
    r.gap_s = io::parse_quantity_text(f.gap, Dimension::seconds);
  } catch (const Error& e) {
    throw FlagError(fmt::format("--gap \"{}\": {}. Fix: write a time such as \"15 ms\" (or 0).", f.gap, e.what()));
  }
  if (r.gap_s < 0) throw FlagError(fmt::format("--gap \"{}\": must not be negative. Fix: e.g. \"15 ms\".", f.gap));
  r.options.budget_s = budget_slot_s(r.slo_s, f.mtp_acceptance, r.gap_s, m.num_layers);
  if (!(r.options.budget_s > 0))
    throw FlagError(
        fmt::format("--slo {} with --mtp-acceptance {} and --gap {} leaves no budget: SLO x L_accept must "
                    "exceed t_g. Fix: raise --slo or lower --gap.",
                    f.slo, f.mtp_acceptance, f.gap));
  r.options.expert_tp = f.expert_tp;
  r.options.shared_experts_on_ffn = f.shared_on == "ffn";
  r.options.gpu_granular = f.gpu_granular;
  r.options.latency_terms = f.latency;
  r.options.redundant_experts = f.redundant;
  r.options.usable_hbm_fraction = f.usable_hbm;
  return r;
}

std::string infeasible_reason(const CommRoofPoint& p) {
  if (!p.weights_fit) return "weights>HBM";
  if (!p.weight_read_fits_budget) return "read>t_B";
  return "ok";
}

std::vector<std::string> point_row(const std::string& model, const CommRoofPoint& p, double norm_tokens) {
  return {model,
          std::to_string(p.nf),
          std::to_string(p.ranks),
          comm_regime_name(p.regime),
          fmt::format("{:.0f}", p.local_experts),
          fmt::format("{:.0f}", p.effective_bytes_per_s / 1e9),
          fmt::format("{:.0f}", p.tokens_per_rank),
          fmt::format("{:.3f}", p.hbm_intensity / (2.0 * norm_tokens)),
          fmt::format("{:.3f}", p.hbm_intensity_continuous / (2.0 * norm_tokens)),
          fmt::format("{:.1f}", 100 * p.hfu_ceiling),
          fmt::format("{:.1f}", 100 * p.ofu),
          fmt::format("{:.1f}", 100 * p.occupancy),
          fmt::format("{:.1f}", p.weight_bytes / 1e9),
          fmt::format("{:.3f}", p.weight_read_s * 1e3),
          infeasible_reason(p)};
}

/// The SVG: `hfu` = log-log HFU vs N_F with the compute, scale-up, scale-out and HBM roofs and
/// the dead zone shaded; `intensity` = the paper's Fig. 2 (normalised I vs N_F).
report::SvgChart roof_chart(const std::string& kind, const std::string& hw_name,
                            const std::vector<std::pair<const ModelSpec*, std::vector<CommRoofPoint>>>& data,
                            const CommRoofShape& first_shape, const RegimeBoundaries& first_bounds, double norm_tokens,
                            const std::vector<int>& nfs) {
  report::SvgChart c;
  std::vector<double> x(nfs.begin(), nfs.end());
  if (kind == "intensity") {
    c.title = fmt::format("{}: HBM arithmetic intensity vs N_F (AFD paper Fig. 2)", hw_name);
    c.x_label = "FFN nodes N_F";
    c.y_label = "intensity I / (2 B_ScaleOut)";
    for (const auto& [m, pts] : data) {
      report::SvgSeries cont{m->id + " continuous", x, {}, "#1f77b4", 1, 0};
      report::SvgSeries disc{m->id + " discretised", x, {}, "#d62728", 0, 1};
      if (data.size() > 1) cont.color = disc.color = "";
      for (const auto& p : pts) {
        cont.y.push_back(p.hbm_intensity_continuous / (2.0 * norm_tokens));
        disc.y.push_back(p.hbm_intensity / (2.0 * norm_tokens));
      }
      c.series.push_back(cont);
      c.series.push_back(disc);
    }
  } else {
    c.title = fmt::format("{}: communication roofline of the FFN side", hw_name);
    c.x_label = "FFN nodes N_F (log)";
    c.y_label = "HFU ceiling (log)";
    c.log_x = c.log_y = true;
    for (const auto& [m, pts] : data) {
      report::SvgSeries s{m->id + " HFU ceiling", x, {}, "", -1, -1};
      for (const auto& p : pts) s.y.push_back(p.hfu_ceiling);
      c.series.push_back(s);
    }
    if (data.size() == 1) {
      const auto& pts = data.front().second;
      const double up = first_shape.network_intensity * first_shape.scale_up_bytes_per_s / first_shape.peak_flops_per_s;
      const double out =
          first_shape.network_intensity * first_shape.scale_out_bytes_per_s / first_shape.peak_flops_per_s;
      c.series.push_back({"compute roof (100 %)", x, std::vector<double>(x.size(), 1.0), "#000000", 1, 0});
      c.series.push_back({"scale-up roof", x, std::vector<double>(x.size(), up), "#2ca02c", 2, 0});
      c.series.push_back({"scale-out roof", x, std::vector<double>(x.size(), out), "#ff7f0e", 3, 0});
      report::SvgSeries hbm{"HBM roof (I x B_mem / FLOPS)", x, {}, "#9467bd", 1, 0};
      // Weight-streaming roof of the grouped GEMMs at this N_F's intensity (classic roofline).
      for (const auto& p : pts)
        hbm.y.push_back(p.weight_read_s > 0 ? p.flops / first_shape.peak_flops_per_s / p.weight_read_s : 0);
      c.series.push_back(hbm);
    }
    if (first_shape.ratio > 1.0 + 1e-9 && first_bounds.scale_out_from <= nfs.back())
      c.bands.push_back({first_bounds.scale_out_from, double(nfs.back()), "dead zone (scale-out bound)", "#f4cccc"});
  }
  return c;
}

}  // namespace

void add_commroof_command(CLI::App& app, Context& ctx) {
  struct Options {
    RoofFlags f;
    std::string models, hardware, nf = "1..64", svg, chart = "hfu";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "commroof",
      "Communication-level roofline of an AFD FFN side (AFD paper §2.4-2.6, Eqs. 1, 9, 10, 17-19). For each FFN\n"
      "size N_F: the regime (scale-up bound, stable intensity, scale-out bound = dead zone, max intensity), the\n"
      "effective per-rank bandwidth B_eff = min(B_out x max(1, TopK/N_F), B_up), tokens per rank per budget slot,\n"
      "the HBM intensity with ceil(experts/ranks) local experts, the HFU ceiling min(1, I_net x B_eff / FLOPS),\n"
      "OFU, S_t = t_G / t_B, and whether the expert weights fit and can be read within t_B. Assumes 100 % OFU\n"
      "where the network binds. --hwdb examples/paper-afd-roofline/hardware reproduces the paper's numbers.");
  cmd->add_option("--model,-m", o->models, "model id, or several comma-separated (one chart series each)")->required();
  cmd->add_option("--hardware,-H", o->hardware,
                  "FFN-side hardware id (ridgeline list hardware), or several comma-separated: one SVG panel each on "
                  "a shared y range, and a leading hardware column")
      ->required();
  cmd->add_option("--nf", o->nf, "FFN sizes: a range 1..64, a list 1,2,4,8 or both")->capture_default_str();
  cmd->add_option("--svg", o->svg, "also write an SVG chart to this file");
  cmd->add_option("--chart", o->chart, "what the SVG shows: hfu (log-log roofline) or intensity (paper Fig. 2)")
      ->check(CLI::IsMember({"hfu", "intensity"}))
      ->capture_default_str();
  add_roof_flags(cmd, o->f);
  cmd->callback([o, &ctx] {
    if (!o->svg.empty()) ctx.check_output(o->svg, "--svg", {}, {o->f.hwdb});
    const HardwareSource src(ctx, o->f.hwdb);
    const auto& db = src.db();
    const std::vector<int> nfs = parse_int_list(o->nf, "--nf");
    const auto ids = split_ids(o->models);
    if (ids.empty()) throw FlagError("--model is empty. Fix: give a model id such as deepseek-v3.");
    // Several --hardware ids: one panel per platform on a shared y range (AFD paper Fig. 4), and a
    // leading hardware column in the table / CSV.
    const auto hw_ids = split_ids(o->hardware);
    if (hw_ids.empty()) throw FlagError("--hardware is empty. Fix: give a hardware id such as h800.");
    const bool multi = hw_ids.size() > 1;
    report::Table t;
    t.header = {"model",   "N_F",     "ranks", "regime", "local",   "B_eff", "tokens",  "I",
                "I cont.", "HFU max", "OFU",   "S_t",    "weights", "read",  "feasible"};
    t.units = {"",      "",  "GPUs", "",  "experts", "GB/s",     "/rank", "norm.",
               "norm.", "%", "%",    "%", "GB/rank", "ms/layer", ""};
    if (multi) {
      t.header.insert(t.header.begin(), "hardware");
      t.units.insert(t.units.begin(), "");
    }
    nlohmann::json platforms = nlohmann::json::array(), csv_rows = nlohmann::json::array();
    std::string summary;
    report::SvgPanels panels;
    report::SvgChart chart;
    for (const auto& hw_id : hw_ids) {
      const Accelerator& hw = db.hardware(hw_id);
      nlohmann::json models = nlohmann::json::array();
      std::vector<std::pair<const ModelSpec*, std::vector<CommRoofPoint>>> data;
      CommRoofShape first_shape;
      RegimeBoundaries first_bounds;
      double first_norm = 1;
      for (const auto& id : ids) {
        const ModelSpec& m = db.model(id);
        const Resolved r = resolve(o->f, m);
        const CommRoofShape shape = comm_roof_shape(m, hw, r.precision, r.options);
        const RegimeBoundaries b = regime_boundaries(m, hw, r.precision, r.options);
        // Normalisation of the paper's Fig. 2: 2 x tokens the scale-out link carries per slot.
        const double norm =
            tokens_per_slot(shape.scale_out_bytes_per_s, r.options.budget_s, shape.wire_bytes_per_token);
        std::vector<CommRoofPoint> pts;
        nlohmann::json jp = nlohmann::json::array();
        for (int nf : nfs) {
          pts.push_back(comm_roof_point(m, hw, r.precision, r.options, nf));
          t.rows.push_back(point_row(m.id, pts.back(), norm));
          if (multi) t.rows.back().insert(t.rows.back().begin(), hw.id);
          jp.push_back(present::commroof_point_json(pts.back()));
          // The paper's Fig. 2 y axis: HBM intensity over 2 x the tokens the scale-out link carries per slot.
          nlohmann::json crow = {
              {"hardware", hw.id},
              {"model", m.id},
              {"budget_slot_s", r.options.budget_s},
              {"hbm_intensity_normalised", pts.back().hbm_intensity / (2.0 * norm)},
              {"hbm_intensity_continuous_normalised", pts.back().hbm_intensity_continuous / (2.0 * norm)}};
          crow.update(jp.back());
          csv_rows.push_back(crow);
        }
        const double m_star_up = ridge_expert_size(m, shape, shape.scale_up_bytes_per_s);
        const double m_star_out = ridge_expert_size(m, shape, shape.scale_out_bytes_per_s);
        const double bw60 = bandwidth_for_hfu(shape, 0.60);
        models.push_back({{"model", m.id},
                          {"budget_slot_s", r.options.budget_s},
                          {"scale_up_bytes_per_s", shape.scale_up_bytes_per_s},
                          {"scale_out_bytes_per_s", shape.scale_out_bytes_per_s},
                          {"ratio_up_over_out", shape.ratio},
                          {"wire_bytes_per_token", shape.wire_bytes_per_token},
                          {"network_intensity_flop_per_byte", shape.network_intensity},
                          {"boundaries_nf",
                           {{"stable_from", b.stable_from},
                            {"scale_out_from", b.scale_out_from},
                            {"max_intensity_from", b.max_intensity_from}}},
                          {"ridge_expert_size_scale_up", m_star_up},
                          {"ridge_expert_size_scale_out", m_star_out},
                          {"scale_out_bytes_per_s_for_60pct_hfu", bw60},
                          {"points", jp}});
        summary += fmt::format(
            "{} (M = {}, TopK = {}, {} experts) on {} [{}]\n"
            "  t_B = {:.4f} ms (SLO {:.0f} ms x L_accept {:.2f} - t_g {:.0f} ms over 3 x {} layers);  {:.0f} B/token "
            "on "
            "the wire\n"
            "  B_up {:.0f} GB/s, B_out {:.0f} GB/s (r = {:.2f});  I_net = {:.0f} FLOP/B\n"
            "  regimes: stable from N_F = {:.3g}, dead zone from N_F = {:.3g}, max intensity from N_F = {:.3g}\n"
            "  ridge M* = {:.0f} at B_up, {:.0f} at B_out;  scale-out for 60 % HFU in the dead zone: {:.0f} GB/s\n",
            m.name, m.moe.expert_intermediate_size, m.moe.top_k, m.moe.num_experts, hw.name, src.label(),
            r.options.budget_s * 1e3, r.slo_s * 1e3, o->f.mtp_acceptance, r.gap_s * 1e3, m.num_layers,
            shape.wire_bytes_per_token, shape.scale_up_bytes_per_s / 1e9, shape.scale_out_bytes_per_s / 1e9,
            shape.ratio, shape.network_intensity, b.stable_from, b.scale_out_from, b.max_intensity_from, m_star_up,
            m_star_out, bw60 / 1e9);
        if (data.empty()) {
          first_shape = shape;
          first_bounds = b;
          first_norm = norm;
        }
        data.emplace_back(&m, std::move(pts));
      }
      chart = roof_chart(o->chart, hw.name, data, first_shape, first_bounds, first_norm, nfs);
      platforms.push_back({{"hardware", hw.id}, {"models", models}});
      panels.panels.push_back(chart);
      panels.panels.back().title = hw.name;
    }
    if (!o->svg.empty() && !multi) report::write_text_file(o->svg, chart.render(), "--svg");
    if (!o->svg.empty() && multi) {
      panels.title = chart.title.substr(chart.title.find(": ") + 2) + fmt::format(" on {} platforms", hw_ids.size());
      panels.title[0] = char(std::toupper(static_cast<unsigned char>(panels.title[0])));
      panels.x_label = chart.x_label;
      panels.y_label = chart.y_label;
      panels.log_x = chart.log_x;
      panels.log_y = chart.log_y;
      report::write_text_file(o->svg, panels.render(), "--svg");
    }
    if (o->f.json) {
      nlohmann::json out =
          multi ? nlohmann::json{{"platforms", platforms}}
                : nlohmann::json{{"hardware", platforms[0]["hardware"]}, {"models", platforms[0]["models"]}};
      out["hardware_source"] = src.label();
      out["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", out.dump(2));
    } else if (o->f.csv) {
      std::vector<std::string> columns = {"model",
                                          "budget_slot_s",
                                          "nf",
                                          "ranks",
                                          "regime",
                                          "local_experts",
                                          "local_experts_continuous",
                                          "effective_bytes_per_s",
                                          "network_intensity_flop_per_byte",
                                          "tokens_per_rank",
                                          "hbm_intensity_flop_per_byte",
                                          "hbm_intensity_continuous_flop_per_byte",
                                          "hbm_intensity_normalised",
                                          "hbm_intensity_continuous_normalised",
                                          "hfu_ceiling",
                                          "compute_capped",
                                          "ofu",
                                          "occupancy",
                                          "flops_per_slot",
                                          "operator_s",
                                          "weight_bytes",
                                          "weight_read_s",
                                          "weights_fit",
                                          "weight_read_fits_budget",
                                          "feasible"};
      if (multi) columns.insert(columns.begin(), "hardware");
      fmt::print("{}", report::csv_of_rows(csv_rows, columns));
    } else {
      fmt::print(
          "{}\n{}\n  I = HBM intensity normalised to 2 x tokens the scale-out link carries per t_B (paper "
          "Fig. 2); HFU max assumes 100 % OFU.\n",
          summary, t.render());
    }
  });
}

void add_deadzone_command(CLI::App& app, Context& ctx) {
  struct Options {
    RoofFlags f;
    std::string model, nf = "1..64";
    double target = 0.60;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "deadzone",
      "For every accelerator in the hardware database: the AFD dead-zone HFU floor min(1, I_net x B_out / FLOPS)\n"
      "(N_F >= TopK, paper §2.6), the peak AFD ceiling over the N_F whose expert weights fit in HBM and can be\n"
      "read within t_B, and the per-GPU scale-out bandwidth needed to match large EP's HFU (--target-hfu, paper:\n"
      "~60 %) inside the dead zone (paper §8 check 15: 0.3 x FLOPS / M).");
  cmd->add_option("--model,-m", o->model, "model id (ridgeline list models)")->required();
  cmd->add_option("--target-hfu", o->target, "large-EP HFU to match (paper: ~0.60)")
      ->check(FiniteRange(0.01, 1.0))
      ->capture_default_str();
  cmd->add_option("--nf", o->nf, "FFN sizes searched for the peak ceiling")->capture_default_str();
  add_roof_flags(cmd, o->f);
  cmd->callback([o, &ctx] {
    const HardwareSource src(ctx, o->f.hwdb);
    const auto& db = src.db();
    const ModelSpec& m = db.model(o->model);
    const Resolved r = resolve(o->f, m);
    const std::vector<int> nfs = parse_int_list(o->nf, "--nf");
    report::Table t;
    t.header = {"hardware", "FLOPS", "B_out", "B_up", "floor", "peak", "at N_F", "need B_out", "x today"};
    t.units = {"", "TFLOPS", "GB/s", "GB/s", "HFU %", "HFU %", "", "GB/s", ""};
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& id : db.hardware_ids()) {
      const Accelerator& hw = db.hardware(id);
      if (!hw.supports(r.precision.weights)) {
        t.rows.push_back(
            {id, "-", "-", "-", "-", "-", "-", "-", fmt::format("no {}", dtype_name(r.precision.weights))});
        rows.push_back({{"hardware", id}, {"supported", false}});
        continue;
      }
      const CommRoofShape s = comm_roof_shape(m, hw, r.precision, r.options);
      const double floor = std::min(1.0, s.network_intensity * s.scale_out_bytes_per_s / s.peak_flops_per_s);
      double peak = 0;
      int peak_nf = 0;
      for (int nf : nfs) {
        const auto p = comm_roof_point(m, hw, r.precision, r.options, nf);
        if (p.feasible() && p.hfu_ceiling > peak + 1e-12) {
          peak = p.hfu_ceiling;
          peak_nf = nf;
        }
      }
      const double need = bandwidth_for_hfu(s, o->target);
      t.rows.push_back(
          {id, fmt::format("{:.0f}", s.peak_flops_per_s / 1e12), fmt::format("{:.0f}", s.scale_out_bytes_per_s / 1e9),
           fmt::format("{:.0f}", s.scale_up_bytes_per_s / 1e9), fmt::format("{:.1f}", 100 * floor),
           peak_nf ? fmt::format("{:.1f}", 100 * peak) : "-", peak_nf ? std::to_string(peak_nf) : "none fits",
           fmt::format("{:.0f}", need / 1e9), fmt::format("{:.1f}", need / s.scale_out_bytes_per_s)});
      rows.push_back({{"hardware", id},
                      {"supported", true},
                      {"peak_flops_per_s", s.peak_flops_per_s},
                      {"scale_out_bytes_per_s", s.scale_out_bytes_per_s},
                      {"scale_up_bytes_per_s", s.scale_up_bytes_per_s},
                      {"superpod", hw.is_superpod()},
                      {"dead_zone_hfu_floor", floor},
                      {"peak_hfu_ceiling", peak_nf ? nlohmann::json(peak) : nlohmann::json(nullptr)},
                      {"peak_at_nf", peak_nf ? nlohmann::json(peak_nf) : nlohmann::json(nullptr)},
                      {"scale_out_bytes_per_s_to_match_ep", need},
                      {"needed_over_available", need / s.scale_out_bytes_per_s}});
    }
    if (o->f.json) {
      nlohmann::json out{{"model", m.id},
                         {"hardware_source", src.label()},
                         {"target_hfu", o->target},
                         {"budget_slot_s", r.options.budget_s},
                         {"rows", rows},
                         {"meta", report::meta_json(ctx.argv)}};
      fmt::print("{}\n", out.dump(2));
    } else if (o->f.csv) {
      fmt::print("{}", report::csv_of_rows(
                           rows, {"hardware", "supported", "peak_flops_per_s", "scale_out_bytes_per_s",
                                  "scale_up_bytes_per_s", "superpod", "dead_zone_hfu_floor", "peak_hfu_ceiling",
                                  "peak_at_nf", "scale_out_bytes_per_s_to_match_ep", "needed_over_available"}));
    } else {
      fmt::print(
          "{} (M = {}): AFD dead zone per accelerator [{}], t_B = {:.4f} ms, target HFU {:.0f} %\n"
          "  floor = HFU ceiling once N_F >= TopK (scale-out bound; superpods: scale-up everywhere);\n"
          "  peak = best ceiling over N_F in {} where the weights fit and read within t_B;\n"
          "  need B_out = per-GPU scale-out bandwidth that lifts the floor to the target.\n\n{}",
          m.name, m.moe.expert_intermediate_size, src.label(), r.options.budget_s * 1e3, 100 * o->target, o->nf,
          t.render());
    }
  });
}

}  // namespace ridgeline::cli
