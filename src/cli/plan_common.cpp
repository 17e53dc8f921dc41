// SPDX-License-Identifier: Apache-2.0
#include "plan_common.hpp"

#include <fmt/format.h>

#include "checks.hpp"
#include "report/report.hpp"
#include "ridgeline/error.hpp"

namespace ridgeline::cli {

DType parse_search_dtype(const std::string& s, const char* flag) {
  for (DType d : {DType::fp4, DType::int4, DType::fp8, DType::int8, DType::bf16, DType::fp16, DType::fp32})
    if (s == dtype_name(d)) return d;
  throw ConfigError(
      fmt::format("{} \"{}\": unknown number format. Fix: use fp4, fp8, int8, bf16, fp16 or fp32.", flag, s));
}

double parse_search_quantity(const std::string& text, Dimension dim, const char* flag) {
  try {
    const double v = io::parse_quantity_text(text, dim);
    if (!(v > 0)) throw ConfigError("must be positive");
    return v;
  } catch (const Error& e) {
    throw ConfigError(fmt::format("{} \"{}\": {}. Fix: give {}.", flag, text, e.what(), dimension_name(dim)));
  }
}

Objective parse_objective(const std::string& s) {
  if (s == "gpu") return Objective::tokens_per_gpu;
  if (s == "cost") return Objective::tokens_per_dollar;
  if (s == "power") return Objective::tokens_per_watt;
  if (s == "hfu") return Objective::hfu;
  throw ConfigError(
      fmt::format("--objective \"{}\": unknown objective. Fix: use gpu (tokens/s per GPU), cost "
                  "(tokens/s per $), power (tokens/s per W) or hfu.",
                  s));
}

void add_search_flags(CLI::App* cmd, SearchFlags& f, bool with_grid_axes) {
  if (with_grid_axes) {
    cmd->add_option("--model,-m", f.model, "model id (ridgeline list models)")->capture_default_str();
    cmd->add_option("--hardware,-H", f.hardware,
                    "hardware id(s), comma separated: EP runs on each kind; AFD sides default to these too")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--slo", f.slo, "TPOT (time per output token) target, e.g. \"50 ms\"")
        ->check(QuantityRange(Dimension::seconds, limits::kMinSloS, limits::kMaxSloS, "1 us to 1 h"))
        ->capture_default_str();
    cmd->add_option("--context,-c", f.context, "mean KV length per sequence in tokens, e.g. 4096 or \"32K\"")
        ->check(QuantityRange(Dimension::count, 1, limits::kMaxContextTokens, "1 to 1e9 tokens"))
        ->capture_default_str();
  }
  cmd->add_option("--attention-hardware", f.attention_hardware,
                  "AFD attention-side hardware id(s), comma separated (heterogeneous AFD; default: --hardware)")
      ->delimiter(',');
  cmd->add_option("--ffn-hardware", f.ffn_hardware,
                  "AFD FFN-side hardware id(s), comma separated (default: --hardware)")
      ->delimiter(',');
  cmd->add_option("--weights", f.weights, "weight / GEMM format (fp8, bf16, fp4, ...)")->capture_default_str();
  cmd->add_option("--kv-cache", f.kv_cache, "KV-cache format")->capture_default_str();
  cmd->add_option("--dispatch", f.dispatch, "dispatch (A->F, all-to-all) payload format")->capture_default_str();
  cmd->add_option("--combine", f.combine, "combine (F->A) payload format")->capture_default_str();
  cmd->add_option("--mtp-acceptance", f.mtp_acceptance, "mean tokens accepted per step with MTP (1 = off)")
      ->check(FiniteRange(1.0, 16.0))
      ->capture_default_str();
  cmd->add_option("--mtp-draft-tokens", f.mtp_draft_tokens, "MTP draft tokens verified per step")
      ->check(FiniteRange(0, 15))
      ->capture_default_str();
  cmd->add_option("--strategy", f.strategy, "ep, afd or both")
      ->check(CLI::IsMember({"ep", "afd", "both"}))
      ->capture_default_str();
  cmd->add_option("--gpus", f.gpus, "plans must use exactly N GPUs (0 = any count up to --max-gpus)")
      ->check(FiniteRange(0, limits::kMaxGpus));
  cmd->add_option("--max-gpus", f.max_gpus, "GPU budget: the most GPUs a plan may use")
      ->check(FiniteRange(1, limits::kMaxGpus))
      ->capture_default_str();
  cmd->add_option("--objective", f.objective,
                  "what 'best' means: gpu (tokens/s per GPU), cost (tokens/s per $), power (per W), hfu")
      ->capture_default_str();
  cmd->add_option("--afd-micro-batches", f.afd_micro_batches,
                  "AFD ping-pong micro-batch counts to try, comma separated (>= 3 hides communication)")
      ->delimiter(',')
      ->check(FiniteRange(1, 16))
      ->capture_default_str();
  cmd->add_flag("--require-bubble-free", f.require_bubble_free,
                "reject AFD plans that violate the ping-pong conditions (m-1) t_a >= t_f + t_c and "
                "(m-1) t_f >= t_a + t_c (MegaScale-Infer Eqs. 3-4); by default their bubbles are just charged");
  cmd->add_flag("--scan-all-attention-counts", f.scan_all,
                "AFD: try every attention GPU count instead of the balance point's two neighbours on each side "
                "(slower; checks the pruning)");
  cmd->add_option("--threads", f.threads, "worker threads (0 = all cores); results do not depend on it")
      ->check(FiniteRange(0, limits::kMaxThreads));
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

SearchSetup resolve_search(const SearchFlags& f, const io::Database& db) {
  SearchSetup s;
  s.model = &db.model(f.model);
  s.precision.weights = parse_search_dtype(f.weights, "--weights");
  s.precision.kv_cache = parse_search_dtype(f.kv_cache, "--kv-cache");
  s.precision.dispatch = parse_search_dtype(f.dispatch, "--dispatch");
  s.precision.combine = parse_search_dtype(f.combine, "--combine");
  s.workload.tpot_slo_s = parse_search_quantity(f.slo, Dimension::seconds, "--slo");
  s.workload.context_tokens = parse_search_quantity(f.context, Dimension::count, "--context");
  s.workload.mtp_acceptance = f.mtp_acceptance;
  s.workload.mtp_draft_tokens = f.mtp_draft_tokens;
  if (f.hardware.empty()) throw ConfigError("--hardware: empty list. Fix: name at least one id, e.g. --hardware h800.");
  SearchSpace& sp = s.space;
  sp.ep_hardware = lookup_all(f.hardware, db);
  sp.attention_hardware = lookup_all(f.attention_hardware.empty() ? f.hardware : f.attention_hardware, db);
  sp.ffn_hardware = lookup_all(f.ffn_hardware.empty() ? f.hardware : f.ffn_hardware, db);
  sp.search_ep = f.strategy != "afd";
  sp.search_afd = f.strategy != "ep";
  check_supported(sp.search_ep ? sp.ep_hardware : std::vector<const Accelerator*>{}, s.precision, "--hardware");
  if (sp.search_afd) {
    check_supported(sp.attention_hardware, s.precision,
                    f.attention_hardware.empty() ? "--hardware" : "--attention-hardware");
    check_supported(sp.ffn_hardware, s.precision, f.ffn_hardware.empty() ? "--hardware" : "--ffn-hardware");
  }
  sp.exact_gpus = f.gpus;
  sp.max_gpus = f.gpus > 0 ? f.gpus : f.max_gpus;
  sp.objective = parse_objective(f.objective);
  sp.afd_micro_batches = f.afd_micro_batches;
  sp.require_bubble_free = f.require_bubble_free;
  sp.threads = f.threads;
  sp.scan_all_attention_counts = f.scan_all;
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

}  // namespace ridgeline::cli

namespace ridgeline::cli {

std::string plan_label(const Deployment& d) {
  if (d.strategy == Strategy::ep)
    return fmt::format("EP {} x {} m={} {}", d.attention.gpus, d.attention.hw->id, d.micro_batches,
                       d.dispatch_style == DispatchStyle::low_latency ? "LL" : "normal");
  return fmt::format("AFD attn {} x {} TP{} + FFN {} x {} ETP{} m={}", d.attention.gpus, d.attention.hw->id,
                     d.attention.tp, d.ffn.gpus, d.ffn.hw->id, d.ffn.tp, d.micro_batches);
}

nlohmann::json candidate_json(const SearchSetup& s, const Candidate& c) {
  const io::Scenario sc = scenario_of(s, c);
  nlohmann::json j = report::evaluation_json(sc, c.evaluation);
  j["plan"] = plan_label(c.deployment);
  j["score"] = c.score;
  j["batch_limited_by"] = batch_limit_name(c.batch_limit);
  j["deployment"] = nlohmann::json::parse(io::scenario_to_json(sc))["deployment"];
  return j;
}

}  // namespace ridgeline::cli

namespace ridgeline::cli {

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

}  // namespace ridgeline::cli
