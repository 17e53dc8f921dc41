// SPDX-License-Identifier: Apache-2.0
#include "present/commands.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include "io/files.hpp"
#include "io/prefill_validation.hpp"
#include "present/checks.hpp"
#include "present/lists.hpp"
#include "report/report.hpp"
#include "ridgeline/commroof.hpp"
#include "ridgeline/imbalance.hpp"
#include "ridgeline/io/validation.hpp"
#include "ridgeline/validation.hpp"

namespace ridgeline::present {

namespace {
nlohmann::json or_null(bool has, const nlohmann::json& v) {
  return has ? v : nlohmann::json();
}
std::string num(double v) {
  return fmt::format("{}", v);
}
}  // namespace

// --- evaluate ---

EvaluateCalibration apply_evaluate_request(std::vector<io::Scenario>& scenarios, const EvaluateRequest& r,
                                           const io::Database& db) {
  for (auto& s : scenarios) {
    Workload& w = s.workload;
    if (!r.gap.empty()) w.iteration_gap_s = parse_search_quantity_or_zero(r.gap, Dimension::seconds, "--gap");
    if (!r.context.empty()) w.context_tokens = parse_search_quantity(r.context, Dimension::count, "--context");
    // The same range checks and wording as plan/sweep/compare (check_search_flags).
    if (r.context_cv != -1) {
      require_ok("--context-cv", finite_range_problem(num(r.context_cv), 0.0, 10.0));
      w.context_cv = r.context_cv;
    }
    if (r.mtp_acceptance != -1) {
      require_ok("--mtp-acceptance", finite_range_problem(num(r.mtp_acceptance), 1.0, 16.0));
      w.mtp_acceptance = r.mtp_acceptance;
      if (w.mtp_acceptance > 1.0 + w.mtp_draft_tokens) w.mtp_draft_tokens = drafts_for_acceptance(w.mtp_acceptance);
    }
    if (!r.routing.empty()) {
      w.expert_load_imbalance = 0;
      w.routing_skew_by_ranks.reset();
      (void)apply_routing_flag(r.routing, s.model, w);
    }
  }
  if ((!r.calibration_for.empty() || r.calibration_any_device) && r.calibration.empty())
    throw FlagError("--calibration-for / --calibration-any-device need --calibration FILE");
  EvaluateCalibration out;
  if (!r.calibration.empty()) {
    out.file = io::resolve_calibration_file(r.calibration, db).string();
    for (auto& s : scenarios) {
      const io::Calibration cal = io::load_calibration(out.file, s.efficiencies);
      for (const Accelerator* hw : {s.deployment.attention.hw, s.deployment.ffn.hw})
        if (hw) io::check_calibration_applies(cal, *hw, db, {r.calibration_for, r.calibration_any_device});
      s.efficiencies = cal.efficiencies;
      out.source = cal.source;
      out.per_scenario.push_back(cal);
    }
  }
  return out;
}

nlohmann::json evaluate_json(const io::Scenario& s, const EvaluateCalibration& cal, size_t i) {
  const Evaluation e = evaluate(s.model, s.precision, s.workload, s.deployment, s.efficiencies);
  auto j = report::evaluation_json(s, e);
  j["scenario"] = s.source_file;
  if (!cal.source.empty() && i < cal.per_scenario.size())
    j["calibration"] = {
        {"file", cal.file}, {"source", cal.source}, {"values", calibration_values_json(cal.per_scenario[i])}};
  return j;
}

nlohmann::json evaluate_results_json(const nlohmann::json& results) {
  // Always {"results": [...]}. With one scenario its fields also stay at the top level, as before
  // "results" was always there (scripts reading out["tpot_ms"]).
  nlohmann::json out = results.size() == 1 ? results[0] : nlohmann::json::object();
  out["results"] = results;
  return out;
}

// --- sweep / compare ---

nlohmann::json sweep_json(const SweepRequest& r, const io::Database& db) {
  check_search_flags(r.flags, false);
  for (const auto& s : r.slos)
    require_ok("--slo",
               quantity_range_problem(s, Dimension::seconds, limits::kMinSloS, limits::kMaxSloS, "1 us to 1 h"));
  for (const auto& c : r.contexts)
    require_ok("--context",
               quantity_range_problem(c, Dimension::count, 1, limits::kMaxContextTokens, "1 to 1e9 tokens"));
  for (const auto& b : r.bandwidths)
    require_ok("--scale-out-bandwidth",
               quantity_range_problem(b, Dimension::bytes_per_s, 1e6, 1e15, "1 MB/s to 1 PB/s"));
  const std::vector<std::string> bws = r.bandwidths.empty() ? std::vector<std::string>{""} : r.bandwidths;
  check_work("sweep: grid points (models x hardware x SLOs x contexts x bandwidths)",
             double(r.models.size()) * double(r.hardware.size()) * double(r.slos.size()) * double(r.contexts.size()) *
                 double(bws.size()),
             double(limits::kMaxGridPoints), "split the sweep or list fewer values per axis");
  struct Point {
    std::string model, hw, slo, context, bw;
  };
  std::vector<Point> points;
  for (const auto& m : r.models)
    for (const auto& h : r.hardware)
      for (const auto& s : r.slos)
        for (const auto& c : r.contexts)
          for (const auto& b : bws) points.push_back({m, h, s, c, b});
  auto flags_of = [&](const Point& p) {
    SearchFlags f = r.flags;
    f.model = p.model;
    f.hardware = {p.hw};
    f.slo = p.slo;
    f.context = p.context;
    return f;
  };
  // Every point's flags are checked before the first search: bad input gives no partial result.
  for (const auto& p : points) {
    (void)resolve_search(flags_of(p), db);
    if (!p.bw.empty()) (void)parse_search_quantity(p.bw, Dimension::bytes_per_s, "--scale-out-bandwidth");
  }
  std::deque<Accelerator> owned;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& p : points) {
    const PointResult pr = run_point(flags_of(p), db, p.bw, owned);
    rows.push_back({{"model", p.model},
                    {"hardware", p.hw},
                    {"tpot_slo_ms", parse_search_quantity(p.slo, Dimension::seconds, "--slo") * 1e3},
                    {"context_tokens", parse_search_quantity(p.context, Dimension::count, "--context")},
                    {"scale_out_bandwidth", or_null(!p.bw.empty(), p.bw)},
                    {"ep_plan", or_null(bool(pr.ep), pr.ep ? plan_label(pr.ep->deployment) : "")},
                    {"ep_score", or_null(bool(pr.ep), pr.ep ? pr.ep->score : 0)},
                    {"afd_plan", or_null(bool(pr.afd), pr.afd ? plan_label(pr.afd->deployment) : "")},
                    {"afd_score", or_null(bool(pr.afd), pr.afd ? pr.afd->score : 0)},
                    {"ratio_afd_over_ep", or_null(pr.ratio > 0, pr.ratio)},
                    {"winner", point_winner(pr)}});
  }
  return {{"objective", objective_name(parse_objective(r.flags.objective))}, {"rows", rows}};
}

nlohmann::json compare_json(const CompareRequest& r, const io::Database& db) {
  check_search_flags(r.flags, false);
  for (const auto& s : r.slos)
    require_ok("--slos",
               quantity_range_problem(s, Dimension::seconds, limits::kMinSloS, limits::kMaxSloS, "1 us to 1 h"));
  for (const auto& c : r.contexts)
    require_ok("--contexts",
               quantity_range_problem(c, Dimension::count, 1, limits::kMaxContextTokens, "1 to 1e9 tokens"));
  check_work("compare: cells (--contexts x --slos)", double(r.contexts.size()) * double(r.slos.size()),
             double(limits::kMaxGridPoints), "list fewer --contexts or --slos");
  for (const auto& c : r.contexts)
    for (const auto& s : r.slos) {
      SearchFlags f = r.flags;
      f.slo = s;
      f.context = c;
      (void)resolve_search(f, db);  // bad input fails before any search
    }
  std::deque<Accelerator> owned;
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& c : r.contexts)
    for (const auto& s : r.slos) {
      SearchFlags f = r.flags;
      f.slo = s;
      f.context = c;
      const PointResult pr = run_point(f, db, "", owned);
      cells.push_back({{"context", c},
                       {"tpot_slo", s},
                       {"ratio_afd_over_ep", or_null(pr.ratio > 0, pr.ratio)},
                       {"winner", point_winner(pr)},
                       {"ep_plan", or_null(bool(pr.ep), pr.ep ? plan_label(pr.ep->deployment) : "")},
                       {"afd_plan", or_null(bool(pr.afd), pr.afd ? plan_label(pr.afd->deployment) : "")}});
    }
  return {{"model", r.flags.model}, {"hardware", r.flags.hardware}, {"cells", cells}};
}

// --- roofline ---

nlohmann::json roofline_json(const RooflineRequest& r, const io::Database& db) {
  require_ok("--batch", finite_range_problem(num(r.batch), 1e-3, limits::kMaxBatch));
  require_ok("--context", finite_range_problem(num(r.context), 1, limits::kMaxContextTokens));
  require_ok("--ep", finite_range_problem(num(r.ep), 1, limits::kMaxGpus));
  const ModelSpec& m = db.model(r.model);
  // One GPU of an EP group holds at least one expert: a larger group leaves GPUs without any,
  // which this per-GPU view cannot show (the plan search idles them).
  if (r.ep > m.moe.num_experts)
    throw FlagError(fmt::format("--ep: {} GPUs for {}'s {} routed experts leaves {} GPUs without an expert. "
                                "Fix: use --ep {} or fewer.",
                                r.ep, m.id, m.moe.num_experts, r.ep - m.moe.num_experts, m.moe.num_experts));
  const Accelerator& hw = db.hardware(r.hardware);
  Precision p;
  p.weights = parse_format_flag(r.weights, "--weights");
  p.kv_cache = parse_format_flag(r.kv, "--kv");
  Efficiencies eff;
  OpList ops = attention_stage_ops(m, attention_precision(p, hw), r.batch, 1.0, r.context, 1, true, true);
  const double local = std::max(1.0, std::ceil(double(m.moe.num_experts) / r.ep));
  const double routed = r.batch * m.moe.top_k;
  for (const auto& op : ffn_stage_ops(m, p, routed, local, 1, r.batch * r.ep, 0)) ops.add(op);
  // The LM head runs once per step, after the last layer: shown, but not part of the layer time.
  const OpCost head = lm_head_op(m, r.batch, 1);
  nlohmann::json rows = nlohmann::json::array();
  double total = 0, head_s = 0;
  auto add_row = [&](const OpCost& op, bool per_layer) {
    const OpTime ti = op_time(op, hw, eff);
    const double intensity = op.hbm_bytes > 0 ? op.flops / op.hbm_bytes : 0;
    const double peak_ridge = hw.peak_flops_per_s(op.math) / hw.hbm_bytes_per_s;
    const double ridge = ridge_flop_per_byte(op, hw, eff);  // the ridge op_time classifies with
    (per_layer ? total : head_s) += ti.time_s;
    rows.push_back({{"operator", op.name},
                    {"flops", op.flops},
                    {"hbm_bytes", op.hbm_bytes},
                    {"intensity_flop_per_byte", intensity},
                    {"time_s", ti.time_s},
                    {"bound", bound_name(ti.bound)},
                    {"ridge_flop_per_byte", ridge},
                    {"peak_ridge_flop_per_byte", peak_ridge},
                    {"per_layer", per_layer},
                    {"dtype", dtype_name(op.math)}});
  };
  for (const auto& op : ops) add_row(op, true);
  add_row(head, false);
  return {{"model", m.id},
          {"hardware", hw.id},
          {"batch_per_gpu", r.batch},
          {"context_tokens", r.context},
          {"ep", r.ep},
          {"local_experts", local},
          {"routed_pairs", routed},
          {"operators", rows},
          {"layer_time_s", total},
          {"lm_head_time_s", head_s},
          {"ridge_is", "peak FLOP/s x compute efficiency / (HBM B/s x memory efficiency), per operator"}};
}

// --- commroof / deadzone ---

std::unique_ptr<io::Database> hwdb_override(const io::Database& base, const std::string& hwdb_dir) {
  if (hwdb_dir.empty()) return nullptr;
  if (!std::filesystem::is_directory(hwdb_dir))
    throw FlagError(
        fmt::format("--hwdb \"{}\": not a folder. Fix: give a folder of hardware JSON files, e.g. "
                    "examples/paper-afd-roofline/hardware (the AFD paper's Table 5 inputs).",
                    hwdb_dir));
  const auto ids = base.model_ids();
  if (ids.empty()) throw UsageError("no models loaded. Fix: set --data-dir to a folder holding models/.");
  return std::make_unique<io::Database>(io::Database::load(hwdb_dir, base.model_file(ids.front()).parent_path()));
}

nlohmann::json commroof_point_json(const CommRoofPoint& p) {
  return {{"nf", p.nf},
          {"ranks", p.ranks},
          {"regime", comm_regime_name(p.regime)},
          {"local_experts", p.local_experts},
          {"local_experts_continuous", p.local_experts_continuous},
          {"effective_bytes_per_s", p.effective_bytes_per_s},
          {"network_intensity_flop_per_byte", p.network_intensity},
          {"tokens_per_rank", p.tokens_per_rank},
          {"hbm_intensity_flop_per_byte", p.hbm_intensity},
          {"hbm_intensity_continuous_flop_per_byte", p.hbm_intensity_continuous},
          {"hfu_ceiling", p.hfu_ceiling},
          {"compute_capped", p.compute_capped},
          {"ofu", p.ofu},
          {"occupancy", p.occupancy},
          {"flops_per_slot", p.flops},
          {"operator_s", p.operator_s},
          {"weight_bytes", p.weight_bytes},
          {"weight_read_s", p.weight_read_s},
          {"weights_fit", p.weights_fit},
          {"weight_read_fits_budget", p.weight_read_fits_budget},
          {"feasible", p.feasible()}};
}

namespace {

struct Resolved {
  Precision precision;
  CommRoofOptions options;
  double slo_s = 0, gap_s = 0;
};

void check_roof_request(const RoofRequest& f) {
  require_ok("--mtp-acceptance", finite_range_problem(num(f.mtp_acceptance), 1.0, 16.0));
  require_ok("--expert-tp", finite_range_problem(num(f.expert_tp), 1, 64));
  if (f.shared_on != "attention" && f.shared_on != "ffn")
    throw FlagError(fmt::format("--shared-on: {} not in {{attention,ffn}}", f.shared_on));
  require_ok("--redundant-experts", finite_range_problem(num(f.redundant), 0, 4096));
  require_ok("--usable-hbm", finite_range_problem(num(f.usable_hbm), 0.05, 1.0));
}

Resolved resolve(const RoofRequest& f, const ModelSpec& m) {
  Resolved r;
  r.precision.weights = parse_dtype_name(f.weights, "--weights");
  r.precision.dispatch = parse_dtype_name(f.dispatch, "--dispatch");
  r.precision.combine = parse_dtype_name(f.combine, "--combine");
  r.slo_s = parse_flag_quantity(f.slo, Dimension::seconds, "--slo");
  try {
    r.gap_s = parse_quantity(f.gap, Dimension::seconds);
  } catch (const Error& e) {
    throw FlagError(fmt::format("--gap \"{}\": {}. Fix: write a time such as \"15 ms\" (or 0).", f.gap, e.what()));
  }
  if (r.gap_s < 0) throw FlagError(fmt::format("--gap \"{}\": must not be negative. Fix: e.g. \"15 ms\".", f.gap));
  r.options.budget_s = budget_slot_s(r.slo_s, f.mtp_acceptance, r.gap_s, m.num_layers);
  if (!(r.options.budget_s > 0))
    throw FlagError(
        fmt::format("--slo {} with --mtp-acceptance {} and --gap {} leaves no budget: SLO x L_accept must "
                    "exceed t_g. Fix: raise --slo or lower --gap.",
                    f.slo, f.mtp_acceptance, f.gap));
  r.options.expert_tp = f.expert_tp;
  r.options.shared_experts_on_ffn = f.shared_on == "ffn";
  r.options.gpu_granular = f.gpu_granular;
  r.options.latency_terms = f.latency;
  r.options.redundant_experts = f.redundant;
  r.options.usable_hbm_fraction = f.usable_hbm;
  return r;
}

}  // namespace

nlohmann::json commroof_json(const CommRoofRequest& r, const io::Database& base) {
  check_roof_request(r.roof);
  const auto owned = hwdb_override(base, r.roof.hwdb);
  const io::Database& db = owned ? *owned : base;
  const Accelerator& hw = db.hardware(r.hardware);
  const std::vector<int> nfs = parse_int_list(r.nf, "--nf");
  const auto ids = split_ids(r.models);
  if (ids.empty()) throw FlagError("--model is empty. Fix: give a model id such as deepseek-v3.");
  nlohmann::json models = nlohmann::json::array();
  for (const auto& id : ids) {
    const ModelSpec& m = db.model(id);
    const Resolved rs = resolve(r.roof, m);
    const CommRoofShape shape = comm_roof_shape(m, hw, rs.precision, rs.options);
    const RegimeBoundaries b = regime_boundaries(m, hw, rs.precision, rs.options);
    nlohmann::json jp = nlohmann::json::array();
    for (int nf : nfs) jp.push_back(commroof_point_json(comm_roof_point(m, hw, rs.precision, rs.options, nf)));
    models.push_back({{"model", m.id},
                      {"budget_slot_s", rs.options.budget_s},
                      {"scale_up_bytes_per_s", shape.scale_up_bytes_per_s},
                      {"scale_out_bytes_per_s", shape.scale_out_bytes_per_s},
                      {"ratio_up_over_out", shape.ratio},
                      {"wire_bytes_per_token", shape.wire_bytes_per_token},
                      {"network_intensity_flop_per_byte", shape.network_intensity},
                      {"boundaries_nf",
                       {{"stable_from", b.stable_from},
                        {"scale_out_from", b.scale_out_from},
                        {"max_intensity_from", b.max_intensity_from}}},
                      {"ridge_expert_size_scale_up", ridge_expert_size(m, shape, shape.scale_up_bytes_per_s)},
                      {"ridge_expert_size_scale_out", ridge_expert_size(m, shape, shape.scale_out_bytes_per_s)},
                      {"scale_out_bytes_per_s_for_60pct_hfu", bandwidth_for_hfu(shape, 0.60)},
                      {"points", jp}});
  }
  return {{"hardware", hw.id}, {"hardware_source", owned ? r.roof.hwdb : "hwdb"}, {"models", models}};
}

nlohmann::json deadzone_json(const DeadZoneRequest& r, const io::Database& base) {
  require_ok("--target-hfu", finite_range_problem(num(r.target_hfu), 0.01, 1.0));
  check_roof_request(r.roof);
  const auto owned = hwdb_override(base, r.roof.hwdb);
  const io::Database& db = owned ? *owned : base;
  const ModelSpec& m = db.model(r.model);
  const Resolved rs = resolve(r.roof, m);
  const std::vector<int> nfs = parse_int_list(r.nf, "--nf");
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& id : db.hardware_ids()) {
    const Accelerator& hw = db.hardware(id);
    if (!hw.supports(rs.precision.weights)) {
      rows.push_back({{"hardware", id}, {"supported", false}});
      continue;
    }
    const CommRoofShape s = comm_roof_shape(m, hw, rs.precision, rs.options);
    const double floor = std::min(1.0, s.network_intensity * s.scale_out_bytes_per_s / s.peak_flops_per_s);
    double peak = 0;
    int peak_nf = 0;
    for (int nf : nfs) {
      const auto p = comm_roof_point(m, hw, rs.precision, rs.options, nf);
      if (p.feasible() && p.hfu_ceiling > peak + 1e-12) {
        peak = p.hfu_ceiling;
        peak_nf = nf;
      }
    }
    const double need = bandwidth_for_hfu(s, r.target_hfu);
    rows.push_back({{"hardware", id},
                    {"supported", true},
                    {"peak_flops_per_s", s.peak_flops_per_s},
                    {"scale_out_bytes_per_s", s.scale_out_bytes_per_s},
                    {"scale_up_bytes_per_s", s.scale_up_bytes_per_s},
                    {"superpod", hw.is_superpod()},
                    {"dead_zone_hfu_floor", floor},
                    {"peak_hfu_ceiling", peak_nf ? nlohmann::json(peak) : nlohmann::json(nullptr)},
                    {"peak_at_nf", peak_nf ? nlohmann::json(peak_nf) : nlohmann::json(nullptr)},
                    {"scale_out_bytes_per_s_to_match_ep", need},
                    {"needed_over_available", need / s.scale_out_bytes_per_s}});
  }
  return {{"model", m.id},
          {"hardware_source", owned ? r.roof.hwdb : "hwdb"},
          {"target_hfu", r.target_hfu},
          {"budget_slot_s", rs.options.budget_s},
          {"rows", rows}};
}

// --- imbalance ---

namespace {
/// A histogram file: numbers (tokens or weights per expert id) separated by commas, spaces or
/// newlines; '[' and ']' are ignored so a JSON array works too.
std::vector<double> read_histogram(const std::string& path, int num_experts) {
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
}  // namespace

nlohmann::json imbalance_json(const ImbalanceRequest& r, const io::Database& db) {
  if (r.zipf >= 0) require_ok("--zipf", finite_range_problem(num(r.zipf), 0.0, 10.0));
  require_ok("--redundant-experts", finite_range_problem(num(r.redundant), 0, 4096));
  require_ok("--lambda", finite_range_problem(num(r.lambda), 0.0, 1000.0));
  if (r.model.empty())
    throw FlagError("imbalance needs --model (or --alpha). Fix: e.g. ridgeline imbalance --model deepseek-v3.");
  if (r.zipf >= 0 && !r.histogram.empty())
    throw FlagError("--zipf and --histogram both given. Fix: describe routing with one of them.");
  const ModelSpec& m = db.model(r.model);
  RoutingModel rm;
  rm.redundant_experts = r.redundant;
  std::string routing = "uniform top-k";
  if (r.zipf >= 0) {
    rm.kind = RoutingModel::Kind::zipf;
    rm.zipf_s = r.zipf;
    routing = fmt::format("Zipf s = {:g} (popularity in expert-id order)", r.zipf);
  } else if (!r.histogram.empty()) {
    rm.kind = RoutingModel::Kind::histogram;
    rm.histogram = read_histogram(r.histogram, m.moe.num_experts);
    routing = "histogram " + r.histogram;
  }
  if (r.redundant > 0) routing += fmt::format(", EPLB +{} replicas", r.redundant);
  const std::vector<int> rank_list = parse_int_list(r.ranks, "--ranks"),
                         token_list = parse_int_list(r.tokens, "--tokens");
  check_work("imbalance: rows (--ranks values x --tokens values)", double(rank_list.size()) * double(token_list.size()),
             double(limits::kMaxImbalanceRows), "list fewer --ranks or --tokens values");
  nlohmann::json rows = nlohmann::json::array();
  for (int ranks : rank_list) {
    if (ranks > m.moe.num_experts + r.redundant)
      throw FlagError(
          fmt::format("--ranks {}: more ranks than the {} expert slots of {}. Fix: use at most {} "
                      "ranks or add --redundant-experts.",
                      ranks, m.moe.num_experts + r.redundant, m.id, m.moe.num_experts + r.redundant));
    for (int tok : token_list) {
      const LoadStats s = routing_load(rm, m.moe.num_experts, m.moe.top_k, ranks, double(tok) * ranks);
      rows.push_back({{"ranks", ranks},
                      {"tokens_per_rank", tok},
                      {"mean_load", s.mean_load},
                      {"expected_max_load", s.expected_max},
                      {"expert_load_imbalance", s.load_factor},
                      {"sigma", s.sigma()},
                      {"alpha_ep", alpha_ep_imbalance_ep(r.lambda, s.sigma())}});
    }
  }
  return {{"model", m.id}, {"routing", routing}, {"lambda_ep", r.lambda}, {"rows", rows}};
}

nlohmann::json alpha_json(const AlphaRequest& r) {
  require_ok("--lambda-max", finite_range_problem(num(r.lambda_max), 1.0, 100.0));
  const auto sigmas = parse_number_list(r.sigma, "--sigma", 0.01, 1.0);
  const auto nfs = parse_int_list(r.nf, "--nf");
  double rows_needed = 0;
  for (int nf : nfs) rows_needed += std::floor(r.lambda_max * nf + 1e-9) - nf + 1;
  rows_needed = double(sigmas.size()) * (41 + rows_needed);
  check_work("imbalance --alpha: rows (sigmas x (41 + sum over --nf of (lambda_max - 1) x N_F))", rows_needed,
             double(limits::kMaxTableRows),
             "use fewer or smaller --nf values, a smaller --lambda-max or fewer --sigma");
  nlohmann::json rows = nlohmann::json::array();
  for (double s : sigmas) {
    for (int i = 0; i <= 40; i += 10) {
      const double lam = 1.0 + (r.lambda_max - 1.0) * i / 40.0;
      rows.push_back({{"strategy", "ep"}, {"lambda", lam}, {"sigma", s}, {"alpha", alpha_ep_imbalance_ep(lam, s)}});
    }
    for (int nf : nfs)
      for (int na = nf; na <= int(std::floor(r.lambda_max * nf + 1e-9)); ++na) {
        const double lam = double(na) / nf;
        rows.push_back({{"strategy", "afd"},
                        {"nf", nf},
                        {"na", na},
                        {"lambda", lam},
                        {"sigma", s},
                        {"alpha", alpha_ep_imbalance_afd(na, nf, s)}});
      }
  }
  return {{"alpha", rows}};
}

// --- validate ---

namespace {
/// The roof a point sits under, whatever its SLO or memory fit: the measurement happened, so
/// the question is only which roof the model puts it under.
Binding physical_binding(const io::Scenario& s, const Efficiencies& eff) {
  Workload w = s.workload;
  w.tpot_slo_s = std::numeric_limits<double>::infinity();
  Accelerator a = *s.deployment.attention.hw, f = *s.deployment.ffn.hw;
  a.hbm_bytes = f.hbm_bytes = std::numeric_limits<double>::max();
  Deployment d = s.deployment;
  d.attention.hw = &a;
  d.ffn.hw = s.deployment.ffn.hw == s.deployment.attention.hw ? &a : &f;
  return evaluate(s.model, s.precision, w, d, eff).binding;
}
}  // namespace

nlohmann::json aggregated_step_json(const std::optional<ColocatedStep>& a) {
  if (!a) return nullptr;
  return {{"prefill_tokens_per_step_per_gpu", a->prefill_tokens_per_gpu},
          {"decode_step_ms", 1e3 * a->decode_s},
          {"prefill_chunk_ms", 1e3 * a->chunk_s},
          {"tpot_ms", 1e3 * a->tpot_s}};
}

namespace {

/// The request's calibration (none: defaults), checked against every hardware it will price.
std::optional<io::Calibration> validation_calibration(const ValidateRequest& r, const io::Database& db,
                                                      const std::vector<const Accelerator*>& hardware) {
  if ((!r.calibration_for.empty() || r.calibration_any_device) && r.calibration.empty())
    throw FlagError("--calibration-for / --calibration-any-device need --calibration FILE");
  if (r.calibration.empty()) return std::nullopt;
  io::Calibration cal = io::load_calibration(io::resolve_calibration_file(r.calibration, db), Efficiencies{});
  for (const Accelerator* hw : hardware)
    if (hw) io::check_calibration_applies(cal, *hw, db, {r.calibration_for, r.calibration_any_device});
  return cal;
}

nlohmann::json calibration_json(const std::optional<io::Calibration>& cal) {
  return cal ? nlohmann::json{{"file", cal->file},
                              {"source", cal->source},
                              {"fields", cal->fields_set},
                              {"values", calibration_values_json(*cal)}}
             : nlohmann::json(nullptr);
}

nlohmann::json summary_json(const ErrorSummary& sum, const std::string& worst) {
  return {{"points", sum.points},
          {"median_abs_error", sum.median_abs_error},
          {"max_abs_error", sum.max_abs_error},
          {"max_abs_error_point", worst},
          {"mean_signed_error", sum.mean_signed_error},
          {"share_optimistic", sum.share_optimistic}};
}

/// The result of a validation run: its points, the error summary (worst point named) and the
/// calibration used.
nlohmann::json validation_result_json(const char* phase, nlohmann::json points, const std::vector<double>& errors,
                                      const std::vector<std::string>& names,
                                      const std::optional<io::Calibration>& cal) {
  const ErrorSummary sum = summarize_errors(errors);
  std::string worst;
  for (size_t i = 0; i < errors.size(); ++i)
    if (std::abs(errors[i]) == sum.max_abs_error) worst = names[i];
  nlohmann::json out;
  out["phase"] = phase;
  out["points"] = std::move(points);
  out["summary"] = summary_json(sum, worst);
  out["calibration"] = calibration_json(cal);
  return out;
}

/// `validate` on a folder of prefill points ("phase": "prefill").
nlohmann::json prefill_validate_json(const ValidateRequest& r, const io::Database& db) {
  const auto points = io::load_prefill_points(r.dir, db);
  std::vector<const Accelerator*> hardware;
  for (const auto& p : points) hardware.push_back(p->deployment.hw);
  const std::optional<io::Calibration> cal = validation_calibration(r, db, hardware);
  const Efficiencies eff = cal ? cal->efficiencies : Efficiencies{};
  nlohmann::json pts = nlohmann::json::array();
  std::vector<double> errors;
  std::vector<std::string> names;
  for (const auto& p : points) {
    const PrefillEvaluation e =
        evaluate_prefill(*p->model, p->precision, p->workload, p->deployment, p->input_tokens, eff);
    if (e.reason == Infeasible::bad_shape)
      throw ConfigError(p->file + ": /deployment: " + e.shape_problem + ". Fix: correct the deployment of this point");
    const double err = signed_error(e.tokens_per_s_per_gpu, p->measured_tokens_per_s_per_gpu);
    errors.push_back(err);
    names.push_back(p->name);
    const auto& d = p->deployment;
    pts.push_back({{"point", p->name},
                   {"phase", "prefill"},
                   {"file", p->file},
                   {"record_id", p->record_id},
                   {"source_url", p->source_url},
                   {"verification", p->verification},
                   {"hardware", p->hardware_id},
                   {"parallel", prefill_parallel_name(d.parallel)},
                   {"gpus", d.gpus},
                   {"micro_batches", d.parallel == PrefillParallel::ep ? d.micro_batches : 1},
                   {"input_tokens", p->input_tokens},
                   {"chunk_tokens", d.chunk_tokens},
                   {"measured_input_tokens_per_s_per_gpu", p->measured_tokens_per_s_per_gpu},
                   {"predicted_input_tokens_per_s_per_gpu", e.tokens_per_s_per_gpu},
                   {"signed_error", err},
                   {"binding", binding_name(e.binding)},
                   {"latency_ms", e.latency_s * 1e3},
                   {"hfu", e.hfu}});
  }
  return validation_result_json("prefill", std::move(pts), errors, names, cal);
}

}  // namespace

nlohmann::json validate_json(const ValidateRequest& r, const io::Database& db) {
  if (!std::filesystem::is_directory(r.dir)) throw FlagError(fmt::format("dir: Directory does not exist: {}", r.dir));
  if (io::is_prefill_validation_dir(r.dir)) return prefill_validate_json(r, db);
  const auto points = io::load_validation_points(r.dir, db);
  std::vector<const Accelerator*> hardware;
  for (const auto& p : points)
    for (const Accelerator* hw : {p.scenario.deployment.attention.hw, p.scenario.deployment.ffn.hw})
      hardware.push_back(hw);
  const std::optional<io::Calibration> cal = validation_calibration(r, db, hardware);
  const Efficiencies eff = cal ? cal->efficiencies : Efficiencies{};
  struct Row {
    const io::ValidationPoint* point;
    io::PointPrediction pred;
    Binding physical;
    double error = 0;
  };
  std::vector<Row> rows;
  std::vector<double> errors;
  for (const auto& p : points) {
    Row row{&p, io::predict_point(p, eff), physical_binding(p.scenario, eff), 0};
    if (row.pred.eval.reason == Infeasible::bad_shape)
      throw ConfigError(p.scenario.source_file + ": /deployment: " + row.pred.eval.shape_problem +
                        ". Fix: correct the deployment of this validation point");
    row.error = signed_error(row.pred.tokens_per_s_per_gpu, p.measured.tokens_per_s_per_gpu);
    errors.push_back(row.error);
    rows.push_back(std::move(row));
  }
  nlohmann::json pts = nlohmann::json::array();
  std::vector<std::string> names;
  for (const auto& row : rows) {
    names.push_back(row.point->name);
    const auto& m = row.point->measured;
    pts.push_back({{"point", row.point->name},
                   {"file", row.point->scenario.source_file},
                   {"record_id", m.record_id},
                   {"source_url", m.source_url},
                   {"verification", m.verification},
                   {"measured_tokens_per_s_per_gpu", m.tokens_per_s_per_gpu},
                   {"predicted_tokens_per_s_per_gpu", row.pred.tokens_per_s_per_gpu},
                   {"signed_error", row.error},
                   {"binding", binding_name(row.physical)},
                   {"serving", row.pred.aggregated ? "aggregated" : "decode"},
                   {"aggregated", aggregated_step_json(row.pred.aggregated)},
                   {"evaluation", report::evaluation_json(row.point->scenario, row.pred.eval)}});
  }
  return validation_result_json("decode", std::move(pts), errors, names, cal);
}

}  // namespace ridgeline::present
