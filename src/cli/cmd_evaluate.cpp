// SPDX-License-Identifier: Apache-2.0
// `ridgeline evaluate SCENARIO.json [--json]`: one fixed deployment.
#include <fmt/format.h>

#include <cmath>

#include "checks.hpp"
#include "cli.hpp"
#include "plan_common.hpp"
#include "present/commands.hpp"
#include "report/report.hpp"
#include "ridgeline/io/validation.hpp"

namespace ridgeline::cli {

void add_evaluate_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::vector<std::string> files;
    bool json = false;
    std::string calibration;
    std::string calibration_for;
    bool calibration_any_device = false;
    // Realism overrides applied to every scenario (empty / 0 = as the file says).
    std::string gap, context, routing;
    double mtp_acceptance = -1;  // not given
    double context_cv = -1;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("evaluate",
                         "Evaluate one fixed deployment (a scenario file): TPOT, tokens/s per GPU, per $ and per W,\n"
                         "HFU, the per-layer stage times and the binding roof or constraint.\n"
                         "Scenario format: README.md, section 'Scenario files'; examples/ has samples.");
  // No CLI::ExistingFile: a missing file is bad input (exit 1 with a Fix), not a usage error.
  cmd->add_option("scenario", opt->files, "scenario JSON file(s)")->required();
  cmd->add_flag("--json", opt->json,
                "print JSON: {\"results\": [one object per file], \"meta\": ...}; with one file its fields are also "
                "at the top level");
  cmd->add_option("--calibration", opt->calibration,
                  "calibration file (from ridgeline-calibrate, a profile in hwdb/calibration/, or hand-written\n"
                  "efficiencies with a source) applied on top of each scenario's efficiencies; a bare hardware id\n"
                  "(h200) loads hwdb/calibration/<id>.json. A file measured on other hardware is refused");
  cmd->add_option("--calibration-for", opt->calibration_for,
                  "apply the --calibration file to this hardware id although it was measured elsewhere");
  cmd->add_flag("--calibration-any-device", opt->calibration_any_device,
                "apply the --calibration file to any hardware (skip the device check)");
  cmd->add_option("--context", opt->context, "override workload.context_tokens, e.g. 4096 or \"32K\" (= 32768)")
      ->check(QuantityRange(Dimension::count, 1, limits::kMaxContextTokens, "1 to 1e9 tokens"));
  cmd->add_option("--gap", opt->gap, "override workload.iteration_gap, e.g. \"5 ms\" (default of files: 5 ms)")
      ->check(QuantityRange(Dimension::seconds, 0, limits::kMaxSloS, "0 to 1 h"));
  cmd->add_option("--mtp-acceptance", opt->mtp_acceptance,
                  "override workload.mtp_acceptance (tokens accepted per step; drafts follow when needed)")
      ->check(FiniteRange(1.0, 16.0));
  cmd->add_option("--context-cv", opt->context_cv,
                  "override workload.context_cv, the KV-length spread (coefficient of variation; default of files "
                  "0.58, 0 = fixed-length sequences)")
      ->check(FiniteRange(0.0, 10.0));
  cmd->add_option("--routing", opt->routing,
                  "override the expert load imbalance: uniform (default of files), balanced, zipf:S, or a fixed "
                  "max/mean such as 1.2");
  cmd->callback([opt, &ctx] {
    const auto& db = ctx.db();
    // Load everything first: bad input prints no partial results.
    std::vector<io::Scenario> scenarios;
    scenarios.reserve(opt->files.size());  // a Scenario points into its own deque: never let the vector copy one
    for (const auto& f : opt->files) scenarios.push_back(io::load_scenario(f, db));
    present::EvaluateRequest req{opt->gap,
                                 opt->context,
                                 opt->routing,
                                 opt->calibration,
                                 opt->calibration_for,
                                 opt->calibration_any_device,
                                 opt->mtp_acceptance,
                                 opt->context_cv};
    const present::EvaluateCalibration cal = present::apply_evaluate_request(scenarios, req, db);
    const std::string& calibration_source = cal.source;
    nlohmann::json results = nlohmann::json::array();
    for (size_t i = 0; i < scenarios.size(); ++i) {
      const auto& s = scenarios[i];
      if (opt->json) {
        results.push_back(present::evaluate_json(s, cal, i));
      } else {
        const Evaluation e = evaluate(s.model, s.precision, s.workload, s.deployment, s.efficiencies);
        fmt::print("{}{}", i ? "\n" : "", report::evaluation_table(s, e));
        if (!calibration_source.empty()) {
          fmt::print("  calibration: {} ({})\n", cal.file, calibration_source);
          fmt::print("  calibrated numbers: {}\n", io::calibrated_values_text(cal.per_scenario[i]));
        }
      }
    }
    if (opt->json) {
      // Always {"results": [one object per file], "meta": ...}. With one file its fields also stay
      // at the top level, as before "results" was always there (scripts reading out["tpot_ms"]).
      nlohmann::json out = present::evaluate_results_json(results);
      out["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", out.dump(2));
    }
  });
}

}  // namespace ridgeline::cli
