// SPDX-License-Identifier: Apache-2.0
// `ridgeline compare --model M --hardware H`: the AFD-vs-EP crossover map over context x TPOT
// SLO, as a table (and JSON/CSV) and an SVG heatmap.
#include <fmt/format.h>

#include "checks.hpp"
#include "cli.hpp"
#include "io/files.hpp"
#include "plan_common.hpp"
#include "plan_csv.hpp"
#include "report/report.hpp"
#include "report/svg_heatmap.hpp"

namespace ridgeline::cli {

void add_compare_command(CLI::App& app, Context& ctx) {
  struct Options {
    SearchFlags flags;
    std::vector<std::string> slos{"20 ms", "30 ms", "50 ms", "100 ms"}, contexts{"1024", "4096", "16384", "65536"};
    std::string svg;
    bool json = false, csv = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "compare",
      "AFD-vs-EP crossover map: for every (context, TPOT SLO) cell, search the best EP and the best AFD plan\n"
      "(as `ridgeline plan` does) and report AFD score / EP score (> 1: AFD wins). Prints a table (rows:\n"
      "context, columns: SLO); --svg FILE also writes a heatmap (blue: EP wins, orange: AFD wins).\n"
      "Example: ridgeline compare --model step-3 --hardware gb200 --svg step3-gb200.svg");
  cmd->add_option("--model,-m", o->flags.model, "model id")->capture_default_str();
  cmd->add_option("--hardware,-H", o->flags.hardware, "hardware id(s), comma separated (as in plan)")
      ->delimiter(',')
      ->capture_default_str();
  // --slos / --contexts: the old spellings (a named group, not a hidden one: CLI11 leaves hidden
  // options' names out of its error messages).
  for (const char* name : {"--slo", "--slos"})
    cmd->add_option(name, o->slos, "TPOT targets (columns), comma separated")
        ->delimiter(',')
        ->check(QuantityRange(Dimension::seconds, limits::kMinSloS, limits::kMaxSloS, "1 us to 1 h"))
        ->capture_default_str()
        ->group(name == std::string("--slo") ? "Options" : "Deprecated spellings");
  for (const char* name : {"--context,-c", "--contexts"})
    cmd->add_option(name, o->contexts, "context lengths in tokens (rows), comma separated (e.g. 4096,32K)")
        ->delimiter(',')
        ->check(QuantityRange(Dimension::count, 1, limits::kMaxContextTokens, "1 to 1e9 tokens"))
        ->capture_default_str()
        ->group(name == std::string("--contexts") ? "Deprecated spellings" : "Options");
  add_search_flags(cmd, o->flags, false);
  cmd->add_option("--svg", o->svg, "write the heatmap to this SVG file ('-': to stdout instead of the table)");
  cmd->add_flag("--json", o->json, "print JSON (cells + meta)");
  cmd->add_flag("--csv", o->csv, "print CSV (one row per cell)");
  one_output_format(cmd);
  cmd->callback([o, cmd, &ctx] {
    note_deprecated(cmd, "--slos", "--slo");
    note_deprecated(cmd, "--contexts", "--context");
    const auto& db = ctx.db();
    // The size of the map before any search: every cell is one full plan search.
    check_work("compare: cells (--context x --slo)", double(o->contexts.size()) * double(o->slos.size()),
               double(limits::kMaxGridPoints), "list fewer --context or --slo values");
    if (!o->svg.empty() && o->svg != "-") ctx.check_output(o->svg, "--svg");
    for (const auto& c : o->contexts)
      for (const auto& s : o->slos) {
        SearchFlags f = o->flags;
        f.slo = s;
        f.context = c;
        (void)resolve_search(f, db);  // bad input fails before any search
      }
    std::deque<Accelerator> owned;
    report::Heatmap h;
    h.title = fmt::format("AFD / EP best {} — {} on {}", objective_name(parse_objective(o->flags.objective)),
                          o->flags.model, fmt::join(o->flags.hardware, "+"));
    h.x_title = "TPOT SLO";
    h.y_title = "context (tokens)";
    h.x_labels = o->slos;
    h.y_labels = o->contexts;
    report::Table t;
    nlohmann::json csv_rows = nlohmann::json::array();
    t.header = {"context \\ SLO"};
    for (const auto& s : o->slos) t.header.push_back(s);
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& c : o->contexts) {
      std::vector<double> row;
      std::vector<int> only;  // the heatmap's "AFD only" / "EP only" cells
      std::vector<std::string> cells_text{c};
      for (const auto& s : o->slos) {
        SearchFlags f = o->flags;
        f.slo = s;
        f.context = c;
        const PointResult r = run_point(f, db, "", owned);
        const std::string winner = r.ep && r.afd ? (r.ratio > 1 ? "AFD" : "EP") : r.ep ? "EP" : r.afd ? "AFD" : "none";
        row.push_back(r.ratio);
        only.push_back(r.ep && r.afd ? 0 : r.afd ? 1 : r.ep ? -1 : 0);
        cells_text.push_back(r.ratio > 0 ? fmt::format("{:.2f} {}", r.ratio, winner) : winner + " only");
        nlohmann::json crow = {{"context_tokens", parse_search_quantity(c, Dimension::count, "--context")},
                               {"tpot_slo_s", parse_search_quantity(s, Dimension::seconds, "--slo")},
                               {"ratio_afd_over_ep", r.ratio > 0 ? nlohmann::json(r.ratio) : nlohmann::json()},
                               {"winner", winner}};
        if (r.ep) crow.update(plan_fields(*r.ep, "ep_"));
        if (r.afd) crow.update(plan_fields(*r.afd, "afd_"));
        csv_rows.push_back(crow);
        cells.push_back({{"context", c},
                         {"tpot_slo", s},
                         {"ratio_afd_over_ep", r.ratio > 0 ? nlohmann::json(r.ratio) : nlohmann::json()},
                         {"winner", winner},
                         {"ep_plan", r.ep ? nlohmann::json(plan_label(r.ep->deployment)) : nlohmann::json()},
                         {"afd_plan", r.afd ? nlohmann::json(plan_label(r.afd->deployment)) : nlohmann::json()}});
      }
      h.values.push_back(row);
      h.only.push_back(only);
      t.rows.push_back(cells_text);
    }
    const std::string svg = report::heatmap_svg(h);
    if (!o->svg.empty() && o->svg != "-") io::write_file_atomic(o->svg, svg, "--svg");
    if (o->svg == "-") {
      fmt::print("{}", svg);
    } else if (o->json) {
      nlohmann::json j = {{"model", o->flags.model}, {"hardware", o->flags.hardware}, {"cells", cells}};
      j["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", j.dump(2));
    } else if (o->csv) {
      std::vector<std::string> cols = {"context_tokens", "tpot_slo_s"};
      for (const char* side : {"ep_", "afd_"})
        for (const auto& col : prefixed_plan_columns(side)) cols.push_back(col);
      cols.insert(cols.end(), {"ratio_afd_over_ep", "winner"});
      fmt::print("{}", report::csv_of_rows(csv_rows, cols));
    } else {
      fmt::print("{}\nAFD / EP (> 1: AFD wins)\n{}", h.title, t.render());
      if (!o->svg.empty()) fmt::print("wrote {}\n", o->svg);
    }
  });
}

}  // namespace ridgeline::cli
