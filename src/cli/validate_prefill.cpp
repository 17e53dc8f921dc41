// SPDX-License-Identifier: Apache-2.0
// `ridgeline validate DIR` on a folder of prefill points ("phase": "prefill"): predicted prompt
// tokens/s per GPU against the published measurement, signed errors and their summary.
#include "validate_prefill.hpp"

#include <fmt/format.h>

#include <cmath>

#include "cli.hpp"
#include "io/prefill_validation.hpp"
#include "report/report.hpp"
#include "ridgeline/io/validation.hpp"
#include "ridgeline/validation.hpp"

namespace ridgeline::cli {

namespace fs = std::filesystem;

bool is_prefill_validation_dir(const std::string& dir) {
  // Not a readable folder: the decode loader reports it (exit 1 with a Fix).
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  bool any = false;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") {
      if (!io::is_prefill_point(e.path())) return false;
      any = true;
    }
  return any;
}

void run_prefill_validation(const PrefillValidateOptions& o, Context& ctx) {
  const auto points = io::load_prefill_points(o.dir, ctx.db());
  Efficiencies eff;
  std::optional<io::Calibration> cal;
  if (!o.calibration.empty()) {
    cal = io::load_calibration(o.calibration, eff);
    eff = cal->efficiencies;
  }
  struct Row {
    const io::PrefillValidationPoint* p;
    PrefillEvaluation e;
    double error;
  };
  std::vector<Row> rows;
  std::vector<double> errors;
  for (const auto& p : points) {
    const PrefillEvaluation e =
        evaluate_prefill(*p->model, p->precision, p->workload, p->deployment, p->input_tokens, eff);
    if (e.reason == Infeasible::bad_shape)
      throw ConfigError(p->file + ": /deployment: " + e.shape_problem + ". Fix: correct the deployment of this point");
    const double err = signed_error(e.tokens_per_s_per_gpu, p->measured_tokens_per_s_per_gpu);
    rows.push_back({p.get(), e, err});
    errors.push_back(err);
  }
  const ErrorSummary sum = summarize_errors(errors);
  std::string worst;
  for (const auto& r : rows)
    if (std::abs(r.error) == sum.max_abs_error) worst = r.p->name;
  report::Table t;
  t.header = {"point", "hardware", "plan", "isl", "chunk", "measured", "predicted", "error", "binding", "source"};
  t.units = {"", "", "", "tokens", "tokens/GPU", "tok/s/GPU", "tok/s/GPU", "signed", "", ""};
  for (const auto& r : rows) {
    const auto& d = r.p->deployment;
    t.rows.push_back({r.p->name, r.p->hardware_id,
                      fmt::format("{}{} m{}", d.parallel == PrefillParallel::ep ? "EP" : "TP", d.gpus,
                                  d.parallel == PrefillParallel::ep ? d.micro_batches : 1),
                      fmt::format("{:.0f}", r.p->input_tokens), fmt::format("{:.0f}", d.chunk_tokens),
                      fmt::format("{:.0f}", r.p->measured_tokens_per_s_per_gpu),
                      fmt::format("{:.0f}", r.e.tokens_per_s_per_gpu), fmt::format("{:+.1f} %", 100 * r.error),
                      binding_name(r.e.binding), r.p->verification == "primary" ? "primary" : "secondary"});
  }
  if (o.json) {
    nlohmann::json out;
    nlohmann::json pts = nlohmann::json::array();
    for (const auto& r : rows)
      pts.push_back({{"point", r.p->name},
                     {"phase", "prefill"},
                     {"file", r.p->file},
                     {"record_id", r.p->record_id},
                     {"source_url", r.p->source_url},
                     {"verification", r.p->verification},
                     {"measured_input_tokens_per_s_per_gpu", r.p->measured_tokens_per_s_per_gpu},
                     {"predicted_input_tokens_per_s_per_gpu", r.e.tokens_per_s_per_gpu},
                     {"signed_error", r.error},
                     {"binding", binding_name(r.e.binding)},
                     {"latency_ms", r.e.latency_s * 1e3},
                     {"hfu", r.e.hfu}});
    out["phase"] = "prefill";
    out["points"] = pts;
    out["summary"] = {{"points", sum.points},
                      {"median_abs_error", sum.median_abs_error},
                      {"max_abs_error", sum.max_abs_error},
                      {"max_abs_error_point", worst},
                      {"mean_signed_error", sum.mean_signed_error},
                      {"share_optimistic", sum.share_optimistic}};
    out["calibration"] = cal ? nlohmann::json{{"file", cal->file}, {"source", cal->source}} : nlohmann::json(nullptr);
    out["meta"] = report::meta_json(ctx.argv);
    fmt::print("{}\n", out.dump(2));
  } else if (o.csv) {
    fmt::print("{}", t.csv());
  } else {
    fmt::print(
        "Ridgeline {} — validation of prefill tokens/s per GPU against {} published points ({})\n"
        "  efficiencies: {}\n\n{}\n",
        report::kVersion, sum.points, o.dir,
        cal ? fmt::format("calibration {} ({})", cal->file, cal->source) : std::string("defaults"), t.render());
    fmt::print(
        "  points: {}\n  median |error|: {:.1f} %\n  max |error|: {:.1f} % ({})\n  mean signed error (bias): "
        "{:+.1f} %\n  optimistic predictions: {} of {}\n",
        sum.points, 100 * sum.median_abs_error, 100 * sum.max_abs_error, worst, 100 * sum.mean_signed_error,
        int(std::lround(sum.share_optimistic * sum.points)), sum.points);
  }
  const bool over = (o.max_median >= 0 && sum.median_abs_error > o.max_median) ||
                    (o.max_error >= 0 && sum.max_abs_error > o.max_error);
  if (over) {
    std::fflush(stdout);
    fmt::print(stderr, "ridgeline: validate: prefill errors exceed --max-median / --max-error\n");
    throw ExitCode{4};
  }
}

}  // namespace ridgeline::cli
