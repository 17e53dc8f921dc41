// SPDX-License-Identifier: Apache-2.0
// What a calibrator measures, as plain structs (no Eigen: the CUDA backend includes this).
#pragma once
#include <algorithm>
#include <vector>

#include "ridgeline/error.hpp"

namespace ridgeline {

/// One grouped-GEMM measurement: `experts` GEMMs of (tokens_per_expert x hidden) . (hidden x
/// intermediate), weights of `weight_bytes_per_elem` bytes.
struct GemmSample {
  double tokens_per_expert = 0;
  int experts = 0;
  int hidden = 0;
  int intermediate = 0;
  double weight_bytes_per_elem = 2;
  double time_s = 0;
  double flops() const { return 2.0 * tokens_per_expert * hidden * intermediate * experts; }
  /// Weights dominate decode GEMM traffic; activations are counted too for honesty at large M.
  double bytes() const {
    return experts *
           (double(hidden) * intermediate * weight_bytes_per_elem + tokens_per_expert * (hidden + intermediate) * 2.0);
  }
};

/// One streaming-read measurement (HBM or host memory bandwidth).
struct StreamSample {
  double bytes = 0;
  double time_s = 0;
};

/// One point-to-point or M->N transfer: `message_bytes` per destination, time of the phase.
struct LinkSample {
  double message_bytes = 0;
  double time_s = 0;
};

inline double median(std::vector<double> v) {
  RIDGELINE_CHECK(!v.empty(), "median of no values");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace ridgeline
