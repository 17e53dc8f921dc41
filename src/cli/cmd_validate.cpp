// SPDX-License-Identifier: Apache-2.0
// `ridgeline validate DIR`: every validation point's predicted decode tokens/s per GPU against
// the published measurement, with signed errors and their summary.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "checks.hpp"
#include "cli.hpp"
#include "present/commands.hpp"
#include "report/report.hpp"
#include "report/svg_chart.hpp"
#include "ridgeline/io/validation.hpp"
#include "ridgeline/validation.hpp"
#include "validate_prefill.hpp"

namespace ridgeline::cli {

namespace {

struct Row {
  const io::ValidationPoint* point;
  Evaluation eval;                          ///< as the scenario says (memory checked)
  Binding physical;                         ///< binding roof with the SLO and HBM capacity lifted
  double error = 0;                         ///< signed: (predicted - measured) / measured
  double predicted = 0;                     ///< tokens/s per GPU (aggregated: with the prefill chunk)
  std::optional<ColocatedStep> aggregated;  ///< set for aggregated-serving points
};

/// The roof a point sits under, whatever its SLO or memory fit: the measurement happened, so
/// the question is only which roof the model puts it under.
Binding physical_binding(const io::Scenario& s, const Efficiencies& eff) {
  Workload w = s.workload;
  w.tpot_slo_s = std::numeric_limits<double>::infinity();
  Accelerator a = *s.deployment.attention.hw, f = *s.deployment.ffn.hw;
  a.hbm_bytes = f.hbm_bytes = std::numeric_limits<double>::max();
  Deployment d = s.deployment;
  d.attention.hw = &a;
  d.ffn.hw = s.deployment.ffn.hw == s.deployment.attention.hw ? &a : &f;
  return evaluate(s.model, s.precision, w, d, eff).binding;
}

std::string plan_label(const Deployment& d) {
  if (d.strategy == Strategy::ep) return fmt::format("EP{} m{}", d.attention.gpus, d.micro_batches);
  return fmt::format("AFD {}A(tp{})+{}F(tp{}) m{}", d.attention.gpus, d.attention.tp, d.ffn.gpus, d.ffn.tp,
                     d.micro_batches);
}

std::string pct_signed(double f) {
  return fmt::format("{:+.1f} %", 100.0 * f);
}
std::string pct(double f) {
  return fmt::format("{:.1f} %", 100.0 * f);
}

std::string summary_text(const ErrorSummary& s, const std::string& worst, const char* bullet) {
  return fmt::format(
      "{}points: {}\n{}median |error|: {}\n{}max |error|: {} ({})\n{}mean signed error (bias): {}\n"
      "{}optimistic predictions (predicted > measured): {} of {} ({})\n",
      bullet, s.points, bullet, pct(s.median_abs_error), bullet, pct(s.max_abs_error), worst, bullet,
      pct_signed(s.mean_signed_error), bullet, int(std::lround(s.share_optimistic * s.points)), s.points,
      pct(s.share_optimistic));
}

}  // namespace

void add_validate_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::string dir;
    std::string calibration, svg;
    std::string calibration_for;
    bool calibration_any_device = false;
    bool json = false, csv = false, markdown = false;
    double max_median = -1, max_error = -1;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "validate",
      "Compare predictions with published measurements. DIR holds validation points: scenario files\n"
      "with a \"measured\" block (the published decode tokens/s per GPU, its source URL and whether it\n"
      "is primary or a secondary transcription); examples/validation/ has one per usable end-to-end\n"
      "published decode point (each names its source URL). For each point it prints measured,\n"
      "predicted, the signed error (predicted - measured) / measured (> 0 = optimistic) and the\n"
      "binding roof (SLO and HBM capacity lifted: the measurement happened); then the median and\n"
      "max |error| and the share of optimistic predictions. Every point runs with the same\n"
      "efficiencies (defaults, or --calibration): a point may not carry its own.");
  cmd->add_option("dir", opt->dir, "folder of validation point files (*.json)")
      ->required();  // a missing folder is bad input (exit 1 with a Fix), as a missing file is
  cmd->add_option("--calibration", opt->calibration,
                  "calibration file applied to every point (or a hardware id with a profile in hwdb/calibration/);\n"
                  "a file measured on other hardware than a point's is refused");
  cmd->add_option("--calibration-for", opt->calibration_for,
                  "apply the --calibration file to this hardware id although it was measured elsewhere");
  cmd->add_flag("--calibration-any-device", opt->calibration_any_device,
                "apply the --calibration file to every point's hardware (skip the device check)");
  cmd->add_flag("--json", opt->json, "print JSON (points, summary, meta) instead of a table");
  cmd->add_flag("--csv", opt->csv, "print the per-point table as CSV");
  cmd->add_flag("--markdown", opt->markdown, "print the table and summary as Markdown (for README.md)");
  one_output_format(cmd);
  cmd->add_option("--svg", opt->svg,
                  "also write a chart to this SVG file: predicted vs measured tokens/s per GPU, one marker per "
                  "point (its signed error in the legend), with the no-error diagonal and +-20 % lines");
  cmd->add_option("--max-median", opt->max_median,
                  "exit 4 when median |error| exceeds this fraction (e.g. 0.15): a CI regression gate")
      ->check(FiniteRange(0, 1e6));
  cmd->add_option("--max-error", opt->max_error, "exit 4 when any |error| exceeds this fraction (e.g. 0.40)")
      ->check(FiniteRange(0, 1e6));
  cmd->callback([opt, &ctx] {
    if (!opt->svg.empty()) ctx.check_output(opt->svg, "--svg", {opt->calibration}, {opt->dir});
    const auto& db = ctx.db();
    if (is_prefill_validation_dir(opt->dir))  // "phase": "prefill" points (e.g. examples/validation/prefill)
      return run_prefill_validation({opt->dir, opt->calibration, opt->calibration_for, opt->calibration_any_device,
                                     opt->json, opt->csv, opt->max_median, opt->max_error},
                                    ctx);
    const auto points = io::load_validation_points(opt->dir, db);
    Efficiencies eff;
    std::optional<io::Calibration> cal;
    if ((!opt->calibration_for.empty() || opt->calibration_any_device) && opt->calibration.empty())
      throw FlagError("--calibration-for / --calibration-any-device need --calibration FILE");
    if (!opt->calibration.empty()) {
      cal = io::load_calibration(io::resolve_calibration_file(opt->calibration, db), eff);
      for (const auto& p : points)
        for (const Accelerator* hw : {p.scenario.deployment.attention.hw, p.scenario.deployment.ffn.hw})
          if (hw) io::check_calibration_applies(*cal, *hw, db, {opt->calibration_for, opt->calibration_any_device});
      eff = cal->efficiencies;
    }
    std::vector<Row> rows;
    std::vector<double> errors;
    for (const auto& p : points) {
      io::PointPrediction pred = io::predict_point(p, eff);
      Row r{&p, pred.eval, physical_binding(p.scenario, eff), 0, pred.tokens_per_s_per_gpu, pred.aggregated};
      if (r.eval.reason == Infeasible::bad_shape)
        throw ConfigError(p.scenario.source_file + ": /deployment: " + r.eval.shape_problem +
                          ". Fix: correct the deployment of this validation point");
      r.error = signed_error(r.predicted, p.measured.tokens_per_s_per_gpu);
      errors.push_back(r.error);
      rows.push_back(std::move(r));
    }
    const ErrorSummary sum = summarize_errors(errors);
    std::string worst;
    for (const auto& r : rows)
      if (std::abs(r.error) == sum.max_abs_error) worst = r.point->name;

    report::Table t;
    t.header = {"point",     "hardware", "plan",    "batch/GPU", "measured",
                "predicted", "error",    "binding", "fits HBM",  "source"};
    t.units = {"", "", "", "seqs", "tok/s/GPU", "tok/s/GPU", "signed", "", "", ""};
    for (const auto& r : rows) {
      const auto& s = r.point->scenario;
      const double batch = s.deployment.sequences() / s.deployment.total_gpus();
      const bool mem = r.eval.reason != Infeasible::weights_exceed_hbm && r.eval.reason != Infeasible::kv_exceeds_hbm;
      t.rows.push_back(
          {r.point->name,
           s.attention_hardware_id + (s.ffn_hardware_id != s.attention_hardware_id ? "+" + s.ffn_hardware_id : ""),
           plan_label(s.deployment) + (r.aggregated ? " agg" : ""), fmt::format("{:.0f}", batch),
           fmt::format("{:.0f}", r.point->measured.tokens_per_s_per_gpu), fmt::format("{:.0f}", r.predicted),
           pct_signed(r.error), binding_name(r.physical), mem ? "yes" : "no",
           r.point->measured.verification == "primary" ? "primary" : "secondary"});
    }

    if (!opt->svg.empty()) {  // predicted vs measured, log-log, with the no-error diagonal
      report::SvgChart c;
      c.title = fmt::format("Predicted vs measured decode tokens/s per GPU ({} points; median |error| {})", sum.points,
                            pct(sum.median_abs_error));
      c.x_label = "measured tokens/s per GPU (log)";
      c.y_label = "predicted tokens/s per GPU (log)";
      c.log_x = c.log_y = true;
      double lo = std::numeric_limits<double>::infinity(), hi = 0;
      for (const auto& r : rows)
        for (double v : {r.point->measured.tokens_per_s_per_gpu, r.predicted})
          if (v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
      if (hi > 0) {
        c.series.push_back(
            {"no error (predicted = measured)", {lo / 1.3, hi * 1.3}, {lo / 1.3, hi * 1.3}, "#000000", 1, 0});
        c.series.push_back({"+20 %", {lo / 1.3, hi * 1.3}, {lo / 1.3 * 1.2, hi * 1.3 * 1.2}, "#999999", 2, 0});
        c.series.push_back({"-20 %", {lo / 1.3, hi * 1.3}, {lo / 1.3 * 0.8, hi * 1.3 * 0.8}, "#999999", 3, 0});
      }
      for (const auto& r : rows)
        c.series.push_back({fmt::format("{} ({})", r.point->name, pct_signed(r.error)),
                            {r.point->measured.tokens_per_s_per_gpu},
                            {r.predicted},
                            "",
                            -1,
                            -1});
      report::write_text_file(opt->svg, c.render(), "--svg");
    }
    if (opt->json) {
      // One JSON shape for the CLI and Python (present::validate_json), plus meta.
      nlohmann::json out =
          present::validate_json({opt->dir, opt->calibration, opt->calibration_for, opt->calibration_any_device}, db);
      out["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", out.dump(2));
    } else if (opt->csv) {
      nlohmann::json crows = nlohmann::json::array();
      for (const auto& r : rows) {
        const auto& s = r.point->scenario;
        const auto& d = s.deployment;
        const bool mem = r.eval.reason != Infeasible::weights_exceed_hbm && r.eval.reason != Infeasible::kv_exceeds_hbm;
        crows.push_back({{"point", r.point->name},
                         {"attention_hardware", s.attention_hardware_id},
                         {"ffn_hardware", s.ffn_hardware_id},
                         {"strategy", strategy_name(d.strategy)},
                         {"plan", plan_label(d)},
                         {"total_gpus", d.total_gpus()},
                         {"attention_gpus", d.attention.gpus},
                         {"attention_tp", d.attention.tp},
                         {"ffn_gpus", d.ffn.gpus},
                         {"ffn_tp", d.ffn.tp},
                         {"micro_batches", d.micro_batches},
                         {"sequences_per_gpu", d.sequences() / d.total_gpus()},
                         {"measured_tokens_per_s_per_gpu", r.point->measured.tokens_per_s_per_gpu},
                         {"predicted_tokens_per_s_per_gpu", r.predicted},
                         {"signed_error", r.error},
                         {"binding", binding_name(r.physical)},
                         {"fits_hbm", mem},
                         {"verification", r.point->measured.verification}});
      }
      fmt::print("{}", report::csv_of_rows(crows, {"point", "attention_hardware", "ffn_hardware", "strategy", "plan",
                                                   "total_gpus", "attention_gpus", "attention_tp", "ffn_gpus", "ffn_tp",
                                                   "micro_batches", "sequences_per_gpu",
                                                   "measured_tokens_per_s_per_gpu", "predicted_tokens_per_s_per_gpu",
                                                   "signed_error", "binding", "fits_hbm", "verification"}));
    } else if (opt->markdown) {
      std::string md = "| " + fmt::format("{}", fmt::join(t.header, " | ")) + " |\n|";
      for (size_t i = 0; i < t.header.size(); ++i) md += i >= 3 && i <= 6 ? " ---: |" : " --- |";
      md += "\n";
      for (const auto& row : t.rows) md += "| " + fmt::format("{}", fmt::join(row, " | ")) + " |\n";
      fmt::print("{}\n{}", md, summary_text(sum, worst, "- "));
    } else {
      fmt::print(
          "Ridgeline {} — validation of decode tokens/s per GPU against {} published points ({})\n"
          "  efficiencies: {}\n\n{}\n{}",
          report::kVersion, sum.points, opt->dir,
          cal ? fmt::format("calibration {} ({})\n  calibrated numbers: {}", cal->file, cal->source,
                            io::calibrated_values_text(*cal))
              : std::string("defaults (efficiency.hpp)"),
          t.render(), summary_text(sum, worst, "  "));
    }
    const bool over_median = opt->max_median >= 0 && sum.median_abs_error > opt->max_median;
    const bool over_max = opt->max_error >= 0 && sum.max_abs_error > opt->max_error;
    if (over_median || over_max) {
      std::fflush(stdout);
      if (over_median)
        fmt::print(stderr, "ridgeline: validate: median |error| {} exceeds --max-median {}\n",
                   pct(sum.median_abs_error), pct(opt->max_median));
      if (over_max)
        fmt::print(stderr, "ridgeline: validate: max |error| {} ({}) exceeds --max-error {}\n", pct(sum.max_abs_error),
                   worst, pct(opt->max_error));
      throw ExitCode{4};
    }
  });
}

}  // namespace ridgeline::cli
