// SPDX-License-Identifier: Apache-2.0
// L5 imbalance: from routing statistics to the hot FFN rank's load, and the paper's throughput
// penalties (the AFD-roofline paper, arXiv 2602.09721, §3, Eqs. 11-16, with the CORRECTED forms
// of Eqs. 14-15).
//
// Load of a rank = token-expert pairs it receives in one micro-batch. `load_factor` = E[max over
// ranks] / mean (>= 1; what Workload::expert_load_imbalance holds); the paper's balancedness is
// sigma = 1 / load_factor (<= 1).
//
// Uniform top-k routing: N tokens each pick top_k distinct experts uniformly; experts are split
// contiguously over R ranks (s = E / R each). A rank's load is a sum of N iid hypergeometric
// (E, s, k) counts; its pmf is computed exactly (binary-powered convolution, pruned below 1e-18),
// E[max] of R independent copies follows, and the fixed-sum correlation (sum of loads = N k)
// is restored with the exchangeable-Gaussian factor sqrt(R / (R - 1)) on the excess over the
// mean (exact for Gaussian loads; checked against Monte Carlo in tests/unit/test_imbalance.cpp).
// Skewed routing (Zipf, user histograms): per-expert inclusion probabilities, a placement
// (contiguous by id, or EPLB greedy with redundant replicas), per-rank Gaussian loads and
// E[max] by numerical integration.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

namespace ridgeline {

// ---------------------------------------------------------------------------------------------
// Paper penalties (§3.3). sigma <= 1 is balancedness; lambda_ep = t_a / t_f; lambda_afd = N_A/N_F.

/// DP imbalance under AFD: the freed FFN time cannot be reused inside the fixed t_B (§3.3.1).
inline double alpha_dp_afd(double sigma) {
  return sigma;
}
/// DP imbalance under EP without batch refill; with refill EP gets >= this (no closed form).
inline double alpha_dp_ep_lower_bound(double sigma) {
  return sigma;
}

/// EP imbalance, large EP (Eq. 12): alpha = (lambda + 1) / (lambda + 1 / sigma).
inline double alpha_ep_imbalance_ep(double lambda_ep, double sigma) {
  return (lambda_ep + 1.0) / (lambda_ep + 1.0 / sigma);
}

/// EP imbalance, AFD, sigma N_A an integer (Eq. 13): sigma (N_A + N_F) / (sigma N_A + N_F).
inline double alpha_afd_exact(int attention_nodes, int ffn_nodes, double sigma) {
  const double na = attention_nodes, nf = ffn_nodes;
  return sigma * (na + nf) / (sigma * na + nf);
}

/// Eq. 14, corrected prefactor (N_A + N_F) / N_A: scale attention down to floor(sigma N_A).
inline double alpha_afd_floor(int attention_nodes, int ffn_nodes, double sigma) {
  const double na = attention_nodes, nf = ffn_nodes;
  const double fl = std::floor(sigma * na + 1e-9);
  return (na + nf) / na * fl / (fl + nf);
}

/// Eq. 15, corrected: ceil(sigma N_A) attention nodes, under-filled because FFN capacity caps them.
inline double alpha_afd_ceil(int attention_nodes, int ffn_nodes, double sigma) {
  const double na = attention_nodes, nf = ffn_nodes;
  const double ce = std::ceil(sigma * na - 1e-9);
  return (na + nf) / na * sigma * na / (ce + nf);
}

/// Eq. 14 exactly as printed (prefactor lambda + 1): kept only as a regression witness of the
/// typo; it exceeds 1 (3.75 at N_A = 8, N_F = 2, sigma = 0.8). Never use it for planning.
inline double alpha_afd_floor_as_printed(int attention_nodes, int ffn_nodes, double sigma) {
  const double na = attention_nodes, nf = ffn_nodes;
  const double fl = std::floor(sigma * na + 1e-9);
  return (na / nf + 1.0) * fl / (fl + nf);
}

/// Eq. 16 with the corrected floor/ceil forms: exact when sigma N_A is an integer.
inline double alpha_ep_imbalance_afd(int attention_nodes, int ffn_nodes, double sigma) {
  const double x = sigma * attention_nodes;
  if (std::abs(x - std::round(x)) < 1e-9) return alpha_afd_exact(attention_nodes, ffn_nodes, sigma);
  return std::max(alpha_afd_floor(attention_nodes, ffn_nodes, sigma),
                  alpha_afd_ceil(attention_nodes, ffn_nodes, sigma));
}

// ---------------------------------------------------------------------------------------------
// Routing statistics.

namespace detail {

/// pmf of the number of a token's top_k distinct experts that fall in a group of `group`
/// experts out of `experts` (hypergeometric).
inline std::vector<double> hypergeometric_pmf(int experts, int group, int top_k) {
  const int hi = std::min(group, top_k);
  std::vector<double> p(hi + 1, 0.0);
  auto log_choose = [](int n, int k) { return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0); };
  for (int j = 0; j <= hi; ++j) {
    if (top_k - j > experts - group) continue;
    p[j] = std::exp(log_choose(group, j) + log_choose(experts - group, top_k - j) - log_choose(experts, top_k));
  }
  return p;
}

/// A pmf on {offset, offset + 1, ...}.
struct Pmf {
  long offset = 0;
  std::vector<double> p;
};

inline Pmf prune(Pmf a) {
  double mx = 0;
  for (double v : a.p) mx = std::max(mx, v);
  const double cut = mx * 1e-18;
  size_t lo = 0, hi = a.p.size();
  while (lo < hi && a.p[lo] < cut) ++lo;
  while (hi > lo && a.p[hi - 1] < cut) --hi;
  Pmf out;
  out.offset = a.offset + long(lo);
  out.p.assign(a.p.begin() + lo, a.p.begin() + hi);
  const double s = std::accumulate(out.p.begin(), out.p.end(), 0.0);
  for (double& v : out.p) v /= s;
  return out;
}

inline Pmf convolve(const Pmf& a, const Pmf& b) {
  Pmf c;
  c.offset = a.offset + b.offset;
  c.p.assign(a.p.size() + b.p.size() - 1, 0.0);
  for (size_t i = 0; i < a.p.size(); ++i) {
    const double ai = a.p[i];
    if (ai == 0) continue;
    for (size_t j = 0; j < b.p.size(); ++j) c.p[i + j] += ai * b.p[j];
  }
  return prune(std::move(c));
}

/// pmf of the sum of n iid copies of `one` (binary powering).
inline Pmf iid_sum(const Pmf& one, long n) {
  Pmf result{0, {1.0}}, base = one;
  while (n > 0) {
    if (n & 1) result = convolve(result, base);
    n >>= 1;
    if (n > 0) base = convolve(base, base);
  }
  return result;
}

/// Standard normal cdf.
inline double phi_cdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

}  // namespace detail

/// Mean load per rank above which uniform_routing_load switches from the exact distribution to
/// its Gaussian limit (keeps the cost bounded for hostile or huge inputs).
inline constexpr double kExactLoadLimit = 2e4;

double expected_max_gaussian(const std::vector<double>& mean, const std::vector<double>& sd);

struct LoadStats {
  double mean_load = 0;     ///< token-expert pairs per rank, mean over ranks
  double expected_max = 0;  ///< E[max over ranks]
  double load_factor = 1;   ///< expected_max / mean_load (>= 1): Workload::expert_load_imbalance
  double sigma() const { return load_factor > 0 ? 1.0 / load_factor : 0; }  ///< paper's balancedness
};

/// Uniform top-k routing: `tokens` tokens in the micro-batch (all attention ranks together),
/// experts split contiguously over `ranks` ranks (ceil(E / R) per rank when R does not divide E).
inline LoadStats uniform_routing_load(int num_experts, int top_k, int ranks, double tokens) {
  LoadStats s;
  ranks = std::max(1, std::min(ranks, num_experts));
  const int group = (num_experts + ranks - 1) / ranks;  // the fullest rank
  const long n = std::max(0L, long(std::llround(tokens)));
  s.mean_load = double(n) * top_k / ranks;
  if (n == 0 || ranks == 1) {
    s.expected_max = s.mean_load;
    s.load_factor = 1;
    return s;
  }
  const auto h = detail::hypergeometric_pmf(num_experts, group, top_k);
  const detail::Pmf one = detail::prune({0, h});
  if (double(n) * top_k / ranks > kExactLoadLimit) {
    // Large loads: the per-rank sum is Gaussian to far better than the 1e-3 this model needs
    // (skewness ~ 1/sqrt(load)), and the exact convolution would cost O(load).
    double m1 = 0, m2 = 0;
    for (size_t j = 0; j < h.size(); ++j) {
      m1 += double(j) * h[j];
      m2 += double(j) * double(j) * h[j];
    }
    const double mu = double(n) * m1, sd = std::sqrt(double(n) * (m2 - m1 * m1));
    const double e_max = expected_max_gaussian(std::vector<double>(ranks, mu), std::vector<double>(ranks, sd));
    s.expected_max = mu + std::sqrt(double(ranks) / (ranks - 1.0)) * (e_max - mu);
    s.load_factor = s.mean_load > 0 ? s.expected_max / s.mean_load : 1;
    return s;
  }
  const detail::Pmf sum = detail::iid_sum(one, n);
  // E[max of R iid] = sum_x P(max > x) = sum_x (1 - F(x)^R).
  double cdf = 0, e_max = double(sum.offset), mean_group = 0;
  for (size_t i = 0; i < sum.p.size(); ++i) {
    mean_group += (double(sum.offset) + double(i)) * sum.p[i];
    cdf += sum.p[i];
    e_max += 1.0 - std::pow(std::min(1.0, cdf), ranks);
  }
  const double corr = std::sqrt(double(ranks) / (ranks - 1.0));
  s.expected_max = mean_group + corr * (e_max - mean_group);
  s.load_factor = s.mean_load > 0 ? s.expected_max / s.mean_load : 1;
  return s;
}

/// E[max] of independent Gaussian rank loads (mean mu_r, sd sd_r), by integrating 1 - prod F_r.
inline double expected_max_gaussian(const std::vector<double>& mean, const std::vector<double>& sd) {
  // Below max_r(mu_r - 8 sd_r) P(max <= x) < 1e-15, above max_r(mu_r + 8 sd_r) P(max > x) is.
  double lo = -1e300, hi = -1e300;
  for (size_t r = 0; r < mean.size(); ++r) {
    lo = std::max(lo, mean[r] - 8.0 * sd[r]);
    hi = std::max(hi, mean[r] + 8.0 * sd[r]);
  }
  if (!(hi > lo)) return lo;
  const int steps = 4000;
  const double dx = (hi - lo) / steps;
  double integral = 0;
  for (int i = 0; i < steps; ++i) {
    const double x = lo + (i + 0.5) * dx;
    double prod = 1;
    for (size_t r = 0; r < mean.size(); ++r)
      prod *= sd[r] > 0 ? detail::phi_cdf((x - mean[r]) / sd[r]) : (x >= mean[r] ? 1.0 : 0.0);
    integral += (1.0 - prod) * dx;
  }
  // E[max] = lo + integral over x > lo of P(max > x) (the part below lo is negligible).
  return lo + integral;
}

/// Zipf popularity: weight of the expert with popularity rank i (1-based) ∝ i^-s.
inline std::vector<double> zipf_weights(int num_experts, double s) {
  std::vector<double> w(num_experts);
  for (int i = 0; i < num_experts; ++i) w[i] = std::pow(double(i + 1), -s);
  return w;
}

/// Per-expert inclusion probabilities pi_e (sum = top_k, each <= 1) from relative popularity
/// weights: pi = top_k w / sum w, water-filled so that no expert exceeds 1.
inline std::vector<double> inclusion_probabilities(const std::vector<double>& weights, int top_k) {
  std::vector<double> pi(weights.size(), 0.0);
  std::vector<bool> capped(weights.size(), false);
  double budget = top_k;
  for (size_t round = 0; round <= weights.size(); ++round) {
    double free_w = 0;
    for (size_t e = 0; e < weights.size(); ++e)
      if (!capped[e]) free_w += weights[e];
    if (free_w <= 0) break;
    bool changed = false;
    for (size_t e = 0; e < weights.size(); ++e) {
      if (capped[e]) continue;
      pi[e] = budget * weights[e] / free_w;
      if (pi[e] > 1.0) {
        capped[e] = true;
        pi[e] = 1.0;
        budget -= 1.0;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return pi;
}

/// One expert replica on one rank, carrying `share` of the expert's traffic.
struct Placement {
  std::vector<std::vector<std::pair<int, double>>> ranks;  ///< per rank: (expert, share)
};

/// Default placement: expert e on rank floor(e R / E) (contiguous ids, as routers number them).
inline Placement contiguous_placement(int num_experts, int ranks) {
  Placement p;
  p.ranks.resize(ranks);
  for (int e = 0; e < num_experts; ++e) p.ranks[size_t(int64_t(e) * ranks / num_experts)].push_back({e, 1.0});
  return p;
}

/// EPLB: `redundant` extra replicas go one at a time to the expert with the highest load per
/// replica; replicas are then placed greedily (heaviest first onto the least-loaded rank that
/// has a free slot; ceil((E + redundant) / R) slots per rank).
inline Placement eplb_placement(const std::vector<double>& pi, int ranks, int redundant) {
  const int experts = int(pi.size());
  std::vector<int> replicas(experts, 1);
  for (int i = 0; i < redundant; ++i) {
    int best = 0;
    for (int e = 1; e < experts; ++e)
      if (pi[e] / replicas[e] > pi[best] / replicas[best]) best = e;
    ++replicas[best];
  }
  struct Item {
    int expert;
    double share, load;
  };
  std::vector<Item> items;
  for (int e = 0; e < experts; ++e)
    for (int k = 0; k < replicas[e]; ++k) items.push_back({e, 1.0 / replicas[e], pi[e] / replicas[e]});
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.load > b.load; });
  const size_t slots = (items.size() + ranks - 1) / ranks;
  Placement p;
  p.ranks.resize(ranks);
  std::vector<double> load(ranks, 0.0);
  for (const Item& it : items) {
    int best = -1;
    for (int r = 0; r < ranks; ++r)
      if (p.ranks[r].size() < slots && (best < 0 || load[r] < load[best])) best = r;
    p.ranks[best].push_back({it.expert, it.share});
    load[best] += it.load;
  }
  return p;
}

/// Skewed routing: inclusion probabilities `pi` (sum = top_k), a placement and `tokens` tokens.
/// Rank load ~ Gaussian with mean N sum share pi and variance N sum share^2 pi (1 - pi).
inline LoadStats skewed_routing_load(const std::vector<double>& pi, const Placement& placement, double tokens) {
  LoadStats s;
  const size_t R = placement.ranks.size();
  std::vector<double> mean(R, 0.0), sd(R, 0.0);
  double total = 0;
  for (size_t r = 0; r < R; ++r) {
    double var = 0;
    for (const auto& [e, share] : placement.ranks[r]) {
      mean[r] += tokens * share * pi[e];
      var += tokens * share * share * pi[e] * (1.0 - pi[e]);
    }
    sd[r] = std::sqrt(var);
    total += mean[r];
  }
  s.mean_load = R > 0 ? total / R : 0;
  s.expected_max = R > 1 ? expected_max_gaussian(mean, sd) : s.mean_load;
  if (R > 1) {  // fixed total: same exchangeable correction as the uniform case
    const double corr = std::sqrt(double(R) / (R - 1.0));
    const double top = *std::max_element(mean.begin(), mean.end());
    s.expected_max = top + corr * (s.expected_max - top);
  }
  s.load_factor = s.mean_load > 0 ? std::max(1.0, s.expected_max / s.mean_load) : 1;
  return s;
}

/// What a user says about routing (the scenario's workload.routing, or the CLI's flags).
struct RoutingModel {
  enum class Kind { uniform, zipf, histogram } kind = Kind::uniform;
  double zipf_s = 0;              ///< Zipf exponent (kind == zipf)
  std::vector<double> histogram;  ///< tokens (or any weight) per expert id (kind == histogram)
  int redundant_experts = 0;      ///< EPLB replicas over the EP group (0 = off)
};

/// The hot rank's load for `tokens` tokens of one micro-batch over `ranks` EP ranks.
/// Uniform routing without EPLB uses the exact-marginal formula; everything else the Gaussian
/// per-rank model. Zipf popularity ranks are assigned to expert ids in order, i.e. hot experts
/// share ranks under contiguous placement (the pessimistic case EPLB exists to fix).
inline LoadStats routing_load(const RoutingModel& rm, int num_experts, int top_k, int ranks, double tokens) {
  ranks = std::max(1, ranks);
  if (rm.kind == RoutingModel::Kind::uniform && rm.redundant_experts == 0)
    return uniform_routing_load(num_experts, top_k, ranks, tokens);
  std::vector<double> w;
  switch (rm.kind) {
    case RoutingModel::Kind::uniform:
      w.assign(num_experts, 1.0);
      break;
    case RoutingModel::Kind::zipf:
      w = zipf_weights(num_experts, rm.zipf_s);
      break;
    case RoutingModel::Kind::histogram:
      w = rm.histogram;
      break;
  }
  const auto pi = inclusion_probabilities(w, top_k);
  const Placement pl = rm.redundant_experts > 0
                           ? eplb_placement(pi, ranks, rm.redundant_experts)
                           : contiguous_placement(int(pi.size()), std::min<int>(ranks, int(pi.size())));
  return skewed_routing_load(pi, pl, tokens);
}

}  // namespace ridgeline
