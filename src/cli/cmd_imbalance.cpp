// SPDX-License-Identifier: Apache-2.0
// `ridgeline imbalance`: routing statistics -> the hot FFN rank's load (L5), and with --alpha the
// paper's throughput penalties alpha vs lambda (AFD paper Fig. 6, corrected Eqs. 14-15).
#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "checks.hpp"
#include "cli.hpp"
#include "io/files.hpp"
#include "report/report.hpp"
#include "report/svg_chart.hpp"
#include "ridgeline/imbalance.hpp"
#include "roof_flags.hpp"

namespace ridgeline::cli {

using namespace roof;  // flag helpers of the roofline commands

namespace {

/// A histogram file: numbers (tokens or weights per expert id) separated by commas, spaces or
/// newlines; '[' and ']' are ignored so a JSON array works too.
std::vector<double> read_histogram(const std::string& path, int num_experts) {
  // A regular file of at most 16 MiB: /dev/zero or a FIFO is refused before it is read.
  std::string text = io::read_bounded_file(path, io::kMaxInputFileBytes, "--histogram");
  for (char& c : text)
    if (c == ',' || c == '[' || c == ']' || c == '\n' || c == '\r' || c == '\t') c = ' ';
  std::istringstream in(text);
  std::vector<double> h;
  std::string tok;
  while (in >> tok) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(tok, &used);
    } catch (...) {
      used = 0;
    }
    if (used != tok.size() || !std::isfinite(v) || v < 0 || v > 1e15)
      throw ConfigError(
          fmt::format("--histogram \"{}\": entry {} is \"{}\", not a number in [0, 1e15]. Fix: write "
                      "tokens (or weights) per expert id, e.g. 120, 95, 300, ...",
                      path, h.size(), tok));
    h.push_back(v);
  }
  if (int(h.size()) != num_experts)
    throw ConfigError(
        fmt::format("--histogram \"{}\": {} entries but the model has {} routed experts. Fix: give one "
                    "number per expert, in expert-id order.",
                    path, h.size(), num_experts));
  double sum = 0;
  for (double v : h) sum += v;
  if (!(sum > 0)) throw ConfigError(fmt::format("--histogram \"{}\": all entries are zero. Fix: give counts.", path));
  return h;
}

/// alpha vs lambda: EP (Eq. 12) continuous in lambda; AFD (Eqs. 13-16 corrected) at N_A = lambda N_F.
void print_alpha_curves(const std::string& sigma_text, const std::string& nf_text, double lambda_max,
                        const std::string& svg, bool json, bool csv, const Context& ctx) {
  const auto sigmas = parse_number_list(sigma_text, "--sigma", 0.01, 1.0);
  const auto nfs = parse_int_list(nf_text, "--nf");
  // The size of the work, before doing it: 41 EP points per sigma plus, per N_F, every N_A from
  // N_F to lambda_max x N_F (--nf 100000 --lambda-max 100 would be 4e7 rows: it aborted).
  double rows_needed = 0;
  for (int nf : nfs) rows_needed += std::floor(lambda_max * nf + 1e-9) - nf + 1;
  rows_needed = double(sigmas.size()) * (41 + rows_needed);
  check_work("imbalance --alpha: rows (sigmas x (41 + sum over --nf of (lambda_max - 1) x N_F))", rows_needed,
             double(limits::kMaxTableRows),
             "use fewer or smaller --nf values, a smaller --lambda-max or fewer --sigma");
  report::Table t;
  t.header = {"strategy", "N_F", "N_A", "lambda", "sigma", "alpha"};
  t.units = {"", "", "", "", "", ""};
  nlohmann::json rows = nlohmann::json::array();
  report::SvgChart c;
  c.title = "Throughput penalty alpha vs lambda under EP imbalance (AFD paper Fig. 6, corrected Eqs. 14-15)";
  c.x_label = "lambda (EP: t_a / t_f;  AFD: N_A / N_F)";
  c.y_label = "alpha (per-node throughput kept)";
  // Styles: colour per sigma; EP solid without markers, each AFD N_F its own dash and marker.
  for (size_t si = 0; si < sigmas.size(); ++si) {
    const double s = sigmas[si];
    report::SvgSeries ep{fmt::format("EP sigma={:g}", s), {}, {}, report::palette_color(int(si)), 0, 0};
    for (int i = 0; i <= 40; ++i) {
      const double lam = 1.0 + (lambda_max - 1.0) * i / 40.0;
      ep.x.push_back(lam);
      ep.y.push_back(alpha_ep_imbalance_ep(lam, s));
      if (i % 10 == 0) {
        t.rows.push_back(
            {"ep", "-", "-", fmt::format("{:.2f}", lam), fmt::format("{:g}", s), fmt::format("{:.4f}", ep.y.back())});
        rows.push_back({{"strategy", "ep"}, {"lambda", lam}, {"sigma", s}, {"alpha", ep.y.back()}});
      }
    }
    c.series.push_back(ep);
    for (size_t j = 0; j < nfs.size(); ++j) {
      const int nf = nfs[j];
      report::SvgSeries afd{fmt::format("AFD N_F={} sigma={:g}", nf, s),
                            {},
                            {},
                            report::palette_color(int(si)),
                            1 + int(j % 3),
                            1 + int(j % 5)};
      for (int na = nf; na <= int(std::floor(lambda_max * nf + 1e-9)); ++na) {
        const double lam = double(na) / nf, a = alpha_ep_imbalance_afd(na, nf, s);
        afd.x.push_back(lam);
        afd.y.push_back(a);
        t.rows.push_back({"afd", std::to_string(nf), std::to_string(na), fmt::format("{:.2f}", lam),
                          fmt::format("{:g}", s), fmt::format("{:.4f}", a)});
        rows.push_back({{"strategy", "afd"}, {"nf", nf}, {"na", na}, {"lambda", lam}, {"sigma", s}, {"alpha", a}});
      }
      c.series.push_back(afd);
    }
  }
  if (!svg.empty()) report::write_text_file(svg, c.render(), "--svg");
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"alpha", rows}, {"meta", report::meta_json(ctx.argv)}}.dump(2));
  } else if (csv) {
    fmt::print("{}", report::csv_of_rows(rows, {"strategy", "nf", "na", "lambda", "sigma", "alpha"}));
  } else {
    fmt::print(
        "alpha = per-node throughput kept under EP imbalance sigma (paper §3.3.2): EP Eq. 12, AFD Eqs. 13-16 "
        "with the corrected floor/ceil prefactor (N_A + N_F) / N_A.\n\n{}",
        t.render());
  }
}

}  // namespace

void add_imbalance_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::string model, ranks = "8,32,64,256", tokens = "16,128,1024", histogram, sigma = "0.7,0.75,0.8,0.85",
                       nf = "2,4,6", svg;
    double zipf = -1, lambda = 4, lambda_max = 5;
    int redundant = 0;
    bool alpha = false, json = false, csv = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "imbalance",
      "Expert-load imbalance from routing statistics. For --ranks EP ranks each sending --tokens tokens\n"
      "per micro-batch: the mean and expected maximum token-expert pairs per rank, max/mean (what a scenario's\n"
      "workload.expert_load_imbalance means), the paper's balancedness sigma = mean/max, and the penalty\n"
      "alpha_EP = (lambda + 1)/(lambda + 1/sigma) (Eq. 12). Routing: uniform top-k (exact marginal + fixed-sum\n"
      "correction, within 0.1 % of Monte Carlo), --zipf S popularity, or a --histogram file; --redundant-experts\n"
      "places EPLB replicas greedily.\n"
      "With --alpha: the paper's Fig. 6 instead: alpha vs lambda for EP and AFD (corrected Eqs. 14-15).");
  cmd->add_option("--model,-m", o->model, "model id (experts and top-k come from it); not needed with --alpha");
  cmd->add_option("--ranks", o->ranks, "EP ranks (FFN GPUs / expert-TP): list or range")->capture_default_str();
  cmd->add_option("--tokens", o->tokens, "tokens each rank contributes per micro-batch: list or range")
      ->capture_default_str();
  cmd->add_option("--zipf", o->zipf, "Zipf exponent s of expert popularity (0 = uniform)")
      ->check(FiniteRange(0.0, 10.0));
  cmd->add_option("--histogram", o->histogram, "file with tokens (or weights) per expert id, in id order");
  cmd->add_option("--redundant-experts", o->redundant, "EPLB replicas placed greedily on the least-loaded rank")
      ->check(FiniteRange(0, 4096))
      ->capture_default_str();
  cmd->add_option("--lambda", o->lambda, "lambda_EP = t_a / t_f for the alpha column (paper: ~4 on H800)")
      ->check(FiniteRange(0.0, 1000.0))
      ->capture_default_str();
  cmd->add_flag("--alpha", o->alpha, "print alpha vs lambda (paper Fig. 6) instead of routing statistics");
  cmd->add_option("--sigma", o->sigma, "--alpha: balancedness values sigma")->capture_default_str();
  cmd->add_option("--nf", o->nf, "--alpha: AFD FFN node counts")->capture_default_str();
  cmd->add_option("--lambda-max", o->lambda_max, "--alpha: largest lambda")
      ->check(FiniteRange(1.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--svg", o->svg, "--alpha: also write the chart to this SVG file");
  cmd->add_flag("--json", o->json, "print JSON (with a meta block)");
  cmd->add_flag("--csv", o->csv, "print CSV");
  one_output_format(cmd);
  cmd->callback([o, &ctx] {
    if (o->alpha && !o->svg.empty()) ctx.check_output(o->svg, "--svg");
    if (o->alpha) return print_alpha_curves(o->sigma, o->nf, o->lambda_max, o->svg, o->json, o->csv, ctx);
    if (o->model.empty())
      throw FlagError("imbalance needs --model (or --alpha). Fix: e.g. ridgeline imbalance --model deepseek-v3.");
    if (o->zipf >= 0 && !o->histogram.empty())
      throw FlagError("--zipf and --histogram both given. Fix: describe routing with one of them.");
    const ModelSpec& m = ctx.db().model(o->model);
    RoutingModel rm;
    rm.redundant_experts = o->redundant;
    std::string routing = "uniform top-k";
    if (o->zipf >= 0) {
      rm.kind = RoutingModel::Kind::zipf;
      rm.zipf_s = o->zipf;
      routing = fmt::format("Zipf s = {:g} (popularity in expert-id order)", o->zipf);
    } else if (!o->histogram.empty()) {
      rm.kind = RoutingModel::Kind::histogram;
      rm.histogram = read_histogram(o->histogram, m.moe.num_experts);
      routing = "histogram " + o->histogram;
    }
    if (o->redundant > 0) routing += fmt::format(", EPLB +{} replicas", o->redundant);
    report::Table t;
    t.header = {"ranks", "tokens", "mean load", "E[max]", "max/mean", "sigma", "alpha_EP"};
    t.units = {"", "/rank", "pairs", "pairs", "", "", fmt::format("lambda={:g}", o->lambda)};
    nlohmann::json rows = nlohmann::json::array();
    const std::vector<int> rank_list = parse_int_list(o->ranks, "--ranks"),
                           token_list = parse_int_list(o->tokens, "--tokens");
    check_work("imbalance: rows (--ranks values x --tokens values)",
               double(rank_list.size()) * double(token_list.size()), double(limits::kMaxImbalanceRows),
               "list fewer --ranks or --tokens values");
    for (int ranks : rank_list) {
      if (ranks > m.moe.num_experts + o->redundant)
        throw FlagError(
            fmt::format("--ranks {}: more ranks than the {} expert slots of {}. Fix: use at most {} "
                        "ranks or add --redundant-experts.",
                        ranks, m.moe.num_experts + o->redundant, m.id, m.moe.num_experts + o->redundant));
      for (int tok : token_list) {
        const LoadStats s = routing_load(rm, m.moe.num_experts, m.moe.top_k, ranks, double(tok) * ranks);
        const double a = alpha_ep_imbalance_ep(o->lambda, s.sigma());
        t.rows.push_back({std::to_string(ranks), std::to_string(tok), fmt::format("{:.1f}", s.mean_load),
                          fmt::format("{:.1f}", s.expected_max), fmt::format("{:.4f}", s.load_factor),
                          fmt::format("{:.4f}", s.sigma()), fmt::format("{:.4f}", a)});
        rows.push_back({{"ranks", ranks},
                        {"tokens_per_rank", tok},
                        {"mean_load", s.mean_load},
                        {"expected_max_load", s.expected_max},
                        {"expert_load_imbalance", s.load_factor},
                        {"sigma", s.sigma()},
                        {"alpha_ep", a}});
      }
    }
    if (o->json) {
      nlohmann::json out{{"model", m.id},
                         {"routing", routing},
                         {"lambda_ep", o->lambda},
                         {"rows", rows},
                         {"meta", report::meta_json(ctx.argv)}};
      fmt::print("{}\n", out.dump(2));
    } else if (o->csv) {
      fmt::print("{}", report::csv_of_rows(rows, {"ranks", "tokens_per_rank", "mean_load", "expected_max_load",
                                                  "expert_load_imbalance", "sigma", "alpha_ep"}));
    } else {
      fmt::print("{}: {} experts, top-{}; routing: {}. Load = token-expert pairs per EP rank per micro-batch.\n\n{}",
                 m.name, m.moe.num_experts, m.moe.top_k, routing, t.render());
    }
  });
}

}  // namespace ridgeline::cli
