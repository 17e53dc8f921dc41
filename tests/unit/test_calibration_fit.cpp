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
