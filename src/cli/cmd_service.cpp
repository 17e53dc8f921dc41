// SPDX-License-Identifier: Apache-2.0
// `ridgeline plan --isl N --osl N --ttft T --slo T (--rate R | --gpus N)`: prefill and decode
// pools, the KV-cache transfer between them, TTFT with queueing, and the co-located baseline.
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "checks.hpp"
#include "emit_service.hpp"
#include "io/efficiency_reader.hpp"
#include "io/files.hpp"
#include "report/report.hpp"
#include "ridgeline/service.hpp"
#include "service_cli.hpp"

namespace ridgeline::cli {

namespace {

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

std::string prefill_label(const PrefillDeployment& d) {
  if (d.parallel == PrefillParallel::ep)
    return fmt::format("EP {} x {} m={} chunk {:.0f}", d.gpus, d.hw->id, d.micro_batches, d.chunk_tokens);
  return fmt::format("TP {} x {} chunk {:.0f}", d.gpus, d.hw->id, d.chunk_tokens);
}

std::string ms(double s) {
  return std::isfinite(s) ? fmt::format("{:.1f} ms", s * 1e3) : std::string("inf");
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

void add_service_flags(CLI::App* cmd, ServiceFlags& f) {
  cmd->add_option("--isl", f.isl,
                  "service mode: size prefill + decode pools for prompts of this many tokens (with --osl, --ttft, "
                  "--slo and --rate or --gpus; docs/service.md)");
  cmd->add_option("--osl", f.osl, "service mode: output tokens per request")->capture_default_str();
  cmd->add_option("--ttft", f.ttft, "service mode: time-to-first-token target incl. queueing, e.g. \"2 s\"")
      ->capture_default_str();
  cmd->add_option("--rate", f.rate, "service mode: arrival rate in requests/s to serve (else --gpus N)")
      ->check(FiniteRange(0, 1e7));
  cmd->add_option("--prefill-hardware", f.prefill_hardware,
                  "service mode: prefill hardware id(s), comma separated (default: --hardware)")
      ->delimiter(',');
  cmd->add_option("--decode-hardware", f.decode_hardware,
                  "service mode: decode EP hardware id(s), comma separated (default: --hardware)")
      ->delimiter(',');
  cmd->add_option("--prefill-parallel", f.prefill_parallel, "service mode: prefill parallelism to try: ep, tp")
      ->delimiter(',')
      ->check(CLI::IsMember({"ep", "tp"}))
      ->capture_default_str();
  cmd->add_option("--prefill-chunks", f.prefill_chunks,
                  "service mode: prefill tokens per forward pass per attention rank to try, comma separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--kv-transport", f.kv_transport,
                  "service mode: KV-cache transfer transport (cpu_rdma: Mooncake / NIXL; nccl; ...)")
      ->capture_default_str();
  cmd->add_option("--emit", f.emit,
                  "service mode: launch material for the plan: sglang (a launch script per role), slurm (a batch "
                  "script), k8s (a LeaderWorkerSet per role); written for SGLang 0.5.2. vllm: not supported")
      ->check(CLI::IsMember({"sglang", "slurm", "k8s", "vllm"}));
  cmd->add_option("--emit-dir", f.emit_dir, "service mode: write the --emit files into this folder (else stdout)");
  cmd->add_option("--disaggregation-backend", f.disaggregation_backend,
                  "service mode: SGLang KV transfer backend in emitted files")
      ->check(CLI::IsMember({"mooncake", "nixl"}))
      ->capture_default_str();
}

void run_service_plan(const ServiceFlags& sf, const SearchFlags& flags_in, Context& ctx, bool json, bool explain,
                      int top) {
  ServiceWorkload sw;
  sw.input_tokens = std::ceil(parse_flag_quantity(sf.isl, Dimension::count, "--isl", 1, 1e7, "--isl 4096"));
  sw.output_tokens = std::ceil(parse_flag_quantity(sf.osl, Dimension::count, "--osl", 1, 1e7, "--osl 1024"));
  sw.ttft_slo_s = parse_flag_quantity(sf.ttft, Dimension::seconds, "--ttft", 1e-3, 3600, "--ttft \"2 s\"");
  const int gpus = flags_in.gpus;
  if ((sf.rate > 0) == (gpus > 0))
    throw FlagError(
        "service mode needs exactly one of --rate R (requests/s) and --gpus N. Fix: e.g. --gpus 128 or --rate 20.");
  // Every decode instance size is a decode search of its own: bound the work.
  if ((gpus > 0 ? gpus : flags_in.max_gpus) > kMaxServiceGpus)
    throw FlagError(fmt::format("service mode sizes pools of up to {} GPUs. Fix: pass --gpus or --max-gpus <= {}.",
                                kMaxServiceGpus, kMaxServiceGpus));
  std::vector<double> chunks;
  for (const auto& c : sf.prefill_chunks)
    chunks.push_back(std::floor(parse_flag_quantity(c, Dimension::count, "--prefill-chunks", 64, 1e7, "16384")));
  const auto tk = io::transport_of(sf.kv_transport);
  if (!tk)
    throw FlagError(fmt::format(
        "--kv-transport \"{}\": unknown transport. Fix: use cpu_rdma, nccl, deepep_normal or deepep_low_latency.",
        sf.kv_transport));

  if (sf.emit == "vllm")
    throw FlagError(
        "--emit vllm: not supported yet (no vLLM argument list is pinned and checked in this version). Fix: use "
        "--emit sglang, slurm or k8s.");
  if (!sf.emit_dir.empty() && sf.emit.empty()) throw FlagError("--emit-dir needs --emit. Fix: add --emit sglang.");
  if (!sf.emit_dir.empty()) ctx.check_output(sf.emit_dir + "/x", "--emit-dir");
  SearchFlags flags = flags_in;
  flags.gpus = 0;  // the decode search sizes each pool itself
  if (!sf.decode_hardware.empty()) flags.hardware = sf.decode_hardware;
  SearchSetup s = resolve_search(flags, ctx.db());
  sw.tpot_slo_s = s.workload.tpot_slo_s;
  s.workload.context_tokens = sw.decode_context_tokens();  // what the decode plans are evaluated at
  if (!service_objective_supported(s.space.objective))
    throw FlagError("--objective hfu: a service has no single HFU. Fix: use gpu, cost or power.");
  ServiceSpace sp;
  sp.prefill_hardware = lookup(sf.prefill_hardware.empty() ? flags_in.hardware : sf.prefill_hardware, ctx.db());
  for (const Accelerator* hw : sp.prefill_hardware)
    if (!hw->supports(s.precision.weights) || !hw->supports(s.precision.attention_math))
      throw MissingDataError(
          fmt::format("--prefill-hardware {}: no {} peak FLOP/s. Fix: pass --weights bf16 or drop {}.", hw->id,
                      dtype_name(s.precision.weights), hw->id));
  sp.prefill_parallel.clear();
  for (const auto& p : sf.prefill_parallel)
    sp.prefill_parallel.push_back(p == "ep" ? PrefillParallel::ep : PrefillParallel::tp);
  sp.chunk_tokens = chunks;
  sp.decode = s.space;
  sp.total_gpus = gpus;
  sp.rate_per_s = sf.rate;
  sp.max_gpus = flags_in.max_gpus;
  sp.objective = s.space.objective;
  sp.kv_transport = *tk;
  sp.threads = flags_in.threads;

  const auto t0 = std::chrono::steady_clock::now();
  const ServiceResult r = plan_service(*s.model, s.precision, s.workload, sw, sp, s.efficiencies);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const char* queue_model =
      "M/D/c (Poisson arrivals, deterministic prefill time; Allen-Cunneen: half the M/M/c wait); c = concurrent "
      "prompt slots of the prefill pool";
  const ColocatedPlan* co = r.colocated ? &*r.colocated : nullptr;
  const ServicePlan* best = r.best ? &*r.best : nullptr;

  std::vector<EmittedFile> emitted;
  if (!sf.emit.empty() && best) emitted = emit_service(sf.emit, *best, *s.model, sf.disaggregation_backend);
  if (!sf.emit_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(sf.emit_dir, ec);
    if (ec)
      throw ConfigError(fmt::format("--emit-dir {}: {}. Fix: give a folder you can write.", sf.emit_dir, ec.message()));
    for (const auto& f : emitted) io::write_file_atomic(sf.emit_dir + "/" + f.name, f.text, "--emit-dir");
  } else if (!emitted.empty()) {
    for (const auto& f : emitted) fmt::print("# ==> {} <==\n{}\n", f.name, f.text);
    return;
  }
  if (json) {
    nlohmann::json j;
    j["mode"] = "service";
    j["model"] = s.model->id;
    j["objective"] = std::string("output ") + objective_name(s.space.objective);
    j["workload"] = {{"isl", sw.input_tokens},
                     {"osl", sw.output_tokens},
                     {"ttft_slo_ms", sw.ttft_slo_s * 1e3},
                     {"tpot_slo_ms", sw.tpot_slo_s * 1e3},
                     {"decode_context_tokens", r.decode_context_tokens}};
    j["sizing"] = gpus > 0 ? nlohmann::json{{"gpus", gpus}} : nlohmann::json{{"rate_per_s", sf.rate}};
    j["queue_model"] = queue_model;
    j["disaggregated"] = best ? service_json(s, *best) : nlohmann::json();
    j["colocated"] = co ? colocated_json(*co) : nlohmann::json();
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
                   {"wall_s", wall_s}};
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& in : s.inputs)
      if (in.name != "context") inputs.push_back({{"name", in.name}, {"value", in.value}, {"source", in.source}});
    j["inputs"] = inputs;
    nlohmann::json ej = nlohmann::json::array();
    for (const auto& f : emitted) ej.push_back(sf.emit_dir + "/" + f.name);
    j["emitted"] = ej;
    j["meta"] = report::meta_json(ctx.argv);
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("Ridgeline {} — service plan for {}: isl {:.0f}, osl {:.0f}, TTFT <= {}, TPOT <= {}, {}\n",
               report::kVersion, s.model->name, sw.input_tokens, sw.output_tokens, ms(sw.ttft_slo_s),
               ms(s.workload.tpot_slo_s),
               gpus > 0 ? fmt::format("{} GPUs", gpus) : fmt::format("{:g} requests/s", sf.rate));
    fmt::print("  searched {} prefill shapes, {} decode sizes, {} pairings in {:.2f} s; objective: output {}\n",
               r.prefill_shapes, r.decode_sizes, r.pairs, wall_s, objective_name(s.space.objective));
    fmt::print("  decode context: {:.0f} tokens (isl + osl / 2); queueing: {}\n\n", r.decode_context_tokens,
               queue_model);
    report::Table t;
    t.header = {"", "disaggregated (prefill | decode)", "co-located (chunked prefill)"};
    auto row = [&](const char* name, const std::string& a, const std::string& b) { t.rows.push_back({name, a, b}); };
    const std::string none = "no feasible plan";
    row("prefill pool",
        best ? fmt::format("{} x [{}] = {} GPUs", best->prefill_instances, prefill_label(best->prefill.deployment),
                           best->prefill_gpus)
             : none,
        co ? fmt::format("{:.0f} prompt tokens/GPU mixed into each step", co->prefill_tokens_per_step_per_gpu) : none);
    row("decode pool",
        best ? fmt::format("{} x [{}] = {} GPUs", best->decode_instances, plan_label(best->decode.deployment),
                           best->decode_gpus)
             : none,
        co ? fmt::format("{} x [{}] = {} GPUs", co->instances, plan_label(co->deployment),
                         co->deployment.attention.gpus * co->instances)
           : none);
    row("split (prefill / decode / idle)",
        best ? fmt::format("{} / {} / {}", best->prefill_gpus, best->decode_gpus, best->idle_gpus) : none,
        co ? fmt::format("shared / shared / {}", co->idle_gpus) : none);
    row("requests/s", best ? fmt::format("{:.2f}", best->rate_per_s) : none,
        co ? fmt::format("{:.2f}", co->rate_per_s) : none);
    row("TTFT", best ? ms(best->ttft_s) : none, co ? ms(co->ttft_s) : none);
    row("  queue wait / prefill / KV transfer",
        best ? fmt::format("{} / {} / {}", ms(best->queue_wait_s), ms(best->prefill_s), ms(best->kv.seconds)) : none,
        co ? fmt::format("{} / {} / -", ms(co->queue_wait_s), ms(co->prefill_s)) : none);
    row("TPOT", best ? ms(best->tpot_s) : none, co ? ms(co->tpot_s) : none);
    row("decode step / prefill chunk", best ? std::string("separate pools") : none,
        co ? fmt::format("{} / {} (interference {:.0f} %)", ms(co->decode_step_s), ms(co->prefill_chunk_s),
                         co->interference * 100)
           : none);
    row("output tokens/s per GPU", best ? fmt::format("{:.1f}", best->output_tokens_per_s_per_gpu) : none,
        co ? fmt::format("{:.1f}", co->output_tokens_per_s_per_gpu) : none);
    row("input tokens/s per GPU", best ? fmt::format("{:.1f}", best->input_tokens_per_s_per_gpu) : none,
        co ? fmt::format("{:.1f}", co->input_tokens_per_s_per_gpu) : none);
    row("prefill tokens/s per prefill GPU",
        best ? fmt::format("{:.0f}", best->prefill.evaluation.tokens_per_s_per_gpu) : none, "-");
    row("utilization prefill / decode",
        best ? fmt::format("{:.0f} % / {:.0f} %", best->prefill_utilization * 100, best->decode_utilization * 100)
             : none,
        "-");
    row("KV per request / NIC load P, D",
        best ? fmt::format("{:.0f} MB / {:.0f} %, {:.0f} %", best->kv.bytes_per_request / 1e6,
                           best->prefill_nic_utilization * 100, best->decode_nic_utilization * 100)
             : none,
        "-");
    row("$/hour", best ? fmt::format("{:.0f}", best->usd_per_hour) : none,
        co ? fmt::format("{:.0f}", co->usd_per_hour) : none);
    row("score", best ? fmt::format("{:.4g}", best->score) : none, co ? fmt::format("{:.4g}", co->score) : none);
    fmt::print("{}", t.render());
    if (best && co && co->score > 0)
      fmt::print("winner: {}, {:.2f}x the {}'s output {}\n", best->score >= co->score ? "disaggregated" : "co-located",
                 best->score >= co->score ? best->score / co->score : co->score / best->score,
                 best->score >= co->score ? "co-located plan" : "disaggregated plan",
                 objective_name(s.space.objective));
    else if (!best && !co)
      fmt::print("no feasible service plan: see --explain for why\n");
    if (best)
      fmt::print("  prefill binding: {}; decode: {}\n", binding_name(best->prefill.evaluation.binding),
                 report::describe_binding(best->decode.evaluation, best->decode.deployment));
    if (top > 1 && !r.top.empty()) {
      report::Table tt;
      tt.header = {"prefill", "n_P", "decode", "n_D", "GPUs", "req/s", "TTFT", "TPOT", "out tok/s/GPU", "score"};
      for (size_t i = 0; i < r.top.size() && int(i) < top; ++i) {
        const ServicePlan& p = r.top[i];
        tt.rows.push_back({prefill_label(p.prefill.deployment), fmt::format("{}", p.prefill_instances),
                           plan_label(p.decode.deployment), fmt::format("{}", p.decode_instances),
                           fmt::format("{}", p.total_gpus), fmt::format("{:.2f}", p.rate_per_s), ms(p.ttft_s),
                           ms(p.tpot_s), fmt::format("{:.1f}", p.output_tokens_per_s_per_gpu),
                           fmt::format("{:.4g}", p.score)});
      }
      fmt::print("\nTop {} service plans:\n{}", top, tt.render());
    }
    for (const auto& f : emitted) fmt::print("wrote {}/{}\n", sf.emit_dir, f.name);
    if (explain) {
      report::Table e;
      e.header = {"rejected", "count"};
      const auto& rj = r.rejected;
      e.rows = {{"prefill shapes: weights exceed HBM", fmt::format("{}", rj.prefill_weights_exceed_hbm)},
                {"prefill shapes: KV exceeds HBM", fmt::format("{}", rj.prefill_kv_exceeds_hbm)},
                {"prefill shapes: bad shape", fmt::format("{}", rj.prefill_bad_shape)},
                {"prefill shapes: latency alone over TTFT", fmt::format("{}", rj.prefill_latency_over_ttft)},
                {"decode sizes: no plan meets TPOT / memory", fmt::format("{}", rj.decode_sizes_infeasible)},
                {"pairings: pools exceed the GPUs / budget", fmt::format("{}", rj.pairs_over_budget)},
                {"pairings: no rate meets TTFT", fmt::format("{}", rj.pairs_no_rate)}};
      fmt::print("\n{}", e.render());
    }
  }
  if (!best) throw ExitCode{3};
}

}  // namespace ridgeline::cli
