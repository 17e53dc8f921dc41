// SPDX-License-Identifier: Apache-2.0
#include "present/search.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "io/efficiency_reader.hpp"
#include "present/checks.hpp"
#include "report/report.hpp"
#include "ridgeline/error.hpp"
#include "ridgeline/imbalance.hpp"
#include "ridgeline/io/validation.hpp"

namespace ridgeline::present {

DType parse_search_dtype(const std::string& s, const char* flag) {
  return parse_format_flag(s, flag);  // case-insensitive; a usage error (exit 2)
}

double parse_search_quantity(const std::string& text, Dimension dim, const char* flag) {
  try {
    const double v = io::parse_quantity_text(text, dim);
    if (!(v > 0)) throw ConfigError("must be positive");
    return v;
  } catch (const Error& e) {
    throw FlagError(fmt::format("{} \"{}\": {}. Fix: give {}.", flag, text, e.what(), dimension_name(dim)));
  }
}

double parse_search_quantity_or_zero(const std::string& text, Dimension dim, const char* flag) {
  try {
    const double v = io::parse_quantity_text(text, dim);
    if (!(v >= 0) || !std::isfinite(v)) throw ConfigError("must be zero or positive");
    return v;
  } catch (const Error& e) {
    throw FlagError(
        fmt::format("{} \"{}\": {}. Fix: give {}, e.g. \"5 ms\".", flag, text, e.what(), dimension_name(dim)));
  }
}

Objective parse_objective(const std::string& text) {
  const std::string s = lower_ascii(text);
  if (s == "gpu") return Objective::tokens_per_gpu;
  if (s == "cost") return Objective::tokens_per_dollar;
  if (s == "watt" || s == "power") return Objective::tokens_per_watt;
  if (s == "hfu") return Objective::hfu;
  throw FlagError(
      fmt::format("--objective \"{}\": unknown objective. Fix: use gpu (tokens/s per GPU), cost "
                  "(tokens/s per $), watt (tokens/s per W; also: power) or hfu.",
                  text));
}

void check_search_flags(const SearchFlags& f, bool with_grid_axes) {
  if (with_grid_axes) {
    require_ok("--slo",
               quantity_range_problem(f.slo, Dimension::seconds, limits::kMinSloS, limits::kMaxSloS, "1 us to 1 h"));
    require_ok("--context",
               quantity_range_problem(f.context, Dimension::count, 1, limits::kMaxContextTokens, "1 to 1e9 tokens"));
  }
  const auto num = [](double v) { return fmt::format("{}", v); };
  require_ok("--mtp-acceptance", finite_range_problem(num(f.mtp_acceptance), 1.0, 16.0));
  require_ok("--mtp-draft-tokens", finite_range_problem(num(f.mtp_draft_tokens), 0, 15));
  if (f.context_cv != -1) require_ok("--context-cv", finite_range_problem(num(f.context_cv), 0.0, 10.0));
  const std::string strategy = lower_ascii(f.strategy);
  if (strategy != "ep" && strategy != "afd" && strategy != "both")
    throw FlagError(fmt::format("--strategy: {} not in {{ep,afd,both}}", f.strategy));
  require_ok("--gpus", finite_range_problem(num(f.gpus), 0, limits::kMaxGpus));
  require_ok("--max-gpus", finite_range_problem(num(f.max_gpus), 1, limits::kMaxGpus));
  for (int m : f.afd_micro_batches) require_ok("--afd-micro-batches", finite_range_problem(num(m), 1, 16));
  for (int t : f.attention_tp) require_ok("--attention-tp", finite_range_problem(num(t), 1, 64));
  require_ok("--threads", finite_range_problem(num(f.threads), 0, limits::kMaxThreads));
}

namespace {
std::vector<const Accelerator*> lookup_all(const std::vector<std::string>& ids, const io::Database& db) {
  std::vector<const Accelerator*> out;
  for (const auto& id : ids) {
    const Accelerator* hw = &db.hardware(id);  // throws LookupError with "did you mean"
    if (std::find(out.begin(), out.end(), hw) == out.end()) out.push_back(hw);
  }
  return out;
}

void check_supported(const std::vector<const Accelerator*>& hws, const Precision& p, const char* flag) {
  for (const Accelerator* hw : hws) {
    if (!hw->supports(p.weights))
      throw MissingDataError(
          fmt::format("{} {}: has no {} peak FLOP/s in its hwdb file, so --weights {} cannot run "
                      "there. Fix: pass --weights bf16 or drop {}.",
                      flag, hw->id, dtype_name(p.weights), dtype_name(p.weights), hw->id));
    if (!hw->supports(p.attention_math))
      throw MissingDataError(fmt::format("{} {}: no {} peak for attention math. Fix: drop {}.", flag, hw->id,
                                         dtype_name(p.attention_math), hw->id));
  }
}
}  // namespace

namespace {
TransportKind parse_transport(const std::string& name, const char* flag) {
  if (auto t = io::transport_of(name)) return *t;
  throw FlagError(
      fmt::format("{} \"{}\": unknown transport. Fix: use deepep_low_latency, deepep_normal, nccl "
                  "or cpu_rdma.",
                  flag, name));
}

}  // namespace

/// --routing: the imbalance input of the workload, and how to print it.
std::string apply_routing_flag(const std::string& text, const ModelSpec& m, Workload& w) {
  if (text == "uniform") return "uniform top-k, computed per plan";
  if (text == "balanced") {
    w.expert_load_imbalance = 1.0;
    return "balanced (max/mean 1, ideal)";
  }
  if (text.rfind("zipf:", 0) == 0) {
    char* end = nullptr;
    const double zs = std::strtod(text.c_str() + 5, &end);
    if (end == text.c_str() + 5 || *end != '\0' || !(zs >= 0 && zs <= 10))
      throw FlagError(
          fmt::format("--routing \"{}\": the Zipf exponent must be a number in [0, 10]. Fix: e.g. "
                      "--routing zipf:0.8.",
                      text));
    // The skew table costs O(E^2 log E): bounded work for hostile model files.
    if (m.moe.num_experts > 4096)
      throw FlagError(
          fmt::format("--routing {}: Zipf routing is tabulated for at most 4096 experts ({} has {}). "
                      "Fix: use uniform, balanced or a fixed max/mean.",
                      text, m.id, m.moe.num_experts));
    const auto pi = inclusion_probabilities(zipf_weights(m.moe.num_experts, zs), m.moe.top_k);
    w.routing_skew_by_ranks = std::make_shared<const std::vector<double>>(skew_by_rank_count(pi));
    return fmt::format("Zipf s = {} with greedy placement, computed per plan", zs);
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const bool is_number = end != text.c_str() && *end == '\0';
  if (!is_number || !(v >= 1.0 && v <= 1000.0))
    throw FlagError(
        fmt::format("--routing \"{}\": {}. Fix: use uniform, balanced, zipf:S (e.g. "
                    "zipf:0.8) or a fixed max/mean load in [1, 1000] such as 1.2.",
                    text,
                    is_number ? "a fixed max/mean load is at least 1 (the busiest rank carries at least the mean)"
                              : "unknown routing"));
  w.expert_load_imbalance = v;
  return fmt::format("fixed max/mean {}", v);
}

namespace {
std::string ms_text(double s) {
  return fmt::format("{:.3g} ms", s * 1e3);
}
}  // namespace

nlohmann::json calibration_values_json(const io::Calibration& cal) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : cal.values)
    out.push_back({{"key", v.key}, {"value", v.value}, {"replaced", v.replaced}, {"unit", v.unit}});
  return out;
}

namespace {
thread_local const std::atomic<bool>* g_cancel = nullptr;
}  // namespace

CancelScope::CancelScope(const std::atomic<bool>* flag) : previous_(g_cancel) {
  g_cancel = flag;
}
CancelScope::~CancelScope() {
  g_cancel = previous_;
}
const std::atomic<bool>* CancelScope::current() {
  return g_cancel;
}

SearchSetup resolve_search(const SearchFlags& f, const io::Database& db) {
  if (f.max_gpus_given && f.gpus > f.max_gpus)
    throw FlagError(
        fmt::format("--gpus {} is more than --max-gpus {}. Fix: drop --max-gpus (--gpus sets the plan's "
                    "size) or raise it to at least {}.",
                    f.gpus, f.max_gpus, f.gpus));
  SearchSetup s;
  s.space.cancel = CancelScope::current();
  s.model = &db.model(f.model);
  s.precision.weights = parse_search_dtype(f.weights, "--weights");
  s.precision.kv_cache = parse_search_dtype(f.kv_cache, "--kv-cache");
  s.precision.dispatch = parse_search_dtype(f.dispatch, "--dispatch");
  s.precision.combine = parse_search_dtype(f.combine, "--combine");
  s.workload.tpot_slo_s = parse_search_quantity(f.slo, Dimension::seconds, "--slo");
  s.workload.context_tokens = parse_search_quantity(f.context, Dimension::count, "--context");
  s.workload.mtp_acceptance = f.mtp_acceptance;
  // Accepting more than one token per step needs drafts: as many as the acceptance requires.
  s.workload.mtp_draft_tokens =
      f.mtp_draft_tokens > 0 || f.mtp_acceptance <= 1.0 ? f.mtp_draft_tokens : drafts_for_acceptance(f.mtp_acceptance);
  if (s.workload.mtp_acceptance > 1.0 + s.workload.mtp_draft_tokens)
    throw FlagError(
        fmt::format("--mtp-acceptance {}: exceeds 1 + --mtp-draft-tokens ({}). Fix: accept at most "
                    "1 + drafts tokens per step.",
                    f.mtp_acceptance, s.workload.mtp_draft_tokens));
  if ((!f.calibration_for.empty() || f.calibration_any_device) && f.calibration.empty())
    throw FlagError("--calibration-for / --calibration-any-device need --calibration FILE");
  if (!f.calibration.empty()) {
    s.calibration_file = io::resolve_calibration_file(f.calibration, db).string();
    const io::Calibration cal = io::load_calibration(s.calibration_file, s.efficiencies);
    // Every accelerator the search may use must be one the file applies to.
    std::vector<std::string> ids = f.hardware;
    ids.insert(ids.end(), f.attention_hardware.begin(), f.attention_hardware.end());
    ids.insert(ids.end(), f.ffn_hardware.begin(), f.ffn_hardware.end());
    for (const Accelerator* hw : lookup_all(ids, db))
      io::check_calibration_applies(cal, *hw, db, {f.calibration_for, f.calibration_any_device});
    s.efficiencies = cal.efficiencies;
    s.calibration_source = cal.source;
    s.calibration_values = calibration_values_json(cal);
    s.calibration_values_text = io::calibrated_values_text(cal);
  }
  const char* given = "given";
  if (!f.gap.empty()) s.workload.iteration_gap_s = parse_search_quantity_or_zero(f.gap, Dimension::seconds, "--gap");
  if (!f.mtp_step_gap.empty())
    s.workload.mtp_step_gap_s = parse_search_quantity_or_zero(f.mtp_step_gap, Dimension::seconds, "--mtp-step-gap");
  const std::string routing_text = apply_routing_flag(f.routing, *s.model, s.workload);
  const char* eff_origin = f.calibration.empty() ? "default" : "calibrated";
  s.inputs.push_back({"iteration gap", ms_text(s.workload.iteration_gap_s), f.gap.empty() ? "default" : given});
  if (s.workload.mtp_drafting())
    s.inputs.push_back(
        {"MTP step gap", ms_text(s.workload.mtp_step_gap_s), f.mtp_step_gap.empty() ? "default" : given});
  s.inputs.push_back({"routing", routing_text, f.routing == "uniform" ? "default" : given});
  if (f.context_cv >= 0) s.workload.context_cv = f.context_cv;
  s.inputs.push_back(
      {"KV-length spread (CV)", fmt::format("{:.3g}", s.workload.context_cv), f.context_cv >= 0 ? given : "default"});
  s.inputs.push_back({"context", fmt::format("{:.0f} tokens", s.workload.context_tokens),
                      f.context == SearchFlags{}.context ? "default" : given});
  s.inputs.push_back({"MTP acceptance", fmt::format("{:.3g} tokens/step", s.workload.mtp_acceptance),
                      f.mtp_acceptance == 1.0 ? "default" : given});
  if (!f.ep_transport.empty()) s.space.ep_transport = parse_transport(f.ep_transport, "--ep-transport");
  if (!f.afd_transport.empty()) s.space.afd_transport = parse_transport(f.afd_transport, "--afd-transport");
  for (auto [name, kind, flag] :
       {std::tuple{"EP transport", s.space.ep_transport.value_or(TransportKind::deepep_low_latency), &f.ep_transport},
        std::tuple{"AFD transport", s.space.afd_transport.value_or(TransportKind::cpu_rdma), &f.afd_transport}}) {
    const TransportCost& c = s.efficiencies.transport(kind);
    s.inputs.push_back({name,
                        fmt::format("{} (fixed {:.3g} us, {:.3g} us/token, contention {:.2f})", transport_name(kind),
                                    c.fixed_s * 1e6, c.per_token_s * 1e6, c.contention),
                        flag->empty() ? eff_origin : given});
  }
  s.space.ep_dispatch_styles.clear();
  for (const auto& st : f.dispatch_styles) {
    if (st == "low_latency")
      s.space.ep_dispatch_styles.push_back(DispatchStyle::low_latency);
    else if (st == "normal")
      s.space.ep_dispatch_styles.push_back(DispatchStyle::normal);
    else
      throw FlagError(fmt::format("--dispatch-styles \"{}\": unknown style. Fix: use low_latency and/or normal.", st));
  }
  if (s.space.ep_dispatch_styles.empty())
    throw FlagError("--dispatch-styles: empty list. Fix: name low_latency and/or normal.");
  if (f.hardware.empty()) throw ConfigError("--hardware: empty list. Fix: name at least one id, e.g. --hardware h800.");
  SearchSpace& sp = s.space;
  sp.ep_hardware = lookup_all(f.hardware, db);
  sp.attention_hardware = lookup_all(f.attention_hardware.empty() ? f.hardware : f.attention_hardware, db);
  sp.ffn_hardware = lookup_all(f.ffn_hardware.empty() ? f.hardware : f.ffn_hardware, db);
  const std::string strategy = lower_ascii(f.strategy);  // EP = ep
  sp.search_ep = strategy != "afd";
  sp.search_afd = strategy != "ep";
  check_supported(sp.search_ep ? sp.ep_hardware : std::vector<const Accelerator*>{}, s.precision, "--hardware");
  if (sp.search_afd) {
    check_supported(sp.attention_hardware, s.precision,
                    f.attention_hardware.empty() ? "--hardware" : "--attention-hardware");
    check_supported(sp.ffn_hardware, s.precision, f.ffn_hardware.empty() ? "--hardware" : "--ffn-hardware");
  }
  // The operator-roofline fractions of each accelerator the search may use, and their origin.
  std::vector<const Accelerator*> seen;
  for (const auto* list : {&sp.ep_hardware, &sp.attention_hardware, &sp.ffn_hardware})
    for (const Accelerator* hw : *list) {
      if (std::find(seen.begin(), seen.end(), hw) != seen.end()) continue;
      seen.push_back(hw);
      // One origin when all fractions share it, else each field's (roofline_text).
      const unsigned measured = roofline_fields_from_profile(s.efficiencies, *hw);
      const bool mixed = measured != 0 && s.efficiencies.given_roofline != 0;
      const std::string value =
          mixed      ? report::roofline_text(s.efficiencies, *hw)
          : measured ? report::roofline_values_text(s.efficiencies, *hw) + " from " + hw->roofline_profile->source
                     : report::roofline_values_text(s.efficiencies, *hw);
      s.inputs.push_back({"roofline efficiencies (" + hw->id + ")", value, measured ? "measured" : eff_origin});
    }
  sp.exact_gpus = f.gpus;
  sp.max_gpus = f.gpus > 0 ? f.gpus : f.max_gpus;
  sp.objective = parse_objective(f.objective);
  sp.afd_micro_batches = f.afd_micro_batches;
  sp.require_bubble_free = f.require_bubble_free;
  sp.threads = f.threads;
  sp.scan_all_attention_counts = f.scan_all;
  sp.prune_by_bound = !f.no_bound;
  sp.ep_attention_tp = f.attention_tp;
  sp.ep_pure_tp = std::any_of(f.attention_tp.begin(), f.attention_tp.end(), [](int t) { return t > 1; });
  if (sp.objective == Objective::tokens_per_dollar)
    for (const auto* list : {&sp.ep_hardware, &sp.attention_hardware, &sp.ffn_hardware})
      for (const Accelerator* hw : *list)
        if (hw->price_usd_per_gpu_hour <= 0)
          throw MissingDataError(
              fmt::format("--objective cost: {} has no price_usd_per_gpu_hour in its hwdb file. Fix: "
                          "add one or drop {}.",
                          hw->id, hw->id));
  return s;
}

io::Scenario scenario_of(const SearchSetup& s, const Candidate& c) {
  io::Scenario sc;
  sc.source_file = "(ridgeline plan)";
  sc.model = *s.model;
  sc.precision = s.precision;
  sc.workload = s.workload;
  sc.efficiencies = s.efficiencies;
  sc.deployment = c.deployment;
  sc.attention_hardware_id = c.deployment.attention.hw->id;
  sc.ffn_hardware_id = c.deployment.ffn.hw ? c.deployment.ffn.hw->id : sc.attention_hardware_id;
  return sc;
}

}  // namespace ridgeline::present

namespace ridgeline::present {

std::string plan_label(const Deployment& d) {
  if (d.strategy == Strategy::ep)
    return fmt::format("EP {} x {}{} m={} {}", d.attention.gpus, d.attention.hw->id, report::ep_shape_words(d),
                       d.micro_batches, d.dispatch_style == DispatchStyle::low_latency ? "LL" : "normal");
  return fmt::format("AFD attn {} x {} TP{} + FFN {} x {} ETP{} m={}", d.attention.gpus, d.attention.hw->id,
                     d.attention.tp, d.ffn.gpus, d.ffn.hw->id, d.ffn.tp, d.micro_batches);
}

nlohmann::json candidate_json(const SearchSetup& s, const Candidate& c) {
  const io::Scenario sc = scenario_of(s, c);
  nlohmann::json j = report::evaluation_json(sc, c.evaluation);
  j["plan"] = plan_label(c.deployment);
  j["score"] = c.score;
  j["batch_limited_by"] = batch_limit_name(c);
  j["deployment"] = nlohmann::json::parse(io::scenario_to_json(sc))["deployment"];
  return j;
}

}  // namespace ridgeline::present

namespace ridgeline::present {

PointResult run_point(const SearchFlags& f, const io::Database& db, const std::string& scale_out_bandwidth,
                      std::deque<Accelerator>& owned) {
  SearchSetup s = resolve_search(f, db);
  if (!scale_out_bandwidth.empty()) {
    (void)parse_search_quantity(scale_out_bandwidth, Dimension::bytes_per_s, "--scale-out-bandwidth");
    const std::string overrides = nlohmann::json{{"scale_out_bandwidth", scale_out_bandwidth}}.dump();
    auto replace = [&](std::vector<const Accelerator*>& list) {
      for (const Accelerator*& hw : list) {
        auto it = std::find_if(owned.begin(), owned.end(), [&](const Accelerator& a) {
          return a.id == hw->id && a.notes == "scale-out " + scale_out_bandwidth;
        });
        if (it == owned.end()) {
          owned.push_back(db.hardware_with_overrides(hw->id, overrides, "--scale-out-bandwidth"));
          owned.back().notes = "scale-out " + scale_out_bandwidth;
          it = owned.end() - 1;
        }
        hw = &*it;
      }
    };
    replace(s.space.ep_hardware);
    replace(s.space.attention_hardware);
    replace(s.space.ffn_hardware);
  }
  const SearchResult r = search_plans(*s.model, s.precision, s.workload, s.space, s.efficiencies);
  PointResult p;
  if (r.best_ep()) p.ep = *r.best_ep();
  if (r.best_afd()) p.afd = *r.best_afd();
  if (p.ep && p.afd && p.ep->score > 0) p.ratio = p.afd->score / p.ep->score;
  p.shapes = r.shapes;
  p.evaluations = r.evaluations;
  return p;
}

}  // namespace ridgeline::present

namespace ridgeline::present {

std::string point_winner(const PointResult& r) {
  return r.ep && r.afd ? (r.ratio > 1 ? "AFD" : "EP") : r.ep ? "EP" : r.afd ? "AFD" : "none";
}

}  // namespace ridgeline::present
