// SPDX-License-Identifier: Apache-2.0
// `ridgeline validate DIR` on a folder of prefill points ("phase": "prefill"): predicted prompt
// tokens/s per GPU against the published measurement, signed errors and their summary.
#include "validate_prefill.hpp"

#include <fmt/format.h>

#include <cmath>

#include "cli.hpp"
#include "io/prefill_validation.hpp"
#include "present/commands.hpp"
#include "report/report.hpp"
#include "ridgeline/io/validation.hpp"
#include "ridgeline/validation.hpp"

namespace ridgeline::cli {

namespace fs = std::filesystem;

bool is_prefill_validation_dir(const std::string& dir) {
  return io::is_prefill_validation_dir(dir);
}

void run_prefill_validation(const PrefillValidateOptions& o, Context& ctx) {
  // One computation for the CLI and Python (present::validate_json); the table is read off it.
  nlohmann::json out =
      present::validate_json({o.dir, o.calibration, o.calibration_for, o.calibration_any_device}, ctx.db());
  const auto& sj = out["summary"];
  ErrorSummary sum;
  sum.points = sj["points"].get<int>();
  sum.median_abs_error = sj["median_abs_error"].get<double>();
  sum.max_abs_error = sj["max_abs_error"].get<double>();
  sum.mean_signed_error = sj["mean_signed_error"].get<double>();
  sum.share_optimistic = sj["share_optimistic"].get<double>();
  const std::string worst = sj["max_abs_error_point"].get<std::string>();
  const nlohmann::json& cal = out["calibration"];
  report::Table t;
  t.header = {"point", "hardware", "plan", "isl", "chunk", "measured", "predicted", "error", "binding", "source"};
  t.units = {"", "", "", "tokens", "tokens/GPU", "tok/s/GPU", "tok/s/GPU", "signed", "", ""};
  for (const auto& p : out["points"]) {
    const bool ep = p["parallel"] == "ep";
    t.rows.push_back({p["point"].get<std::string>(), p["hardware"].get<std::string>(),
                      fmt::format("{}{} m{}", ep ? "EP" : "TP", p["gpus"].get<int>(), p["micro_batches"].get<int>()),
                      fmt::format("{:.0f}", p["input_tokens"].get<double>()),
                      fmt::format("{:.0f}", p["chunk_tokens"].get<double>()),
                      fmt::format("{:.0f}", p["measured_input_tokens_per_s_per_gpu"].get<double>()),
                      fmt::format("{:.0f}", p["predicted_input_tokens_per_s_per_gpu"].get<double>()),
                      fmt::format("{:+.1f} %", 100 * p["signed_error"].get<double>()), p["binding"].get<std::string>(),
                      p["verification"] == "primary" ? "primary" : "secondary"});
  }
  if (o.json) {
    out["meta"] = report::meta_json(ctx.argv);
    fmt::print("{}\n", out.dump(2));
  } else if (o.csv) {  // machine-readable: SI numbers, one column per field
    fmt::print(
        "{}", report::csv_of_rows(out["points"], {"point", "hardware", "parallel", "gpus", "micro_batches",
                                                  "input_tokens", "chunk_tokens", "measured_input_tokens_per_s_per_gpu",
                                                  "predicted_input_tokens_per_s_per_gpu", "signed_error", "binding",
                                                  "latency_ms", "hfu", "verification"}));
  } else {
    fmt::print(
        "Ridgeline {} — validation of prefill tokens/s per GPU against {} published points ({})\n"
        "  efficiencies: {}\n\n{}\n",
        report::kVersion, sum.points, o.dir,
        cal.is_null()
            ? std::string("defaults")
            : fmt::format("calibration {} ({})", cal["file"].get<std::string>(), cal["source"].get<std::string>()),
        t.render());
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
