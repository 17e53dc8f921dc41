// SPDX-License-Identifier: Apache-2.0
// L5 routing statistics: the expected max-over-ranks load formula against a seeded Monte Carlo
// (10,000 trials, 256 experts, top-8, ranks in {8, 32, 64, 256}, tokens/rank in {16, 128, 1024}),
// Zipf skew, histograms and EPLB.
#include <catch2/catch.hpp>
#include <random>

#include "ridgeline/imbalance.hpp"

using namespace ridgeline;

namespace {

/// Exact sampler of uniform top-k routing, aggregated per rank. Scanning the ranks in order, a
/// token with j of its k picks still to place among `left` remaining experts puts i of them in
/// the next rank's s experts with hypergeometric(left, s, j) probability; tokens are grouped in
/// classes by j, so each rank costs one multinomial per class (a few binomials) instead of one
/// draw per token. Same law as drawing k distinct experts per token.
double monte_carlo_max(int experts, int top_k, int ranks, long tokens, int trials, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int s = experts / ranks;
  // pmf[left][j][i] for the `left` values the scan visits.
  std::vector<std::vector<std::vector<double>>> pmf(ranks);
  for (int r = 0; r < ranks; ++r) {
    const int left = experts - r * s;
    pmf[r].resize(top_k + 1);
    for (int j = 1; j <= top_k; ++j) pmf[r][j] = detail::hypergeometric_pmf(left, s, j);
  }
  std::vector<long> cls(top_k + 1), next(top_k + 1);
  double sum = 0;
  for (int t = 0; t < trials; ++t) {
    std::fill(cls.begin(), cls.end(), 0L);
    cls[top_k] = tokens;
    long mx = 0;
    for (int r = 0; r < ranks; ++r) {
      std::fill(next.begin(), next.end(), 0L);
      next[0] = cls[0];
      long load = 0;
      for (int j = 1; j <= top_k; ++j) {
        long n = cls[j];
        const auto& p = pmf[r][j];
        double rest = 1.0;
        for (int i = int(p.size()) - 1; i >= 1 && n > 0; --i) {
          const double q = rest > 0 ? std::min(1.0, p[i] / rest) : 0.0;
          const long x = q >= 1.0 ? n : (q <= 0 ? 0 : std::binomial_distribution<long>(n, q)(rng));
          next[j - i] += x;
          load += long(i) * x;
          n -= x;
          rest -= p[i];
        }
        next[j] += n;  // i = 0
      }
      cls.swap(next);
      mx = std::max(mx, load);
    }
    sum += double(mx);
  }
  return sum / trials;
}

/// One rank count of the acceptance grid: tokens/rank in {16, 128, 1024}, 10,000 trials each.
void check_against_monte_carlo(int ranks) {
  const int experts = 256, top_k = 8, trials = 10000;
  uint64_t seed = 20260210 + uint64_t(ranks);
  for (long per_rank : {16L, 128L, 1024L}) {
    const long tokens = per_rank * ranks;
    const double mc = monte_carlo_max(experts, top_k, ranks, tokens, trials, seed++);
    const LoadStats s = uniform_routing_load(experts, top_k, ranks, double(tokens));
    INFO("ranks " << ranks << ", tokens/rank " << per_rank << ": formula " << s.expected_max << ", MC " << mc);
    CHECK(s.mean_load == Approx(double(per_rank) * top_k));
    CHECK(std::abs(s.expected_max - mc) / mc < 0.03);
    CHECK(s.load_factor > 1.0);
  }
}

}  // namespace

// Split by rank count so that ctest -j runs them side by side.
TEST_CASE("expected max load vs 10,000-trial Monte Carlo: 256 experts, top-8, 8 ranks", "[imbalance][montecarlo]") {
  check_against_monte_carlo(8);
}
TEST_CASE("expected max load vs 10,000-trial Monte Carlo: 256 experts, top-8, 32 ranks", "[imbalance][montecarlo]") {
  check_against_monte_carlo(32);
}
TEST_CASE("expected max load vs 10,000-trial Monte Carlo: 256 experts, top-8, 64 ranks", "[imbalance][montecarlo]") {
  check_against_monte_carlo(64);
}
TEST_CASE("expected max load vs 10,000-trial Monte Carlo: 256 experts, top-8, 256 ranks", "[imbalance][montecarlo]") {
  check_against_monte_carlo(256);
}

TEST_CASE("uniform routing: imbalance falls with tokens and rises with ranks", "[imbalance]") {
  const auto a = uniform_routing_load(256, 8, 64, 64 * 16.0);
  const auto b = uniform_routing_load(256, 8, 64, 64 * 1024.0);
  const auto c = uniform_routing_load(256, 8, 8, 8 * 16.0);
  CHECK(b.load_factor < a.load_factor);
  CHECK(c.load_factor < a.load_factor);
  CHECK(a.sigma() == Approx(1.0 / a.load_factor));
  CHECK(uniform_routing_load(256, 8, 1, 100).load_factor == 1.0);
}

TEST_CASE("Zipf skew raises the hot rank's load; EPLB replicas bring it back down", "[imbalance]") {
  RoutingModel uni, zipf, eplb;
  zipf.kind = eplb.kind = RoutingModel::Kind::zipf;
  zipf.zipf_s = eplb.zipf_s = 1.0;
  eplb.redundant_experts = 32;
  const double tokens = 64 * 128.0;
  const auto u = routing_load(uni, 256, 8, 64, tokens);
  const auto z = routing_load(zipf, 256, 8, 64, tokens);
  const auto e = routing_load(eplb, 256, 8, 64, tokens);
  CHECK(z.load_factor > 2.0 * u.load_factor);
  CHECK(e.load_factor < z.load_factor);
  CHECK(e.load_factor >= 1.0);
  // s = 0 is uniform: close to the exact-marginal formula.
  RoutingModel flat;
  flat.kind = RoutingModel::Kind::zipf;
  flat.zipf_s = 0;
  CHECK(routing_load(flat, 256, 8, 64, tokens).load_factor == Approx(u.load_factor).epsilon(0.02));
}

TEST_CASE("inclusion probabilities sum to top_k and never exceed 1", "[imbalance]") {
  const auto pi = inclusion_probabilities(zipf_weights(64, 2.0), 8);
  double sum = 0;
  for (double p : pi) {
    CHECK(p <= 1.0 + 1e-12);
    sum += p;
  }
  CHECK(sum == Approx(8.0));
}

TEST_CASE("a user histogram: one hot expert sets the max; EPLB splits it", "[imbalance]") {
  RoutingModel h;
  h.kind = RoutingModel::Kind::histogram;
  h.histogram.assign(16, 1.0);
  h.histogram[3] = 5.0;
  const auto plain = routing_load(h, 16, 2, 4, 4000);
  CHECK(plain.load_factor > 1.3);
  h.redundant_experts = 4;
  CHECK(routing_load(h, 16, 2, 4, 4000).load_factor < plain.load_factor);
}

TEST_CASE("uniform routing: huge loads use the Gaussian limit, continuous with the exact path", "[imbalance]") {
  // Just below and above the switch (mean load kExactLoadLimit = 2e4 pairs per rank, top-8).
  const double below = uniform_routing_load(256, 8, 64, 64 * 2490.0).load_factor;
  const double above = uniform_routing_load(256, 8, 64, 64 * 2510.0).load_factor;
  CHECK(above == Approx(below).epsilon(0.001));
  CHECK(above < below);
  const auto big = uniform_routing_load(256, 8, 256, 256 * 1e6);  // 2.56e8 tokens: must stay fast
  CHECK(big.load_factor > 1.0);
  CHECK(big.load_factor < 1.001);
}
