// SPDX-License-Identifier: Apache-2.0
#include "plan_common.hpp"

#include "checks.hpp"

namespace ridgeline::cli {

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
    cmd->add_option("--context,-c", f.context,
                    "mean KV length per sequence in tokens, e.g. 4096 or \"32K\" (K = 1024, M = 1048576; k = 1000)")
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
      ->check(CLI::IsMember({"ep", "afd", "both"}, CLI::ignore_case))
      ->capture_default_str();
  cmd->add_option("--gpus", f.gpus, "plans must use exactly N GPUs (0 = any count up to --max-gpus)")
      ->check(FiniteRange(0, limits::kMaxGpus));
  cmd->add_option("--max-gpus", f.max_gpus, "GPU budget: the most GPUs a plan may use")
      ->check(FiniteRange(1, limits::kMaxGpus))
      ->each([&f](const std::string&) { f.max_gpus_given = true; })
      ->capture_default_str();
  cmd->add_option("--objective", f.objective,
                  "what 'best' means: gpu (tokens/s per GPU), cost (tokens/s per $), watt (per W), hfu")
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
                "AFD: try every attention GPU count instead of the walk that starts at the balance point "
                "(slower; checks the pruning)");
  cmd->add_flag("--no-bound", f.no_bound,
                "AFD: also search the plan families whose score bound (no communication, bubbles or context spread;\n"
                "each side at its best batch) is below the best plans already found (slower; the same plans)");
  cmd->add_option(
      "--calibration", f.calibration,
      "calibration file (ridgeline-calibrate output, a profile in hwdb/calibration/, or efficiencies with a\n"
      "source) applied to every plan; a bare hardware id (h200) loads hwdb/calibration/<id>.json. A file\n"
      "measured on other hardware than the plan's is refused");
  cmd->add_option("--calibration-for", f.calibration_for,
                  "apply the --calibration file to this hardware id although it was measured elsewhere");
  cmd->add_flag("--calibration-any-device", f.calibration_any_device,
                "apply the --calibration file to any hardware (skip the device check)");
  cmd->add_option("--gap", f.gap,
                  "per-step time outside the costed layers: scheduling, sampling, host sync (default 5 ms)");
  cmd->add_option("--mtp-step-gap", f.mtp_step_gap,
                  "extra per-step time when real MTP drafting runs: draft sampling and acceptance (default 5 ms)");
  cmd->add_option("--context-cv", f.context_cv,
                  "spread of KV lengths over the running sequences (coefficient of variation): every MoE layer "
                  "waits for the attention instance whose sequences are longest in sum. Default 0.58 (Azure's "
                  "public conversation trace; its code trace: 0.92); 0 = every sequence at --context tokens "
                  "(a fixed-length benchmark)")
      ->check(FiniteRange(0.0, 10.0));
  cmd->add_option("--routing", f.routing,
                  "expert routing for the load imbalance: uniform (default: computed at each plan's tokens per "
                  "rank), balanced (ideal, max/mean 1), zipf:S (Zipf popularity with exponent S, greedy "
                  "placement), or a fixed max/mean such as 1.2")
      ->capture_default_str();
  cmd->add_option("--ep-transport", f.ep_transport,
                  "EP all-to-all transport: deepep_low_latency (default), nccl, cpu_rdma");
  cmd->add_option("--afd-transport", f.afd_transport,
                  "AFD M2N transport: cpu_rdma (default: MegaScale-Infer / StepMesh), deepep_low_latency, nccl");
  cmd->add_option("--dispatch-styles", f.dispatch_styles,
                  "EP dispatch styles to try, comma separated: low_latency (default; CUDA-graph capturable) and/or "
                  "normal (DeepEP high-throughput kernels, run without CUDA graphs)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--attention-tp", f.attention_tp,
                  "EP attention-TP sizes to try, comma separated (DP x TP attention, each inside one scale-up "
                  "domain); any value above 1 also tries pure-TP workers. 1 = DP attention only")
      ->delimiter(',')
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--threads", f.threads, "worker threads (0 = all cores); results do not depend on it")
      ->check(FiniteRange(0, limits::kMaxThreads));
}

}  // namespace ridgeline::cli
