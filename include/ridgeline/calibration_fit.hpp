// SPDX-License-Identifier: Apache-2.0
// L7 fitting: turns calibrator measurements into the efficiency parameters the operator
// roofline uses, and into MegaScale-Infer's linear cost fits (T = k b + c). Pure functions over
// plain sample structs; least squares with Eigen.
#pragma once
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
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

/// Median absolute deviation (unscaled).
inline double median_abs_deviation(const std::vector<double>& v) {
  const double m = median(v);
  std::vector<double> d;
  d.reserve(v.size());
  for (double x : v) d.push_back(std::abs(x - m));
  return median(d);
}

/// Keeps the values within k robust standard deviations (1.4826 x MAD) of the median: a
/// descheduled iteration (10x the others) goes, ordinary jitter stays. With MAD = 0 (identical
/// values) only exact ties with the median are kept. Never returns an empty vector.
inline std::vector<double> reject_outliers_mad(const std::vector<double>& v, double k = 3.5) {
  RIDGELINE_CHECK(!v.empty(), "outlier rejection of no values");
  RIDGELINE_CHECK(k > 0, "the outlier threshold must be positive");
  const double m = median(v);
  const double sigma = 1.4826 * median_abs_deviation(v);
  std::vector<double> kept;
  for (double x : v)
    if (std::abs(x - m) <= k * sigma) kept.push_back(x);
  if (kept.empty()) kept.push_back(m);
  return kept;
}

/// How fit_alpha_beta_robust treats repeated trials.
struct RobustFitOptions {
  double outlier_k = 3.5;       ///< reject trials beyond k x 1.4826 MAD of their size's median
  int bootstrap = 200;          ///< resamples for the parameter uncertainties (0 = none)
  std::uint64_t seed = 1;       ///< of the bootstrap's generator: the same data give the same result
  double loaded_spread = 0.25;  ///< median relative spread of the trials above which a host is loaded
};

/// The alpha-beta link model from repeated trials, each parameter with its uncertainty.
struct RobustAlphaBetaFit {
  double alpha_s = 0;
  double alpha_stderr_s = 0;  ///< bootstrap standard deviation of alpha
  double bytes_per_s = 0;
  double bytes_per_s_stderr = 0;
  double rms_relative_error = 0;  ///< of the fitted line against the per-size medians
  int sizes = 0;                  ///< distinct message sizes fitted
  int trials = 0;                 ///< samples kept after outlier rejection
  int rejected = 0;               ///< samples rejected as outliers
  int bootstrap_used = 0;         ///< resamples whose fit succeeded
  /// Median over sizes of 1.4826 MAD / median of that size's trials: how much repeated trials of
  /// the same size disagree. Above RobustFitOptions::loaded_spread the host is reported as loaded.
  double trial_spread = 0;
  bool loaded = false;
  /// Time the model predicts for a message of `bytes`.
  double predict_s(double bytes) const { return alpha_s + bytes / bytes_per_s; }
};

namespace detail {
/// splitmix64: a small, portable generator, so bootstrap results do not depend on the library.
inline std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace detail

/// Groups the samples by message size, rejects outliers within each size (MAD), fits t = alpha +
/// bytes / beta to the per-size medians (relative least squares, fit_alpha_beta), and bootstraps
/// the uncertainties: each resample draws every size's kept trials with replacement and refits.
/// Needs two sizes at least; with one trial per size the uncertainties are 0 (nothing to resample).
inline RobustAlphaBetaFit fit_alpha_beta_robust(const std::vector<LinkSample>& samples,
                                                const RobustFitOptions& o = {}) {
  std::vector<double> sizes;
  for (const auto& s : samples) {
    RIDGELINE_CHECK(s.time_s > 0 && std::isfinite(s.time_s), "a link sample has a non-positive time");
    if (std::find(sizes.begin(), sizes.end(), s.message_bytes) == sizes.end()) sizes.push_back(s.message_bytes);
  }
  std::sort(sizes.begin(), sizes.end());
  if (sizes.size() < 2) throw Error("a link fit needs at least two message sizes");
  std::vector<std::vector<double>> kept(sizes.size());
  RobustAlphaBetaFit f;
  std::vector<double> spreads;
  std::vector<LinkSample> medians;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::vector<double> t;
    for (const auto& s : samples)
      if (s.message_bytes == sizes[i]) t.push_back(s.time_s);
    kept[i] = reject_outliers_mad(t, o.outlier_k);
    f.rejected += int(t.size() - kept[i].size());
    f.trials += int(kept[i].size());
    const double m = median(kept[i]);
    medians.push_back({sizes[i], m});
    if (t.size() >= 3) spreads.push_back(1.4826 * median_abs_deviation(t) / m);
  }
  const AlphaBetaFit base = fit_alpha_beta(medians);
  f.alpha_s = base.alpha_s;
  f.bytes_per_s = base.bytes_per_s;
  f.rms_relative_error = base.rms_relative_error;
  f.sizes = int(sizes.size());
  f.trial_spread = spreads.empty() ? 0 : median(spreads);
  f.loaded = f.trial_spread > o.loaded_spread;
  std::uint64_t state = o.seed;
  std::vector<double> alphas, betas;
  for (int b = 0; b < o.bootstrap; ++b) {
    std::vector<LinkSample> m;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      std::vector<double> draw;
      for (std::size_t k = 0; k < kept[i].size(); ++k)
        draw.push_back(kept[i][detail::splitmix64(state) % kept[i].size()]);
      m.push_back({sizes[i], median(draw)});
    }
    try {
      const AlphaBetaFit r = fit_alpha_beta(m);
      alphas.push_back(r.alpha_s);
      betas.push_back(r.bytes_per_s);
    } catch (const Error&) {
      // A resample whose times do not grow with size has no bandwidth: it is left out.
    }
  }
  f.bootstrap_used = int(alphas.size());
  auto stddev = [](const std::vector<double>& v) {
    if (v.size() < 2) return 0.0;
    double mean = 0;
    for (double x : v) mean += x;
    mean /= double(v.size());
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    return std::sqrt(ss / double(v.size() - 1));
  };
  f.alpha_stderr_s = stddev(alphas);
  f.bytes_per_s_stderr = stddev(betas);
  return f;
}

/// A fit is refused when its relative RMS error exceeds `max_rms_relative_error` (the caller
/// says what to re-run, and may let the user override it).
inline bool fit_is_poor(double rms_relative_error, double max_rms_relative_error) {
  return !(rms_relative_error <= max_rms_relative_error);
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
