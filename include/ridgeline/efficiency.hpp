// SPDX-License-Identifier: Apache-2.0
// Achievable fractions of peak, and fixed per-kernel costs. These are the only tuning knobs of
// the operator roofline; each default is named, documented and tagged `assumed` until a
// Calibration replaces it. Never tune them to one data point.
#pragma once
#include "ridgeline/provenance.hpp"

namespace ridgeline {

struct Efficiencies {
  /// Dense/grouped GEMM fraction of peak when compute-bound. DeepGEMM reports 1,300-1,550 FP8
  /// TFLOPS on H800 for large decode/prefill grouped GEMMs (0.66-0.78 of 1,979).
  double gemm_compute = 0.70;
  /// HBM fraction when a GEMM streams weights (memory-bound decode GEMMs reach 0.75-0.9).
  double gemm_memory = 0.80;
  /// Attention-core fraction of peak when compute-bound (FlashMLA: ~660 of 989 BF16 TFLOPS).
  double attention_compute = 0.65;
  /// Attention-core HBM fraction when KV-read bound (FlashMLA: ~3,000 of 3,350 GB/s).
  double attention_memory = 0.85;
  /// Fixed cost per kernel (launch gap under CUDA graphs, tail effects).
  double kernel_overhead_s = 2e-6;
  /// Fraction of HBM usable for weights + KV (the rest: activations, workspaces, runtime).
  double usable_hbm_fraction = 0.90;
  Source source = Source::assumed;
};

}  // namespace ridgeline
