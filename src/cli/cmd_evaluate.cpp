// SPDX-License-Identifier: Apache-2.0
// `ridgeline evaluate SCENARIO.json [--json]`: one fixed deployment.
#include <fmt/format.h>

#include "cli.hpp"
#include "report/report.hpp"

namespace ridgeline::cli {

void add_evaluate_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::vector<std::string> files;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("evaluate",
                                 "Evaluate one fixed deployment (a scenario file): TPOT, tokens/s per GPU, per $ and per W,\n"
                                 "HFU, the per-layer stage times and the binding roof or constraint.\n"
                                 "Scenario format: README.md, section 'Scenario files'; examples/ has samples.");
  cmd->add_option("scenario", opt->files, "scenario JSON file(s)")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", opt->json, "print a JSON object (one per file in a 'results' array) instead of a table");
  cmd->callback([opt, &ctx] {
    const auto& db = ctx.db();
    // Load everything first: bad input prints no partial results.
    std::vector<io::Scenario> scenarios;
    for (const auto& f : opt->files) scenarios.push_back(io::load_scenario(f, db));
    nlohmann::json results = nlohmann::json::array();
    for (size_t i = 0; i < scenarios.size(); ++i) {
      const auto& s = scenarios[i];
      const Evaluation e = evaluate(s.model, s.precision, s.workload, s.deployment, s.efficiencies);
      if (opt->json) {
        auto j = report::evaluation_json(s, e);
        j["scenario"] = s.source_file;
        results.push_back(j);
      } else {
        fmt::print("{}{}", i ? "\n" : "", report::evaluation_table(s, e));
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
