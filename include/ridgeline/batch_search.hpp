// SPDX-License-Identifier: Apache-2.0
// The largest batch a fixed plan shape can carry: feasibility (memory, TPOT SLO) is monotone
// in the batch for a fixed shape, so the answer is the last feasible integer of a monotone
// predicate. The search brackets it with the secant through its last two probes of TPOT (smooth,
// near-affine in the batch), interpolation inside the bracket and the closed-form KV-memory
// limit, falling back to bisection, so a typical shape costs 3-6 evaluations instead of the ~25
// of doubling + bisection; 2-3 when a neighbouring shape's batch (and TPOT slope) is a close
// hint (3.2 on average in the exhaustive bench search). Which batches are probed never changes
// the answer, only how many evaluations it takes.
// No allocation.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <type_traits>

#include "ridgeline/evaluate.hpp"

namespace ridgeline {

struct BatchSearchResult {
  bool found = false;
  long batch = 0;   ///< largest feasible batch (EP: per GPU; AFD: global)
  Evaluation best;  ///< evaluation at `batch` (or the failure at the smallest batch)
  /// What stops a larger batch: kv_exceeds_hbm or slo_violated (none: the search's upper bound).
  Infeasible limit = Infeasible::none;
  bool bubble_limited = false;  ///< a larger batch meets the SLO and memory but has ping-pong bubbles
  int evaluations = 0;
  /// TPOT per unit of batch between the search's last two probes (0: unknown): with the batch,
  /// a hint for a neighbouring shape's search.
  double tpot_slope = 0;
};

/// Largest integer batch in [lo, hi] for which `eval(batch)` is feasible. `eval` returns an
/// Evaluation; `slo_s` is the TPOT target used to interpolate. `hint` (0: none) is a guess of the
/// answer, e.g. a neighbouring shape's: it is probed early, so the secant through it starts next
/// to the answer when the guess is close. The answer does not depend on the hint (feasibility is
/// monotone in the batch); only the number of evaluations does.
/// `memory_at` (optional: `memory_at(b, attention, ffn)` fills the two sides' MemoryUse at batch
/// b, as evaluate would) lets the search start from the hint instead of `lo`: the hint, then its
/// neighbour on the far side (hint + 1 when it is feasible, hint - 1 when not), so an exact guess
/// costs two evaluations. `lo` is evaluated only when the bracket comes down to it: a feasible
/// probe stands for every smaller batch. `hint_slope` (0: none; TPOT per unit of batch, e.g. a
/// neighbouring shape's tpot_slope) moves the second probe from the hint's neighbour to where
/// that slope says TPOT meets the SLO.
template <class EvalFn, class MemFn = std::nullptr_t>
BatchSearchResult largest_feasible_batch(EvalFn&& eval, long lo, long hi, double slo_s, long hint = 0,
                                         MemFn&& memory_at = nullptr, double hint_slope = 0) {
  BatchSearchResult r;
  // Each probe is built in place in one of two buffers and the last feasible one stays in the
  // other, so a feasible probe costs no copy of the ~1.2 kB Evaluation (one copy into r.best).
  static_assert(std::is_trivially_destructible_v<Evaluation>);
  alignas(Evaluation) unsigned char store[2][sizeof(Evaluation)];
  auto slot = [&](int i) { return std::launder(reinterpret_cast<Evaluation*>(store[i])); };
  int best_slot = -1;            // the buffer holding good's evaluation (-1: good is lo, not evaluated)
  long good = lo, bad = hi + 1;  // invariant: good feasible, bad infeasible (hi + 1: implicit)
  double t_good = 0, t_bad = 0;
  bool bad_by_slo = false;
  long last_b = 0, prev_b = 0;  // the two most recent probes (0: none yet)
  double t_last = 0, t_prev = 0;
  int same_side = 0;
  int last_side = 0;
  // Evaluates g into the buffer not holding good's evaluation and narrows the bracket.
  auto probe = [&](long g) {
    const int s = best_slot == 0 ? 1 : 0;
    ::new (static_cast<void*>(store[s])) Evaluation(eval(g));
    const Evaluation& eg = *slot(s);
    ++r.evaluations;
    prev_b = last_b, t_prev = t_last;
    last_b = g, t_last = eg.tpot_s;
    int side;
    if (eg.feasible) {
      good = g;
      t_good = eg.tpot_s;
      best_slot = s;
      side = +1;
    } else {
      bad = g;
      r.limit = eg.reason;
      bad_by_slo = eg.reason == Infeasible::slo_violated;
      if (bad_by_slo) t_bad = eg.tpot_s;
      side = -1;
    }
    same_side = side == last_side ? same_side + 1 : 1;
    last_side = side;
    return eg.feasible;
  };
  // Nothing fits at lo: r.best is the failure there. Sets r only: every return below names r,
  // so r is built in the caller's result (NRVO) and never copied (~1.3 kB).
  auto fail_at_lo = [&](int s) {
    r.found = false;
    r.batch = lo;
    r.best = *slot(s);
    r.limit = Infeasible::none;
  };
  // KV memory grows linearly with the batch: the largest batch that fits, in closed form (from
  // the memory use at `lo`). No KV on either side (LONG_MAX): no memory limit, and no overflow
  // in the + 1.
  auto apply_memory_limit = [&](const MemoryUse& a, const MemoryUse& f) {
    long lim = std::numeric_limits<long>::max();
    for (const MemoryUse* mu : {&a, &f}) {
      if (mu->kv_bytes <= 0 || mu->capacity_bytes <= 0) continue;
      const double per = mu->kv_bytes / double(lo);
      lim = std::min(lim, long(std::floor((mu->capacity_bytes - mu->weights_bytes) / per)));
    }
    const long mem_bad = lim >= bad ? bad : std::max(lo + 1, lim + 1);
    if (mem_bad < bad) {
      bad = mem_bad;
      r.limit = Infeasible::kv_exceeds_hbm;
    }
  };
  bool hinted = false;
  if constexpr (!std::is_same_v<std::decay_t<MemFn>, std::nullptr_t>) {
    if (hint > lo && hint <= hi) {
      MemoryUse a, f;
      memory_at(lo, a, f);
      bool weights_fit = true;  // else no batch fits: evaluate lo alone
      for (const MemoryUse* mu : {&a, &f})
        weights_fit &= !(mu->capacity_bytes > 0 && mu->weights_bytes > mu->capacity_bytes);
      if (weights_fit) {
        apply_memory_limit(a, f);
        hinted = hint < bad;
        if (!hinted) bad = hi + 1, r.limit = Infeasible::none;  // start over as without a hint
      }
    }
  }
  bool try_hint = false;
  if (hinted) {
    const bool feasible = probe(hint);
    const double x = hint_slope > 0 ? double(hint) + (slo_s - t_last) / hint_slope : double(hint);
    if (feasible) {
      const long g = x >= double(hint + 2) && x < double(bad) ? long(std::floor(x)) : hint + 1;
      if (g < bad) probe(g);
    } else {
      const long g = x > double(lo) && x < double(hint - 1) ? long(std::floor(x)) : hint - 1;
      if (g > lo) probe(g);
    }
  } else {
    probe(lo);
    const Evaluation& e = *slot(0);
    if (!e.feasible || hi <= lo) {
      if (!e.feasible) {
        fail_at_lo(0);
        return r;
      }
      r.found = true;
      r.batch = lo;
      r.best = e;
      r.limit = Infeasible::none;
      return r;
    }
    same_side = last_side = 0;
    apply_memory_limit(e.attention_memory, e.ffn_memory);
    try_hint = hint > good && hint < bad;
  }
  while (bad - good > 1) {
    long g;
    if (best_slot < 0) {
      // good is lo, not evaluated yet: the secant through the last two probes when it lands
      // inside the bracket, else lo itself.
      double x = -1;
      if (prev_b > 0 && t_last != t_prev)
        x = double(last_b) + (slo_s - t_last) / (t_last - t_prev) * double(last_b - prev_b);
      if (!(x >= double(good + 1) && x < double(bad))) {
        if (!probe(lo)) {
          fail_at_lo(0);
          return r;
        }
        continue;
      }
      g = long(std::floor(x));
    } else if (try_hint) {
      g = hint;  // then the secant through lo and the hint starts next to the answer
      try_hint = false;
    } else if (same_side >= (bad_by_slo ? 3 : 6)) {
      g = good + (bad - good) / 2;  // interpolation stalls: bisect
      same_side = 0;
    } else {
      // Where TPOT meets the SLO: the secant through the last two probes (TPOT is smooth in the
      // batch, so near the answer this converges superlinearly, on either side of it) ...
      double x = -1;
      if (prev_b > 0 && t_last != t_prev)
        x = double(last_b) + (slo_s - t_last) / (t_last - t_prev) * double(last_b - prev_b);
      // (Beyond an SLO failure it is outside the bracket; beyond the memory limit or the
      // search bound it says probe just below that.)
      if (!(x > double(good) && (x < double(bad) || !bad_by_slo))) {
        if (bad_by_slo && t_bad > t_good)  // ... else interpolation inside the bracket ...
          x = double(good) + (slo_s - t_good) / (t_bad - t_good) * double(bad - good);
        else  // ... else, no SLO failure yet, proportional extrapolation (brackets fast)
          x = t_good > 0 ? double(good) * slo_s / t_good : double(bad);
      }
      g = x >= double(bad) ? bad - 1 : long(std::floor(x));
    }
    probe(std::clamp(g, good + 1, bad - 1));
  }
  if (best_slot < 0 && !probe(lo)) {  // the bracket closed on lo
    fail_at_lo(0);
    return r;
  }
  if (prev_b > 0 && last_b != prev_b) r.tpot_slope = (t_last - t_prev) / double(last_b - prev_b);
  if (!(r.tpot_slope > 0 && r.tpot_slope < std::numeric_limits<double>::infinity())) r.tpot_slope = 0;
  r.found = true;
  r.batch = good;
  r.best = *slot(best_slot);
  return r;
}

/// How far a ping-pong is from a bubble (seconds; >= 0: bubble-free): the smaller slack of the
/// two conditions of Eqs. 3-4 generalised, (m-1) t_a >= t_f + t_c and (m-1) t_f >= t_a + t_c.
inline double bubble_margin_s(const Evaluation& e, int micro_batches) {
  const double t_c = e.dispatch_s + e.combine_s;
  return std::min((micro_batches - 1) * e.attention_s - e.ffn_s - t_c,
                  (micro_batches - 1) * e.ffn_s - e.attention_s - t_c);
}

/// With `--require-bubble-free`: the largest batch at most `r.batch` (the largest feasible one,
/// from largest_feasible_batch) whose ping-pong is bubble-free. Stage times are near-affine in the
/// batch, so the margin (the minimum of two affine functions) is concave: its non-negative part is
/// one interval. A golden-section search over [lo, r.batch] finds a bubble-free batch (stopping at
/// the first), then bisection finds the interval's upper end. Bubble-freeness does not depend on
/// the SLO, so a looser SLO (a larger `r.batch`) keeps every bubble-free batch a tighter one found.
/// `r.found` is false when the margin's maximum is negative (no batch is bubble-free).
template <class EvalFn>
BatchSearchResult largest_bubble_free_batch(EvalFn&& eval, BatchSearchResult r, long lo, int micro_batches) {
  if (!r.found || r.best.bubble_free) return r;
  if (r.batch <= lo) {
    r.found = false;  // no smaller batch to try
    return r;
  }
  long good = -1;
  Evaluation e_good;
  auto margin = [&](long b) {
    const Evaluation e = eval(b);
    ++r.evaluations;
    const double h = e.feasible ? bubble_margin_s(e, micro_batches) : -std::numeric_limits<double>::infinity();
    if (h >= 0 && e.bubble_free && b > good) {
      good = b;
      e_good = e;
    }
    return h;
  };
  // Golden-section search for the margin's maximum on the integers of [lo, r.batch - 1].
  constexpr double kInvPhi = 0.6180339887498949;
  long a = lo, c = r.batch - 1;
  long x1 = c - long(std::round(kInvPhi * double(c - a))), x2 = a + long(std::round(kInvPhi * double(c - a)));
  double h1 = margin(x1), h2 = x2 != x1 ? margin(x2) : h1;
  while (good < 0 && c - a > 2) {
    if (h1 < h2) {
      a = x1;
      x1 = x2, h1 = h2;
      x2 = a + long(std::round(kInvPhi * double(c - a)));
      if (x2 <= x1) x2 = std::min(c, x1 + 1);
      h2 = margin(x2);
    } else {
      c = x2;
      x2 = x1, h2 = h1;
      x1 = c - long(std::round(kInvPhi * double(c - a)));
      if (x1 >= x2) x1 = std::max(a, x2 - 1);
      h1 = margin(x1);
    }
  }
  for (long b = a; good < 0 && b <= c; ++b) margin(b);  // the last two or three integers
  if (good < 0) {
    r.found = false;  // r.best stays the largest feasible batch, with its bubbles
    return r;
  }
  long bad = r.batch;  // has bubbles; the interval's upper end lies in [good, bad)
  while (bad - good > 1) {
    const long g = good + (bad - good) / 2;
    margin(g);  // moves `good` up to g when g is bubble-free
    if (good != g) bad = g;
  }
  r.batch = good;
  r.best = e_good;
  r.bubble_limited = true;
  return r;
}

}  // namespace ridgeline
