// SPDX-License-Identifier: Apache-2.0
// A whole service: prefill and decode pools sized for an input / output length, a TTFT and a
// TPOT target, and either an arrival rate or a GPU count.
//   Decode pool: n_d copies of a decode plan (the decode search, EP or AFD, at the mean decode
//   context isl + osl / 2).
//   Prefill pool: n_p copies of a prefill instance (prefill.hpp: EP with DeepEP normal kernels
//   or TP inside a scale-up domain, one chunk size), any hardware kind given (P and D may differ).
//   KV cache: every prompt's KV leaves its prefill GPU over the scale-out network, priced with
//   the transport model (fixed + per-token software cost of the KV transport, bytes over the
//   slower NIC of the two sides); the NIC load it adds on both sides must stay below 1.
//   TTFT = queueing wait + prefill latency + KV transfer. The wait is M/D/c's (deterministic
//   service: a prompt's prefill time is fixed by its length) with the Allen-Cunneen
//   approximation W_q(M/D/c) ~ W_q(M/M/c) x (1 + c_s^2) / 2, c_s = 0; the c servers are the
//   pool's concurrent prompt slots (attention ranks x prompts per pass). Decode admission is
//   assumed immediate while the decode pool's token rate covers the demand.
//   Co-located baseline: one EP pool serving both phases with chunked prefill; each decode
//   iteration also carries the prefill tokens that keep the batch full (isl x batch / osl per
//   GPU). The chunk's marginal cost (a prefill pass of the chunk less one of an empty chunk: the
//   launches, transfer fixed costs and weight reads are the step's) is added to the step, not
//   overlapped with it: the interference an aggregated deployment pays.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include "ridgeline/prefill.hpp"
#include "ridgeline/search.hpp"

namespace ridgeline {

struct ServiceWorkload {
  double input_tokens = 4096;   ///< prompt length (isl)
  double output_tokens = 1024;  ///< generated tokens per request (osl)
  double ttft_slo_s = 2.0;      ///< time to first token target (queueing included)
  double tpot_slo_s = 0.05;     ///< decode time per output token target
  /// Mean KV length a decoding sequence attends to: the prompt plus half the output.
  double decode_context_tokens() const { return input_tokens + output_tokens / 2; }
};

// ---------------------------------------------------------------------------------------------
// Queueing.

/// Erlang C: the probability that an arrival waits in M/M/c with `servers` servers and offered
/// load `offered` erlangs (arrival rate x service time). 1 when offered >= servers.
inline double erlang_c(long servers, double offered) {
  if (servers < 1 || !(offered >= 0)) return 1;
  if (offered == 0) return 0;
  if (offered >= double(servers)) return 1;
  // Erlang B by its stable recurrence, then C = B / (1 - rho (1 - B)).
  double b = 1;
  for (long k = 1; k <= servers; ++k) b = offered * b / (double(k) + offered * b);
  const double rho = offered / double(servers);
  return b / (1 - rho * (1 - b));
}

/// Mean queueing wait of M/D/c (Poisson arrivals at `rate_per_s`, deterministic service of
/// `service_s`, `servers` servers), Allen-Cunneen: half of M/M/c's. Infinite when rho >= 1.
inline double mdc_mean_wait_s(double rate_per_s, double service_s, long servers) {
  if (!(rate_per_s > 0)) return 0;
  const double offered = rate_per_s * service_s;
  if (servers < 1 || offered >= double(servers)) return std::numeric_limits<double>::infinity();
  const double mmc = erlang_c(servers, offered) * service_s / (double(servers) - offered);
  return 0.5 * mmc;
}

/// Largest arrival rate with service_s + wait + extra_s <= target (0 when none).
inline double max_rate_for_latency(double service_s, long servers, double extra_s, double target_s) {
  if (servers < 1 || !(service_s > 0) || service_s + extra_s > target_s) return 0;
  double lo = 0, hi = double(servers) / service_s;  // capacity: rho = 1
  for (int i = 0; i < 50; ++i) {
    const double mid = 0.5 * (lo + hi);
    (service_s + mdc_mean_wait_s(mid, service_s, servers) + extra_s <= target_s ? lo : hi) = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------
// KV-cache transfer.

struct KvTransfer {
  double bytes_per_request = 0;
  double seconds = 0;           ///< one prompt's KV, prefill GPU(s) -> decode GPU(s)
  double link_bytes_per_s = 0;  ///< per sending GPU: the slower NIC of the two sides
  int sending_gpus = 1;         ///< GPUs one prompt's KV leaves from in parallel (TP shards)
  TransportKind transport = TransportKind::cpu_rdma;
  double software_s = 0;  ///< the transport's fixed + per-token part
};

/// One prompt's KV cache over the scale-out network (Mooncake / NIXL: CPU-driven RDMA by
/// default). TP prefill with per-head KV sends its shards from each TP rank in parallel.
inline KvTransfer kv_transfer(const ModelSpec& m, const Precision& p, double input_tokens, const PrefillDeployment& pd,
                              const Accelerator& decode_hw, const Efficiencies& eff,
                              TransportKind tk = TransportKind::cpu_rdma) {
  KvTransfer k;
  k.transport = tk;
  k.bytes_per_request = prompt_kv_bytes(m, p, input_tokens);
  const Link& a = pd.hw->scale_out;
  const Link& b = decode_hw.scale_out;
  k.link_bytes_per_s = std::min(a.sustained_bytes_per_s(), b.sustained_bytes_per_s());
  k.sending_gpus = int(std::lround(1.0 / detail::kv_share_per_rank(m, pd.tp())));
  k.software_s = transfer_overhead_s(eff.transport(tk), input_tokens);
  k.seconds = k.software_s + std::max(a.latency_s, b.latency_s) +
              k.bytes_per_request / k.sending_gpus / std::max(1.0, k.link_bytes_per_s);
  return k;
}

// ---------------------------------------------------------------------------------------------
// Search.

/// What 'best' means for a service: output tokens/s per GPU, per $/hour or per W (HFU is a
/// per-plan measure and has no service meaning).
inline bool service_objective_supported(Objective o) {
  return o != Objective::hfu;
}

struct PrefillChoice {
  PrefillDeployment deployment;
  PrefillEvaluation evaluation;
};

struct ServiceSpace {
  std::vector<const Accelerator*> prefill_hardware;
  std::vector<PrefillParallel> prefill_parallel{PrefillParallel::ep, PrefillParallel::tp};
  /// Tokens per forward pass per attention rank.
  std::vector<double> chunk_tokens{2048, 4096, 8192, 16384, 32768};
  std::vector<int> prefill_micro_batches{1, 2};
  /// The decode search (hardware, strategies, transports, objective). Its GPU bounds are set here.
  SearchSpace decode;
  int total_gpus = 0;     ///< > 0: the service has exactly these GPUs (maximise the rate)
  double rate_per_s = 0;  ///< > 0: serve this many requests/s (minimise by the objective)
  int max_gpus = 1024;    ///< budget when sizing for a rate
  Objective objective = Objective::tokens_per_gpu;
  TransportKind kv_transport = TransportKind::cpu_rdma;
  int threads = 0;
};

struct ServicePlan {
  PrefillChoice prefill;
  int prefill_instances = 0;
  Candidate decode;
  int decode_instances = 0;
  KvTransfer kv;
  double rate_per_s = 0;  ///< requests/s the plan serves
  double queue_wait_s = 0, prefill_s = 0, ttft_s = 0;
  double tpot_s = 0;
  double prefill_utilization = 0;                                  ///< arrival rate / prefill pool capacity
  double decode_utilization = 0;                                   ///< output-token demand / decode pool capacity
  double prefill_nic_utilization = 0, decode_nic_utilization = 0;  ///< KV traffic / NIC
  int prefill_gpus = 0, decode_gpus = 0, idle_gpus = 0, total_gpus = 0;
  double output_tokens_per_s = 0;
  double output_tokens_per_s_per_gpu = 0, input_tokens_per_s_per_gpu = 0;
  double usd_per_hour = 0, watts = 0;
  double score = 0;
};

struct ColocatedPlan {
  Deployment deployment;  ///< EP decode shape of one instance, batch_per_gpu set
  int instances = 0;
  double chunk_tokens = 0;                     ///< prompt piece size (--chunked-prefill-size)
  double pieces_per_step = 0;                  ///< prompt pieces arriving per step per instance
  double prefill_tokens_per_step_per_gpu = 0;  ///< mean prompt tokens per GPU per step
  double decode_step_s = 0;                    ///< the decode step alone
  double prefill_chunk_s = 0;                  ///< the mixed-in prefill chunk
  double interference = 0;                     ///< prefill_chunk_s / step: decode slowdown share
  double tpot_s = 0;
  double rate_per_s = 0;
  double queue_wait_s = 0, prefill_s = 0, ttft_s = 0;
  int total_gpus = 0, idle_gpus = 0;
  double output_tokens_per_s_per_gpu = 0, input_tokens_per_s_per_gpu = 0;
  double usd_per_hour = 0, watts = 0;
  double score = 0;
};

/// Why a co-located baseline may be missing: at the smallest batch, the smallest TPOT any piece
/// size reaches, and the shortest prompt prefill (ceil(isl / piece) steps, no queueing) among the
/// piece sizes that meet the TPOT SLO.
struct ColocatedMiss {
  double min_tpot_s = std::numeric_limits<double>::infinity();
  double min_prefill_s = std::numeric_limits<double>::infinity();
};

/// Why a prefill shape or a (prefill, decode) pairing was not used (`--explain`).
struct ServiceRejections {
  long prefill_weights_exceed_hbm = 0, prefill_kv_exceeds_hbm = 0, prefill_bad_shape = 0;
  long prefill_latency_over_ttft = 0;  ///< prefill + KV transfer alone exceed the TTFT target
  long decode_sizes_infeasible = 0;    ///< decode GPU counts without a plan meeting the TPOT SLO
  long pairs_over_budget = 0;          ///< pools do not fit the GPU count / budget
  long pairs_no_rate = 0;              ///< no positive rate meets TTFT and both capacities
};

struct ServiceResult {
  std::optional<ServicePlan> best;
  std::optional<ColocatedPlan> colocated;
  /// Why `colocated` may be empty (over every instance size).
  ColocatedMiss colocated_miss;
  std::vector<ServicePlan> top;  ///< best first
  ServiceRejections rejected;
  long prefill_shapes = 0, decode_sizes = 0, pairs = 0, decode_evaluations = 0;
  double decode_context_tokens = 0;
};

namespace service_detail {

inline double objective_denominator(Objective o, double gpus, double usd_per_hour, double watts) {
  switch (o) {
    case Objective::tokens_per_dollar:
      return usd_per_hour;
    case Objective::tokens_per_watt:
      return watts;
    default:
      return gpus;
  }
}

/// Decode instance sizes: 1, 2, 4 GPUs, then every node count up to 32 nodes, then ~1/8 octave.
inline std::vector<int> decode_sizes(const std::vector<const Accelerator*>& kinds, int budget) {
  std::vector<int> out;
  for (const Accelerator* hw : kinds) {
    const int gpn = std::max(1, hw->gpus_per_node);
    for (int g = 1; g < gpn && g <= budget; g *= 2) out.push_back(g);
    long nodes = 1;
    while (nodes * gpn <= budget) {
      out.push_back(int(nodes * gpn));
      nodes = nodes < 32 ? nodes + 1 : std::max(nodes + 1, long(std::floor(double(nodes) * 1.09)));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// EP prefill sizes: 1, 2, 4 ... nodes (powers of two) up to the budget.
inline std::vector<int> prefill_ep_sizes(const Accelerator& hw, int budget) {
  std::vector<int> out;
  const int gpn = std::max(1, hw.gpus_per_node);
  for (long g = gpn; g <= budget; g *= 2) out.push_back(int(g));
  return out;
}

inline double usd_per_hour_of(const Deployment& d) {
  return d.strategy == Strategy::ep ? d.attention.hw->price_usd_per_gpu_hour * d.attention.gpus
                                    : d.attention.hw->price_usd_per_gpu_hour * d.attention.gpus +
                                          d.ffn.hw->price_usd_per_gpu_hour * d.ffn.gpus;
}
inline double watts_of(const Deployment& d) {
  return d.strategy == Strategy::ep ? d.attention.hw->power_w * d.attention.gpus
                                    : d.attention.hw->power_w * d.attention.gpus + d.ffn.hw->power_w * d.ffn.gpus;
}
inline const Accelerator& decode_receiver(const Deployment& d) {
  return *d.attention.hw;
}

}  // namespace service_detail

/// Fills a plan's rate-dependent figures at arrival rate `rate`.
inline void finish_service_plan(ServicePlan& sp, const ServiceWorkload& sw, double rate, Objective obj, int idle_gpus,
                                const Accelerator* idle_kind) {
  const PrefillEvaluation& pe = sp.prefill.evaluation;
  const long servers = long(std::floor(pe.request_slots * sp.prefill_instances + 1e-9));
  sp.rate_per_s = rate;
  sp.prefill_s = pe.latency_s;
  sp.queue_wait_s = mdc_mean_wait_s(rate, pe.latency_s, servers);
  sp.ttft_s = sp.queue_wait_s + sp.prefill_s + sp.kv.seconds;
  sp.tpot_s = sp.decode.evaluation.tpot_s;
  sp.prefill_gpus = sp.prefill.deployment.gpus * sp.prefill_instances;
  sp.decode_gpus = sp.decode.evaluation.total_gpus * sp.decode_instances;
  sp.idle_gpus = idle_gpus;
  sp.total_gpus = sp.prefill_gpus + sp.decode_gpus + idle_gpus;
  sp.prefill_utilization = rate / (pe.requests_per_s * sp.prefill_instances);
  sp.output_tokens_per_s = rate * sw.output_tokens;
  sp.decode_utilization = sp.output_tokens_per_s / (sp.decode.evaluation.tokens_per_s * sp.decode_instances);
  sp.prefill_nic_utilization = rate * sp.kv.bytes_per_request / (sp.prefill_gpus * sp.kv.link_bytes_per_s);
  sp.decode_nic_utilization = rate * sp.kv.bytes_per_request / (sp.decode_gpus * sp.kv.link_bytes_per_s);
  sp.output_tokens_per_s_per_gpu = sp.output_tokens_per_s / sp.total_gpus;
  sp.input_tokens_per_s_per_gpu = rate * sw.input_tokens / sp.total_gpus;
  const Accelerator& phw = *sp.prefill.deployment.hw;
  const Accelerator* idle = idle_kind ? idle_kind : &phw;
  sp.usd_per_hour = phw.price_usd_per_gpu_hour * sp.prefill_gpus +
                    service_detail::usd_per_hour_of(sp.decode.deployment) * sp.decode_instances +
                    idle->price_usd_per_gpu_hour * idle_gpus;
  sp.watts = phw.power_w * sp.prefill_gpus + service_detail::watts_of(sp.decode.deployment) * sp.decode_instances +
             idle->power_w * idle_gpus;
  const double den = service_detail::objective_denominator(obj, sp.total_gpus, sp.usd_per_hour, sp.watts);
  sp.score = den > 0 ? sp.output_tokens_per_s / den : 0;
}

namespace service_detail {

/// What a second batch adds to a layer's operators when it rides in the same kernels: GEMMs of
/// the same name merge (FLOPs add, the weights stream once, so a memory-bound decode GEMM
/// absorbs prompt tokens almost for free), every other operator runs as a kernel of its own.
inline double merged_marginal_s(const OpList& base, const OpList& extra, const Accelerator& hw,
                                const Efficiencies& eff) {
  double t = 0;
  for (const OpCost& x : extra) {
    const OpCost* b = nullptr;
    if (x.kind == OpKind::gemm)
      for (const OpCost& o : base)
        if (o.kind == OpKind::gemm && std::string_view(o.name) == x.name) b = &o;
    if (!b) {
      t += op_time(x, hw, eff).time_s;
      continue;
    }
    OpCost merged = *b;
    merged.flops += x.flops;
    merged.hbm_bytes = std::max(b->hbm_bytes, x.hbm_bytes);
    t += op_time(merged, hw, eff).time_s - op_time(*b, hw, eff).time_s;
  }
  return t;
}

}  // namespace service_detail

/// One step of aggregated (co-located) serving: every decode step of `d` also prefills the
/// prompts that keep the batch full in steady state, r = gpus x batch / osl new prompts per step.
/// With attention data-parallel, a prompt is prefilled on the one rank that will decode it, and
/// every MoE layer waits for its slowest rank: the step pays the busiest rank's prompt pieces
/// (ceil(n / ranks) of the n pieces arriving in the step; pieces of at most `chunk_tokens`, as
/// SGLang's --chunked-prefill-size and TensorRT-LLM's max_num_tokens cut them), while the
/// prompts' expert work spreads over all EP ranks by routing. The prompt tokens ride in the
/// decode step's kernels (merged_marginal_s); their dispatch and combine add to the busiest
/// rank's sends.
struct ColocatedStep {
  bool priced = false;                ///< false: the decode step itself is infeasible (not only slow)
  double prefill_tokens_per_gpu = 0;  ///< mean prompt tokens prefilled per GPU per step
  double hot_rank_tokens = 0;         ///< expected prompt tokens on the busiest rank per step
  double piece_tokens = 0;            ///< prompt tokens per piece (min(isl, chunk))
  double pieces_per_step = 0;         ///< prompt pieces arriving per step over the instance
  double decode_s = 0, chunk_s = 0;   ///< the decode step alone; what the prompts add to it
  double tpot_s = 0;                  ///< (decode + chunk) / MTP acceptance
  double output_tokens_per_s_per_gpu = 0;
};

/// `e` is evaluate(m, p, w_dec, d, eff): the decode step alone. EP deployments only.
inline ColocatedStep colocated_step(const ModelSpec& m, const Precision& p, const Workload& w_dec, double input_tokens,
                                    double output_tokens, const Deployment& d, const Evaluation& e,
                                    const Efficiencies& eff, double chunk_tokens = 8192) {
  ColocatedStep s;
  if (!e.feasible && e.reason != Infeasible::slo_violated) return s;
  const Accelerator& hw = *d.attention.hw;
  const int gpus = d.attention.gpus, tp = std::max(1, d.attention.tp), mb = std::max(1, d.micro_batches);
  const int ranks = std::max(1, gpus / tp);  // attention DP ranks
  const double piece = std::min(input_tokens, std::max(1.0, std::floor(chunk_tokens)));
  const double pieces_per_prompt = std::ceil(input_tokens / piece);
  const double prefix = (input_tokens - piece) / 2;  // mean prefix of a prompt's pieces
  const double prompts_per_step = gpus * d.batch_per_gpu / output_tokens;
  const double pieces_per_step = prompts_per_step * pieces_per_prompt;

  // Decode lists per micro-batch (as evaluate builds them) and the dense layers' list.
  const double q_per_seq = 1.0 + w_dec.mtp_draft_tokens;
  const double seqs = d.batch_per_gpu / mb;
  OpList att_dec, dense_dec;
  const double slow_context = detail::slowest_context(m, w_dec, seqs * tp, ranks).context_tokens;
  attention_stage_ops(att_dec, m, attention_precision(p, hw), seqs * tp * w_dec.attention_imbalance, q_per_seq,
                      slow_context, tp, true, true, &dense_dec);
  // The prompt pieces' dispatch and combine from the busiest rank: node-deduplicated as the
  // normal kernels send them (SGLang's --deepep-mode auto runs batches with prompt tokens on
  // DeepEP normal kernels), per-token software cost only (the step's transfers are already paid).
  const TransportCost& piece_tc = eff.transport(TransportKind::deepep_normal);
  auto piece_comm_s = [&](double tokens) {
    if (gpus / std::max(1, d.ffn.tp) <= 1 || tokens <= 0) return 0.0;
    const CommTime c = ep_all_to_all(hw, gpus, m.moe.num_experts, m.moe.top_k, m.hidden_size, tokens,
                                     dtype_bytes(p.dispatch), dtype_bytes(p.combine), DispatchStyle::normal, 1.0);
    return c.dispatch_s + c.combine_s + 2 * piece_tc.per_token_s * tokens;
  };
  // The busiest rank's share: k pieces when n arrive (round-robin over the ranks).
  auto hot_rank_s = [&](double n) {
    const double k = n > 0 ? std::ceil(n / ranks) : 0.0;
    if (k <= 0) return std::pair{0.0, 0.0};
    const OpList att = prefill_attention_ops(m, p, k, piece, prefix, tp, true);
    const OpList dense = prefill_attention_ops(m, p, k, piece, prefix, tp, false);
    const double per_moe_layer =
        service_detail::merged_marginal_s(att_dec, att, hw, eff) + piece_comm_s(k * piece / tp);
    const double per_dense_layer = service_detail::merged_marginal_s(dense_dec, dense, hw, eff);
    return std::pair{m.num_moe_layers() * per_moe_layer + m.num_dense_layers * per_dense_layer, k * piece};
  };
  const double lo = std::floor(pieces_per_step), frac = pieces_per_step - lo;
  const auto [t_lo, k_lo] = hot_rank_s(lo);
  const auto [t_hi, k_hi] = frac > 0 ? hot_rank_s(lo + 1) : std::pair{t_lo, k_lo};
  const double attention_side_s = (1 - frac) * t_lo + frac * t_hi;
  // Expert work of the step's prompt tokens, spread over the EP ranks by routing.
  const double mean_tokens = pieces_per_step * piece / gpus;
  OpList ffn_prompt;
  prefill_expert_ops(ffn_prompt, m, p, w_dec, gpus / std::max(1, d.ffn.tp),
                     double(m.moe.num_experts + d.redundant_experts), mean_tokens);
  const double ffn_side_s = m.num_moe_layers() * service_detail::merged_marginal_s(e.ffn_ops, ffn_prompt, hw, eff);

  s.priced = true;
  s.piece_tokens = piece;
  s.pieces_per_step = pieces_per_step;
  s.prefill_tokens_per_gpu = mean_tokens;
  s.hot_rank_tokens = (1 - frac) * k_lo + frac * k_hi;
  s.decode_s = e.iteration_s;
  s.chunk_s = std::max(0.0, attention_side_s + ffn_side_s);
  s.tpot_s = (e.iteration_s + s.chunk_s) / w_dec.mtp_acceptance;
  s.output_tokens_per_s_per_gpu = d.batch_per_gpu / s.tpot_s;
  return s;
}

/// Prompt piece sizes the co-located baseline tries (--chunked-prefill-size / max_num_tokens):
/// small pieces keep the busiest rank's share of a step short, large ones cost fewer launches.
inline constexpr double kColocatedChunks[] = {64, 128, 256, 512, 1024, 2048, 4096, 8192};

/// The co-located baseline on `gpus` GPUs of one kind per instance: over the piece sizes, the
/// largest batch per GPU whose decode step plus the prompts it carries meets the TPOT SLO; the
/// piece size with the most output tokens/s per GPU wins. Empty when none does.
/// `miss`, when given, is updated with this instance size's figures (see ColocatedMiss).
inline std::optional<ColocatedPlan> colocated_instance(const ModelSpec& m, const Precision& p, const Workload& w_dec,
                                                       const ServiceWorkload& sw, const Accelerator& hw, int gpus,
                                                       const Efficiencies& eff, long* evaluations = nullptr,
                                                       ColocatedMiss* miss = nullptr) {
  Deployment d;
  d.strategy = Strategy::ep;
  d.micro_batches = 2;
  d.attention = {&hw, gpus, 1};
  d.ffn = d.attention;
  std::optional<ColocatedPlan> best;
  double last_piece = 0;
  for (double chunk : kColocatedChunks) {
    const double piece = std::min(chunk, sw.input_tokens);
    if (piece <= last_piece) break;  // larger chunks give the same whole-prompt pieces
    last_piece = piece;
    auto step = [&](long b) {
      d.batch_per_gpu = double(b);
      const Evaluation e = evaluate(m, p, w_dec, d, eff);
      if (evaluations) ++*evaluations;
      return colocated_step(m, p, w_dec, sw.input_tokens, sw.output_tokens, d, e, eff, chunk);
    };
    // Both fall with the batch: TPOT, and a prompt's prefill of ceil(isl / piece) steps (TTFT
    // before any queueing).
    const double steps_per_prompt = std::ceil(sw.input_tokens / piece);
    auto ok = [&](const ColocatedStep& s) {
      return s.priced && s.tpot_s <= sw.tpot_slo_s && steps_per_prompt * s.tpot_s <= sw.ttft_slo_s;
    };
    const ColocatedStep smallest = step(2);
    if (miss && smallest.priced) {
      miss->min_tpot_s = std::min(miss->min_tpot_s, smallest.tpot_s);
      if (smallest.tpot_s <= sw.tpot_slo_s)
        miss->min_prefill_s = std::min(miss->min_prefill_s, steps_per_prompt * smallest.tpot_s);
    }
    if (!ok(smallest)) continue;
    long good = 2, bad = long(1) << 16;
    while (bad - good > 1) {
      const long mid = good + (bad - good) / 2;
      (ok(step(mid)) ? good : bad) = mid;
    }
    ColocatedStep s = step(good);
    // Output per GPU (batch / TPOT) is not monotone in the batch: once prompt pieces outnumber the
    // ranks, the busiest rank prefills ceil(pieces / ranks) of them, one whole piece more at each
    // step. The largest batch of each smaller piece count can beat the largest feasible batch.
    const double pieces_per_seq = steps_per_prompt / sw.output_tokens;  // per step, per sequence on a rank
    for (long k = long(std::ceil(double(good) * pieces_per_seq - 1e-9)) - 1, tries = 0; k >= 1 && tries < 8;
         --k, ++tries) {
      const long b = long(std::floor(double(k) / pieces_per_seq + 1e-9));
      if (b < 2 || b >= good) continue;
      const ColocatedStep sb = step(b);
      if (ok(sb) && double(b) / sb.tpot_s > double(good) / s.tpot_s) good = b, s = sb;
    }
    if (best && double(good) / s.tpot_s <= best->deployment.batch_per_gpu / best->tpot_s) continue;
    ColocatedPlan c;
    d.batch_per_gpu = double(good);
    c.deployment = d;
    c.instances = 1;
    c.chunk_tokens = s.piece_tokens;
    c.pieces_per_step = s.pieces_per_step;
    c.prefill_tokens_per_step_per_gpu = s.prefill_tokens_per_gpu;
    c.decode_step_s = s.decode_s;
    c.prefill_chunk_s = s.chunk_s;
    c.interference = s.chunk_s / (s.decode_s + s.chunk_s);
    c.tpot_s = s.tpot_s;
    best = c;
  }
  return best;
}

/// Prompts a co-located deployment prefills at once: the pieces arriving per step at full batch
/// (at least one), per instance. The servers of its M/D/c queue.
inline long colocated_prefill_servers(const ColocatedPlan& c) {
  return long(std::floor(std::max(1.0, std::ceil(c.pieces_per_step)) * c.instances + 1e-9));
}

/// Fills a co-located plan's rate-dependent figures. A prompt takes ceil(isl / piece) steps on
/// its rank.
inline void finish_colocated(ColocatedPlan& c, const ServiceWorkload& sw, double rate, Objective obj, int idle_gpus) {
  const double step_s = c.tpot_s;  // one step (acceptance folded in)
  const int g = c.deployment.attention.gpus;
  const double steps_per_prompt = std::ceil(sw.input_tokens / std::max(1.0, c.chunk_tokens));
  c.prefill_s = steps_per_prompt * step_s;
  const long servers = colocated_prefill_servers(c);
  c.rate_per_s = rate;
  c.queue_wait_s = mdc_mean_wait_s(rate, c.prefill_s, servers);
  c.ttft_s = c.queue_wait_s + c.prefill_s;
  c.idle_gpus = idle_gpus;
  c.total_gpus = g * c.instances + idle_gpus;
  c.output_tokens_per_s_per_gpu = rate * sw.output_tokens / c.total_gpus;
  c.input_tokens_per_s_per_gpu = rate * sw.input_tokens / c.total_gpus;
  const Accelerator& hw = *c.deployment.attention.hw;
  c.usd_per_hour = hw.price_usd_per_gpu_hour * c.total_gpus;
  c.watts = hw.power_w * c.total_gpus;
  const double den = service_detail::objective_denominator(obj, c.total_gpus, c.usd_per_hour, c.watts);
  c.score = den > 0 ? rate * sw.output_tokens / den : 0;
}

/// Requests/s one co-located instance's decode batch sustains.
inline double colocated_capacity_per_s(const ColocatedPlan& c, const ServiceWorkload& sw) {
  return c.deployment.batch_per_gpu * c.deployment.attention.gpus / (sw.output_tokens * c.tpot_s);
}

/// Sizes the service: prefill and decode pools (heterogeneous allowed) and the co-located
/// baseline. `w` carries routing, MTP and gap settings; its context and SLO are replaced.
inline ServiceResult plan_service(const ModelSpec& m, const Precision& p, const Workload& w, const ServiceWorkload& sw,
                                  const ServiceSpace& s, const Efficiencies& eff = {}) {
  using namespace service_detail;
  ServiceResult r;
  Workload wd = w;
  wd.context_tokens = sw.decode_context_tokens();
  wd.tpot_slo_s = sw.tpot_slo_s;
  r.decode_context_tokens = wd.context_tokens;
  const bool by_gpus = s.total_gpus > 0;
  const int budget = by_gpus ? s.total_gpus : s.max_gpus;
  const double rate_target = s.rate_per_s;

  // Prefill instances.
  std::vector<PrefillChoice> prefill;
  for (const Accelerator* hw : s.prefill_hardware)
    for (PrefillParallel par : s.prefill_parallel) {
      std::vector<std::pair<int, int>> shapes;  // (gpus, micro-batches)
      if (par == PrefillParallel::ep) {
        for (int g : prefill_ep_sizes(*hw, budget - 1))
          for (int mb : s.prefill_micro_batches) shapes.push_back({g, mb});
      } else {
        for (int tp = 1; tp <= std::min(budget - 1, std::max(1, hw->scale_up_domain_gpus)); tp *= 2)
          if (tp >= std::max(1, hw->gpus_per_node) / 2) shapes.push_back({tp, 1});
      }
      for (auto [g, mb] : shapes)
        for (double chunk : s.chunk_tokens) {
          PrefillDeployment pd;
          pd.parallel = par;
          pd.hw = hw;
          pd.gpus = g;
          pd.micro_batches = mb;
          pd.chunk_tokens = chunk;
          ++r.prefill_shapes;
          PrefillEvaluation pe = evaluate_prefill(m, p, w, pd, sw.input_tokens, eff);
          if (!pe.feasible) {
            if (pe.reason == Infeasible::weights_exceed_hbm)
              ++r.rejected.prefill_weights_exceed_hbm;
            else if (pe.reason == Infeasible::kv_exceeds_hbm)
              ++r.rejected.prefill_kv_exceeds_hbm;
            else
              ++r.rejected.prefill_bad_shape;
            continue;
          }
          if (pe.latency_s >= sw.ttft_slo_s) {
            ++r.rejected.prefill_latency_over_ttft;
            continue;
          }
          prefill.push_back({pd, pe});
        }
    }

  // Decode instances: the best decode plan at each instance size.
  std::vector<const Accelerator*> kinds = s.decode.ep_hardware;
  for (const Accelerator* a : s.decode.attention_hardware) kinds.push_back(a);
  std::vector<Candidate> decode;
  for (int g : decode_sizes(kinds, budget - 1)) {
    SearchSpace ds = s.decode;
    ds.exact_gpus = g;
    ds.max_gpus = g;
    ds.top_k = 1;
    ds.keep_pareto = false;
    ds.objective = s.objective;
    ds.threads = s.threads;
    const SearchResult sr = search_plans(m, p, wd, ds, eff);
    ++r.decode_sizes;
    r.decode_evaluations += sr.evaluations;
    const Candidate* best = sr.best_ep();
    if (sr.best_afd() && (!best || search_detail::better(*sr.best_afd(), *best))) best = sr.best_afd();
    if (!best) {
      ++r.rejected.decode_sizes_infeasible;
      continue;
    }
    decode.push_back(*best);
  }

  auto consider = [&](const ServicePlan& sp) { r.top.push_back(sp); };
  // The TTFT-limited rate of n_p prefill instances depends on the decode side only through the
  // KV transfer time: memoised per (prefill shape, decode hardware kind, n_p).
  std::map<std::tuple<size_t, const Accelerator*, int>, double> ttft_rates;
  for (size_t pi = 0; pi < prefill.size(); ++pi) {
    const PrefillChoice& pc = prefill[pi];
    const int gp = pc.deployment.gpus;
    for (const Candidate& dc : decode) {
      ++r.pairs;
      const int gd = dc.evaluation.total_gpus;
      ServicePlan sp;
      sp.prefill = pc;
      sp.decode = dc;
      sp.kv = kv_transfer(m, p, sw.input_tokens, pc.deployment, service_detail::decode_receiver(dc.deployment), eff,
                          s.kv_transport);
      const double fixed_s = pc.evaluation.latency_s + sp.kv.seconds;
      if (fixed_s >= sw.ttft_slo_s) {
        ++r.rejected.pairs_no_rate;
        continue;
      }
      const double d_rate = dc.evaluation.tokens_per_s / sw.output_tokens;  // per decode instance
      auto prefill_rate = [&](int np) {
        const auto key = std::make_tuple(pi, &service_detail::decode_receiver(dc.deployment), np);
        auto it = ttft_rates.find(key);
        if (it == ttft_rates.end()) {
          const long servers = long(std::floor(pc.evaluation.request_slots * np + 1e-9));
          it = ttft_rates
                   .emplace(key, max_rate_for_latency(pc.evaluation.latency_s, servers, sp.kv.seconds, sw.ttft_slo_s))
                   .first;
        }
        const double ttft_rate = it->second;
        const double nic_rate = double(np) * gp * sp.kv.link_bytes_per_s / sp.kv.bytes_per_request;
        return std::min(ttft_rate, nic_rate);
      };
      auto decode_rate = [&](int nd) {
        const double nic_rate = double(nd) * gd * sp.kv.link_bytes_per_s / sp.kv.bytes_per_request;
        return std::min(d_rate * nd, nic_rate);
      };
      if (by_gpus) {
        double best_rate = 0;
        int best_np = 0, best_nd = 0;
        for (int np = 1; np * gp + gd <= budget; ++np) {
          const int nd = (budget - np * gp) / gd;
          const double rate = std::min(prefill_rate(np), decode_rate(nd));
          if (rate > best_rate * (1 + 1e-12)) best_rate = rate, best_np = np, best_nd = nd;
        }
        if (best_np == 0) {
          ++r.rejected.pairs_over_budget;
          continue;
        }
        if (!(best_rate > 0)) {
          ++r.rejected.pairs_no_rate;
          continue;
        }
        sp.prefill_instances = best_np;
        sp.decode_instances = best_nd;
        const int idle = budget - best_np * gp - best_nd * gd;
        finish_service_plan(sp, sw, best_rate, s.objective, idle, dc.deployment.attention.hw);
      } else {
        int nd = std::max(1, int(std::ceil(rate_target / d_rate - 1e-12)));
        while (decode_rate(nd) < rate_target && nd * gd <= budget) ++nd;
        int np = std::max(1, int(std::ceil(rate_target / pc.evaluation.requests_per_s - 1e-12)));
        while (prefill_rate(np) < rate_target && np * gp + nd * gd <= budget) ++np;
        if (np * gp + nd * gd > budget) {
          ++r.rejected.pairs_over_budget;
          continue;
        }
        sp.prefill_instances = np;
        sp.decode_instances = nd;
        finish_service_plan(sp, sw, rate_target, s.objective, 0, nullptr);
      }
      consider(sp);
    }
  }
  std::sort(r.top.begin(), r.top.end(), [](const ServicePlan& a, const ServicePlan& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.rate_per_s != b.rate_per_s) return a.rate_per_s > b.rate_per_s;
    if (a.total_gpus != b.total_gpus) return a.total_gpus < b.total_gpus;
    return a.ttft_s < b.ttft_s;  // equal service: the shorter TTFT
  });
  if (r.top.size() > 20) r.top.resize(20);
  if (!r.top.empty()) r.best = r.top.front();

  // Co-located baseline: EP on each decode hardware kind, every instance size.
  for (const Accelerator* hw : s.decode.ep_hardware)
    for (int g : decode_sizes({hw}, budget)) {
      std::optional<ColocatedPlan> c =
          colocated_instance(m, p, wd, sw, *hw, g, eff, &r.decode_evaluations, &r.colocated_miss);
      if (!c) continue;
      const double cap = colocated_capacity_per_s(*c, sw);
      auto ttft_rate = [&](int n) {
        ColocatedPlan probe = *c;
        probe.instances = n;
        finish_colocated(probe, sw, 0, s.objective, 0);
        return std::min(cap * n,
                        max_rate_for_latency(probe.prefill_s, colocated_prefill_servers(probe), 0, sw.ttft_slo_s));
      };
      if (by_gpus) {
        const int n = budget / g;
        if (n < 1) continue;
        const double rate = ttft_rate(n);
        if (!(rate > 0)) continue;
        c->instances = n;
        finish_colocated(*c, sw, rate, s.objective, budget - n * g);
      } else {
        int n = std::max(1, int(std::ceil(rate_target / cap - 1e-12)));
        while (ttft_rate(n) < rate_target && n * g <= budget) ++n;
        if (n * g > budget) continue;
        c->instances = n;
        finish_colocated(*c, sw, rate_target, s.objective, 0);
      }
      const bool better = !r.colocated || c->score > r.colocated->score * (1 + 1e-12) ||
                          (c->score >= r.colocated->score * (1 - 1e-12) && c->rate_per_s > r.colocated->rate_per_s);
      if (better) r.colocated = c;
    }
  return r;
}

}  // namespace ridgeline
