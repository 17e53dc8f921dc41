// SPDX-License-Identifier: Apache-2.0
// L6 search: MegaScale-Infer's Algorithm 1 (its deployment-plan search), generalised.
//   EP : hardware kind x GPU count x attention TP (DP x TP attention; pure TP inside a scale-up
//        domain) x micro-batches (1 NBO, 2 TBO) x dispatch style.
//   AFD: FFN hardware x FFN GPUs x expert-TP x attention hardware x TP_a x micro-batches (>= 3);
//        the attention instance count comes from BALANCE (t_a = t_f at the per-slot SLO budget,
//        the generalisation of n_a = k1 E / (k3 K)) and its granular neighbours are tried, then
//        the walk climbs to the best-scoring count (climb_attention_counts).
//   Both: the largest batch meeting the TPOT SLO and memory (batch_search.hpp).
// GPU counts are node-granular on ordinary clusters and GPU-granular inside a scale-up domain
// larger than a node (Accelerator::is_superpod). Beyond 16 nodes counts step by ~1/8 octave.
// Work is split into independent tasks run on a thread pool; each task's result lands in its
// own slot and the reduction walks the slots in order with ties broken by a total order on
// plan fields, so results are identical for any thread count. The inner loop (evaluate) does
// not allocate.
#pragma once
#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "ridgeline/batch_search.hpp"
#include "ridgeline/evaluate.hpp"
#include "ridgeline/search_bound.hpp"

namespace ridgeline {

enum class Objective { tokens_per_gpu, tokens_per_dollar, tokens_per_watt, hfu };

inline const char* objective_name(Objective o) {
  switch (o) {
    case Objective::tokens_per_gpu:
      return "tokens/s per GPU";
    case Objective::tokens_per_dollar:
      return "tokens/s per $/hour";
    case Objective::tokens_per_watt:
      return "tokens/s per W";
    case Objective::hfu:
      return "HFU";
  }
  return "?";
}

inline double objective_value(const Evaluation& e, Objective o) {
  switch (o) {
    case Objective::tokens_per_gpu:
      return e.tokens_per_s_per_gpu;
    case Objective::tokens_per_dollar:
      return e.tokens_per_s_per_dollar_hour;
    case Objective::tokens_per_watt:
      return e.tokens_per_s_per_watt;
    case Objective::hfu:
      return e.hfu;
  }
  return 0;
}

/// What stops a plan's batch from growing, in words.
inline const char* batch_limit_name(Infeasible r) {
  switch (r) {
    case Infeasible::kv_exceeds_hbm:
      return "KV-cache memory";
    case Infeasible::slo_violated:
      return "TPOT SLO";
    case Infeasible::weights_exceed_hbm:
      return "weight memory";
    default:
      return "search bound";
  }
}

/// Why a plan shape was rejected (`--explain`).
/// score_bound counts AFD plan families (attention kind, TP_a, FFN shape, micro-batches) the
/// search skipped because their score bound (search_bound.hpp) is below the best plans found.
enum class Rejection { weights_exceed_hbm, kv_exceeds_hbm, slo_violated, bubbles, budget, bad_shape, score_bound };
inline constexpr int kRejectionKinds = 7;

inline const char* rejection_name(Rejection r) {
  switch (r) {
    case Rejection::weights_exceed_hbm:
      return "weights_exceed_hbm";
    case Rejection::kv_exceeds_hbm:
      return "kv_exceeds_hbm";
    case Rejection::slo_violated:
      return "slo_violated";
    case Rejection::bubbles:
      return "bubbles";
    case Rejection::budget:
      return "budget";
    case Rejection::bad_shape:
      return "bad_shape";
    case Rejection::score_bound:
      return "score_bound";
  }
  return "?";
}

inline Rejection rejection_of(Infeasible r) {
  switch (r) {
    case Infeasible::weights_exceed_hbm:
      return Rejection::weights_exceed_hbm;
    case Infeasible::kv_exceeds_hbm:
      return Rejection::kv_exceeds_hbm;
    case Infeasible::slo_violated:
      return Rejection::slo_violated;
    default:
      return Rejection::bad_shape;
  }
}

/// What the search may choose from. Accelerators are referenced, not owned.
struct SearchSpace {
  std::vector<const Accelerator*> ep_hardware;         ///< EP runs on one kind, each tried
  std::vector<const Accelerator*> attention_hardware;  ///< AFD attention side kinds
  std::vector<const Accelerator*> ffn_hardware;        ///< AFD FFN side kinds
  bool search_ep = true, search_afd = true;
  int max_gpus = 1024;  ///< GPU budget (upper bound on a plan's total)
  int exact_gpus = 0;   ///< > 0: plans must use exactly this many GPUs
  std::vector<int> ep_micro_batches{1, 2};
  std::vector<int> afd_micro_batches{3, 4};
  std::vector<int> tp_sizes{1, 2, 4, 8};  ///< TP_a and expert-TP candidates (<= GPUs per node)
  /// EP attention-TP candidates (DP x TP attention; each divides the GPU count and fits one
  /// scale-up domain). {1}: DP attention only.
  std::vector<int> ep_attention_tp{1, 2, 4, 8};
  /// Also try pure-TP workers (every weight split over all GPUs, no EP) for GPU counts inside
  /// one scale-up domain.
  bool ep_pure_tp = true;
  /// Decode stacks run DeepEP's low-latency kernels (CUDA-graph capturable); the normal kernels
  /// are tried only when asked (`--dispatch-styles low_latency,normal`).
  std::vector<DispatchStyle> ep_dispatch_styles{DispatchStyle::low_latency};
  /// Transports of the searched plans (unset: each strategy's reference transport, see
  /// Deployment::resolved_transport).
  std::optional<TransportKind> ep_transport, afd_transport;
  /// Reject AFD plans whose best batch violates the ping-pong conditions (Eqs. 3-4 generalised).
  bool require_bubble_free = false;
  Objective objective = Objective::tokens_per_gpu;
  int top_k = 1;
  bool keep_pareto = false;
  /// Try every granular attention count instead of the balance point's neighbours (slow;
  /// used to check that the BALANCE pruning does not miss the best plan).
  bool scan_all_attention_counts = false;
  /// Skip AFD plan families whose score bound is below the best plans already found
  /// (search_bound.hpp; the same plans, fewer evaluations). false: search every family.
  bool prune_by_bound = true;
  int threads = 0;  ///< 0: all hardware threads
  /// Set to true by another thread to stop the search (Python's Ctrl-C): search_plans then
  /// throws Cancelled once the running tasks finish. Not owned; null: never cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

/// Thrown by search_plans when SearchSpace::cancel was set.
struct Cancelled : Error {
  Cancelled() : Error("the search was cancelled") {}
};

struct Candidate {
  Deployment deployment;
  Evaluation evaluation;
  double score = 0;
  Infeasible batch_limit = Infeasible::none;  ///< what stops a larger batch (KV memory or the SLO)
  bool bubble_limited = false;                ///< --require-bubble-free: a larger batch would have ping-pong bubbles
};

/// What stops a plan's batch from growing, in words.
inline const char* batch_limit_name(const Candidate& c) {
  return c.bubble_limited ? "bubble-free ping-pong" : batch_limit_name(c.batch_limit);
}

struct SearchResult {
  std::vector<Candidate> ep, afd;  ///< best first, at most top_k each
  std::vector<Candidate> pareto;   ///< non-dominated (tokens/s/GPU vs tokens/s/user), by per-user speed
  std::array<long, kRejectionKinds> rejected{};
  long shapes = 0;       ///< plan shapes whose batch was searched
  long evaluations = 0;  ///< evaluate() calls
  const Candidate* best_ep() const { return ep.empty() ? nullptr : &ep.front(); }
  const Candidate* best_afd() const { return afd.empty() ? nullptr : &afd.front(); }
};

namespace search_detail {

/// Total order on plans: higher score first, then fewer GPUs, then plan fields.
inline auto plan_key(double score, const Deployment& d) {
  return std::make_tuple(-score, d.total_gpus(), int(d.strategy), std::string_view(d.attention.hw->id),
                         std::string_view(d.ffn.hw ? d.ffn.hw->id : std::string_view()), d.attention.gpus,
                         d.attention.tp, d.ffn.gpus, d.ffn.tp, d.micro_batches, int(d.dispatch_style), d.batch_per_gpu,
                         d.global_batch);
}
inline auto plan_key(const Candidate& c) {
  return plan_key(c.score, c.deployment);
}
inline bool better(const Candidate& a, const Candidate& b) {
  return plan_key(a) < plan_key(b);
}

/// Whether keep_top would keep a plan of this score and deployment.
inline bool would_keep(const std::vector<Candidate>& v, double score, const Deployment& d, int k) {
  return k > 0 && (int(v.size()) < k || plan_key(score, d) < plan_key(v.back()));
}

inline void keep_top(std::vector<Candidate>& v, const Candidate& c, int k) {
  if (k <= 0) return;
  if (int(v.size()) >= k && !better(c, v.back())) return;
  v.insert(std::upper_bound(v.begin(), v.end(), c, better), c);
  if (int(v.size()) > k) v.pop_back();
}

/// Smallest x in [1, 1e8] (geometric bisection) with f(x) >= target; f increasing.
template <class F>
double solve_increasing(F&& f, double target) {
  double lo = 1, hi = 1e8;
  if (f(lo) >= target) return lo;
  if (f(hi) < target) return hi;
  for (int i = 0; i < 16; ++i) {
    const double mid = std::sqrt(lo * hi);
    (f(mid) >= target ? hi : lo) = mid;
  }
  return std::sqrt(lo * hi);
}

struct TaskOut {
  std::vector<Candidate> ep, afd, pareto;
  std::array<long, kRejectionKinds> rejected{};
  long shapes = 0, evaluations = 0;
};

}  // namespace search_detail

/// GPU counts one side may take: every GPU count inside one scale-up domain (a node, or a
/// superpod's whole domain), then every whole node count up to the budget.
inline std::vector<int> side_gpu_counts(const Accelerator& hw, int max_gpus) {
  std::vector<int> out;
  const long gpn = std::max(1, hw.gpus_per_node);
  const long domain = std::min<long>(std::max<long>(gpn, hw.is_superpod() ? hw.scale_up_domain_gpus : 0), max_gpus);
  for (long g = 1; g <= domain; ++g) out.push_back(int(g));
  for (long k = domain / gpn + 1; k * gpn <= max_gpus; ++k) out.push_back(int(k * gpn));
  return out;
}

/// Largest feasible batch of an EP shape (batch_per_gpu) or AFD shape (global_batch).
/// `probes_only`: r.best is an evaluate_probe() (no HFU, OFU or binding roof; not with
/// `bubble_free`, whose search reads the stage times of full evaluations).
inline BatchSearchResult best_batch(const ModelSpec& m, const Precision& p, const Workload& w, Deployment d,
                                    const Efficiencies& eff, bool bubble_free = false, long hint = 0,
                                    bool probes_only = false, double hint_slope = 0) {
  const long lo = d.micro_batches;  // at least one sequence per micro-batch
  probes_only = probes_only && !bubble_free;
  auto eval = [&](long b) {
    if (d.strategy == Strategy::ep)
      d.batch_per_gpu = double(b);
    else
      d.global_batch = double(b);
    return probes_only ? evaluate_probe(m, p, w, d, eff) : evaluate(m, p, w, d, eff);
  };
  // The memory use at a batch without evaluating it (zero, i.e. no limit, for a shape evaluate
  // rejects: the probes then find that out).
  auto memory_at = [&](long b, MemoryUse& a, MemoryUse& f) {
    a = f = MemoryUse{};
    if (d.micro_batches < 1 || d.attention.tp < 1 || d.ffn.tp < 1 || d.attention.gpus < d.attention.tp ||
        d.ffn.gpus < d.ffn.tp || !d.attention.hw || !d.ffn.hw)
      return;
    if (d.strategy == Strategy::ep) {
      d.batch_per_gpu = double(b);
      a = f = detail::ep_memory(m, p, w, d, eff);
    } else {
      d.global_batch = double(b);
      detail::afd_memory(m, p, w, d, eff, a, f);
    }
  };
  BatchSearchResult r = largest_feasible_batch(eval, lo, long(1) << 24, w.tpot_slo_s, hint, memory_at, hint_slope);
  if (bubble_free && d.strategy == Strategy::afd) r = largest_bubble_free_batch(eval, r, lo, d.micro_batches);
  return r;
}

/// MegaScale-Infer's closed-form balance (Algorithm 1, BALANCE): with T_a = k1 b_a + k2 and
/// T_e = k3 b_e + k4, dropping intercepts and setting T_a = T_e under token conservation
/// b_a n_a = b_e E / K gives n_a = k1 E / (k3 K).
inline double balance_rule_instances(double k1, double k3, int num_experts, int top_k) {
  return k1 * num_experts / (k3 * top_k);
}

/// Smallest micro-batch count whose ping-pong is bubble-free: (m-1) t_a >= t_f + t_c and
/// (m-1) t_f >= t_a + t_c, t_c = dispatch + combine (both hops). With t_a = t_f = T_f and one
/// hop T_c this is MegaScale-Infer's m_min = ceil(2 (1 + T_c / T_f)), 3 or 4 when T_c < T_f.
inline int min_bubble_free_micro_batches(double t_a, double t_f, double t_c_round_trip) {
  if (!(t_a > 0) || !(t_f > 0)) return 0;
  const double need = std::max((t_f + t_c_round_trip) / t_a, (t_a + t_c_round_trip) / t_f);
  return 1 + int(std::ceil(need - 1e-12));
}

/// The attention half of BALANCE: the sequences per attention instance whose t_a fills the
/// per-slot budget (SLO L_accept - t_g) / (m L), capped by KV memory (then the slot is that
/// batch's t_a). It does not depend on the FFN side, so the search computes it once per
/// (attention hardware, TP_a, micro-batches) for all FFN shapes.
struct AttentionBalance {
  double seqs = 0;    ///< sequences per attention instance per micro-batch
  double slot_s = 0;  ///< the slot the FFN side balances against
};

inline AttentionBalance attention_balance(const ModelSpec& m, const Precision& p, const Workload& w,
                                          const Efficiencies& eff, const Accelerator& ha, int tp_a, int micro_batches) {
  const double slot = (w.tpot_slo_s * w.mtp_acceptance - w.iteration_gap_s) / (double(micro_batches) * m.num_layers);
  const double q = 1.0 + w.mtp_draft_tokens;
  auto t_a = [&](double seqs) {
    return stage_time(attention_stage_ops(m, attention_precision(p, ha), seqs * w.attention_imbalance, q,
                                          w.context_tokens, tp_a, true, true),
                      ha, eff)
        .time_s;
  };
  double seqs = search_detail::solve_increasing(t_a, slot);
  const double weights = detail::attention_side_weight_bytes(m, p, tp_a, true, w.mtp_draft_tokens > 0);
  const double kv = detail::kv_bytes_per_sequence(m, p, w.context_tokens) * detail::kv_share_per_rank(m, tp_a);
  const double room = ha.hbm_bytes * eff.usable_hbm_fraction - weights;
  double balanced_slot = slot;
  if (room > 0 && kv > 0 && seqs > room / (kv * micro_batches)) {
    // KV memory caps the attention batch before the SLO does: balance at that shorter slot.
    seqs = room / (kv * micro_batches);
    balanced_slot = t_a(seqs);
  }
  return {seqs, balanced_slot};
}

/// The FFN half of BALANCE: the micro-batch tokens whose t_f fills `att`'s slot.
inline double balanced_ffn_tokens(const ModelSpec& m, const Precision& p, const Workload& w, const Efficiencies& eff,
                                  const AttentionBalance& att, const Accelerator& hf, int ffn_gpus, int tp_e) {
  const int ep_ranks = ffn_gpus / tp_e;
  const double local = std::max(1.0, std::ceil(double(m.moe.num_experts) / ep_ranks));
  auto t_f = [&](double tokens) {
    const double routed = detail::hot_rank_load(m, w, m.moe.num_experts, ep_ranks, tokens);
    return stage_time(ffn_stage_ops(m, p, routed, local, tp_e, tokens, 0), hf, eff).time_s;
  };
  return search_detail::solve_increasing(t_f, att.slot_s);
}

/// Attention instances that make t_f = t_a at `att`'s slot.
inline double balanced_attention_instances(const ModelSpec& m, const Precision& p, const Workload& w,
                                           const Efficiencies& eff, const AttentionBalance& att, const Accelerator& hf,
                                           int ffn_gpus, int tp_e) {
  const double tokens = balanced_ffn_tokens(m, p, w, eff, att, hf, ffn_gpus, tp_e);
  const double q = 1.0 + w.mtp_draft_tokens;
  return att.seqs > 0 ? tokens / q / att.seqs : 1.0;
}

/// BALANCE (Algorithm 1) generalised: attention instances that make t_a = t_f when each stage
/// fills the per-slot budget (SLO L_accept - t_g) / (m L) — attention also capped by KV memory.
/// Without intercepts this is the paper's n_a = k1 E / (k3 K).
inline double balanced_attention_instances(const ModelSpec& m, const Precision& p, const Workload& w,
                                           const Efficiencies& eff, const Accelerator& ha, int tp_a,
                                           const Accelerator& hf, int ffn_gpus, int tp_e, int micro_batches) {
  return balanced_attention_instances(m, p, w, eff, attention_balance(m, p, w, eff, ha, tp_a, micro_batches), hf,
                                      ffn_gpus, tp_e);
}

namespace search_detail {

struct Ctx {
  const ModelSpec& m;
  const Precision& p;
  const Workload& w;
  const Efficiencies& eff;
  const SearchSpace& s;
};

/// Whether the batch searches run on evaluate_probe() (no HFU, OFU or binding roof): unless the
/// objective is HFU or bubble-free plans are required. The plans search_plans returns are then
/// evaluated in full at their batch (the same numbers: evaluate is deterministic).
inline bool probes_only(const SearchSpace& s) {
  return s.objective != Objective::hfu && !s.require_bubble_free;
}

/// Searches one shape's batch and keeps the plan; returns its score, or -1 when it was rejected
/// (scores are >= 0).
inline double consider(const Ctx& c, const Deployment& d, TaskOut& out, long* batch_found = nullptr,
                       long batch_hint = 0, double* slope = nullptr) {
  const BatchSearchResult r =
      best_batch(c.m, c.p, c.w, d, c.eff, c.s.require_bubble_free, batch_hint, probes_only(c.s), slope ? *slope : 0);
  if (batch_found) *batch_found = r.found ? r.batch : 0;
  if (slope) *slope = r.found ? r.tpot_slope : 0;
  ++out.shapes;
  out.evaluations += r.evaluations;
  // With --require-bubble-free, best_batch finds a bubble-free batch or none: feasible batches,
  // none bubble-free.
  if (!r.found && r.best.feasible) {
    ++out.rejected[int(Rejection::bubbles)];
    return -1;
  }
  if (!r.found) {
    ++out.rejected[int(rejection_of(r.best.reason))];
    return -1;
  }
  Deployment found = d;
  if (d.strategy == Strategy::ep)
    found.batch_per_gpu = double(r.batch);
  else
    found.global_batch = double(r.batch);
  const double score = objective_value(r.best, c.s.objective);
  std::vector<Candidate>& top = d.strategy == Strategy::ep ? out.ep : out.afd;
  // Most shapes miss the top k: no Candidate (a ~1.3 kB copy) for them.
  if (!c.s.keep_pareto && !would_keep(top, score, found, c.s.top_k)) return score;
  Candidate cand{found, r.best, score, r.limit, r.bubble_limited};
  keep_top(top, cand, c.s.top_k);
  if (!c.s.keep_pareto) return cand.score;
  out.pareto.push_back(cand);
  // The frontier trades throughput for interactivity: also offer each shape at smaller batches
  // (1/2 .. 1/16 of its largest), which run faster per user.
  for (long b = r.batch / 2; b >= d.micro_batches && b * 16 >= r.batch; b /= 2) {
    Candidate smaller = cand;
    if (d.strategy == Strategy::ep)
      smaller.deployment.batch_per_gpu = double(b);
    else
      smaller.deployment.global_batch = double(b);
    smaller.evaluation = evaluate(c.m, c.p, c.w, smaller.deployment, c.eff);
    ++out.evaluations;
    if (!smaller.evaluation.feasible) continue;
    if (d.strategy == Strategy::afd && c.s.require_bubble_free && !smaller.evaluation.bubble_free) continue;
    smaller.score = objective_value(smaller.evaluation, c.s.objective);
    smaller.batch_limit = Infeasible::none;
    smaller.bubble_limited = false;
    out.pareto.push_back(smaller);
  }
  return cand.score;
}

/// EP worker shapes of `gpus` GPUs: (attention TP, expert TP) pairs. DP x TP attention with
/// experts over all GPUs (expert TP 1, and 2-8 once there are more GPUs than experts) for each
/// allowed attention TP; a pure-TP worker (everything split over all GPUs) when the GPUs fit one
/// scale-up domain.
inline int ep_shapes(const ModelSpec& m, const Accelerator& hw, int gpus, const SearchSpace& s,
                     std::array<std::pair<int, int>, 24>& out) {
  int n = 0;
  const auto heads_ok = [&](int t) { return m.attention.num_heads % t == 0; };
  for (int t : s.ep_attention_tp) {
    if (t < 1 || gpus % t || t > hw.scale_up_domain_gpus || !heads_ok(t)) continue;
    // Expert TP inside EP (each expert split etp ways inside a node), as for AFD's FFN side: only
    // once the experts are spread one per rank, i.e. gpus / (etp / 2) > experts.
    for (int etp : s.tp_sizes) {
      if (n >= int(out.size()) - 1) break;
      if (etp > 1 &&
          (gpus % etp || etp >= gpus || etp > std::max(1, hw.gpus_per_node) || gpus / (etp / 2) <= m.moe.num_experts))
        continue;
      out[n++] = {t, etp};
    }
  }
  if (s.ep_pure_tp && gpus > 1 && gpus <= hw.scale_up_domain_gpus && heads_ok(gpus)) out[n++] = {gpus, gpus};
  return n;
}

inline void run_ep_task(const Ctx& c, const Accelerator& hw, int gpus, TaskOut& out) {
  std::array<std::pair<int, int>, 24> shapes{};
  const int n_shapes = ep_shapes(c.m, hw, gpus, c.s, shapes);
  for (int i = 0; i < n_shapes; ++i)
    for (int mb : c.s.ep_micro_batches)
      for (DispatchStyle style : c.s.ep_dispatch_styles) {
        // Inside one scale-up domain both styles move the same bytes: try one.
        if (style == DispatchStyle::normal && gpus <= hw.scale_up_domain_gpus) continue;
        // A pure-TP worker has no all-to-all for a second micro-batch to hide.
        if (shapes[i].second == gpus && gpus > 1 && mb > 1) continue;
        Deployment d;
        d.strategy = Strategy::ep;
        d.micro_batches = mb;
        d.attention = {&hw, gpus, shapes[i].first};
        d.ffn = {&hw, gpus, shapes[i].second};
        d.dispatch_style = style;
        d.transport = c.s.ep_transport;
        consider(c, d, out);
      }
}

inline bool tp_allowed(const ModelSpec& m, const Accelerator& hw, int tp) {
  return tp <= std::max(1, hw.gpus_per_node) && m.attention.num_heads % tp == 0;
}

/// Attention counts around the BALANCE point, then uphill: `counts` are the granular counts that
/// divide by TP_a and fit the budget beside the FFN side, ascending. The two counts either side of
/// the balance target (clamped to the largest count when the target lies beyond the budget) are
/// tried, then the walk goes on from the best of them while the next count scores higher. The
/// estimate only chooses where the walk starts: the count it ends on is the best one whenever the
/// score is unimodal in the count, which keeps the search monotone in the SLO and the budget (a
/// looser SLO moves the estimate, not the optimum the walk reaches).
template <class Score>
inline void climb_attention_counts(const std::vector<int>& counts, double target, bool search_outward, Score&& score) {
  const long n = long(counts.size());
  if (n == 0) return;
  const long at =
      std::min<long>(std::lower_bound(counts.begin(), counts.end(), int(std::ceil(target))) - counts.begin(), n - 1);
  std::vector<double> s(size_t(n), -2);  // -2: not tried yet
  auto at_index = [&](long i) {
    if (s[size_t(i)] == -2) s[size_t(i)] = score(counts[size_t(i)]);
    return s[size_t(i)];
  };
  long best = -1;
  for (long i = std::max(0L, at - 2); i <= std::min(n - 1, at + 1); ++i)
    if (at_index(i) >= 0 && (best < 0 || s[size_t(i)] > s[size_t(best)])) best = i;
  // Bubble-free plans only, and none next to the estimate (the ping-pong can be bubble-free away
  // from the balance point): search outward, nearest first, for the first feasible count.
  for (long k = 3; search_outward && best < 0 && (at - k >= 0 || at + k - 1 < n); ++k)
    for (long i : {at - k, at + k - 1})
      if (i >= 0 && i < n && at_index(i) >= 0 && (best < 0 || s[size_t(i)] > s[size_t(best)])) best = i;
  if (best < 0) return;
  // Uphill in galloping steps (1, 2, 4, ...) while the score grows; the maximum then lies between
  // the last two steps' outer points, narrowed by ternary search: O(log n) shapes, not O(n).
  for (long dir : {+1L, -1L}) {
    const long first = best + dir;
    if (first < 0 || first >= n || !(at_index(first) > s[size_t(best)])) continue;
    long behind = best, step = 1;
    long ahead = first;
    while (s[size_t(ahead)] > s[size_t(best)]) {
      behind = best;
      best = ahead;
      step *= 2;
      ahead = std::clamp(best + dir * step, 0L, n - 1);
      if (ahead == best) break;
      at_index(ahead);
    }
    long lo = std::min(behind, ahead), hi = std::max(behind, ahead);
    while (hi - lo > 2) {
      const long m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
      if (at_index(m1) < at_index(m2))
        lo = m1;
      else
        hi = m2;
    }
    for (long i = lo; i <= hi; ++i) at_index(i);
    break;
  }
}

/// attention_balance for one attention kind, each (TP_a, micro-batches) of the search space
/// computed once before the tasks run; an error (a precision the hardware lacks) is kept and
/// rethrown by the task that needs the value, as computing it there would.
struct AttentionBalances {
  std::vector<AttentionBalance> value;  ///< [tp_sizes index x afd_micro_batches.size() + mb index]
  std::vector<std::exception_ptr> error;
  const AttentionBalance& at(size_t i) const {
    if (error[i]) std::rethrow_exception(error[i]);
    return value[i];
  }
};

inline AttentionBalances attention_balances(const Ctx& c, const Accelerator& ha) {
  const size_t n_mb = c.s.afd_micro_batches.size();
  AttentionBalances b;
  b.value.resize(c.s.tp_sizes.size() * n_mb);
  b.error.resize(b.value.size());
  for (size_t t = 0; t < c.s.tp_sizes.size(); ++t) {
    if (!tp_allowed(c.m, ha, c.s.tp_sizes[t])) continue;
    for (size_t k = 0; k < n_mb; ++k) try {
        b.value[t * n_mb + k] = attention_balance(c.m, c.p, c.w, c.eff, ha, c.s.tp_sizes[t], c.s.afd_micro_batches[k]);
      } catch (...) {
        b.error[t * n_mb + k] = std::current_exception();
      }
  }
  return b;
}

/// The FFN half of BALANCE of one FFN shape, by slot: (slot, balanced micro-batch tokens). It
/// depends on the attention side only through its slot (the same for every attention kind and
/// TP_a unless KV memory caps it), so one list serves all attention kinds of the FFN shape.
using FfnTokensBySlot = std::vector<std::pair<double, double>>;

/// Skipping AFD plan families by their score bound (search_bound.hpp): the two sides' per-GPU
/// rate bounds, indexed [tp_sizes index x afd_micro_batches.size() + mb index] (attention) and
/// [mb index] (FFN), the objective's per-GPU weights, and the score to beat.
struct FamilyBound {
  const std::vector<double>* attention_rate = nullptr;  ///< null: prune nothing
  const std::vector<double>* ffn_rate = nullptr;
  double weight_a = 1, weight_f = 1;
  double incumbent = -1;  ///< the k-th best AFD score already found (-1: none)
  double score(size_t attention_index, size_t mb_index) const {
    return afd_score_bound((*attention_rate)[attention_index], weight_a, (*ffn_rate)[mb_index], weight_f);
  }
  bool skips(size_t attention_index, size_t mb_index) const {
    return attention_rate && incumbent > 0 && score(attention_index, mb_index) < incumbent;
  }
};

inline void run_afd_task(const Ctx& c, const Accelerator& hf, int ffn_gpus, int tp_e, const Accelerator& ha,
                         const std::vector<int>& attention_counts, const AttentionBalances* balances,
                         FfnTokensBySlot& instances_by_slot, TaskOut& out, const FamilyBound& bound = {}) {
  std::vector<int> fitting;
  for (size_t t = 0; t < c.s.tp_sizes.size(); ++t) {
    const int tp_a = c.s.tp_sizes[t];
    if (!tp_allowed(c.m, ha, tp_a)) continue;
    fitting.clear();
    for (int a : attention_counts) {  // ascending (side_gpu_counts)
      if (a + ffn_gpus > c.s.max_gpus) break;
      if (a % tp_a == 0) fitting.push_back(a);
    }
    for (size_t k = 0; k < c.s.afd_micro_batches.size(); ++k) {
      const int mb = c.s.afd_micro_batches[k];
      Deployment d;
      d.strategy = Strategy::afd;
      d.micro_batches = mb;
      d.ffn = {&hf, ffn_gpus, tp_e};
      d.transport = c.s.afd_transport;
      // Neighbouring attention counts carry nearly proportional batches: the last one found
      // seeds the next shape's batch search (fewer evaluations, the same answer).
      long last_batch = 0;
      int last_count = 0;
      double last_slope = 0;  // its TPOT per unit of batch (as the batch scales with the count, / count)
      // Before any: the batch at which both sides fill the BALANCE slot (set below; 0: none).
      double balance_seqs_per_instance = 0, balance_ffn_seqs = 0;
      auto try_count = [&](int a) {
        d.attention = {&ha, a, tp_a};
        long hint = last_batch > 0 ? long(double(last_batch) * a / last_count) : 0;
        if (hint == 0 && balance_seqs_per_instance > 0)
          hint = long(std::min(balance_seqs_per_instance * (a / tp_a), balance_ffn_seqs) * mb);
        long found = 0;
        double slope = last_batch > 0 ? last_slope * last_count / a : 0;
        const double score = consider(c, d, out, &found, hint, &slope);
        if (found > 0) last_batch = found, last_count = a, last_slope = slope;
        return score;
      };
      if (c.s.exact_gpus > 0) {
        const int a = c.s.exact_gpus - ffn_gpus;
        if (a >= tp_a && a % tp_a == 0) try_count(a);
      } else if (c.s.scan_all_attention_counts) {
        for (int a : fitting) try_count(a);
      } else {
        const AttentionBalance& att = balances->at(t * c.s.afd_micro_batches.size() + k);
        // Before the BALANCE solve: a skipped family is neither solved nor counted as over budget.
        if (bound.skips(t * c.s.afd_micro_batches.size() + k, k)) {
          ++out.rejected[int(Rejection::score_bound)];
          continue;
        }
        // The FFN solve yields tokens; instances = tokens / q / seqs is formed per TP_a below.
        auto memo = std::find_if(instances_by_slot.begin(), instances_by_slot.end(),
                                 [&](const auto& e) { return e.first == att.slot_s; });
        if (memo == instances_by_slot.end()) {
          instances_by_slot.emplace_back(att.slot_s,
                                         balanced_ffn_tokens(c.m, c.p, c.w, c.eff, att, hf, ffn_gpus, tp_e));
          memo = instances_by_slot.end() - 1;
        }
        const double q = 1.0 + c.w.mtp_draft_tokens;
        const double target = tp_a * (att.seqs > 0 ? memo->second / q / att.seqs : 1.0);
        balance_seqs_per_instance = att.seqs;
        balance_ffn_seqs = memo->second / q;
        // Balance beyond the budget: the walk starts from the largest count that fits.
        if (fitting.empty() || target > fitting.back()) ++out.rejected[int(Rejection::budget)];
        climb_attention_counts(fitting, target, c.s.require_bubble_free, try_count);
      }
    }
  }
}

/// Whether the AFD search may skip plan families by their score bound: the default walk (not a
/// scan or a fixed GPU count, which check it), only the best plans wanted (a Pareto frontier
/// keeps dominated plans), a throughput objective and the probes' figures.
inline bool afd_pruning_applies(const SearchSpace& s) {
  return s.prune_by_bound && s.search_afd && s.exact_gpus <= 0 && !s.scan_all_attention_counts && !s.keep_pareto &&
         probes_only(s) && s.objective != Objective::hfu && s.top_k >= 1;
}

/// The objective's per-GPU weight: tokens/s per GPU counts GPUs; per $/hour, prices; per W, watts.
inline double objective_weight(const Accelerator& hw, Objective o) {
  switch (o) {
    case Objective::tokens_per_dollar:
      return hw.price_usd_per_gpu_hour;
    case Objective::tokens_per_watt:
      return hw.power_w;
    default:
      return 1.0;
  }
}

/// A rate bound, or no bound (infinity) where computing it fails (a precision the hardware
/// lacks): the family's own search then reports the error as it did before the bound.
template <class Bound>
double bound_or_infinity(Bound&& bound) {
  try {
    return bound();
  } catch (const Error&) {
    return bound_detail::kInfinity;
  }
}

/// afd_attention_rate_bound for each (TP_a, micro-batches) of the space (0 where TP_a is not
/// allowed: that family is never searched).
inline std::vector<double> attention_rate_bounds(const Ctx& c, const Accelerator& ha) {
  const size_t n_mb = c.s.afd_micro_batches.size();
  std::vector<double> out(c.s.tp_sizes.size() * n_mb, 0.0);
  const bool shared_here = !Deployment{}.shared_experts_on_ffn;  // the searched plans' placement
  for (size_t t = 0; t < c.s.tp_sizes.size(); ++t) {
    if (!tp_allowed(c.m, ha, c.s.tp_sizes[t])) continue;
    for (size_t k = 0; k < n_mb; ++k)
      out[t * n_mb + k] = bound_or_infinity([&] {
        return afd_attention_rate_bound(c.m, c.p, c.w, c.eff, ha, c.s.tp_sizes[t], c.s.afd_micro_batches[k],
                                        shared_here);
      });
  }
  return out;
}

/// afd_ffn_rate_bound of one FFN shape for each micro-batch count of the space.
inline std::vector<double> ffn_rate_bounds(const Ctx& c, const Accelerator& hf, int ffn_gpus, int tp_e) {
  std::vector<double> out;
  for (int mb : c.s.afd_micro_batches)
    out.push_back(bound_or_infinity([&] {
      return afd_ffn_rate_bound(c.m, c.p, c.w, c.eff, hf, ffn_gpus, tp_e, mb, Deployment{}.redundant_experts);
    }));
  return out;
}

inline FamilyBound family_bound(const Ctx& c, const Accelerator& ha, const Accelerator& hf,
                                const std::vector<double>& attention_rate, const std::vector<double>& ffn_rate,
                                double incumbent) {
  return FamilyBound{&attention_rate, &ffn_rate, objective_weight(ha, c.s.objective),
                     objective_weight(hf, c.s.objective), incumbent};
}

/// Splits task indices into two rounds: every task `prunable` rejects, and the prunable tasks
/// with the highest bounds (a sixteenth of them, at least 8), run first; the others second. In
/// index order within each round; ties keep index order.
template <class Prunable>
void split_by_bound(size_t n, const std::vector<double>& bound, Prunable&& prunable, std::vector<size_t>& first,
                    std::vector<size_t>& second) {
  std::vector<size_t> ranked;
  for (size_t i = 0; i < n; ++i) (prunable(i) && std::isfinite(bound[i]) ? ranked : first).push_back(i);
  const size_t lead = std::min(ranked.size(), std::max<size_t>(8, ranked.size() / 16));
  std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) { return bound[a] > bound[b]; });
  first.insert(first.end(), ranked.begin(), ranked.begin() + long(lead));
  second.assign(ranked.begin() + long(lead), ranked.end());
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
}

/// Runs f(i) for i in [0, n) on `threads` threads (dynamic scheduling; results by index).
template <class F>
void parallel_for(size_t n, int threads, F&& f) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  threads = int(std::min<size_t>(size_t(threads), std::max<size_t>(1, n)));
  std::atomic<size_t> next{0};
  // The first exception (a precision the hardware lacks, say) stops the other workers and is
  // rethrown here once every thread has joined: an exception must not end the process.
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    try {
      for (size_t i = next++; i < n; i = next++) f(i);
    } catch (...) {
      next = n;
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

inline std::vector<Candidate> pareto_frontier(std::vector<Candidate> all) {
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    const double ua = a.evaluation.tokens_per_s_per_user, ub = b.evaluation.tokens_per_s_per_user;
    if (ua != ub) return ua > ub;
    return better(Candidate{a.deployment, a.evaluation, a.evaluation.tokens_per_s_per_gpu, a.batch_limit},
                  Candidate{b.deployment, b.evaluation, b.evaluation.tokens_per_s_per_gpu, b.batch_limit});
  });
  std::vector<Candidate> out;
  double best = -1;
  for (const auto& c : all)
    if (c.evaluation.tokens_per_s_per_gpu > best) {
      best = c.evaluation.tokens_per_s_per_gpu;
      out.push_back(c);
    }
  return out;
}

}  // namespace search_detail

/// Searches the plan space for the best EP and AFD plans under the workload's TPOT SLO.
inline SearchResult search_plans(const ModelSpec& m, const Precision& p, const Workload& w, const SearchSpace& s,
                                 const Efficiencies& eff = {}) {
  using namespace search_detail;
  const Ctx c{m, p, w, eff, s};
  const int budget = s.exact_gpus > 0 ? s.exact_gpus : s.max_gpus;
  struct Task {
    Strategy strategy;
    const Accelerator* ffn;  ///< EP: the one kind; AFD: the FFN kind (the task tries every attention kind)
    int ffn_gpus, tp_e;
  };
  std::vector<Task> tasks;
  if (s.search_ep)
    for (const Accelerator* hw : s.ep_hardware) {
      if (s.exact_gpus > 0)
        tasks.push_back({Strategy::ep, hw, s.exact_gpus, 1});
      else
        for (int g : side_gpu_counts(*hw, budget)) tasks.push_back({Strategy::ep, hw, g, 1});
    }
  std::vector<std::vector<int>> attention_counts;
  for (const Accelerator* ha : s.attention_hardware) attention_counts.push_back(side_gpu_counts(*ha, budget));
  if (s.search_afd)
    for (const Accelerator* hf : s.ffn_hardware)
      for (int f : side_gpu_counts(*hf, budget - 1))
        for (int tp_e : s.tp_sizes) {
          // Expert-TP only once the experts are spread one per rank (f / (tp_e / 2) > experts).
          if (f % tp_e || tp_e > std::max(1, hf->gpus_per_node)) continue;
          if (tp_e > 1 && f / (tp_e / 2) <= m.moe.num_experts) continue;
          tasks.push_back({Strategy::afd, hf, f, tp_e});
        }
  std::vector<AttentionBalances> balances;
  if (s.search_afd && s.exact_gpus <= 0 && !s.scan_all_attention_counts)
    for (const Accelerator* ha : s.attention_hardware) balances.push_back(attention_balances(c, *ha));
  // Branch and bound (search_bound.hpp): the AFD tasks whose bound is highest run first, with
  // every EP task; the rest then skip the plan families whose bound is below the k-th best AFD
  // score found by then. Both rounds are fixed by the inputs, so results and counts do not
  // depend on the thread count.
  const bool prune = afd_pruning_applies(s) && !balances.empty();
  std::vector<std::vector<double>> attention_rates, ffn_rates(prune ? tasks.size() : 0);
  std::vector<double> task_bound(tasks.size(), bound_detail::kInfinity);
  if (prune) {
    for (const Accelerator* ha : s.attention_hardware) attention_rates.push_back(attention_rate_bounds(c, *ha));
    parallel_for(tasks.size(), s.threads, [&](size_t i) {
      const Task& t = tasks[i];
      if (t.strategy != Strategy::afd) return;
      ffn_rates[i] = ffn_rate_bounds(c, *t.ffn, t.ffn_gpus, t.tp_e);
      double best = 0;
      for (size_t ai = 0; ai < s.attention_hardware.size(); ++ai) {
        const FamilyBound fb =
            family_bound(c, *s.attention_hardware[ai], *t.ffn, attention_rates[ai], ffn_rates[i], -1);
        for (size_t a = 0; a < attention_rates[ai].size(); ++a)
          best = std::max(best, fb.score(a, a % s.afd_micro_batches.size()));
      }
      task_bound[i] = best;
    });
  }
  std::vector<TaskOut> outs(tasks.size());
  auto run_task = [&](size_t i, double incumbent) {
    if (s.cancel && s.cancel->load(std::memory_order_relaxed)) throw Cancelled();
    const Task& t = tasks[i];
    if (t.strategy == Strategy::ep) {
      run_ep_task(c, *t.ffn, t.ffn_gpus, outs[i]);
    } else {
      // The attention kinds of one FFN shape share its BALANCE solves (one task, not one each).
      FfnTokensBySlot ffn_tokens_by_slot;
      for (size_t ai = 0; ai < s.attention_hardware.size(); ++ai) {
        const FamilyBound bound =
            prune ? family_bound(c, *s.attention_hardware[ai], *t.ffn, attention_rates[ai], ffn_rates[i], incumbent)
                  : FamilyBound{};
        run_afd_task(c, *t.ffn, t.ffn_gpus, t.tp_e, *s.attention_hardware[ai], attention_counts[ai],
                     balances.empty() ? nullptr : &balances[ai], ffn_tokens_by_slot, outs[i], bound);
      }
    }
  };
  std::vector<size_t> first, second;
  split_by_bound(
      tasks.size(), task_bound, [&](size_t i) { return tasks[i].strategy == Strategy::afd; }, first, second);
  parallel_for(first.size(), s.threads, [&](size_t j) { run_task(first[j], -1); });
  if (!second.empty()) {
    std::vector<Candidate> afd_top;
    for (size_t i : first)
      for (const auto& x : outs[i].afd) keep_top(afd_top, x, s.top_k);
    const double incumbent = int(afd_top.size()) >= s.top_k ? afd_top.back().score : -1;
    parallel_for(second.size(), s.threads, [&](size_t j) { run_task(second[j], incumbent); });
  }
  SearchResult r;
  std::vector<Candidate> all;
  for (const TaskOut& o : outs) {
    for (const auto& x : o.ep) keep_top(r.ep, x, s.top_k);
    for (const auto& x : o.afd) keep_top(r.afd, x, s.top_k);
    for (int k = 0; k < kRejectionKinds; ++k) r.rejected[k] += o.rejected[k];
    r.shapes += o.shapes;
    r.evaluations += o.evaluations;
    if (s.keep_pareto) all.insert(all.end(), o.pareto.begin(), o.pareto.end());
  }
  if (s.keep_pareto) r.pareto = pareto_frontier(std::move(all));
  if (probes_only(s))
    for (auto* v : {&r.ep, &r.afd, &r.pareto})
      for (Candidate& x : *v) {
        x.evaluation = evaluate(m, p, w, x.deployment, eff);
        ++r.evaluations;
        assert(x.evaluation.feasible && objective_value(x.evaluation, s.objective) == x.score);
      }
  return r;
}

}  // namespace ridgeline
