// SPDX-License-Identifier: Apache-2.0
// `ridgeline plan`: search the deployment space (MegaScale-Infer Algorithm 1, generalised) and
// print the best EP plan and the best AFD plan side by side, the winner and by how much.
#include <fmt/format.h>

#include "checks.hpp"
#include "cli.hpp"
#include "io/files.hpp"
#include "plan_common.hpp"
#include "plan_csv.hpp"
#include "present/plan.hpp"
#include "report/report.hpp"
#include "sensitivity.hpp"
#include "service_cli.hpp"

namespace ridgeline::cli {

namespace {

std::string us(double s) {
  return fmt::format("{:.1f}", s * 1e6);
}

/// One row per plan: what --top, --pareto and --csv print.
report::Table plans_table(const std::vector<const Candidate*>& plans, Objective obj) {
  report::Table t;
  t.header = {"plan", "GPUs", "batch", "TPOT",     "tok/s/GPU", "tok/s/user", "tok/s/$h", "tok/s/W",
              "HFU",  "t_a",  "t_f",   "dispatch", "combine",   "binding",    "score"};
  t.units = {"", "", "seqs", "ms", "", "", "", "", "%", "us", "us", "us", "us", "", objective_name(obj)};
  for (const Candidate* c : plans) {
    const Evaluation& e = c->evaluation;
    t.rows.push_back(
        {plan_label(c->deployment), fmt::format("{}", e.total_gpus), fmt::format("{:.0f}", e.sequences),
         fmt::format("{:.2f}", e.tpot_s * 1e3), fmt::format("{:.1f}", e.tokens_per_s_per_gpu),
         fmt::format("{:.1f}", e.tokens_per_s_per_user), fmt::format("{:.1f}", e.tokens_per_s_per_dollar_hour),
         fmt::format("{:.3f}", e.tokens_per_s_per_watt), fmt::format("{:.1f}", e.hfu * 100), us(e.attention_s),
         us(e.ffn_s), us(e.dispatch_s), us(e.combine_s), binding_name(e.binding), fmt::format("{:.4g}", c->score)});
  }
  return t;
}

/// What a column without a plan says: not searched (--strategy) or nothing feasible.
std::string no_plan(bool searched) {
  return searched ? "no feasible plan" : "not searched (--strategy)";
}

/// The side-by-side comparison of the best EP and the best AFD plan.
std::string side_by_side(const SearchResult& r, const SearchSpace& sp) {
  report::Table t;
  t.header = {"", "best EP", "best AFD"};
  const Candidate* ep = r.best_ep();
  const Candidate* afd = r.best_afd();
  auto row = [&](const char* name, auto&& f) {
    t.rows.push_back({name, ep ? f(*ep) : no_plan(sp.search_ep), afd ? f(*afd) : no_plan(sp.search_afd)});
  };
  row("plan", [](const Candidate& c) { return plan_label(c.deployment); });
  row("GPUs", [](const Candidate& c) { return fmt::format("{}", c.evaluation.total_gpus); });
  row("sequences in flight", [](const Candidate& c) { return fmt::format("{:.0f}", c.evaluation.sequences); });
  row("TPOT", [](const Candidate& c) { return fmt::format("{:.2f} ms", c.evaluation.tpot_s * 1e3); });
  row("tokens/s per GPU", [](const Candidate& c) { return fmt::format("{:.1f}", c.evaluation.tokens_per_s_per_gpu); });
  row("tokens/s per user",
      [](const Candidate& c) { return fmt::format("{:.1f}", c.evaluation.tokens_per_s_per_user); });
  row("tokens/s per $/h",
      [](const Candidate& c) { return fmt::format("{:.1f}", c.evaluation.tokens_per_s_per_dollar_hour); });
  row("tokens/s per W", [](const Candidate& c) { return fmt::format("{:.3f}", c.evaluation.tokens_per_s_per_watt); });
  row("HFU", [](const Candidate& c) { return fmt::format("{:.1f} %", c.evaluation.hfu * 100); });
  row("t_a / t_f (us)",
      [](const Candidate& c) { return us(c.evaluation.attention_s) + " / " + us(c.evaluation.ffn_s); });
  row("dispatch / combine (us)",
      [](const Candidate& c) { return us(c.evaluation.dispatch_s) + " / " + us(c.evaluation.combine_s); });
  row("pipeline slot (us)", [](const Candidate& c) { return us(c.evaluation.slot_s); });
  row("binding", [](const Candidate& c) { return std::string(binding_name(c.evaluation.binding)); });
  row("batch limited by", [](const Candidate& c) { return std::string(batch_limit_name(c)); });
  return t.render();
}

/// The winner line, e.g. "winner: EP, 2.04x the best AFD plan's tokens/s per GPU".
std::string winner_line(const SearchResult& r, const SearchSpace& sp) {
  const Objective obj = sp.objective;
  const Candidate* ep = r.best_ep();
  const Candidate* afd = r.best_afd();
  if (ep && afd) {
    const bool ep_wins = !search_detail::better(*afd, *ep);
    const double ratio = ep_wins ? ep->score / afd->score : afd->score / ep->score;
    return fmt::format("winner: {}, {:.2f}x the best {} plan's {}", ep_wins ? "EP" : "AFD", ratio,
                       ep_wins ? "AFD" : "EP", objective_name(obj));
  }
  if (ep || afd) {
    const bool other_searched = ep ? sp.search_afd : sp.search_ep;
    return fmt::format("winner: {} ({} {})", ep ? "EP" : "AFD", ep ? "AFD" : "EP",
                       other_searched ? "has no feasible plan" : "not searched: --strategy");
  }
  return "no feasible plan: see --explain for why every shape was rejected";
}

}  // namespace

void add_plan_command(CLI::App& app, Context& ctx) {
  struct Options {
    SearchFlags flags;
    int top = 1;
    bool pareto = false, explain = false, json = false, csv = false, sensitivity = false;
    std::string write_scenario;
    ServiceFlags service;  ///< --isl turns `plan` into a service plan (cmd_service.cpp)
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "plan",
      "Find the best decode deployment of a model on given hardware under a TPOT SLO: searches EP (attention\n"
      "data-parallel on every GPU, experts over all GPUs, 1 or 2 micro-batches) and AFD (attention instances\n"
      "DP x TP_a, FFN GPUs EP x expert-TP, 3+ ping-pong micro-batches, attention and FFN hardware chosen\n"
      "independently), GPU counts node-granular (GPU-granular inside a superpod), and for each shape the largest\n"
      "batch that meets the SLO and fits in memory. Prints the best EP and best AFD plan side by side, the winner\n"
      "and by how much, each with its stage times and binding constraint.\n"
      "Example: ridgeline plan --model deepseek-v3 --hardware h800 --slo \"50 ms\"\n"
      "         ridgeline plan --model dbrx --attention-hardware h20 --ffn-hardware l40s --hardware h20 "
      "--weights bf16 --slo \"150 ms\" --objective cost");
  add_search_flags(cmd, o->flags);
  cmd->add_option("--top", o->top, "also list the best K plans of each strategy")->check(CLI::Range(1, 1000));
  cmd->add_flag("--pareto", o->pareto, "print the Pareto frontier of tokens/s per GPU vs tokens/s per user");
  cmd->add_flag("--explain", o->explain,
                "count rejected plan shapes by reason (memory, SLO, bubbles, budget; score_bound: AFD plan\n"
                "families skipped because their score bound is below the best plans found)");
  cmd->add_flag("--sensitivity", o->sensitivity,
                "re-run the search at the low and high end of each uncertain parameter's sourced range (transport "
                "contention, per-transfer cost, step gap, expert imbalance, attention efficiency) and print the best "
                "EP and AFD plan and the winner at each end");
  cmd->add_flag("--json", o->json, "print JSON (with a meta block) instead of tables");
  cmd->add_flag("--csv", o->csv, "print the top plans as CSV (one row per plan)");
  one_output_format(cmd);
  cmd->add_option("--write-scenario", o->write_scenario,
                  "save the winning plan as a scenario file that `ridgeline evaluate` accepts");
  add_service_flags(cmd, o->service);
  cmd->callback([o, &ctx] {
    if (o->service.active()) return run_service_plan(o->service, o->flags, ctx, o->json, o->explain, o->top);
    SearchSetup s = resolve_search(o->flags, ctx.db());
    if (!o->write_scenario.empty()) ctx.check_output(o->write_scenario, "--write-scenario", {o->flags.calibration});
    s.space.top_k = o->top;
    s.space.keep_pareto = o->pareto;
    present::PlanRun run = present::run_plan(s, o->top, o->pareto, o->sensitivity);
    const SearchResult& r = run.result;
    const double wall_s = run.wall_s;
    const Candidate* best = run.best();
    const std::vector<SensitivityRow>& sens = run.sensitivity;
    const std::string& robust = run.robustness;
    if (!o->write_scenario.empty() && best) {
      io::Scenario sc = scenario_of(s, *best);
      auto j = nlohmann::json::parse(io::scenario_to_json(sc));
      j["description"] = fmt::format("Written by ridgeline plan: {} ({} = {:.4g}).", plan_label(best->deployment),
                                     objective_name(s.space.objective), best->score);
      io::write_file_atomic(o->write_scenario, j.dump(2) + "\n", "--write-scenario");
    }
    // Several hardware kinds: also the best plan on each kind alone (as `sweep` searches a point).
    present::add_per_hardware(run, o->flags, ctx.db());
    const auto& per_hw = run.per_hardware;
    std::vector<const Candidate*> top;
    for (const auto* list : {&r.ep, &r.afd})
      for (const auto& c : *list) top.push_back(&c);
    if (o->json) {
      nlohmann::json j = present::plan_json(run, o->pareto);
      j["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", j.dump(2));
    } else if (o->csv) {
      nlohmann::json rows = nlohmann::json::array();
      for (const Candidate* c : top) rows.push_back(plan_fields(*c));
      fmt::print("{}", report::csv_of_rows(rows, plan_csv_columns()));
    } else {
      fmt::print("Ridgeline {} — plan for {} at TPOT <= {:.1f} ms, context {:.0f} tokens, {} weights\n",
                 report::kVersion, s.model->name, s.workload.tpot_slo_s * 1e3, s.workload.context_tokens,
                 dtype_name(s.precision.weights));
      fmt::print("  searched {} plan shapes ({} evaluations) in {:.1f} ms; objective: {}\n\n", r.shapes, r.evaluations,
                 wall_s * 1e3, objective_name(s.space.objective));
      std::string inputs;
      for (const auto& in : s.inputs)
        inputs += fmt::format("{}{}: {} ({})", inputs.empty() ? "" : "; ", in.name, in.value, in.source);
      fmt::print("  inputs: {}\n", inputs);
      if (!s.calibration_source.empty()) {
        fmt::print("  calibration: {} ({})\n", s.calibration_file, s.calibration_source);
        fmt::print("  calibrated numbers: {}\n", s.calibration_values_text);
      }
      fmt::print("\n{}\n{}\n", side_by_side(r, s.space), winner_line(r, s.space));
      if (!per_hw.empty()) {
        report::Table t;
        t.header = {"hardware", "best EP plan", "EP score", "best AFD plan", "AFD score", "winner"};
        t.units = {"", "", objective_name(s.space.objective), "", objective_name(s.space.objective), ""};
        for (const auto& [id, p] : per_hw)
          t.rows.push_back({id, p.ep ? plan_label(p.ep->deployment) : no_plan(s.space.search_ep),
                            p.ep ? fmt::format("{:.4g}", p.ep->score) : "-",
                            p.afd ? plan_label(p.afd->deployment) : no_plan(s.space.search_afd),
                            p.afd ? fmt::format("{:.4g}", p.afd->score) : "-", present::point_winner(p)});
        fmt::print("\nBest plan per hardware kind (EP on it; AFD with both sides on it):\n{}", t.render());
      }
      for (const Candidate* c : {r.best_ep(), r.best_afd()})
        if (c)
          fmt::print("  {}: {}\n", strategy_name(c->deployment.strategy),
                     report::describe_binding(c->evaluation, c->deployment));
      if (o->top > 1)
        fmt::print("\nTop {} plans per strategy:\n{}", o->top, plans_table(top, s.space.objective).render());
      if (o->pareto) {
        std::vector<const Candidate*> p;
        for (const auto& c : r.pareto) p.push_back(&c);
        fmt::print("\nPareto frontier (tokens/s per GPU vs tokens/s per user):\n{}",
                   plans_table(p, s.space.objective).render());
      }
      if (o->explain) {
        report::Table t;
        t.header = {"rejected plan shapes", "count"};
        for (int k = 0; k < kRejectionKinds; ++k)
          t.rows.push_back({rejection_name(Rejection(k)), fmt::format("{}", r.rejected[k])});
        t.rows.push_back({"(feasible shapes searched)", fmt::format(
                                                            "{}", r.shapes - [&] {
                                                              long n = 0;
                                                              for (int k = 0; k < kRejectionKinds; ++k)
                                                                if (Rejection(k) != Rejection::budget)
                                                                  n += r.rejected[k];
                                                              return n;
                                                            }())});
        fmt::print("\n{}", t.render());
        if (!s.space.require_bubble_free)
          fmt::print("  (bubbles: AFD plans are only rejected for bubbles with --require-bubble-free)\n");
      }
      if (o->sensitivity && !sens.empty()) {
        report::Table t;
        t.header = {"parameter", "low",      "high",       "EP low",     "EP high",
                    "AFD low",   "AFD high", "winner low", "winner high"};
        t.units = {"", "", "", objective_name(s.space.objective), "", "", "", "", ""};
        for (const auto& row : sens)
          t.rows.push_back({row.parameter, row.low, row.high, fmt::format("{:.4g}", row.ep_low),
                            fmt::format("{:.4g}", row.ep_high), fmt::format("{:.4g}", row.afd_low),
                            fmt::format("{:.4g}", row.afd_high), row.winner_low, row.winner_high});
        fmt::print("\nSensitivity of the verdict (each parameter at the ends of its sourced range, search re-run):\n{}",
                   t.render());
      }
      if (!o->write_scenario.empty() && best) fmt::print("\nwrote {}\n", o->write_scenario);
      if (!robust.empty()) fmt::print("\n{}\n", robust);
    }
    if (!best) throw ExitCode{3};
  });
}

}  // namespace ridgeline::cli
