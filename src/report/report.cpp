// SPDX-License-Identifier: Apache-2.0
#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace ridgeline::report {

using nlohmann::json;

namespace {
std::string pct(double f) {
  return fmt::format("{:.1f} %", 100.0 * f);
}
std::string ms(double s) {
  return fmt::format("{:.3f} ms", s * 1e3);
}
std::string us(double s) {
  return fmt::format("{:.1f} us", s * 1e6);
}
std::string gb(double b) {
  return fmt::format("{:.1f} GB", b / 1e9);
}

const char* op_label(const char* op) {
  const std::string_view o(op);
  if (o == "attn_core") return "attention core";
  if (o == "attn_proj") return "attention projections";
  if (o == "experts_gate_up" || o == "experts_down") return "routed-expert GEMMs";
  if (o == "shared_experts") return "shared experts";
  if (o == "dense_ffn") return "dense FFN";
  if (o == "router") return "router";
  return op;
}
}  // namespace

std::string describe_binding(const Evaluation& e, const Deployment& d) {
  switch (e.binding) {
    case Binding::bad_shape:
      return std::string("invalid deployment shape: ") + e.shape_problem;
    case Binding::weights_exceed_hbm: {
      const MemoryUse& m =
          e.attention_memory.weights_bytes > e.attention_memory.capacity_bytes ? e.attention_memory : e.ffn_memory;
      return fmt::format(
          "weights need {} per GPU but only {} of HBM is usable: add GPUs (more EP ranks / TP) or "
          "use smaller weights (fp8/fp4)",
          gb(m.weights_bytes), gb(m.capacity_bytes));
    }
    case Binding::kv_exceeds_hbm: {
      const MemoryUse& m =
          e.attention_memory.weights_bytes + e.attention_memory.kv_bytes > e.attention_memory.capacity_bytes
              ? e.attention_memory
              : e.ffn_memory;
      return fmt::format(
          "weights {} + KV cache {} exceed the {} usable HBM per GPU: lower the batch or context, "
          "use an fp8 KV cache, or add attention GPUs",
          gb(m.weights_bytes), gb(m.kv_bytes), gb(m.capacity_bytes));
    }
    case Binding::slo:
      return fmt::format("TPOT {} exceeds the SLO: lower the batch, add GPUs, or relax the SLO", ms(e.tpot_s));
    case Binding::attention_compute:
      return fmt::format("attention is compute-bound ({}): more attention GPUs or a lower-FLOP attention help",
                         op_label(e.attention_dominant_op));
    case Binding::attention_kv_read:
      return "attention is bound by KV-cache reads (HBM bandwidth): shorter context, fp8 KV, or more attention HBM "
             "bandwidth help";
    case Binding::attention_weight_read:
      return fmt::format(
          "attention side is bound by weight reads in {} (HBM): a larger batch per attention rank amortises them",
          op_label(e.attention_dominant_op));
    case Binding::ffn_compute:
      return "routed experts are compute-bound (good: the GEMMs run near peak)";
    case Binding::ffn_weight_read:
      return fmt::format(
          "routed experts are bound by weight reads ({:.0f} token-expert pairs per GPU per micro-batch): "
          "more tokens per expert (larger batch, fewer FFN GPUs) raise intensity",
          e.tokens_per_ffn_gpu);
    case Binding::scale_out_network:
      return d.strategy == Strategy::afd ? "A<->F traffic is bound by scale-out bandwidth (the AFD dead zone): more "
                                           "NIC bandwidth or a superpod help"
                                         : "dispatch/combine all-to-all is bound by scale-out (RDMA) bandwidth: fewer "
                                           "nodes per EP group or more NIC bandwidth help";
    case Binding::scale_up_network:
      return "dispatch/combine is bound by scale-up (NVLink) bandwidth";
    case Binding::pipeline_bubble:
      return fmt::format(
          "the ping-pong pipeline has bubbles (attention idle {}, FFN idle {}): more micro-batches or "
          "rebalancing attention vs FFN GPUs help",
          pct(e.attention_bubble_fraction), pct(e.ffn_bubble_fraction));
    case Binding::fixed_overhead:
      return "dense layers, LM head and the iteration gap take more time than the MoE layers";
  }
  return "?";
}

std::string ep_shape_words(const Deployment& d) {
  if (d.strategy != Strategy::ep) return "";
  const int t = d.attention.tp, e = d.ffn.tp, g = d.attention.gpus;
  if (g > 1 && t == g && e == g) return fmt::format(", pure TP {}", g);
  std::string out;
  if (t > 1) out += fmt::format(", DP {} x attention TP {}", g / t, t);
  if (e > 1) out += fmt::format(", EP {} x expert TP {}", g / e, e);
  return out;
}

std::string evaluation_table(const io::Scenario& s, const Evaluation& e) {
  const auto& d = s.deployment;
  std::string out;
  out += fmt::format("Ridgeline {} — {} on ", kVersion, s.model.name);
  if (d.strategy == Strategy::ep)
    out += fmt::format("EP, {} x {}{} ({} micro-batch{})\n", d.attention.gpus, d.attention.hw->name, ep_shape_words(d),
                       d.micro_batches, d.micro_batches > 1 ? "es, two-batch overlap" : ", no overlap");
  else
    out +=
        fmt::format("AFD, attention {} x {} (TP {}), FFN {} x {} (expert TP {}), {} micro-batches\n", d.attention.gpus,
                    d.attention.hw->name, d.attention.tp, d.ffn.gpus, d.ffn.hw->name, d.ffn.tp, d.micro_batches);
  out += fmt::format("  scenario: {}   context {:.0f} tokens, TPOT SLO {}, MTP acceptance {:.2f}\n", s.source_file,
                     s.workload.context_tokens, ms(s.workload.tpot_slo_s), s.workload.mtp_acceptance);
  out += fmt::format("  feasible: {}{}\n", e.feasible ? "yes" : "NO",
                     e.feasible ? "" : std::string(" (") + infeasible_name(e.reason) + ")");
  out += fmt::format("  binding:  {} — {}\n", binding_name(e.binding), describe_binding(e, d));
  out += fmt::format("  roofline: {}\n", roofline_text(s.efficiencies, *d.attention.hw));
  if (d.ffn.hw && d.ffn.hw != d.attention.hw)
    out += fmt::format("  FFN side: {}\n", roofline_text(s.efficiencies, *d.ffn.hw));
  // EP ranks beyond the expert slots hold no expert: they cost GPUs and carry no load.
  const int expert_tp = std::max(1, d.ffn.tp);  // EP: ffn is the same GPUs as attention
  const int ranks = d.ffn.gpus / expert_tp, slots = s.model.moe.num_experts + d.redundant_experts;
  if (ranks > slots)
    out += fmt::format(
        "  note:     {} of the {} GPUs for experts hold none ({} EP ranks for {} expert slots); they "
        "count in tokens/s per GPU\n",
        (ranks - slots) * expert_tp, d.ffn.gpus, ranks, slots);
  out += "\n";
  if (e.reason == Infeasible::bad_shape) return out;
  Table t;
  t.header = {"metric", "value"};
  auto row = [&](const std::string& k, const std::string& v) { t.rows.push_back({k, v}); };
  row("TPOT", ms(e.tpot_s));
  row("tokens/s per GPU", fmt::format("{:.1f}", e.tokens_per_s_per_gpu));
  row("tokens/s per user", fmt::format("{:.1f}", e.tokens_per_s_per_user));
  row("tokens/s per $/h", fmt::format("{:.1f}", e.tokens_per_s_per_dollar_hour));
  row("USD per 1M tokens", fmt::format("{:.4f}", e.usd_per_million_tokens));
  row("tokens/s per W", fmt::format("{:.3f}", e.tokens_per_s_per_watt));
  row("HFU", pct(e.hfu));
  row("GPUs", fmt::format("{}", e.total_gpus));
  row("sequences in flight", fmt::format("{:.0f}", e.sequences));
  out += t.render() + "\n";
  Table b;
  b.header = {"stage (per MoE layer, per micro-batch)", "time"};
  b.rows = {{"attention t_a",
             us(e.attention_s) + " (" + e.attention_dominant_op + ", " + bound_name(e.attention_dominant_bound) + ")"},
            {"FFN t_f", us(e.ffn_s) + " (" + e.ffn_dominant_op + ", " + bound_name(e.ffn_dominant_bound) + ")"},
            {"dispatch", us(e.dispatch_s)},
            {"combine", us(e.combine_s)},
            {"pipeline slot", us(e.slot_s)},
            {"MoE layers (iteration)", ms(e.moe_layers_s)},
            {"dense layers (iteration)", ms(e.dense_layers_s)},
            {"LM head", ms(e.lm_head_s)},
            {"iteration gap t_g", ms(e.gap_s)},
            {"iteration", ms(e.iteration_s)}};
  if (d.strategy == Strategy::ep && d.micro_batches == 2) {
    // Under the pipeline slot, its three phases (two_batch_overlap_slot_s): what each transfer
    // flies beside.
    const AttentionStages& st = e.attention_stages;
    const auto slot_row =
        std::find_if(b.rows.begin(), b.rows.end(), [](const auto& r) { return r[0] == "pipeline slot"; });
    b.rows.insert(slot_row + 1,
                  {{"  TBO: dispatch | shared experts + attention before the core",
                    us(e.dispatch_s) + " | " + us(st.shared_s + st.before_core_s)},
                   {"  TBO: FFN, nothing in flight", us(e.ffn_s)},
                   {"  TBO: combine | attention core, o_proj, router", us(e.combine_s) + " | " + us(st.after_core_s)}});
  }
  if (d.strategy == Strategy::afd) {
    b.rows.push_back({"attention bubble", pct(e.attention_bubble_fraction)});
    b.rows.push_back({"FFN bubble", pct(e.ffn_bubble_fraction)});
    b.rows.push_back({"bubble-free (paper Eqs. 3-4)", e.bubble_free ? "yes" : "no"});
  }
  b.rows.push_back(
      {"FFN OFU / occupancy S_t / HFU", pct(e.ffn_ofu) + " / " + pct(e.ffn_occupancy) + " / " + pct(e.ffn_hfu)});
  out += b.render() + "\n";
  Table m;
  m.header = {"memory per GPU", "weights", "KV cache", "usable HBM"};
  m.rows.push_back({d.strategy == Strategy::ep ? "EP GPU" : "attention GPU", gb(e.attention_memory.weights_bytes),
                    gb(e.attention_memory.kv_bytes), gb(e.attention_memory.capacity_bytes)});
  if (d.strategy == Strategy::afd)
    m.rows.push_back(
        {"FFN GPU", gb(e.ffn_memory.weights_bytes), gb(e.ffn_memory.kv_bytes), gb(e.ffn_memory.capacity_bytes)});
  out += m.render();
  return out;
}

namespace {
json memory_json(const MemoryUse& m) {
  return {{"weights_bytes", m.weights_bytes}, {"kv_bytes", m.kv_bytes}, {"capacity_bytes", m.capacity_bytes}};
}
}  // namespace

/// breakdown.ops: every operator of one MoE layer per micro-batch on the busiest GPU of each
/// side, timed as evaluate timed it; and the attention layer (projections + core) on its own.
void add_op_breakdown(const io::Scenario& s, const Evaluation& e, json& breakdown) {
  const auto& d = s.deployment;
  std::optional<Efficiencies> eager;
  const Efficiencies& eff = detail::launch_efficiencies(s.efficiencies, s.efficiencies.transport(e.transport), eager);
  json ops = json::array();
  double attention_layer_s = 0;
  auto add = [&](const OpList& list, const Accelerator& hw, const char* stage) {
    for (const OpCost& op : list) {
      const OpTime t = op_time(op, hw, eff);
      ops.push_back({{"name", op.name},
                     {"stage", stage},
                     {"time_ms", t.time_s * 1e3},
                     {"flops", op.flops},
                     {"hbm_bytes", op.hbm_bytes},
                     {"bound", bound_name(t.bound)}});
      const std::string_view name = op.name;
      if (std::string_view(stage) == "attention" && (name == "attn_proj" || name == "attn_core"))
        attention_layer_s += t.time_s;
    }
  };
  add(e.attention_ops, *d.attention.hw, "attention");
  ops.push_back({{"name", "small_kernels"},
                 {"stage", "attention"},
                 {"time_ms", detail::small_kernels_s(eff) * 1e3},
                 {"flops", 0.0},
                 {"hbm_bytes", 0.0},
                 {"bound", "launch"}});
  add(e.ffn_ops, d.ffn.hw ? *d.ffn.hw : *d.attention.hw, "ffn");
  breakdown["attention_layer_ms"] = attention_layer_s * 1e3;
  breakdown["ops"] = ops;
}

json evaluation_json(const io::Scenario& s, const Evaluation& e) {
  const auto& d = s.deployment;
  json j;
  j["feasible"] = e.feasible;
  j["reason"] = infeasible_name(e.reason);
  j["binding"] = binding_name(e.binding);
  j["binding_explanation"] = describe_binding(e, d);
  j["strategy"] = strategy_name(d.strategy);
  j["model"] = s.model.id;
  if (e.reason == Infeasible::bad_shape) return j;
  j["tpot_ms"] = e.tpot_s * 1e3;
  j["iteration_ms"] = e.iteration_s * 1e3;
  j["tokens_per_s"] = e.tokens_per_s;
  j["tokens_per_s_per_gpu"] = e.tokens_per_s_per_gpu;
  j["tokens_per_s_per_user"] = e.tokens_per_s_per_user;
  j["tokens_per_s_per_dollar_hour"] = e.tokens_per_s_per_dollar_hour;
  j["usd_per_million_tokens"] = e.usd_per_million_tokens;
  j["tokens_per_s_per_watt"] = e.tokens_per_s_per_watt;
  j["hfu"] = e.hfu;
  // HFU's peak: FLOP-weighted over the precisions the work runs in, per GPU.
  j["hfu_peak_flops_per_s"] = e.hfu_peak_flops_per_s;
  j["hfu_peak_precision"] = e.hfu_peak_precision;
  j["shape"] = {{"attention_tp", d.attention.tp},
                {"expert_tp", d.ffn.tp},
                {"attention_instances", d.attention.gpus / std::max(1, d.attention.tp)},
                {"ep_ranks", d.ffn.gpus / std::max(1, d.ffn.tp)}};
  j["gpus"] = e.total_gpus;
  j["sequences"] = e.sequences;
  // max/mean load of the hot FFN rank: given, from workload.routing, or uniform routing (default)
  j["expert_load_imbalance"] = e.expert_load_imbalance;
  j["expert_load_imbalance_source"] = s.workload.expert_load_imbalance > 0 ? "given"
                                      : s.workload.routing_skew_by_ranks   ? "skewed routing (given)"
                                                                           : "uniform routing (default)";
  // Slowest attention instance's summed KV length / mean, from the KV-length spread context_cv.
  j["context_length_imbalance"] = e.context_length_imbalance;
  j["context_cv"] = s.workload.context_cv;
  j["transport"] = {{"name", transport_name(e.transport)},
                    {"transfer_overhead_us", e.transfer_overhead_s * 1e6},
                    {"contention", e.transport_contention}};
  // The operator-roofline fractions each side was priced with, and where they came from.
  j["roofline_efficiency"] = {{"attention_gpu", roofline_json(s.efficiencies, *d.attention.hw)},
                              {"ffn_gpu", roofline_json(s.efficiencies, d.ffn.hw ? *d.ffn.hw : *d.attention.hw)}};
  j["breakdown"] = {
      {"attention_ms", e.attention_s * 1e3},
      {"ffn_ms", e.ffn_s * 1e3},
      {"dispatch_ms", e.dispatch_s * 1e3},
      {"combine_ms", e.combine_s * 1e3},
      {"attention_before_core_ms", e.attention_stages.before_core_s * 1e3},
      {"attention_after_core_ms", e.attention_stages.after_core_s * 1e3},
      {"shared_experts_ms", e.attention_stages.shared_s * 1e3},
      {"attention_tp_comm_ms", e.attention_tp_comm_s * 1e3},
      {"expert_tp_comm_ms", e.expert_tp_comm_s * 1e3},
      {"slot_ms", e.slot_s * 1e3},
      {"moe_layers_ms", e.moe_layers_s * 1e3},
      {"dense_layers_ms", e.dense_layers_s * 1e3},
      {"lm_head_ms", e.lm_head_s * 1e3},
      {"mtp_draft_ms", e.mtp_s * 1e3},
      {"iteration_gap_ms", e.gap_s * 1e3},
      {"attention_dominant_op", e.attention_dominant_op},
      {"attention_bound", bound_name(e.attention_dominant_bound)},
      {"ffn_dominant_op", e.ffn_dominant_op},
      {"ffn_bound", bound_name(e.ffn_dominant_bound)},
      {"tokens_per_ffn_gpu", e.tokens_per_ffn_gpu},
      {"scale_out_bytes_per_gpu", e.scale_out_bytes_per_gpu},
      {"ffn_ofu", e.ffn_ofu},
      {"ffn_occupancy", e.ffn_occupancy},
      {"ffn_hfu", e.ffn_hfu},
      {"attention_bubble_fraction", e.attention_bubble_fraction},
      {"ffn_bubble_fraction", e.ffn_bubble_fraction},
      {"bubble_free", e.bubble_free},
      {"memory", {{"attention_gpu", memory_json(e.attention_memory)}, {"ffn_gpu", memory_json(e.ffn_memory)}}}};
  add_op_breakdown(s, e, j["breakdown"]);
  return j;
}

namespace {
const char* roofline_origin(const Efficiencies& eff, const Accelerator& hw, unsigned bit) {
  if (roofline_fields_from_profile(eff, hw) & bit) return "measured";
  return eff.given_roofline & bit ? "calibrated" : "default";
}
}  // namespace

json roofline_json(const Efficiencies& eff, const Accelerator& hw) {
  const RooflineFractions f = roofline_fractions(eff, hw);
  json j = {{"hardware", hw.id}};
  for (const auto& k : kRooflineFields)
    j[k.key] = {{"value", f.*(k.value)}, {"source", roofline_origin(eff, hw, k.bit)}};
  j["profile"] = roofline_fields_from_profile(eff, hw) ? json(hw.roofline_profile->source) : json();
  if (eff.attention_efficiency_scale != 1.0) j["attention_efficiency_scale"] = eff.attention_efficiency_scale;
  return j;
}

std::string roofline_values_text(const Efficiencies& eff, const Accelerator& hw) {
  const RooflineFractions f = roofline_fractions(eff, hw);
  return fmt::format("GEMM {:.3f} compute / {:.3f} memory, attention {:.3f} / {:.3f}", f.gemm_compute, f.gemm_memory,
                     f.attention_compute, f.attention_memory);
}

std::string roofline_text(const Efficiencies& eff, const Accelerator& hw) {
  std::string origin;
  for (const char* o : {"measured", "calibrated", "default"}) {
    std::string keys;
    int n = 0;
    int fields = 0;
    for (const auto& k : kRooflineFields) {
      // The KV re-read prices only kernels that split a KV-head group (Blackwell): elsewhere unused.
      if (k.bit == kAttentionKvReread && !hw.attention_tiles_by_rows) continue;
      ++fields;
      if (std::string_view(roofline_origin(eff, hw, k.bit)) == o) keys += (n++ ? ", " : "") + std::string(k.key);
    }
    if (n == 0) continue;
    std::string what = std::string(o) == "measured" ? "measured (" + hw.roofline_profile->source + ")" : o;
    origin += (origin.empty() ? "" : "; ") + what + (n == fields ? "" : ": " + keys);
  }
  return roofline_values_text(eff, hw) + ": " + origin;
}

json meta_json(const std::vector<std::string>& argv) {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"tool", "ridgeline"}, {"version", kVersion}, {"argv", argv}, {"timestamp", buf}};
}

std::string Table::render() const {
  std::vector<size_t> w(header.size(), 0);
  auto fit = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  };
  fit(header);
  if (!units.empty()) fit(units);
  for (const auto& r : rows) fit(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string c = i < r.size() ? r[i] : "";
      out += (i == 0 ? fmt::format("  {:<{}}", c, w[i]) : fmt::format("  {:>{}}", c, w[i]));
    }
    out += "\n";
  };
  line(header);
  if (!units.empty()) line(units);
  size_t total = 0;
  for (auto x : w) total += x + 2;
  out += "  " + std::string(total - 2, '-') + "\n";
  for (const auto& r : rows) line(r);
  return out;
}

std::string csv_number(double v) {
  return std::isfinite(v) ? fmt::format("{}", v) : std::string();
}

namespace {
void flatten_into(const json& j, const std::string& prefix, json& flat) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "_" + it.key();
    if (it->is_object())
      flatten_into(*it, key, flat);
    else if (!it->is_array())
      flat[key] = *it;
  }
}

std::string csv_cell(const json& v) {
  std::string c;
  if (v.is_null()) return c;
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number()) return csv_number(v.get<double>());
  c = v.is_string() ? v.get<std::string>() : v.dump();
  if (c.find_first_of(",\"\n") == std::string::npos) return c;
  std::string q = "\"";
  for (char ch : c) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}
}  // namespace

std::string csv_of_rows(const json& rows, std::vector<std::string> columns) {
  std::vector<json> flat;
  for (const auto& r : rows) {
    json f = json::object();
    flatten_into(r, "", f);
    flat.push_back(std::move(f));
  }
  if (columns.empty() && !flat.empty())
    for (auto it = flat.front().begin(); it != flat.front().end(); ++it) columns.push_back(it.key());
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + columns[i];
  out += "\n";
  for (const auto& f : flat) {
    for (size_t i = 0; i < columns.size(); ++i) {
      const auto it = f.find(columns[i]);
      out += (i ? "," : "") + (it == f.end() ? std::string() : csv_cell(*it));
    }
    out += "\n";
  }
  return out;
}

std::string Table::csv() const {
  std::string out;
  auto cell = [](const std::string& c) {
    if (c.find_first_of(",\"\n") == std::string::npos) return c;
    std::string q = "\"";
    for (char ch : c) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) out += (i ? "," : "") + cell(r[i]);
    out += "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

}  // namespace ridgeline::report
