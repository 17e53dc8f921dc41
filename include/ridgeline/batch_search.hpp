// SPDX-License-Identifier: Apache-2.0
// The largest batch a fixed plan shape can carry: feasibility (memory, TPOT SLO) is monotone
// in the batch for a fixed shape, so the answer is the last feasible integer of a monotone
// predicate. The search brackets it with the secant through its last two probes of TPOT (smooth,
// near-affine in the batch), interpolation inside the bracket and the closed-form KV-memory
// limit, falling back to bisection, so a typical shape costs 3-6 evaluations (about 4 on
// average in the exhaustive bench search) instead of the ~25 of doubling + bisection. Which
// batches are probed never changes the answer, only how many evaluations it takes.
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
};

/// Largest integer batch in [lo, hi] for which `eval(batch)` is feasible. `eval` returns an
/// Evaluation; `slo_s` is the TPOT target used to interpolate. `hint` (0: none) is a guess of the
/// answer, e.g. a neighbouring shape's: it is probed first, so the secant through it starts next
/// to the answer when the guess is close. The answer does not depend on the hint (feasibility is
/// monotone in the batch); only the number of evaluations does.
template <class EvalFn>
BatchSearchResult largest_feasible_batch(EvalFn&& eval, long lo, long hi, double slo_s, long hint = 0) {
  BatchSearchResult r;
  // Each probe is built in place in one of two buffers and the last feasible one stays in the
  // other, so a feasible probe costs no copy of the ~1.2 kB Evaluation (one copy into r.best).
  static_assert(std::is_trivially_destructible_v<Evaluation>);
  alignas(Evaluation) unsigned char store[2][sizeof(Evaluation)];
  auto slot = [&](int i) { return std::launder(reinterpret_cast<Evaluation*>(store[i])); };
  int best_slot = 0;
  ::new (static_cast<void*>(store[0])) Evaluation(eval(lo));
  const Evaluation& e = *slot(0);
  r.evaluations = 1;
  if (!e.feasible || hi <= lo) {
    r.found = e.feasible;
    r.batch = lo;
    r.best = e;
    return r;
  }
  long good = lo, bad = hi + 1;  // invariant: good feasible, bad infeasible (hi + 1: implicit)
  double t_good = e.tpot_s, t_bad = 0;
  bool bad_by_slo = false;
  long last_b = lo, prev_b = 0;  // the two most recent probes (prev_b 0: only one so far)
  double t_last = e.tpot_s, t_prev = 0;
  // KV memory grows linearly with the batch: the largest batch that fits, in closed form.
  auto memory_limit = [](const Evaluation& ev, long b) {
    long lim = std::numeric_limits<long>::max();
    for (const MemoryUse* mu : {&ev.attention_memory, &ev.ffn_memory}) {
      if (mu->kv_bytes <= 0 || mu->capacity_bytes <= 0) continue;
      const double per = mu->kv_bytes / double(b);
      lim = std::min(lim, long(std::floor((mu->capacity_bytes - mu->weights_bytes) / per)));
    }
    return lim;
  };
  // No KV on either side (LONG_MAX): no memory limit, and no overflow in the + 1.
  const long mem_limit = memory_limit(e, lo);
  const long mem_bad = mem_limit >= bad ? bad : std::max(good + 1, mem_limit + 1);
  if (mem_bad < bad) {
    bad = mem_bad;
    r.limit = Infeasible::kv_exceeds_hbm;
  }
  int same_side = 0;
  int last_side = 0;
  bool try_hint = hint > good && hint < bad;
  while (bad - good > 1) {
    long g;
    if (try_hint) {
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
    g = std::clamp(g, good + 1, bad - 1);
    const int probe_slot = 1 - best_slot;
    ::new (static_cast<void*>(store[probe_slot])) Evaluation(eval(g));
    const Evaluation& eg = *slot(probe_slot);
    ++r.evaluations;
    prev_b = last_b, t_prev = t_last;
    last_b = g, t_last = eg.tpot_s;
    int side;
    if (eg.feasible) {
      good = g;
      t_good = eg.tpot_s;
      best_slot = probe_slot;
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
  }
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
