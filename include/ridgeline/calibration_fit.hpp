// SPDX-License-Identifier: Apache-2.0
// L7 fitting: turns calibrator measurements into the efficiency parameters the operator
// roofline uses, and into MegaScale-Infer's linear cost fits (T = k b + c). Pure functions over
// plain sample structs; least squares with Eigen.
#pragma once
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "ridgeline/calibration_samples.hpp"
#include "ridgeline/error.hpp"

namespace ridgeline {

struct LinearFit {
  double slope = 0;      ///< per unit of x
  double intercept = 0;  ///< at x = 0
  double rms_relative_error = 0;
  int samples = 0;
};

/// Least-squares y = slope x + intercept (MegaScale-Infer's T_a = k1 b_a + k2, T_e = k3 b_e + k4).
/// `relative`: minimise relative rather than absolute residuals, so that samples spanning
/// orders of magnitude (1 KB and 16 MB messages) all count.
inline LinearFit fit_linear(const std::vector<double>& x, const std::vector<double>& y, bool relative = true) {
  RIDGELINE_CHECK(x.size() == y.size() && x.size() >= 2, "a linear fit needs at least two (x, y) pairs");
  const Eigen::Index n = static_cast<Eigen::Index>(x.size());
  Eigen::MatrixXd A(n, 2);
  Eigen::VectorXd b(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double w = relative && y[i] > 0 ? 1.0 / y[i] : 1.0;
    A(i, 0) = x[i] * w;
    A(i, 1) = w;
    b(i) = y[i] * w;
  }
  const Eigen::Vector2d c = A.colPivHouseholderQr().solve(b);
  LinearFit f;
  f.slope = c(0);
  f.intercept = c(1);
  f.samples = static_cast<int>(n);
  double se = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double pred = f.slope * x[i] + f.intercept;
    const double rel = y[i] != 0 ? (pred - y[i]) / y[i] : 0;
    se += rel * rel;
  }
  f.rms_relative_error = std::sqrt(se / n);
  return f;
}

/// Alpha-beta link model t = alpha + bytes / beta, fitted by least squares.
struct AlphaBetaFit {
  double alpha_s = 0;
  double bytes_per_s = 0;
  double rms_relative_error = 0;
};

inline AlphaBetaFit fit_alpha_beta(const std::vector<LinkSample>& s) {
  std::vector<double> x, y;
  for (const auto& p : s) {
    x.push_back(p.message_bytes);
    y.push_back(p.time_s);
  }
  const LinearFit f = fit_linear(x, y);
  if (!(f.slope > 0)) throw Error("link samples do not grow with message size: cannot fit a bandwidth");
  return {std::max(0.0, f.intercept), 1.0 / f.slope, f.rms_relative_error};
}

/// The efficiency parameters a calibration yields, and how well the roofline with them
/// reproduces the samples.
struct GemmEfficiencyFit {
  double compute_efficiency = 0;  ///< achieved / peak FLOP/s on compute-bound samples
  double memory_efficiency = 0;   ///< achieved / peak bytes/s on memory-bound samples
  double overhead_s = 0;          ///< fixed cost per GEMM call (intercept at tiny sizes)
  double rms_relative_error = 0;  ///< of max(F/(P e_c), B/(W e_m)) + overhead vs the samples
  int compute_bound_samples = 0;
  int memory_bound_samples = 0;
  /// False when no sample fell in that regime: the efficiency is then not measured (0 here) and
  /// must not be written to a calibration file; the model keeps its default for it.
  bool compute_measured() const { return compute_bound_samples > 0; }
  bool memory_measured() const { return memory_bound_samples > 0; }
};

/// Classifies each sample by the roofline ridge (peak FLOP/s / peak bytes/s). On the
/// compute-bound side, time = FLOPs / (peak e_c) + overhead is a line in FLOPs whose slope gives
/// e_c and whose intercept is the fixed per-call overhead; the memory-bound samples then give
/// e_m = bytes / ((time - overhead) x peak bytes/s), their median kept. A regime with no sample
/// stays unmeasured (compute_measured()/memory_measured() false): nothing is extrapolated or
/// invented. A slow host (a sanitizer build, say) can move the ridge below the smallest GEMM's
/// intensity, so a one-sided sweep is a result to report, not an error. Throws on no samples.
inline GemmEfficiencyFit fit_gemm_efficiency(const std::vector<GemmSample>& s, double peak_flops_per_s,
                                             double peak_bytes_per_s) {
  RIDGELINE_CHECK(peak_flops_per_s > 0 && peak_bytes_per_s > 0, "peaks must be positive");
  const double ridge = peak_flops_per_s / peak_bytes_per_s;
  std::vector<const GemmSample*> comp, mem;
  for (const auto& p : s) {
    RIDGELINE_CHECK(p.time_s > 0, "a GEMM sample has a non-positive time");
    (p.flops() / p.bytes() >= ridge ? comp : mem).push_back(&p);
  }
  if (comp.empty() && mem.empty()) throw Error("no GEMM samples to fit");
  GemmEfficiencyFit f;
  f.compute_bound_samples = static_cast<int>(comp.size());
  f.memory_bound_samples = static_cast<int>(mem.size());
  std::vector<double> x, y, achieved;
  for (const auto* p : comp) {
    x.push_back(p->flops());
    y.push_back(p->time_s);
    achieved.push_back(p->flops() / p->time_s / peak_flops_per_s);
  }
  // Three points at least for a line with an intercept; fewer, and the overhead is not
  // identifiable, so it stays 0 and e_c is the median achieved fraction.
  const LinearFit line = comp.size() >= 3 ? fit_linear(x, y) : LinearFit{};
  if (comp.empty()) {
    f.compute_efficiency = 0;
  } else if (line.slope > 0) {
    f.compute_efficiency = 1.0 / (line.slope * peak_flops_per_s);
    // A fixed cost cannot exceed the fastest call measured.
    double fastest = s.front().time_s;
    for (const auto& p : s) fastest = std::min(fastest, p.time_s);
    f.overhead_s = std::clamp(line.intercept, 0.0, fastest);
  } else {
    f.compute_efficiency = median(achieved);
  }
  f.compute_efficiency = std::min(1.0, f.compute_efficiency);
  std::vector<double> mem_eff;
  for (const auto* p : mem)
    mem_eff.push_back(p->bytes() / (std::max(p->time_s - f.overhead_s, 1e-12) * peak_bytes_per_s));
  f.memory_efficiency = mem.empty() ? 0 : std::min(1.0, median(mem_eff));
  double se = 0;
  for (const auto& p : s) {
    // An unmeasured regime contributes no bound: the error is that of the measured one alone.
    const double t_compute = f.compute_measured() ? p.flops() / (peak_flops_per_s * f.compute_efficiency) : 0;
    const double t_memory = f.memory_measured() ? p.bytes() / (peak_bytes_per_s * f.memory_efficiency) : 0;
    const double pred = std::max(t_compute, t_memory) + f.overhead_s;
    const double rel = (pred - p.time_s) / p.time_s;
    se += rel * rel;
  }
  f.rms_relative_error = std::sqrt(se / s.size());
  return f;
}

}  // namespace ridgeline
