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
    // Realism overrides applied to every scenario (empty / 0 = as the file says).
    std::string gap, context, routing;
    double mtp_acceptance = 0;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("evaluate",
                         "Evaluate one fixed deployment (a scenario file): TPOT, tokens/s per GPU, per $ and per W,\n"
                         "HFU, the per-layer stage times and the binding roof or constraint.\n"
                         "Scenario format: README.md, section 'Scenario files'; examples/ has samples.");
  cmd->add_option("scenario", opt->files, "scenario JSON file(s)")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", opt->json, "print a JSON object (one per file in a 'results' array) instead of a table");
  cmd->add_option("--calibration", opt->calibration,
                  "calibration file (from ridgeline-calibrate, or hand-written efficiencies with a source) applied on\n"
                  "top of each scenario's efficiencies")
      ->check(CLI::ExistingFile);
  cmd->add_option("--gap", opt->gap, "override workload.iteration_gap, e.g. \"5 ms\" (default of files: 5 ms)");
  cmd->add_option("--context", opt->context, "override workload.context_tokens, e.g. 4096 or \"32K\"");
  cmd->add_option("--mtp-acceptance", opt->mtp_acceptance,
                  "override workload.mtp_acceptance (tokens accepted per step; drafts follow when needed)");
  cmd->add_option("--routing", opt->routing,
                  "override the expert load imbalance: uniform (default of files), balanced, zipf:S, or a fixed "
                  "max/mean such as 1.2");
  cmd->callback([opt, &ctx] {
    const auto& db = ctx.db();
    // Load everything first: bad input prints no partial results.
    std::vector<io::Scenario> scenarios;
    scenarios.reserve(opt->files.size());  // a Scenario points into its own deque: never let the vector copy one
    for (const auto& f : opt->files) scenarios.push_back(io::load_scenario(f, db));
    present::EvaluateRequest req{opt->gap, opt->context, opt->routing, opt->calibration, opt->mtp_acceptance};
    const std::string calibration_source = present::apply_evaluate_request(scenarios, req);
    nlohmann::json results = nlohmann::json::array();
    for (size_t i = 0; i < scenarios.size(); ++i) {
      const auto& s = scenarios[i];
      if (opt->json) {
        results.push_back(present::evaluate_json(s, req, calibration_source));
      } else {
        const Evaluation e = evaluate(s.model, s.precision, s.workload, s.deployment, s.efficiencies);
        fmt::print("{}{}", i ? "\n" : "", report::evaluation_table(s, e));
        if (!calibration_source.empty()) fmt::print("  calibration: {} ({})\n", opt->calibration, calibration_source);
      }
    }
    if (opt->json) {
      nlohmann::json out = results.size() == 1 ? results[0] : nlohmann::json{{"results", results}};
      out["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", out.dump(2));
    }
  });
}

}  // namespace ridgeline::cli
