// SPDX-License-Identifier: Apache-2.0
// `ridgeline evaluate SCENARIO.json [--json]`: one fixed deployment.
#include <fmt/format.h>

#include "cli.hpp"
#include "report/report.hpp"
#include "ridgeline/io/validation.hpp"

namespace ridgeline::cli {

void add_evaluate_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::vector<std::string> files;
    bool json = false;
    std::string calibration;
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
  cmd->callback([opt, &ctx] {
    const auto& db = ctx.db();
    // Load everything first: bad input prints no partial results.
    std::vector<io::Scenario> scenarios;
    scenarios.reserve(opt->files.size());  // a Scenario points into its own deque: never let the vector copy one
    for (const auto& f : opt->files) scenarios.push_back(io::load_scenario(f, db));
    std::string calibration_source;
    if (!opt->calibration.empty()) {
      for (auto& s : scenarios) {
        const io::Calibration cal = io::load_calibration(opt->calibration, s.efficiencies);
        s.efficiencies = cal.efficiencies;
        calibration_source = cal.source;
      }
    }
    nlohmann::json results = nlohmann::json::array();
    for (size_t i = 0; i < scenarios.size(); ++i) {
      const auto& s = scenarios[i];
      const Evaluation e = evaluate(s.model, s.precision, s.workload, s.deployment, s.efficiencies);
      if (opt->json) {
        auto j = report::evaluation_json(s, e);
        j["scenario"] = s.source_file;
        if (!calibration_source.empty())
          j["calibration"] = {{"file", opt->calibration}, {"source", calibration_source}};
        results.push_back(j);
      } else {
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
