// SPDX-License-Identifier: Apache-2.0
// Decode-attention calibration: the fit that turns a sweep of measured attention kernels
// (attention_shape.hpp counts their FLOPs and bytes as ops.hpp does) into the roofline's
// attention_compute / attention_memory efficiencies.
// Pure: no I/O, no JSON (the calibrator writes the file).
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ridgeline/attention_shape.hpp"
#include "ridgeline/calibration_fit.hpp"
#include "ridgeline/error.hpp"
#include "ridgeline/ops.hpp"

namespace ridgeline {

/// One timed kernel: the median and the 99th percentile of the repetitions.
struct AttentionSample {
  AttentionShape shape;
  double time_s = 0;
  double p99_s = 0;
};

struct AttentionEfficiencyFit {
  double compute_efficiency = 0;  ///< achieved / (peak / padding) on compute-bound samples
  double memory_efficiency = 0;   ///< KV bytes / (time - overhead) / peak bytes/s, memory-bound samples
  double overhead_s = 0;          ///< fixed cost per kernel (intercept of the compute-bound line)
  double rms_relative_error = 0;  ///< of the roofline with these parameters against the samples
  int compute_bound_samples = 0;
  int memory_bound_samples = 0;
  bool compute_measured() const { return compute_bound_samples > 0; }
  bool memory_measured() const { return memory_bound_samples > 0; }
};

/// Fits time = max(F pad / (P e_c), B_kv / (W e_m)) + overhead, the model's attention roofline
/// (op_time in ops.hpp; pad = tile_padding_factor(rows_per_group, tile_rows)), to measured
/// samples. Samples are classified by the ridge: F pad / B_kv >= P / W is compute-bound. The
/// compute-bound ones give e_c from the slope of time against padded FLOPs (3 or more samples,
/// intercept = overhead) or the median achieved fraction (fewer); the memory-bound ones give
/// the median e_m after the overhead. A regime without samples stays unmeasured (0) and must
/// not be written to a calibration file. Throws on no samples or non-positive peaks.
inline AttentionEfficiencyFit fit_attention_efficiency(const std::vector<AttentionSample>& s, double peak_flops_per_s,
                                                       double peak_bytes_per_s, int tile_rows = 1) {
  RIDGELINE_CHECK(peak_flops_per_s > 0 && peak_bytes_per_s > 0, "attention fit: peaks must be positive");
  if (s.empty()) throw Error("no attention samples to fit");
  const double ridge = peak_flops_per_s / peak_bytes_per_s;
  auto padded = [&](const AttentionSample& p) {
    return p.shape.flops() * tile_padding_factor(p.shape.rows_per_group(), tile_rows);
  };
  std::vector<const AttentionSample*> comp, mem;
  for (const auto& p : s) {
    RIDGELINE_CHECK(p.time_s > 0 && std::isfinite(p.time_s), "an attention sample has a non-positive time");
    (padded(p) / p.shape.kv_bytes() >= ridge ? comp : mem).push_back(&p);
  }
  AttentionEfficiencyFit f;
  f.compute_bound_samples = int(comp.size());
  f.memory_bound_samples = int(mem.size());
  double fastest = s.front().time_s;
  for (const auto& p : s) fastest = std::min(fastest, p.time_s);
  if (!comp.empty()) {
    std::vector<double> x, y, achieved;
    for (const auto* p : comp) {
      x.push_back(padded(*p));
      y.push_back(p->time_s);
      achieved.push_back(padded(*p) / p->time_s / peak_flops_per_s);
    }
    // A line needs distinct x values; repeated shapes leave the median achieved fraction.
    const bool spread = *std::max_element(x.begin(), x.end()) > 1.01 * *std::min_element(x.begin(), x.end());
    const LinearFit line = comp.size() >= 3 && spread ? fit_linear(x, y) : LinearFit{};
    if (line.slope > 0) {
      f.compute_efficiency = 1.0 / (line.slope * peak_flops_per_s);
      f.overhead_s = std::clamp(line.intercept, 0.0, fastest);
    } else {
      f.compute_efficiency = median(achieved);
    }
    f.compute_efficiency = std::min(1.0, f.compute_efficiency);
  }
  if (!mem.empty()) {
    std::vector<double> e;
    for (const auto* p : mem)
      e.push_back(p->shape.kv_bytes() / (std::max(p->time_s - f.overhead_s, 1e-12) * peak_bytes_per_s));
    f.memory_efficiency = std::min(1.0, median(e));
  }
  double se = 0;
  for (const auto& p : s) {
    const double tc = f.compute_measured() ? padded(p) / (peak_flops_per_s * f.compute_efficiency) : 0;
    const double tm = f.memory_measured() ? p.shape.kv_bytes() / (peak_bytes_per_s * f.memory_efficiency) : 0;
    const double rel = (std::max(tc, tm) + f.overhead_s - p.time_s) / p.time_s;
    se += rel * rel;
  }
  f.rms_relative_error = std::sqrt(se / double(s.size()));
  return f;
}

/// The calibration file's "efficiency" entries this fit measured (key names as
/// io::read_efficiency_block reads them); an unmeasured regime is left out, so the model keeps
/// its default for it. Efficiencies are clamped to the reader's accepted range [1e-3, 1].
inline std::vector<std::pair<std::string, double>> attention_efficiency_entries(const AttentionEfficiencyFit& f) {
  std::vector<std::pair<std::string, double>> out;
  if (f.compute_measured()) out.emplace_back("attention_compute", std::clamp(f.compute_efficiency, 1e-3, 1.0));
  if (f.memory_measured()) out.emplace_back("attention_memory", std::clamp(f.memory_efficiency, 1e-3, 1.0));
  return out;
}

}  // namespace ridgeline
