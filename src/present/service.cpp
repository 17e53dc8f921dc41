// SPDX-License-Identifier: Apache-2.0
#include "present/service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "io/efficiency_reader.hpp"
#include "present/checks.hpp"

namespace ridgeline::present {

namespace {

// Every decode instance size is a decode search of its own: bound the work.
constexpr int kMaxServiceGpus = 8192;

double parse_flag_quantity(const std::string& text, Dimension dim, const char* flag, double lo, double hi,
                           const char* example) {
  double v = 0;
  try {
    v = io::parse_quantity_text(text, dim);
  } catch (const Error& e) {
    throw FlagError(
        fmt::format("{} \"{}\": {}. Fix: give {}, e.g. {}.", flag, text, e.what(), dimension_name(dim), example));
  }
  if (!std::isfinite(v) || v < lo || v > hi)
    throw FlagError(fmt::format("{} \"{}\": out of range [{:g}, {:g}]. Fix: e.g. {}.", flag, text, lo, hi, example));
  return v;
}

std::vector<const Accelerator*> lookup(const std::vector<std::string>& ids, const io::Database& db) {
  std::vector<const Accelerator*> out;
  for (const auto& id : ids) {
    const Accelerator* hw = &db.hardware(id);
    if (std::find(out.begin(), out.end(), hw) == out.end()) out.push_back(hw);
  }
  return out;
}

nlohmann::json prefill_json(const PrefillChoice& pc) {
  const PrefillDeployment& d = pc.deployment;
  const PrefillEvaluation& e = pc.evaluation;
  const PrefillPass& lp = e.last_pass;
  return {{"parallel", prefill_parallel_name(d.parallel)},
          {"hardware", d.hw->id},
          {"gpus_per_instance", d.gpus},
          {"micro_batches", d.parallel == PrefillParallel::ep ? d.micro_batches : 1},
          {"chunk_tokens", d.chunk_tokens},
          {"redundant_experts", d.parallel == PrefillParallel::ep ? d.redundant_experts : 0},
          {"transport", transport_name(e.transport)},
          {"passes_per_request", e.passes_per_request},
          {"requests_per_pass_per_rank", e.requests_per_pass},
          {"request_slots_per_instance", e.request_slots},
          {"latency_ms", e.latency_s * 1e3},
          {"tokens_per_s_per_gpu", e.tokens_per_s_per_gpu},
          {"requests_per_s_per_instance", e.requests_per_s},
          {"hfu", e.hfu},
          {"expert_load_imbalance", e.expert_load_imbalance},
          {"binding", binding_name(e.binding)},
          {"last_pass",
           {{"attention_us", lp.attention_s * 1e6},
            {"ffn_us", lp.ffn_s * 1e6},
            {"dispatch_us", lp.dispatch_s * 1e6},
            {"combine_us", lp.combine_s * 1e6},
            {"all_reduce_us", lp.all_reduce_s * 1e6},
            {"slot_us", lp.slot_s * 1e6},
            {"time_ms", lp.time_s * 1e3}}},
          {"memory",
           {{"weights_gb", e.memory.weights_bytes / 1e9},
            {"kv_gb", e.memory.kv_bytes / 1e9},
            {"capacity_gb", e.memory.capacity_bytes / 1e9}}}};
}

nlohmann::json service_json(const SearchSetup& s, const ServicePlan& sp) {
  nlohmann::json j;
  j["prefill"] = prefill_json(sp.prefill);
  j["prefill"]["instances"] = sp.prefill_instances;
  j["prefill"]["gpus"] = sp.prefill_gpus;
  j["prefill"]["utilization"] = sp.prefill_utilization;
  j["decode"] = candidate_json(s, sp.decode);
  j["decode"]["instances"] = sp.decode_instances;
  j["decode"]["gpus"] = sp.decode_gpus;
  j["decode"]["utilization"] = sp.decode_utilization;
  j["kv_transfer"] = {{"bytes_per_request", sp.kv.bytes_per_request},
                      {"ms", sp.kv.seconds * 1e3},
                      {"transport", transport_name(sp.kv.transport)},
                      {"link_gb_per_s", sp.kv.link_bytes_per_s / 1e9},
                      {"sending_gpus", sp.kv.sending_gpus},
                      {"prefill_nic_utilization", sp.prefill_nic_utilization},
                      {"decode_nic_utilization", sp.decode_nic_utilization}};
  j["rate_per_s"] = sp.rate_per_s;
  j["ttft_ms"] = sp.ttft_s * 1e3;
  j["ttft_breakdown_ms"] = {
      {"queue_wait", sp.queue_wait_s * 1e3}, {"prefill", sp.prefill_s * 1e3}, {"kv_transfer", sp.kv.seconds * 1e3}};
  j["tpot_ms"] = sp.tpot_s * 1e3;
  j["gpus"] = {
      {"prefill", sp.prefill_gpus}, {"decode", sp.decode_gpus}, {"idle", sp.idle_gpus}, {"total", sp.total_gpus}};
  j["output_tokens_per_s"] = sp.output_tokens_per_s;
  j["output_tokens_per_s_per_gpu"] = sp.output_tokens_per_s_per_gpu;
  j["input_tokens_per_s_per_gpu"] = sp.input_tokens_per_s_per_gpu;
  j["usd_per_hour"] = sp.usd_per_hour;
  j["watts"] = sp.watts;
  j["score"] = sp.score;
  return j;
}

nlohmann::json colocated_json(const ColocatedPlan& c) {
  return {{"plan", plan_label(c.deployment)},
          {"hardware", c.deployment.attention.hw->id},
          {"gpus_per_instance", c.deployment.attention.gpus},
          {"instances", c.instances},
          {"batch_per_gpu", c.deployment.batch_per_gpu},
          {"chunk_tokens", c.chunk_tokens},
          {"prompt_pieces_per_step", c.pieces_per_step},
          {"prefill_tokens_per_step_per_gpu", c.prefill_tokens_per_step_per_gpu},
          {"decode_step_ms", c.decode_step_s * 1e3},
          {"prefill_chunk_ms", c.prefill_chunk_s * 1e3},
          {"interference", c.interference},
          {"tpot_ms", c.tpot_s * 1e3},
          {"rate_per_s", c.rate_per_s},
          {"ttft_ms", c.ttft_s * 1e3},
          {"ttft_breakdown_ms", {{"queue_wait", c.queue_wait_s * 1e3}, {"prefill", c.prefill_s * 1e3}}},
          {"gpus", {{"total", c.total_gpus}, {"idle", c.idle_gpus}}},
          {"output_tokens_per_s_per_gpu", c.output_tokens_per_s_per_gpu},
          {"input_tokens_per_s_per_gpu", c.input_tokens_per_s_per_gpu},
          {"usd_per_hour", c.usd_per_hour},
          {"watts", c.watts},
          {"score", c.score}};
}

}  // namespace

const char* const kServiceQueueModel =
    "M/D/c (Poisson arrivals, deterministic prefill time; Allen-Cunneen: half the M/M/c wait); c = concurrent "
    "prompt slots of the prefill pool";

void check_service_request(const ServiceRequest& r) {
  check_search_flags(r.flags, true);
  if (r.isl.empty()) throw FlagError("--isl is required for a service plan. Fix: e.g. --isl 4096.");
  require_ok("--rate", finite_range_problem(fmt::format("{}", r.rate), 0, 1e7));
  for (const auto& p : r.prefill_parallel)
    if (p != "ep" && p != "tp") throw FlagError(fmt::format("--prefill-parallel: {} not in {{ep,tp}}", p));
}

ServiceRun run_service(const ServiceRequest& req, const io::Database& db) {
  const SearchFlags& flags_in = req.flags;
  ServiceRun run;
  ServiceWorkload& sw = run.workload;
  sw.input_tokens = std::ceil(parse_flag_quantity(req.isl, Dimension::count, "--isl", 1, 1e7, "--isl 4096"));
  sw.output_tokens = std::ceil(parse_flag_quantity(req.osl, Dimension::count, "--osl", 1, 1e7, "--osl 1024"));
  sw.ttft_slo_s = parse_flag_quantity(req.ttft, Dimension::seconds, "--ttft", 1e-3, 3600, "--ttft \"2 s\"");
  const int gpus = flags_in.gpus;
  run.gpus = gpus;
  run.rate = req.rate;
  if ((req.rate > 0) == (gpus > 0))
    throw FlagError(
        "service mode needs exactly one of --rate R (requests/s) and --gpus N. Fix: e.g. --gpus 128 or --rate 20.");
  if ((gpus > 0 ? gpus : flags_in.max_gpus) > kMaxServiceGpus)
    throw FlagError(fmt::format("service mode sizes pools of up to {} GPUs. Fix: pass --gpus or --max-gpus <= {}.",
                                kMaxServiceGpus, kMaxServiceGpus));
  std::vector<double> chunks;
  for (const auto& c : req.prefill_chunks)
    chunks.push_back(std::floor(parse_flag_quantity(c, Dimension::count, "--prefill-chunks", 64, 1e7, "16384")));
  const auto tk = io::transport_of(req.kv_transport);
  if (!tk)
    throw FlagError(fmt::format(
        "--kv-transport \"{}\": unknown transport. Fix: use cpu_rdma, nccl, deepep_normal or deepep_low_latency.",
        req.kv_transport));

  SearchFlags flags = flags_in;
  flags.gpus = 0;  // the decode search sizes each pool itself
  if (!req.decode_hardware.empty()) flags.hardware = req.decode_hardware;
  run.setup = resolve_search(flags, db);
  SearchSetup& s = run.setup;
  sw.tpot_slo_s = s.workload.tpot_slo_s;
  s.workload.context_tokens = sw.decode_context_tokens();  // what the decode plans are evaluated at
  if (!service_objective_supported(s.space.objective))
    throw FlagError("--objective hfu: a service has no single HFU. Fix: use gpu, cost or power.");
  ServiceSpace sp;
  sp.prefill_hardware = lookup(req.prefill_hardware.empty() ? flags_in.hardware : req.prefill_hardware, db);
  for (const Accelerator* hw : sp.prefill_hardware)
    if (!hw->supports(s.precision.weights) || !hw->supports(s.precision.attention_math))
      throw MissingDataError(
          fmt::format("--prefill-hardware {}: no {} peak FLOP/s. Fix: pass --weights bf16 or drop {}.", hw->id,
                      dtype_name(s.precision.weights), hw->id));
  sp.prefill_parallel.clear();
  for (const auto& p : req.prefill_parallel)
    sp.prefill_parallel.push_back(p == "ep" ? PrefillParallel::ep : PrefillParallel::tp);
  sp.chunk_tokens = chunks;
  sp.decode = s.space;
  sp.total_gpus = gpus;
  sp.rate_per_s = req.rate;
  sp.max_gpus = flags_in.max_gpus;
  sp.objective = s.space.objective;
  sp.kv_transport = *tk;
  sp.threads = flags_in.threads;

  const auto t0 = std::chrono::steady_clock::now();
  run.result = plan_service(*s.model, s.precision, s.workload, sw, sp, s.efficiencies);
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}

nlohmann::json service_run_json(const ServiceRun& run, int top, const std::vector<std::string>& emitted) {
  const SearchSetup& s = run.setup;
  const ServiceWorkload& sw = run.workload;
  const ServiceResult& r = run.result;
  const ColocatedPlan* co = r.colocated ? &*r.colocated : nullptr;
  const ServicePlan* best = r.best ? &*r.best : nullptr;
  nlohmann::json j;
  j["mode"] = "service";
  j["model"] = s.model->id;
  j["objective"] = std::string("output ") + objective_name(s.space.objective);
  j["workload"] = {{"isl", sw.input_tokens},
                   {"osl", sw.output_tokens},
                   {"ttft_slo_ms", sw.ttft_slo_s * 1e3},
                   {"tpot_slo_ms", sw.tpot_slo_s * 1e3},
                   {"decode_context_tokens", r.decode_context_tokens}};
  j["sizing"] = run.gpus > 0 ? nlohmann::json{{"gpus", run.gpus}} : nlohmann::json{{"rate_per_s", run.rate}};
  j["queue_model"] = kServiceQueueModel;
  j["disaggregated"] = best ? service_json(s, *best) : nlohmann::json();
  j["colocated"] = co ? colocated_json(*co) : nlohmann::json();
  // Why there may be no co-located baseline: at batch 2, its smallest TPOT and the shortest prompt
  // prefill among piece sizes that meet the TPOT (null: none).
  auto finite_ms = [](double v) { return std::isfinite(v) ? nlohmann::json(v * 1e3) : nlohmann::json(); };
  j["colocated_miss"] = {{"min_tpot_ms", finite_ms(r.colocated_miss.min_tpot_s)},
                         {"min_prompt_prefill_ms", finite_ms(r.colocated_miss.min_prefill_s)}};
  j["ratio"] = best && co && co->score > 0 ? nlohmann::json(best->score / co->score) : nlohmann::json();
  j["ratio_is"] = "disaggregated score / co-located score";
  nlohmann::json tj = nlohmann::json::array();
  for (size_t i = 0; i < r.top.size() && int(i) < top; ++i) tj.push_back(service_json(s, r.top[i]));
  j["top"] = tj;
  const auto& rj = r.rejected;
  j["rejected"] = {{"prefill_weights_exceed_hbm", rj.prefill_weights_exceed_hbm},
                   {"prefill_kv_exceeds_hbm", rj.prefill_kv_exceeds_hbm},
                   {"prefill_bad_shape", rj.prefill_bad_shape},
                   {"prefill_latency_over_ttft", rj.prefill_latency_over_ttft},
                   {"decode_sizes_infeasible", rj.decode_sizes_infeasible},
                   {"pairs_over_budget", rj.pairs_over_budget},
                   {"pairs_no_rate", rj.pairs_no_rate}};
  j["search"] = {{"prefill_shapes", r.prefill_shapes},
                 {"decode_sizes", r.decode_sizes},
                 {"pairs", r.pairs},
                 {"decode_evaluations", r.decode_evaluations},
                 {"wall_s", run.wall_s}};
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& in : s.inputs)
    if (in.name != "context") inputs.push_back({{"name", in.name}, {"value", in.value}, {"source", in.source}});
  j["inputs"] = inputs;
  j["emitted"] = emitted;
  return j;
}

}  // namespace ridgeline::present
