// SPDX-License-Identifier: Apache-2.0
// Calibrator backends measure grouped GEMMs, memory streaming and transfers on the machine they
// run on; main.cpp fits them (calibration_fit.hpp) and writes a calibration JSON file.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "ridgeline/calibration_samples.hpp"
#include "ridgeline/calibration_sweep.hpp"

namespace ridgeline::calib {

struct Options {
  bool quick = false;           ///< fewer sizes and repetitions (tests, CI)
  int repetitions = 7;          ///< timed repetitions per point; the median is kept
  int hidden = 2048;            ///< grouped-GEMM K
  int intermediate = 1024;      ///< grouped-GEMM N per expert
  int experts = 8;              ///< GEMMs per group
  double peak_flops_per_s = 0;  ///< from --hardware (datasheet); 0 = measure the best achievable
  double peak_bytes_per_s = 0;
  std::string peak_source = "measured";
  /// The link sweep's sizes (nccl-tests -b / -e / -f) and both sweeps' iterations (-w / -n);
  /// 0 = the defaults of --quick or of a full run.
  std::size_t link_min_bytes = 0, link_max_bytes = 0;
  double link_factor = 0;
  int warmup = -1, iterations = 0;
  /// Called after every link or stream row ("link" / "stream", bytes, statistics), as it runs.
  std::function<void(const char* sweep, double bytes, const sweep::TimeStats&)> on_row;
};

struct Run {
  std::string backend;
  std::string device;
  double peak_flops_per_s = 0;
  double peak_bytes_per_s = 0;
  std::string peak_source;
  std::vector<GemmSample> gemm;
  std::vector<StreamSample> stream;
  std::vector<LinkSample> link;                            ///< median per size
  std::vector<sweep::TimeStats> link_stats, stream_stats;  ///< per row: median, p99, spread
  std::string link_kind;                                   ///< what the link samples measured
  std::vector<std::string> notes;
};

/// Peaks the efficiencies are relative to: the datasheet ones from --hardware when given, else
/// the best this machine achieved in the run (the only honest reference without a datasheet).
inline void resolve_peaks(const Options& o, Run& r) {
  r.peak_source = o.peak_source;
  r.peak_flops_per_s = o.peak_flops_per_s;
  r.peak_bytes_per_s = o.peak_bytes_per_s;
  if (r.peak_flops_per_s <= 0) {
    for (const auto& g : r.gemm) r.peak_flops_per_s = std::max(r.peak_flops_per_s, g.flops() / g.time_s);
    r.peak_source = "measured (best observed; pass --hardware for datasheet-relative efficiencies)";
  }
  if (r.peak_bytes_per_s <= 0)
    for (const auto& s : r.stream) r.peak_bytes_per_s = std::max(r.peak_bytes_per_s, s.bytes / s.time_s);
}

/// CPU backend: Eigen float GEMMs, a streaming read, and a two-thread shared-memory hand-off
/// as the "link". Runs anywhere, so the calibrate -> fit -> predict loop is testable without a GPU.
Run run_cpu(const Options& o);

/// CUDA backend (built when nvcc is found): cuBLAS bf16 grouped GEMM, an HBM streaming kernel,
/// and NCCL send/recv between GPU pairs when there are two or more. Returns the exit status:
/// 0 ok, 2 no CUDA device (with a message on stderr).
int run_cuda(const Options& o, Run& out);

}  // namespace ridgeline::calib
