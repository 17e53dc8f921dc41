// SPDX-License-Identifier: Apache-2.0
// Achievable fractions of peak, and fixed per-kernel costs. These are the only tuning knobs of
// the operator roofline; each default is named, documented and tagged `assumed` until a
// Calibration replaces it. Never tune them to one data point.
#pragma once
#include <array>

#include "ridgeline/provenance.hpp"
#include "ridgeline/roofline_profile.hpp"
#include "ridgeline/transport.hpp"

namespace ridgeline {

struct Efficiencies {
  /// Dense/grouped GEMM fraction of peak when compute-bound. DeepGEMM reports 1,300-1,550 FP8
  /// TFLOPS on H800 for large decode/prefill grouped GEMMs (0.66-0.78 of 1,979).
  double gemm_compute = 0.70;
  /// HBM fraction of a GEMM's pure weight stream. With gemm_overlap 0.5 the DeepGEMM H800
  /// tables fit best at 0.95 (their memory-bound M=64 shapes reach 0.67-0.78 of HBM end to end,
  /// the rest being the unhidden compute half and the kernel overhead).
  double gemm_memory = 0.95;
  /// Attention-core fraction of peak when compute-bound (FlashMLA: ~660 of 989 BF16 TFLOPS).
  double attention_compute = 0.65;
  /// Attention-core HBM fraction when KV-read bound (FlashMLA: ~3,000 of 3,350 GB/s).
  double attention_memory = 0.85;
  /// Fraction of each repeated KV stream that reaches HBM when a decode attention kernel splits
  /// one KV-head group over several CTAs (attention_kernel_shape; Blackwell MLA, 17-32 rows):
  /// 1 = every CTA reads the KV from HBM, 0 = the L2 serves every repeat. Default: the
  /// fit to the measured B200 MLA decode table (aiconfigurator-core 0.12, TensorRT-LLM
  /// 1.3.0rc20; hwdb/calibration/b200.json); GB200's table gives the same within 0.05.
  double attention_kv_reread = 0.3;
  /// Fixed cost per kernel (launch gap under CUDA graphs, tail effects).
  double kernel_overhead_s = 2e-6;
  /// Fraction of HBM usable for weights + KV (the rest: activations, workspaces, runtime).
  double usable_hbm_fraction = 0.90;
  /// GEMMs: fraction of the shorter of (compute, weight-stream) time hidden under the longer.
  /// 1 = ideal roofline max(); the DeepGEMM H800 tables (28 dense/grouped/masked FP8 shapes,
  /// README 2025-02) fit best with 0.5 together with gemm_memory 0.95 and gemm_compute 0.70
  /// (median |error| 4 %, max 22 %, against 12 % / 40 % for the plain max()).
  double gemm_overlap = 0.5;
  /// Small kernels per layer that the operator list does not cost (norms, RoPE, activation
  /// quantisation, top-k routing, residual adds, MLA absorb BMMs, FlashMLA metadata/combine):
  /// a DeepSeek-V3 decode layer launches ~29 kernels (SGLang/DeepSeek kernel list: 3 norms,
  /// RoPE, KV write, 2 absorb BMMs, FlashMLA metadata + combine, top-k, 2 activation kernels,
  /// 4 FP8 activation quantisations, the shared-expert down GEMM, 2 residual adds), the
  /// operator list costs 9. Each costs kernel_overhead_s (2 us: the DeepGEMM fit above).
  double small_kernels_per_layer = 20;
  /// Launch cost per kernel when the layer cannot run as a CUDA graph (a transport that is not
  /// graph-capturable, e.g. DeepEP normal kernels): eager launches cost ~4-5 us each against
  /// ~2 us replayed from a graph (assumed; the calibrator measures both).
  double eager_launch_overhead_s = 5e-6;
  /// Per-transfer software cost and compute contention of each transport (transport.hpp), the
  /// one mechanism that prices EP's two-batch overlap and AFD's ping-pong alike.
  std::array<TransportCost, kTransportKinds> transports{
      default_transport_cost(TransportKind::deepep_low_latency), default_transport_cost(TransportKind::deepep_normal),
      default_transport_cost(TransportKind::nccl), default_transport_cost(TransportKind::cpu_rdma)};
  const TransportCost& transport(TransportKind k) const { return transports[size_t(k)]; }
  Source source = Source::assumed;

  /// The five roofline fractions above (gemm_compute, gemm_memory, attention_compute,
  /// attention_memory, attention_kv_reread) that were given (a calibration file, a scenario's
  /// efficiency block; RooflineField bits): a given value prices every accelerator. The others
  /// follow each accelerator's measured profile (Accelerator::roofline_profile, fitted to its
  /// measured kernel tables) where hwdb ships one, else the generic values above.
  unsigned given_roofline = 0;
  /// false: ignore every accelerator's measured profile (the generic fractions everywhere).
  bool hardware_profiles = true;
  /// Multiplies both attention fractions, whichever source they come from (capped at 1): the
  /// attention-efficiency range of `plan --sensitivity`.
  double attention_efficiency_scale = 1.0;

  /// The five roofline fractions this struct holds, before any accelerator's profile.
  RooflineFractions own_fractions() const {
    return {gemm_compute, gemm_memory, attention_compute, attention_memory, attention_kv_reread};
  }
};

}  // namespace ridgeline
