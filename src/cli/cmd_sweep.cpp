// SPDX-License-Identifier: Apache-2.0
// `ridgeline sweep`: the plan search over a grid of models x hardware x TPOT SLO x context x
// scale-out bandwidth, one row per point with the best EP plan, the best AFD plan and the ratio.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>

#include "checks.hpp"
#include "cli.hpp"
#include "plan_common.hpp"
#include "plan_csv.hpp"
#include "report/report.hpp"

namespace ridgeline::cli {

namespace {

/// A progress bar on stderr, shown only on a terminal and only once the run passes one second.
class Progress {
 public:
  explicit Progress(size_t total) : total_(total), tty_(isatty(STDERR_FILENO) == 1), t0_(Clock::now()) {}
  void step(size_t done) {
    if (!tty_ || std::chrono::duration<double>(Clock::now() - t0_).count() < 1.0) return;
    const int width = 30, filled = int(width * done / std::max<size_t>(1, total_));
    fmt::print(stderr, "\r[{}{}] {}/{} points", std::string(filled, '#'), std::string(width - filled, ' '), done,
               total_);
    shown_ = true;
  }
  ~Progress() {
    if (shown_) fmt::print(stderr, "\r{}\r", std::string(50, ' '));
  }

 private:
  using Clock = std::chrono::steady_clock;
  size_t total_;
  bool tty_, shown_ = false;
  Clock::time_point t0_;
};

std::string score_text(const std::optional<Candidate>& c) {
  return c ? fmt::format("{:.4g}", c->score) : "-";
}
std::string plan_text(const std::optional<Candidate>& c) {
  return c ? plan_label(c->deployment) : "no feasible plan";
}

}  // namespace

void add_sweep_command(CLI::App& app, Context& ctx) {
  struct Options {
    SearchFlags flags;
    std::vector<std::string> models{"deepseek-v3"}, hardware{"h800"}, slos{"50 ms"}, contexts{"4096"}, bandwidths;
    bool json = false, csv = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "sweep",
      "Run the plan search (see `ridgeline plan --help`) over a grid: every combination of --model,\n"
      "--hardware (each kind on its own: EP on it, AFD with both sides on it), --slo, --context and\n"
      "--scale-out-bandwidth (NIC rate per GPU overriding the hwdb value). One row per point: the best EP\n"
      "plan, the best AFD plan, their scores and the ratio AFD/EP (> 1: AFD wins). A progress bar shows on a\n"
      "terminal when the sweep takes longer than a second.\n"
      "Example: ridgeline sweep --model deepseek-v3,step-3 --hardware h800,gb200 --slo \"30 ms,50 ms\" --csv");
  cmd->add_option("--model,-m", o->models, "model id(s), comma separated")->delimiter(',')->capture_default_str();
  cmd->add_option("--models", o->models, "old spelling of --model")->delimiter(',')->group("Deprecated spellings");
  cmd->add_option("--hardware,-H", o->hardware, "hardware ids, comma separated")->delimiter(',')->capture_default_str();
  cmd->add_option("--slo", o->slos, "TPOT targets, comma separated (\"30 ms,50 ms\")")
      ->delimiter(',')
      ->check(QuantityRange(Dimension::seconds, limits::kMinSloS, limits::kMaxSloS, "1 us to 1 h"))
      ->capture_default_str();
  cmd->add_option("--context,-c", o->contexts, "context lengths in tokens, comma separated (e.g. 4096,32K)")
      ->delimiter(',')
      ->check(QuantityRange(Dimension::count, 1, limits::kMaxContextTokens, "1 to 1e9 tokens"))
      ->capture_default_str();
  cmd->add_option("--scale-out-bandwidth", o->bandwidths,
                  "scale-out (NIC) bandwidths per GPU, comma separated, e.g. \"400 Gb/s,800 Gb/s\" (default: hwdb)")
      ->delimiter(',')
      ->check(QuantityRange(Dimension::bytes_per_s, 1e6, 1e15, "1 MB/s to 1 PB/s"));
  add_search_flags(cmd, o->flags, false);
  cmd->add_flag("--json", o->json, "print JSON (rows + meta)");
  cmd->add_flag("--csv", o->csv, "print CSV");
  one_output_format(cmd);
  cmd->callback([o, cmd, &ctx] {
    note_deprecated(cmd, "--models", "--model");
    const auto& db = ctx.db();
    std::vector<std::string> bws = o->bandwidths.empty() ? std::vector<std::string>{""} : o->bandwidths;
    struct Point {
      std::string model, hw, slo, context, bw;
    };
    // The size of the grid before it is built: every point is one full plan search.
    check_work("sweep: grid points (models x hardware x SLOs x contexts x bandwidths)",
               double(o->models.size()) * double(o->hardware.size()) * double(o->slos.size()) *
                   double(o->contexts.size()) * double(bws.size()),
               double(limits::kMaxGridPoints), "split the sweep or list fewer values per axis");
    std::vector<Point> points;
    for (const auto& m : o->models)
      for (const auto& h : o->hardware)
        for (const auto& s : o->slos)
          for (const auto& c : o->contexts)
            for (const auto& b : bws) points.push_back({m, h, s, c, b});
    // Validate every point's flags before the first search: bad input prints no partial result.
    for (const auto& p : points) {
      SearchFlags f = o->flags;
      f.model = p.model;
      f.hardware = {p.hw};
      f.slo = p.slo;
      f.context = p.context;
      (void)resolve_search(f, db);
      if (!p.bw.empty()) (void)parse_search_quantity(p.bw, Dimension::bytes_per_s, "--scale-out-bandwidth");
    }
    std::deque<Accelerator> owned;
    report::Table t;
    t.header = {"model",    "hardware",      "TPOT SLO",  "context", "scale-out", "best EP plan",
                "EP score", "best AFD plan", "AFD score", "AFD/EP",  "winner"};
    nlohmann::json rows = nlohmann::json::array(), csv_rows = nlohmann::json::array();
    Progress bar(points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      const Point& p = points[i];
      SearchFlags f = o->flags;
      f.model = p.model;
      f.hardware = {p.hw};
      f.slo = p.slo;
      f.context = p.context;
      const PointResult r = run_point(f, db, p.bw, owned);
      const std::string winner = r.ep && r.afd ? (r.ratio > 1 ? "AFD" : "EP") : r.ep ? "EP" : r.afd ? "AFD" : "none";
      t.rows.push_back({p.model, p.hw, p.slo, p.context, p.bw.empty() ? "hwdb" : p.bw, plan_text(r.ep),
                        score_text(r.ep), plan_text(r.afd), score_text(r.afd),
                        r.ratio > 0 ? fmt::format("{:.3f}", r.ratio) : "-", winner});
      nlohmann::json row = {{"model", p.model},
                            {"hardware", p.hw},
                            {"tpot_slo_ms", parse_search_quantity(p.slo, Dimension::seconds, "--slo") * 1e3},
                            {"context_tokens", parse_search_quantity(p.context, Dimension::count, "--context")},
                            {"scale_out_bandwidth", p.bw.empty() ? nlohmann::json() : nlohmann::json(p.bw)},
                            {"ep_plan", r.ep ? nlohmann::json(plan_label(r.ep->deployment)) : nlohmann::json()},
                            {"ep_score", r.ep ? nlohmann::json(r.ep->score) : nlohmann::json()},
                            {"afd_plan", r.afd ? nlohmann::json(plan_label(r.afd->deployment)) : nlohmann::json()},
                            {"afd_score", r.afd ? nlohmann::json(r.afd->score) : nlohmann::json()},
                            {"ratio_afd_over_ep", r.ratio > 0 ? nlohmann::json(r.ratio) : nlohmann::json()},
                            {"winner", winner}};
      rows.push_back(row);
      nlohmann::json crow = {
          {"model", p.model},
          {"hardware", p.hw},
          {"tpot_slo_s", parse_search_quantity(p.slo, Dimension::seconds, "--slo")},
          {"context_tokens", parse_search_quantity(p.context, Dimension::count, "--context")},
          {"scale_out_bytes_per_s",
           p.bw.empty() ? nlohmann::json()
                        : nlohmann::json(parse_search_quantity(p.bw, Dimension::bytes_per_s, "--scale-out-bandwidth"))},
          {"ratio_afd_over_ep", r.ratio > 0 ? nlohmann::json(r.ratio) : nlohmann::json()},
          {"winner", winner}};
      if (r.ep) crow.update(plan_fields(*r.ep, "ep_"));
      if (r.afd) crow.update(plan_fields(*r.afd, "afd_"));
      csv_rows.push_back(crow);
      bar.step(i + 1);
    }
    if (o->json) {
      nlohmann::json j = {{"objective", objective_name(parse_objective(o->flags.objective))}, {"rows", rows}};
      j["meta"] = report::meta_json(ctx.argv);
      fmt::print("{}\n", j.dump(2));
    } else if (o->csv) {
      std::vector<std::string> cols = {"model", "hardware", "tpot_slo_s", "context_tokens", "scale_out_bytes_per_s"};
      for (const char* side : {"ep_", "afd_"})
        for (const auto& c : prefixed_plan_columns(side)) cols.push_back(c);
      cols.insert(cols.end(), {"ratio_afd_over_ep", "winner"});
      fmt::print("{}", report::csv_of_rows(csv_rows, cols));
    } else {
      fmt::print("{}", t.render());
    }
  });
}

}  // namespace ridgeline::cli
