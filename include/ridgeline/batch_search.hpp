// SPDX-License-Identifier: Apache-2.0
// The largest batch a fixed plan shape can carry: feasibility (memory, TPOT SLO) is monotone
// in the batch for a fixed shape, so the answer is the last feasible integer of a monotone
// predicate. The search brackets it with interpolation on TPOT (near-affine in the batch) and
// the closed-form KV-memory limit, falling back to bisection, so a typical shape costs 4-8
// evaluations instead of the ~25 of doubling + bisection. No allocation.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>

#include "ridgeline/evaluate.hpp"

namespace ridgeline {

struct BatchSearchResult {
  bool found = false;
  long batch = 0;   ///< largest feasible batch (EP: per GPU; AFD: global)
  Evaluation best;  ///< evaluation at `batch` (or the failure at the smallest batch)
  /// What stops a larger batch: kv_exceeds_hbm or slo_violated (none: the search's upper bound).
  Infeasible limit = Infeasible::none;
  int evaluations = 0;
};

/// Largest integer batch in [lo, hi] for which `eval(batch)` is feasible. `eval` returns an
/// Evaluation; `slo_s` is the TPOT target used to interpolate.
template <class EvalFn>
BatchSearchResult largest_feasible_batch(EvalFn&& eval, long lo, long hi, double slo_s) {
  BatchSearchResult r;
  Evaluation e = eval(lo);
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
  r.best = e;
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
  const long mem_bad = std::max(good + 1, memory_limit(e, lo) + 1);
  if (mem_bad < bad) {
    bad = mem_bad;
    r.limit = Infeasible::kv_exceeds_hbm;
  }
  int same_side = 0;
  int last_side = 0;
  while (bad - good > 1) {
    long g;
    if (same_side >= 2) {
      g = good + (bad - good) / 2;  // interpolation stalls: bisect
      same_side = 0;
    } else if (bad_by_slo && t_bad > t_good) {
      g = good + long(std::floor((slo_s - t_good) / (t_bad - t_good) * double(bad - good)));
    } else {
      // No SLO failure seen yet: extrapolate TPOT proportionally (over-estimates, brackets fast).
      const double x = t_good > 0 ? double(good) * slo_s / t_good : double(bad);
      g = x >= double(bad) ? bad - 1 : long(std::floor(x));
    }
    g = std::clamp(g, good + 1, bad - 1);
    const Evaluation eg = eval(g);
    ++r.evaluations;
    int side;
    if (eg.feasible) {
      good = g;
      t_good = eg.tpot_s;
      r.best = eg;
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
  return r;
}

}  // namespace ridgeline
