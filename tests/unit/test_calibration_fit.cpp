// SPDX-License-Identifier: Apache-2.0
// L7 fits recover known parameters from synthetic measurements, and refuse to invent numbers.
#include <catch2/catch.hpp>

#include "ridgeline/calibration_fit.hpp"

using namespace ridgeline;

TEST_CASE("alpha-beta fit recovers latency and bandwidth", "[calibration]") {
  const double alpha = 8e-6, beta = 45e9;  // e.g. an RDMA link
  std::vector<LinkSample> s;
  for (double bytes = 1024; bytes <= 64e6; bytes *= 4) s.push_back({bytes, alpha + bytes / beta});
  const AlphaBetaFit f = fit_alpha_beta(s);
  CHECK(f.alpha_s == Approx(alpha).epsilon(1e-6));
  CHECK(f.bytes_per_s == Approx(beta).epsilon(1e-6));
  CHECK(f.rms_relative_error < 1e-9);
}

TEST_CASE("alpha-beta fit rejects samples that do not grow with size", "[calibration]") {
  std::vector<LinkSample> s = {{1e3, 1e-3}, {1e6, 1e-4}};
  CHECK_THROWS_AS(fit_alpha_beta(s), Error);
}

TEST_CASE("linear fit is MegaScale-Infer's T = k b + c", "[calibration]") {
  std::vector<double> b = {16, 32, 64, 128, 256}, t;
  for (double x : b) t.push_back(2e-6 * x + 30e-6);
  const LinearFit f = fit_linear(b, t);
  CHECK(f.slope == Approx(2e-6));
  CHECK(f.intercept == Approx(30e-6));
}

TEST_CASE("grouped-GEMM efficiencies and overhead are recovered from a synthetic roofline", "[calibration]") {
  const double peak_f = 989e12, peak_b = 3.35e12, ec = 0.72, em = 0.83, overhead = 5e-6;
  std::vector<GemmSample> s;
  for (double tokens : {1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0}) {
    GemmSample g;
    g.tokens_per_expert = tokens;
    g.experts = 8;
    g.hidden = 7168;
    g.intermediate = 2048;
    g.weight_bytes_per_elem = 2;
    g.time_s = std::max(g.flops() / (peak_f * ec), g.bytes() / (peak_b * em)) + overhead;
    s.push_back(g);
  }
  const GemmEfficiencyFit f = fit_gemm_efficiency(s, peak_f, peak_b);
  // Exact synthetic data: the fit must return the generating parameters (1e-6 relative).
  CHECK(f.compute_efficiency == Approx(ec).epsilon(1e-6));
  CHECK(f.memory_efficiency == Approx(em).epsilon(1e-6));
  CHECK(f.overhead_s == Approx(overhead).epsilon(1e-6));
  CHECK(f.rms_relative_error < 1e-6);
  CHECK(f.compute_bound_samples > 0);
  CHECK(f.memory_bound_samples > 0);
}

TEST_CASE("a GEMM sweep on one side of the ridge measures that side only, nothing extrapolated", "[calibration]") {
  const double peak_f = 989e12, peak_b = 3.35e12, em = 0.7;
  std::vector<GemmSample> s;
  for (double tokens : {1.0, 2.0, 4.0}) {
    GemmSample g{tokens, 8, 7168, 2048, 2, 0};
    g.time_s = g.bytes() / (peak_b * em);
    s.push_back(g);
  }
  const GemmEfficiencyFit f = fit_gemm_efficiency(s, peak_f, peak_b);
  CHECK(f.memory_measured());
  CHECK_FALSE(f.compute_measured());
  CHECK(f.memory_efficiency == Approx(em).epsilon(1e-6));
  CHECK(f.compute_efficiency == 0);
  CHECK(f.rms_relative_error < 1e-6);
  CHECK_THROWS_WITH(fit_gemm_efficiency({}, peak_f, peak_b), Catch::Contains("no GEMM samples"));
}

namespace {
// Deterministic noise in [-1, 1] (no <random>: the same numbers on every standard library).
double noise(std::uint64_t& s) {
  s = s * 6364136223846793005ull + 1442695040888963407ull;
  return double(s >> 11) / double(1ull << 53) * 2 - 1;
}
}  // namespace

TEST_CASE("robust alpha-beta fit ignores descheduled trials and reports uncertainties", "[calibration]") {
  const double alpha = 20e-6, beta = 5e9;
  std::vector<LinkSample> s;
  std::uint64_t st = 42;
  for (double bytes = 4096; bytes <= 4 << 20; bytes *= 4)
    for (int k = 0; k < 15; ++k) {
      double t = (alpha + bytes / beta) * (1 + 0.03 * noise(st));
      if (k == 3) t *= 20;  // one trial per size descheduled: 20x slower
      s.push_back({bytes, t});
    }
  const RobustAlphaBetaFit f = fit_alpha_beta_robust(s);
  CHECK(f.alpha_s == Approx(alpha).epsilon(0.1));
  CHECK(f.bytes_per_s == Approx(beta).epsilon(0.05));
  CHECK(f.rejected >= 6);  // every size's outlier
  CHECK(f.trials + f.rejected == int(s.size()));
  CHECK(f.sizes == 6);
  CHECK(f.rms_relative_error < 0.05);
  // Uncertainties: positive with 3 % noise, and small against the parameters.
  CHECK(f.alpha_stderr_s > 0);
  CHECK(f.alpha_stderr_s < 0.2 * alpha);
  CHECK(f.bytes_per_s_stderr > 0);
  CHECK(f.bytes_per_s_stderr < 0.05 * beta);
  CHECK(f.bootstrap_used == 200);
  CHECK_FALSE(f.loaded);
  CHECK(f.predict_s(1e6) == Approx(f.alpha_s + 1e6 / f.bytes_per_s));
  // The plain least-squares fit of the same data is pulled off by the outliers.
  CHECK(std::abs(fit_alpha_beta(s).bytes_per_s / beta - 1) > 2 * std::abs(f.bytes_per_s / beta - 1));
  // Same data, same seed: the same uncertainties.
  CHECK(fit_alpha_beta_robust(s).alpha_stderr_s == f.alpha_stderr_s);
}

TEST_CASE("uncertainty grows with the noise; a noisy host is reported as loaded", "[calibration]") {
  auto make = [](double rel_noise) {
    std::vector<LinkSample> s;
    std::uint64_t st = 7;
    for (double bytes = 1024; bytes <= 1 << 20; bytes *= 4)
      for (int k = 0; k < 21; ++k) s.push_back({bytes, (10e-6 + bytes / 2e9) * (1 + rel_noise * noise(st))});
    return s;
  };
  const RobustAlphaBetaFit quiet = fit_alpha_beta_robust(make(0.02));
  const RobustAlphaBetaFit noisy = fit_alpha_beta_robust(make(0.6));
  CHECK(noisy.bytes_per_s_stderr > 3 * quiet.bytes_per_s_stderr);
  CHECK(noisy.trial_spread > 0.25);
  CHECK(noisy.loaded);
  CHECK_FALSE(quiet.loaded);
}

TEST_CASE("MAD outlier rejection and the poor-fit verdict", "[calibration]") {
  const auto kept = reject_outliers_mad({1.0, 1.1, 0.9, 1.05, 0.95, 30.0});
  CHECK(kept.size() == 5);
  CHECK(*std::max_element(kept.begin(), kept.end()) < 2);
  CHECK(reject_outliers_mad({2.0, 2.0, 2.0}).size() == 3);
  CHECK(median_abs_deviation({1, 2, 3, 4, 100}) == Approx(1));
  CHECK_THROWS_AS(reject_outliers_mad({}), Error);
  CHECK(fit_is_poor(0.3, 0.25));
  CHECK_FALSE(fit_is_poor(0.2, 0.25));
  CHECK(fit_is_poor(std::nan(""), 0.25));  // a NaN error is never a good fit
}

TEST_CASE("a link that is not alpha-beta (a protocol switch) gives a large fit error that is refused",
          "[calibration]") {
  std::vector<LinkSample> s;
  // Eager protocol up to 64 KiB, then rendezvous: 10x the per-byte cost and a 200 us step.
  for (double bytes = 1024; bytes <= 16 << 20; bytes *= 4)
    for (int k = 0; k < 5; ++k)
      s.push_back({bytes, bytes <= 65536 ? 5e-6 + bytes / 10e9 : 200e-6 + bytes / 1e9 + (bytes < 1e6 ? 300e-6 : 0)});
  const RobustAlphaBetaFit f = fit_alpha_beta_robust(s);
  CHECK(fit_is_poor(f.rms_relative_error, 0.25));
  CHECK_THROWS_WITH(fit_alpha_beta_robust({{1024, 1e-6}, {1024, 2e-6}}), Catch::Contains("two message sizes"));
}
