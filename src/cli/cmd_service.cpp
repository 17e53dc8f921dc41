// SPDX-License-Identifier: Apache-2.0
// `ridgeline plan --isl N --osl N --ttft T --slo T (--rate R | --gpus N)`: prefill and decode
// pools, the KV-cache transfer between them, TTFT with queueing, and the co-located baseline.
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "checks.hpp"
#include "io/files.hpp"
#include "present/emit_service.hpp"
#include "present/service.hpp"
#include "report/report.hpp"
#include "ridgeline/service.hpp"
#include "service_cli.hpp"

namespace ridgeline::cli {

namespace {

std::string prefill_label(const PrefillDeployment& d) {
  if (d.parallel == PrefillParallel::ep)
    return fmt::format("EP {} x {} m={} chunk {:.0f}", d.gpus, d.hw->id, d.micro_batches, d.chunk_tokens);
  return fmt::format("TP {} x {} chunk {:.0f}", d.gpus, d.hw->id, d.chunk_tokens);
}

std::string ms(double s) {
  return std::isfinite(s) ? fmt::format("{:.1f} ms", s * 1e3) : std::string("inf");
}

/// Why no co-located plan made it, in words (smallest TPOT, or prefill too slow for TTFT).
std::string colocated_miss_text(const ColocatedMiss& m, double tpot_slo_s) {
  if (!std::isfinite(m.min_tpot_s)) return "no batch could be priced";
  if (m.min_tpot_s > tpot_slo_s)
    return fmt::format("its smallest TPOT is {} (prompt pieces on the busiest attention rank)", ms(m.min_tpot_s));
  return fmt::format("pieces small enough for the TPOT take >= {} to prefill a prompt", ms(m.min_prefill_s));
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
                  "script), k8s (a LeaderWorkerSet per role), all written for SGLang 0.5.2; vllm, vllm-slurm, "
                  "vllm-k8s (the same three with `vllm serve`, written for vLLM 0.11.0, KV transfer by its "
                  "NixlConnector)")
      ->check(CLI::IsMember(present::kEmitKinds));
  cmd->add_option("--emit-dir", f.emit_dir, "service mode: write the --emit files into this folder (else stdout)");
  cmd->add_option("--disaggregation-backend", f.disaggregation_backend,
                  "service mode: KV transfer backend in emitted files: mooncake | nixl (default: mooncake for "
                  "SGLang, nixl for vLLM; vLLM 0.11.0 has no Mooncake connector)")
      ->check(CLI::IsMember(present::kDisaggregationBackends));
}

void run_service_plan(const ServiceFlags& sf, const SearchFlags& flags_in, Context& ctx, bool json, bool explain,
                      int top) {
  if (!sf.emit_dir.empty() && sf.emit.empty()) throw FlagError("--emit-dir needs --emit. Fix: add --emit sglang.");
  if (!sf.emit_dir.empty()) ctx.check_output(sf.emit_dir + "/x", "--emit-dir");
  if (!sf.emit.empty()) present::check_emit_kind(sf.emit, sf.disaggregation_backend);  // before the search
  present::ServiceRequest req = sf;
  req.flags = flags_in;
  const present::ServiceRun run = present::run_service(req, ctx.db());
  const SearchSetup& s = run.setup;
  const ServiceWorkload& sw = run.workload;
  const ServiceResult& r = run.result;
  const int gpus = run.gpus;
  const double wall_s = run.wall_s;
  const char* queue_model = present::kServiceQueueModel;
  const ColocatedPlan* co = r.colocated ? &*r.colocated : nullptr;
  const ServicePlan* best = r.best ? &*r.best : nullptr;

  std::vector<present::EmittedFile> emitted;
  if (!sf.emit.empty() && best) emitted = present::emit_service(sf.emit, *best, *s.model, sf.disaggregation_backend);
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
    std::vector<std::string> written;
    for (const auto& f : emitted) written.push_back(sf.emit_dir + "/" + f.name);
    nlohmann::json j = present::service_run_json(run, top, written);
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
        co ? fmt::format("{:.0f}-token pieces, {:.0f} prompt tokens/GPU per step", co->chunk_tokens,
                         co->prefill_tokens_per_step_per_gpu)
           : none + (best ? " (see winner line)" : ""));
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
    else if (best && !co)
      fmt::print("winner: disaggregated; no co-located plan meets TPOT {} and TTFT {}: {}\n", ms(s.workload.tpot_slo_s),
                 ms(sw.ttft_slo_s), colocated_miss_text(r.colocated_miss, s.workload.tpot_slo_s));
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
