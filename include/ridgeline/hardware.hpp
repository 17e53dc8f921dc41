// SPDX-License-Identifier: Apache-2.0
// Accelerator: one device kind as a plain value struct in SI units. Bandwidths are per GPU and
// per direction; `efficiency` turns a datasheet link rate into a sustained one.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ridgeline/error.hpp"
#include "ridgeline/roofline_profile.hpp"

namespace ridgeline {

/// Numeric formats a plan can compute, store or send in.
enum class DType { fp4, fp8, bf16, fp16, fp32, int8, int4 };

inline double dtype_bytes(DType d) {
  switch (d) {
    case DType::fp4:
      return 0.5;
    case DType::int4:
      return 0.5;
    case DType::fp8:
      return 1;
    case DType::int8:
      return 1;
    case DType::bf16:
      return 2;
    case DType::fp16:
      return 2;
    case DType::fp32:
      return 4;
  }
  return 0;
}

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::fp4:
      return "fp4";
    case DType::int4:
      return "int4";
    case DType::fp8:
      return "fp8";
    case DType::int8:
      return "int8";
    case DType::bf16:
      return "bf16";
    case DType::fp16:
      return "fp16";
    case DType::fp32:
      return "fp32";
  }
  return "?";
}

/// One network tier (scale-up fabric or scale-out NIC) as seen by one GPU.
struct Link {
  double bytes_per_s = 0;  ///< datasheet rate per GPU per direction
  double efficiency = 1;   ///< sustained fraction of bytes_per_s, in (0, 1]
  double latency_s = 0;    ///< one-way small-message latency (alpha of the alpha-beta model)
  double sustained_bytes_per_s() const { return bytes_per_s * efficiency; }
};

struct Accelerator {
  std::string id;
  std::string name;
  std::string vendor;
  /// Tensor-core generation (ampere, ada, hopper, blackwell, cdna3, cdna4, ascend; empty =
  /// unknown): picks the decode attention kernel family's tile (attention_tile_rows).
  std::string architecture;
  /// Dense peak FLOP/s per dtype; nullopt = not supported natively.
  std::optional<double> peak_fp4_flops_per_s, peak_fp8_flops_per_s, peak_bf16_flops_per_s, peak_int8_flops_per_s;
  double hbm_bytes = 0;
  double hbm_bytes_per_s = 0;
  Link scale_up;
  int scale_up_domain_gpus = 8;
  Link scale_out;
  int gpus_per_node = 8;
  double price_usd_per_gpu_hour = 0;
  double power_w = 0;
  std::string notes;
  std::vector<std::string> sources;
  /// Dies per package run as separate ranks (Ascend 910C: 2). The hwdb file gives per-package
  /// figures; the loader splits them, so one "GPU" of the model is one die.
  int dies_per_package = 1;

  /// A superpod: the scale-up fabric spans more than one node (NVL72, CloudMatrix384), so
  /// instances may be placed GPU-granular and A<->F traffic can stay on scale-up links.
  bool is_superpod() const { return scale_up_domain_gpus > gpus_per_node; }

  /// Rows of the smallest tile a decode attention kernel computes per KV-head group (query
  /// heads sharing a KV head x query tokens per sequence); fewer rows are padded. Set from
  /// `architecture` by the loader (tile_rows_for); 1 = no padding modelled.
  int attention_tile_rows = 1;

  /// The decode attention kernels pick their query tile by the rows of a KV-head group
  /// (attention_kernel_shape) instead of one fixed tile. Set from `architecture` by the loader
  /// (tiles_by_rows_for).
  bool attention_tiles_by_rows = false;

  /// The roofline fractions measured on this accelerator (hwdb/calibration/<id>.json, set by the
  /// loader): they replace the generic Efficiencies fractions for its operators. nullopt: none.
  std::optional<RooflineProfile> roofline_profile;

  /// Blackwell: TensorRT-LLM's generation kernels (trtllm-gen FMHA, `fmhaKernels.h`, also run by
  /// FlashInfer on SM100) choose the tile per call: `selectMlaGenerationKernel` and the GQA
  /// heuristic by query rows per KV head.
  static bool tiles_by_rows_for(const std::string& arch) { return arch == "blackwell"; }

  /// The decode attention kernels compute in the KV cache's format when it is FP8 (FP8 queries,
  /// FP8 MMAs): TensorRT-LLM's Blackwell generation kernels (also FlashInfer's on SM100). The
  /// measured B200/GB200 MLA tables (FP8 KV) exceed the dense BF16 peak by 1.2-1.3x at 128 heads
  /// per GPU, which only FP8 math reaches. Set from `architecture` by the loader.
  bool attention_math_follows_kv = false;
  static bool attention_math_follows_kv_for(const std::string& arch) { return arch == "blackwell"; }

  /// NVIDIA: FlashMLA and FlashAttention-3 on Hopper issue 64-row wgmma tiles, FlashAttention-2's
  /// split-KV decode on Ampere/Ada 64-row blocks (Blackwell: 64 is only the fallback, the kernels
  /// choose by rows, attention_tiles_by_rows). AMD MFMA and Ascend cube units: 16 (assumed).
  /// Unknown architecture: 0.
  static int tile_rows_for(const std::string& arch) {
    if (arch == "ampere" || arch == "ada" || arch == "hopper" || arch == "blackwell") return 64;
    if (arch == "cdna3" || arch == "cdna4" || arch == "ascend") return 16;
    return 0;
  }

  /// Dense peak for a GEMM whose operands are `d`. Throws MissingDataError when the part has no
  /// native support: a missing number is an error, never a silent fallback to another dtype.
  double peak_flops_per_s(DType d) const {
    // The search's inner loop calls this per operator: a pointer pick and one test, with the
    // error message built out of line.
    const std::optional<double>* v = nullptr;
    switch (d) {
      case DType::fp4:
      case DType::int4:
        v = &peak_fp4_flops_per_s;
        break;
      case DType::fp8:
        v = &peak_fp8_flops_per_s;
        break;
      case DType::int8:
        v = peak_int8_flops_per_s ? &peak_int8_flops_per_s : &peak_fp8_flops_per_s;
        break;
      case DType::bf16:
      case DType::fp16:
        v = &peak_bf16_flops_per_s;
        break;
      // FP32 GEMMs run far below the BF16 tensor-core peak and hwdb files carry no FP32 peak:
      // refuse instead of silently using the BF16 number.
      case DType::fp32:
        break;
    }
    if (v && v->has_value() && !(**v <= 0)) [[likely]]
      return **v;
    missing_peak(d);
  }

  [[noreturn, gnu::noinline, gnu::cold]] void missing_peak(DType d) const {
    if (d == DType::fp32)
      throw MissingDataError(std::string("hardware '") + id +
                             "' has no fp32 peak FLOP/s: FP32 GEMMs are not modelled (the BF16 tensor-core "
                             "peak would overstate them): use bf16 weights");
    throw MissingDataError(std::string("hardware '") + id + "' has no " + dtype_name(d) +
                           " peak FLOP/s: choose a precision it supports (e.g. bf16) or add "
                           "peak_flops_per_s." +
                           dtype_name(d) + " to its hwdb file");
  }

  bool supports(DType d) const {
    try {
      (void)peak_flops_per_s(d);
      return true;
    } catch (const MissingDataError&) {
      return false;
    }
  }
};

}  // namespace ridgeline
