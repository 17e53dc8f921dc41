// SPDX-License-Identifier: Apache-2.0
// The hot FFN rank's load under uniform top-k routing, in closed form, for the evaluation's inner
// loop (a few hundred ns; imbalance.hpp's exact distribution is the reference it is tested
// against). The default for EP and AFD alike: balanced routing is an idealisation that must be
// asked for (expert_load_imbalance 1).
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <vector>

namespace ridgeline {

/// Inverse of the standard normal cdf (Acklam's rational approximation, |rel. error| < 1.2e-9).
inline double normal_quantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  p = std::clamp(p, 1e-300, 1.0 - 1e-16);
  const double lo = 0.02425, hi = 1 - lo;
  if (p < lo) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > hi) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/// E[max of n iid standard normals] (Blom's plotting position; within 1 % for n >= 2).
inline double expected_max_standard_normal(double n) {
  if (n <= 1) return 0;
  return normal_quantile((n - 0.375) / (n + 0.25));
}

/// The same for an integer rank count, tabulated once (the search's inner loop calls it).
inline double expected_max_standard_normal(int ranks) {
  constexpr int kTable = 4096;
  static const std::vector<double> table = [] {
    std::vector<double> t(kTable + 1);
    for (int r = 0; r <= kTable; ++r) t[size_t(r)] = expected_max_standard_normal(double(r));
    return t;
  }();
  return ranks >= 0 && ranks <= kTable ? table[size_t(ranks)] : expected_max_standard_normal(double(ranks));
}

/// Max/mean summed KV length over `instances` attention instances holding `seqs_per_instance`
/// sequences each, lengths independent with coefficient of variation `cv`: the sum is about
/// normal (CLT) with relative spread cv / sqrt(seqs), and a layer waits for the longest of the
/// instances. 1 for one instance or no spread.
inline double context_length_imbalance(double cv, double seqs_per_instance, int instances) {
  if (!(cv > 0) || instances < 2 || !(seqs_per_instance > 0)) return 1.0;
  return 1.0 + cv * expected_max_standard_normal(instances) / std::sqrt(std::max(1.0, seqs_per_instance));
}

/// The batch-independent terms of uniform_hot_rank_load for one (experts, top_k, ranks, group).
struct UniformLoadTerms {
  int experts = 0, top_k = 0, ranks = 0;  // the key; experts 0: an empty entry
  double group = 0;
  double p = 0, k = 0, var_one = 0, g = 0;
};

/// Those terms, remembered: a plan shape's batch search asks for one set many times. A small
/// per-thread direct-mapped table of exact values (the same expressions, evaluated once).
inline const UniformLoadTerms& uniform_load_terms(int experts, int top_k, int ranks, double group) {
  // Multiplicative hashing: rank counts are mostly multiples of 16, which a small-multiplier
  // hash sends to one slot (every call then recomputed the terms).
  static thread_local UniformLoadTerms table[64];  // zero-initialised, no guard
  UniformLoadTerms& t =
      table[(unsigned(experts) * 0x9E3779B1u + unsigned(top_k) * 0x85EBCA77u + unsigned(ranks) * 0xC2B2AE3Du) >> 26];
  if (t.experts == experts && t.top_k == top_k && t.ranks == ranks && t.group == group) return t;
  t.experts = experts, t.top_k = top_k, t.ranks = ranks, t.group = group;
  t.p = std::clamp(group / experts, 0.0, 1.0);
  t.k = std::min(top_k, experts);
  t.var_one = t.k * t.p * (1 - t.p) * (experts - t.k) / std::max(1.0, experts - 1.0);
  t.g = ranks > 1 ? expected_max_standard_normal(ranks) * std::sqrt(double(ranks) / (ranks - 1.0)) : 0.0;
  return t;
}

/// Expected load (token-expert pairs) of the busiest of `ranks` ranks when `tokens` tokens each
/// pick `top_k` distinct experts uniformly from `experts`, and the busiest rank holds `group` of
/// them. Gaussian limit of the per-rank hypergeometric sums with a Cornish-Fisher skew term for
/// small loads, and the fixed-sum correlation factor sqrt(R / (R - 1)) as in imbalance.hpp.
inline double uniform_hot_rank_load(int experts, int top_k, int ranks, double group, double tokens) {
  if (experts <= 0 || top_k <= 0 || !(tokens > 0)) return 0;
  const UniformLoadTerms& t = uniform_load_terms(experts, top_k, ranks, group);
  const double p = t.p;
  const double k = t.k;
  const double mean = tokens * k * p;
  if (ranks <= 1 || p >= 1) return mean;
  const double sd = std::sqrt(tokens * t.var_one);
  if (!(sd > 0)) return mean;
  const double g = t.g;
  const double skew = (1 - 2 * p) / sd;  // binomial-like skewness of the per-rank sum
  const double excess = sd * (g + (g * g - 1) * skew / 6);
  // A rank cannot take more than every token's copies that land on it.
  return std::clamp(mean + excess, mean, tokens * std::min(k, group));
}

/// Skewed routing (Zipf, a measured histogram): for every EP rank count R (index R, 1..E), the
/// hottest rank's mean load over the uniform hot rank's, with experts placed greedily by
/// popularity onto the least-loaded rank that has room (EPLB-like placement without replicas).
/// `inclusion` holds each expert's probability of being in a token's top-k (sums to top_k).
inline std::vector<double> skew_by_rank_count(const std::vector<double>& inclusion) {
  const int experts = int(inclusion.size());
  std::vector<double> out(size_t(experts) + 1, 1.0);
  if (experts == 0) return out;
  const double total = std::accumulate(inclusion.begin(), inclusion.end(), 0.0);
  std::vector<double> sorted = inclusion;
  std::sort(sorted.rbegin(), sorted.rend());
  for (int ranks = 2; ranks <= experts; ++ranks) {
    const int group = (experts + ranks - 1) / ranks;
    // Min-heap of (load, rank); a rank leaves once it holds `group` experts.
    using Slot = std::pair<double, int>;
    std::priority_queue<Slot, std::vector<Slot>, std::greater<>> heap;
    std::vector<int> held(size_t(ranks), 0);
    for (int r = 0; r < ranks; ++r) heap.push({0.0, r});
    double hottest = 0;
    for (double p : sorted) {
      auto [load, r] = heap.top();
      heap.pop();
      load += p;
      hottest = std::max(hottest, load);
      if (++held[size_t(r)] < group) heap.push({load, r});
    }
    out[size_t(ranks)] = std::max(1.0, hottest / (total * group / experts));
  }
  return out;
}

}  // namespace ridgeline
