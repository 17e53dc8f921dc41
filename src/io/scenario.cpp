// SPDX-License-Identifier: Apache-2.0
// Scenario files: one fixed deployment for `ridgeline evaluate` (format in README.md).
#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <sstream>

#include "efficiency_reader.hpp"
#include "json_reader.hpp"
#include "ridgeline/imbalance.hpp"
#include "ridgeline/io/database.hpp"

namespace ridgeline::io {

namespace {

DType read_dtype(const Reader& r, const std::string& key, DType fallback) {
  if (!r.has(key)) return fallback;
  std::string s = r.string(key);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));  // FP8 = fp8
  static const std::pair<const char*, DType> kNames[] = {
      {"fp4", DType::fp4},   {"int4", DType::int4}, {"fp8", DType::fp8},  {"int8", DType::int8},
      {"bf16", DType::bf16}, {"fp16", DType::fp16}, {"fp32", DType::fp32}};
  for (const auto& [n, d] : kNames)
    if (s == n) return d;
  r.fail(key, "unknown number format", "use one of fp4, int4, fp8, int8, bf16, fp16, fp32");
}

/// A "hardware" value: an id string or {"base": id, <overrides>}.
const Accelerator* read_hardware(const Reader& r, const std::string& key, const Database& db, Scenario& s,
                                 std::string& id_out, std::string& overrides_out) {
  if (!r.has(key)) r.fail(key, "missing hardware", "add \"" + key + "\": \"h800\" (see `ridgeline list hardware`)");
  const Json& v = r.json().at(key);
  if (v.is_string()) {
    id_out = v.get<std::string>();
    try {
      s.hardware.push_back(db.hardware(id_out));
    } catch (const LookupError& e) {
      throw LookupError(r.where(key) + ": " + e.what());
    }
    return &s.hardware.back();
  }
  if (v.is_object()) {
    const Reader o(v, r.file(), r.path_of(key));
    id_out = o.string("base");
    overrides_out = v.dump();
    try {
      s.hardware.push_back(db.hardware_with_overrides(id_out, v.dump(), r.where(key)));
    } catch (const LookupError& e) {
      throw LookupError(o.where("base") + ": " + e.what());
    }
    // Reuse an identical accelerator so that EP (one kind) keeps one pointer.
    return &s.hardware.back();
  }
  r.fail(key, "must be a hardware id or an object {\"base\": id, ...overrides}",
         "write \"h800\" or {\"base\": \"h800\", \"scale_out_bandwidth\": \"100 GB/s\"}");
}

void check_known_keys(const Reader& r, std::initializer_list<const char*> known) {
  if (!r.json().is_object()) return;
  for (auto it = r.json().begin(); it != r.json().end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) {
      std::vector<std::string> ks(known.begin(), known.end());
      const auto m = close_matches(it.key(), ks, 2);
      std::string hint = m.empty() ? "" : "did you mean \"" + m[0] + "\"? ";
      throw ConfigError(r.where(it.key()) + ": unknown key. Fix: " + hint + "allowed keys here are " + [&] {
        std::string s;
        for (const char* k : known) s += (s.empty() ? "" : ", ") + std::string(k);
        return s;
      }());
    }
  }
}

/// workload.routing / workload.eplb_redundant_experts -> workload.expert_load_imbalance: the hot
/// EP rank's expected max/mean load for this deployment's ranks and micro-batch (imbalance.hpp).
void apply_routing(const Reader& w, Scenario& s) {
  if (!w.has("routing") && !w.has("eplb_redundant_experts")) return;
  if (w.has("expert_load_imbalance"))
    w.fail("routing", "given together with expert_load_imbalance",
           "give one of them: routing (Ridgeline computes the imbalance) or expert_load_imbalance (a fixed max/mean)");
  RoutingModel rm;
  auto& dep = s.deployment;
  rm.redundant_experts = w.opt_integer("eplb_redundant_experts", 0, dep.redundant_experts);
  if (dep.redundant_experts > 0 && rm.redundant_experts != dep.redundant_experts)
    w.fail("eplb_redundant_experts", "differs from deployment.redundant_experts",
           "give the EPLB replica count once (or the same number in both places)");
  dep.redundant_experts = rm.redundant_experts;  // replicas cost memory and expert slots too
  if (w.has("routing")) {
    const Reader r = w.object("routing");
    check_known_keys(r, {"uniform", "zipf", "histogram"});
    if (int(r.has("uniform")) + int(r.has("zipf")) + int(r.has("histogram")) != 1)
      w.fail("routing", "must name exactly one routing model",
             "write {\"uniform\": true}, {\"zipf\": 0.8} or {\"histogram\": [tokens per expert id, ...]}");
    if (r.has("uniform") && !r.opt_bool("uniform", true))
      r.fail("uniform", "false is not a routing model", "write {\"uniform\": true} or use zipf / histogram");
    if (r.has("zipf")) {
      rm.kind = RoutingModel::Kind::zipf;
      rm.zipf_s = r.number_in("zipf", 0.0, 10.0);
    }
    if (r.has("histogram")) {
      rm.kind = RoutingModel::Kind::histogram;
      const Json& h = r.json().at("histogram");
      const int experts = s.model.moe.num_experts;
      if (!h.is_array() || int(h.size()) != experts)
        r.fail("histogram", "must be an array with one number per routed expert (" + std::to_string(experts) + ")",
               "list tokens (or weights) per expert id, in id order");
      double sum = 0;
      for (size_t i = 0; i < h.size(); ++i) {
        if (!h[i].is_number() || !(h[i].get<double>() >= 0) || !std::isfinite(h[i].get<double>()))
          throw ConfigError(r.where("histogram") + "/" + std::to_string(i) + ": " + short_value(h[i]) +
                            " is not a non-negative number. Fix: give tokens (or weights) per expert.");
        rm.histogram.push_back(h[i].get<double>());
        sum += rm.histogram.back();
      }
      if (!(sum > 0)) r.fail("histogram", "all entries are zero", "give token counts per expert");
    }
  }
  const double q = 1.0 + s.workload.mtp_draft_tokens;
  int ranks = 1;
  double tokens = 0;
  if (dep.strategy == Strategy::ep) {
    ranks = dep.attention.gpus / std::max(1, dep.ffn.tp);  // EP ranks (expert TP groups)
    tokens = dep.batch_per_gpu / dep.micro_batches * q * dep.attention.gpus;
  } else {
    ranks = dep.ffn.gpus / std::max(1, dep.ffn.tp);
    tokens = dep.global_batch / dep.micro_batches * q;
  }
  if (ranks > s.model.moe.num_experts + rm.redundant_experts)
    w.fail("routing", "the deployment has more EP ranks than expert slots",
           "add eplb_redundant_experts or use fewer FFN ranks");
  s.workload.expert_load_imbalance =
      routing_load(rm, s.model.moe.num_experts, s.model.moe.top_k, ranks, tokens).load_factor;
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& file, const Database& db) {
  const Json j = parse_json_text(text, file);
  if (!j.is_object())
    throw ConfigError(file + ": a scenario must be a JSON object. Fix: see the README's scenario format.");
  const Reader r(j, file);
  check_known_keys(r, {"$schema", "description", "model", "precision", "workload", "deployment", "efficiency", "source",
                       "notes", "measured"});
  Scenario s;
  s.source_file = file;
  const std::string model_id = r.string("model");
  try {
    s.model = db.model(model_id);
  } catch (const LookupError& e) {
    throw LookupError(r.where("model") + ": " + e.what());
  }

  if (auto p = r.opt_object("precision")) {
    check_known_keys(*p, {"weights", "kv_cache", "dispatch", "combine", "attention_math"});
    s.precision.weights = read_dtype(*p, "weights", s.precision.weights);
    s.precision.kv_cache = read_dtype(*p, "kv_cache", s.precision.kv_cache);
    s.precision.dispatch = read_dtype(*p, "dispatch", s.precision.dispatch);
    s.precision.combine = read_dtype(*p, "combine", s.precision.combine);
    s.precision.attention_math = read_dtype(*p, "attention_math", s.precision.attention_math);
    s.precision.attention_math_given = p->has("attention_math");
  }

  const Reader w = r.object("workload");
  check_known_keys(
      w, {"context_tokens", "tpot_slo", "mtp_acceptance", "mtp_draft_tokens", "iteration_gap", "expert_load_imbalance",
          "attention_imbalance", "context_cv", "routing", "eplb_redundant_experts", "mtp_step_gap", "mtp_simulated"});
  // Times a person writes into a scenario need a unit: "tpot_slo": 50 is 50 ms to one reader and
  // 50 s to another. (Hardware and efficiency files keep bare SI numbers: they are datasheets.)
  for (const char* key : {"tpot_slo", "iteration_gap", "mtp_step_gap"})
    if (w.has(key) && w.json().at(key).is_number() && w.json().at(key).get<double>() != 0) {
      const std::string shown = w.json().at(key).dump();
      w.fail(key, shown + " has no unit", "write \"" + shown + " ms\" (or the unit you mean, as a string)");
    }
  s.workload.context_tokens = w.quantity("context_tokens", Dimension::count);
  s.workload.tpot_slo_s = w.quantity("tpot_slo", Dimension::seconds);
  s.workload.mtp_acceptance = w.opt_number_in("mtp_acceptance", 1.0, 16.0, 1.0);
  s.workload.mtp_draft_tokens = w.opt_integer("mtp_draft_tokens", 0, s.workload.mtp_acceptance > 1.0 ? 1 : 0);
  if (s.workload.mtp_acceptance > 1.0 + s.workload.mtp_draft_tokens)
    w.fail(
        "mtp_acceptance", fmt::format("exceeds 1 + mtp_draft_tokens = {}", 1 + s.workload.mtp_draft_tokens),
        fmt::format("accepted tokens per step cannot exceed 1 + drafts: set workload.mtp_draft_tokens to at least {} "
                    "(it defaults to 1 when MTP is on)",
                    int(std::ceil(s.workload.mtp_acceptance - 1.0))));
  s.workload.iteration_gap_s =
      w.opt_quantity("iteration_gap", Dimension::seconds, true).value_or(kDefaultIterationGapS);
  s.workload.mtp_step_gap_s = w.opt_quantity("mtp_step_gap", Dimension::seconds, true).value_or(kDefaultMtpStepGapS);
  s.workload.mtp_simulated = w.opt_bool("mtp_simulated", false);
  // Absent: computed from uniform routing at the deployment's tokens per rank (evaluate).
  s.workload.expert_load_imbalance = w.opt_number_in("expert_load_imbalance", 1.0, 1000.0, 0.0);
  s.workload.attention_imbalance = w.opt_number_in("attention_imbalance", 1.0, 1000.0, 1.0);
  // Absent: the production spread of KV lengths (workload.hpp); 0 for a fixed-length benchmark.
  s.workload.context_cv = w.opt_number_in("context_cv", 0.0, 10.0, kDefaultContextCv);

  if (auto e = r.opt_object("efficiency")) read_efficiency_block(*e, s.efficiencies);

  const Reader d = r.object("deployment");
  auto& dep = s.deployment;
  std::string strategy = d.string("strategy");
  for (auto& c : strategy) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));  // EP = ep
  // A key of the other strategy: say so, and what this strategy uses instead.
  if (strategy == "afd")
    for (const char* k : {"batch_per_gpu", "gpus", "hardware", "dispatch_style", "attention_tp", "expert_tp"})
      if (d.has(k))
        d.fail(k, "is an EP key, and this deployment is AFD",
               "an AFD deployment gives \"global_batch\" (sequences in flight over all attention GPUs) and "
               "\"attention\" / \"ffn\" blocks with hardware, gpus and tp; or set \"strategy\": \"ep\"");
  if (strategy == "ep")
    for (const char* k : {"global_batch", "attention", "ffn", "shared_experts_on"})
      if (d.has(k))
        d.fail(k, "is an AFD key, and this deployment is EP",
               "an EP deployment gives hardware, gpus and \"batch_per_gpu\" (sequences per GPU); or set "
               "\"strategy\": \"afd\"");
  if (strategy == "ep") {
    check_known_keys(d, {"strategy", "hardware", "gpus", "batch_per_gpu", "micro_batches", "dispatch_style",
                         "redundant_experts", "transport", "attention_tp", "expert_tp"});
    dep.strategy = Strategy::ep;
    dep.attention.hw = read_hardware(d, "hardware", db, s, s.attention_hardware_id, s.attention_hardware_overrides);
    dep.attention.gpus = d.integer("gpus", 1);
    // DP x TP attention and expert TP inside EP (docs/shapes.md); both 1 = DP attention, EP experts.
    dep.attention.tp = d.opt_integer("attention_tp", 1, 1);
    const int domain = std::max(1, dep.attention.hw->scale_up_domain_gpus);
    if (dep.attention.gpus % dep.attention.tp != 0)
      d.fail("attention_tp", "does not divide gpus (" + std::to_string(dep.attention.gpus) + ")",
             "make gpus a multiple of attention_tp");
    if (dep.attention.tp > domain)
      d.fail("attention_tp", "exceeds the hardware's scale-up domain (" + std::to_string(domain) + " GPUs)",
             "keep each attention TP group inside one scale-up domain");
    if (s.model.attention.num_heads % dep.attention.tp != 0)
      d.fail("attention_tp",
             "does not divide the model's " + std::to_string(s.model.attention.num_heads) + " attention heads",
             "pick a divisor of the head count");
    const int expert_tp = d.opt_integer("expert_tp", 1, 1);
    if (dep.attention.gpus % expert_tp != 0)
      d.fail("expert_tp", "does not divide gpus (" + std::to_string(dep.attention.gpus) + ")",
             "make gpus a multiple of expert_tp");
    if (expert_tp > domain)
      d.fail("expert_tp", "exceeds the hardware's scale-up domain (" + std::to_string(domain) + " GPUs)",
             "keep each expert-TP group inside one scale-up domain");
    dep.ffn = dep.attention;
    dep.ffn.tp = expert_tp;
    s.ffn_hardware_id = s.attention_hardware_id;
    s.ffn_hardware_overrides = s.attention_hardware_overrides;
    dep.batch_per_gpu = d.quantity("batch_per_gpu", Dimension::count);
    dep.micro_batches = d.opt_integer("micro_batches", 1, 2);
    if (dep.micro_batches > 2)
      d.fail("micro_batches", "EP overlaps at most two micro-batches (TBO)",
             "use 1 (no overlap) or 2 (two-batch overlap)");
  } else if (strategy == "afd") {
    check_known_keys(d, {"strategy", "attention", "ffn", "global_batch", "micro_batches", "shared_experts_on",
                         "redundant_experts", "transport"});
    dep.strategy = Strategy::afd;
    const Reader a = d.object("attention");
    check_known_keys(a, {"hardware", "gpus", "tp"});
    dep.attention.hw = read_hardware(a, "hardware", db, s, s.attention_hardware_id, s.attention_hardware_overrides);
    dep.attention.gpus = a.integer("gpus", 1);
    dep.attention.tp = a.opt_integer("tp", 1, 1);
    if (dep.attention.gpus % dep.attention.tp != 0)
      a.fail("tp", "does not divide attention gpus", "make gpus a multiple of tp");
    const Reader f = d.object("ffn");
    check_known_keys(f, {"hardware", "gpus", "tp", "expert_tp"});
    dep.ffn.hw = read_hardware(f, "hardware", db, s, s.ffn_hardware_id, s.ffn_hardware_overrides);
    dep.ffn.gpus = f.integer("gpus", 1);
    dep.ffn.tp = f.has("expert_tp") ? f.integer("expert_tp", 1) : f.opt_integer("tp", 1, 1);
    if (dep.ffn.gpus % dep.ffn.tp != 0) f.fail("tp", "does not divide FFN gpus", "make gpus a multiple of expert tp");
    // The same unmodified hardware on both sides is one accelerator (superpod placement).
    if (s.attention_hardware_id == s.ffn_hardware_id && a.json().at("hardware").is_string() &&
        f.json().at("hardware").is_string())
      dep.ffn.hw = dep.attention.hw;
    dep.global_batch = d.quantity("global_batch", Dimension::count);
    dep.micro_batches = d.opt_integer("micro_batches", 1, 3);
    const std::string where = d.opt_string("shared_experts_on", "attention");
    if (where != "attention" && where != "ffn")
      d.fail("shared_experts_on", "must be \"attention\" or \"ffn\"", "pick the side that runs the shared experts");
    dep.shared_experts_on_ffn = where == "ffn";
  } else {
    d.fail("strategy", "unknown strategy",
           "use \"ep\" (large expert parallelism) or \"afd\" (attention-FFN disaggregation)");
  }
  dep.redundant_experts = d.opt_integer("redundant_experts", 0, 0);
  if (d.has("transport")) {
    const std::string t = d.string("transport");
    dep.transport = transport_of(t);
    if (!dep.transport)
      d.fail("transport", "unknown transport",
             "use deepep_low_latency, deepep_normal, nccl or cpu_rdma (README \"Defaults and their sources\")");
  }
  const std::string style = d.opt_string("dispatch_style", "low_latency");
  if (style == "low_latency")
    dep.dispatch_style = DispatchStyle::low_latency;
  else if (style == "low_latency_pure_rdma") {
    dep.dispatch_style = DispatchStyle::low_latency;
    dep.all_to_all_pure_rdma = true;
  } else if (style == "normal")
    dep.dispatch_style = DispatchStyle::normal;
  else
    d.fail("dispatch_style", "unknown dispatch style",
           "use \"low_latency\" (DeepEP LL), \"low_latency_pure_rdma\" (DeepEP LL before June 2025) or \"normal\"");
  // Every dtype the plan computes in must exist on its hardware: a missing peak is an error.
  for (const Accelerator* hw : {dep.attention.hw, dep.ffn.hw}) {
    if (!hw->supports(s.precision.weights))
      throw MissingDataError(file + ": /precision/weights: \"" + dtype_name(s.precision.weights) +
                             "\" is not supported by " + hw->id +
                             " (no peak in its hwdb file). Fix: use \"bf16\" weights or other hardware.");
    if (!hw->supports(s.precision.attention_math))
      throw MissingDataError(file + ": /precision/attention_math: \"" + dtype_name(s.precision.attention_math) +
                             "\" is not supported by " + hw->id + ". Fix: use \"bf16\".");
  }
  apply_routing(w, s);
  return s;
}

Scenario load_scenario(const std::filesystem::path& file, const Database& db) {
  return parse_scenario(read_text_file(file.string()), file.string(), db);
}

std::string scenario_to_json(const Scenario& s) {
  Json j;
  j["model"] = s.model.id;
  j["precision"] = {{"weights", dtype_name(s.precision.weights)},
                    {"kv_cache", dtype_name(s.precision.kv_cache)},
                    {"dispatch", dtype_name(s.precision.dispatch)},
                    {"combine", dtype_name(s.precision.combine)}};
  // Stated only when it was: otherwise it follows the KV format on the accelerators that do.
  if (s.precision.attention_math_given) j["precision"]["attention_math"] = dtype_name(s.precision.attention_math);
  const auto& w = s.workload;
  // Times with their unit (scenario files refuse bare numbers there); "{}" is the shortest text
  // that reads back to the same double, so the round trip is exact.
  auto seconds = [](double v) { return fmt::format("{} s", v); };
  j["workload"] = {{"context_tokens", w.context_tokens},
                   {"tpot_slo", seconds(w.tpot_slo_s)},
                   {"mtp_acceptance", w.mtp_acceptance},
                   {"mtp_draft_tokens", w.mtp_draft_tokens},
                   {"iteration_gap", seconds(w.iteration_gap_s)},
                   {"attention_imbalance", w.attention_imbalance},
                   {"mtp_step_gap", seconds(w.mtp_step_gap_s)},
                   {"mtp_simulated", w.mtp_simulated},
                   {"context_cv", w.context_cv}};
  if (w.expert_load_imbalance > 0) j["workload"]["expert_load_imbalance"] = w.expert_load_imbalance;
  const auto& f = s.efficiencies;
  j["efficiency"] = {{"kernel_overhead", f.kernel_overhead_s},
                     {"usable_hbm_fraction", f.usable_hbm_fraction},
                     {"eager_launch_overhead", f.eager_launch_overhead_s},
                     {"small_kernels_per_layer", f.small_kernels_per_layer},
                     {"gemm_overlap", f.gemm_overlap}};
  // A roofline fraction is written only where it was given (or profiles are off): the others
  // follow each accelerator's measured profile when the file is read back, as they did here.
  const RooflineFractions own = f.own_fractions();
  for (const auto& k : kRooflineFields)
    if (!f.hardware_profiles || (f.given_roofline & k.bit)) j["efficiency"][k.key] = own.*(k.value);
  if (!f.hardware_profiles) j["efficiency"]["hardware_profiles"] = false;
  for (int k = 0; k < kTransportKinds; ++k) {
    const TransportCost& c = f.transports[size_t(k)];
    j["efficiency"]["transport"][transport_name(TransportKind(k))] = {
        {"fixed", c.fixed_s}, {"per_token", c.per_token_s}, {"contention", c.contention}};
  }
  const auto& d = s.deployment;
  auto hw_value = [](const std::string& id, const std::string& overrides) {
    return overrides.empty() ? Json(id) : Json::parse(overrides);
  };
  Json dep;
  dep["strategy"] = strategy_name(d.strategy);
  dep["micro_batches"] = d.micro_batches;
  if (d.redundant_experts) dep["redundant_experts"] = d.redundant_experts;
  if (d.strategy == Strategy::ep) {
    dep["hardware"] = hw_value(s.attention_hardware_id, s.attention_hardware_overrides);
    dep["gpus"] = d.attention.gpus;
    dep["batch_per_gpu"] = d.batch_per_gpu;
    dep["dispatch_style"] = d.all_to_all_pure_rdma ? "low_latency_pure_rdma" : dispatch_style_name(d.dispatch_style);
    if (d.attention.tp > 1) dep["attention_tp"] = d.attention.tp;
    if (d.ffn.tp > 1) dep["expert_tp"] = d.ffn.tp;
  } else {
    dep["attention"] = {{"hardware", hw_value(s.attention_hardware_id, s.attention_hardware_overrides)},
                        {"gpus", d.attention.gpus},
                        {"tp", d.attention.tp}};
    dep["ffn"] = {
        {"hardware", hw_value(s.ffn_hardware_id, s.ffn_hardware_overrides)}, {"gpus", d.ffn.gpus}, {"tp", d.ffn.tp}};
    dep["global_batch"] = d.global_batch;
    dep["shared_experts_on"] = d.shared_experts_on_ffn ? "ffn" : "attention";
  }
  if (d.transport) dep["transport"] = transport_name(*d.transport);
  j["deployment"] = dep;
  return j.dump(2) + "\n";
}

}  // namespace ridgeline::io
