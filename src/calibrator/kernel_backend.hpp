// SPDX-License-Identifier: Apache-2.0
// Kernels the `attention` and `gemm` subcommands time, behind one interface per backend: the CPU
// one (attention_cpu.cpp: plain C++ decode attention, Eigen grouped GEMM) and the CUDA one
// (kernels_cuda.cu: BF16 split-KV decode attention, cuBLAS grouped GEMM, cuBLASLt FP8, launch
// and graph overheads). Every kernel is checked against a host reference before it is timed.
// C++17 (nvcc compiles the CUDA backend against this header).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ridgeline/attention_shape.hpp"

namespace ridgeline::calib {

// ---- Decode attention: layouts, inputs, reference and checker (attention_cpu.cpp) ----------
// Row-major, contiguous:
//   MLA: q [B][H][latent+rope], kv [B][L][latent+rope] (one latent per token shared by all
//        heads; the first `latent` elements are also the values), out [B][H][latent].
//   GQA: q [B][Hq][D], k and v [B][Hkv][L][D], out [B][Hq][D]; query head h reads KV head
//        h / (Hq / Hkv).
struct AttentionInputs {
  std::vector<float> q, k, v;  ///< v is empty for MLA (the latent in k is the value)
};

/// Elements of the output tensor.
size_t attention_output_elements(const AttentionShape& s);
/// Deterministic inputs uniform in [-1, 1); `bf16` rounds them to bfloat16 values so a BF16
/// kernel and the double reference see the same numbers.
AttentionInputs make_attention_inputs(const AttentionShape& s, uint32_t seed, bool bf16);
/// Softmax scale 1/sqrt(score dimension): latent+rope for MLA, head_dim for GQA.
double attention_softmax_scale(const AttentionShape& s);
/// Straightforward double-precision decode attention (two-pass softmax): the reference.
std::vector<double> attention_reference(const AttentionShape& s, const AttentionInputs& in);

/// The CPU kernel: split-KV (flash-decoding) with an online softmax per split and a final
/// combine; `splits` KV chunks per sequence (0 = enough to keep `threads` busy).
void attention_cpu(const AttentionShape& s, const AttentionInputs& in, float* out, int splits, int threads);

struct CheckResult {
  double max_relative_error = 0;  ///< max |got - ref| / max |ref| over all elements
  size_t worst_index = 0;
  bool ok = false;  ///< error within the bound and every value finite
};
/// Compares a kernel's output with the reference. A NaN/Inf or a size mismatch is never ok.
CheckResult check_against_reference(const std::vector<float>& got, const std::vector<double>& ref, double bound);

/// bfloat16 round-to-nearest-even of a float, returned as a float.
float round_to_bf16(float x);

// ---- Grouped GEMM for experts ----------------------------------------------------------------
/// experts GEMMs: Y_e (tokens[e] x intermediate) = X_e (tokens[e] x hidden) . W_e (hidden x
/// intermediate). An expert with no tokens reads no weights (a grouped kernel skips it).
struct GemmProblem {
  std::vector<int> tokens;  ///< routed tokens per expert
  int hidden = 0;
  int intermediate = 0;
  std::string dtype = "bf16";  ///< bf16, fp8 (CUDA, cc >= 8.9) or fp32 (CPU)
  int dtype_bytes() const { return dtype == "fp32" ? 4 : dtype == "fp8" ? 1 : 2; }
  int active_experts() const {
    int n = 0;
    for (int t : tokens) n += t > 0;
    return n;
  }
  double total_tokens() const {
    double n = 0;
    for (int t : tokens) n += t;
    return n;
  }
  double flops() const { return 2.0 * total_tokens() * hidden * intermediate; }
  /// Weights of the active experts, activations in and out (at the GEMM's element size).
  double bytes() const {
    return double(active_experts()) * hidden * intermediate * dtype_bytes() +
           total_tokens() * (double(hidden) + intermediate) * dtype_bytes();
  }
};

/// Peak references measured on the device (the best of a large GEMM and a streaming read).
struct MeasuredPeaks {
  double flops_per_s = 0;
  double bytes_per_s = 0;
  std::string how;
};

/// Launch and graph-replay overheads (CUDA only): seconds per empty kernel.
struct OverheadSample {
  std::string what;  ///< "eager_launch" or "graph_replay"
  int kernels = 0;
  double per_kernel_s = 0;
  double p99_per_kernel_s = 0;
};

class KernelBackend {
 public:
  virtual ~KernelBackend() = default;
  virtual std::string name() const = 0;    ///< cpu or cuda
  virtual std::string device() const = 0;  ///< human-readable device description
  virtual std::string attention_dtype() const = 0;
  virtual int attention_dtype_bytes() const = 0;
  /// Error bound of check_against_reference for this backend's precision.
  virtual double attention_error_bound() const = 0;
  /// Runs the kernel on `s` with deterministic inputs, compares with attention_reference;
  /// returns the check (the caller refuses to time a failing kernel).
  virtual CheckResult verify_attention(const AttentionShape& s) = 0;
  /// Seconds per call for each of `reps` timed calls (after a warm-up).
  virtual std::vector<double> time_attention(const AttentionShape& s, int reps) = 0;
  /// dtypes this device can run ("fp32" on CPU; "bf16" and, with cc >= 8.9, "fp8" on CUDA).
  virtual std::vector<std::string> gemm_dtypes() const = 0;
  virtual CheckResult verify_gemm(const GemmProblem& p) = 0;
  virtual std::vector<double> time_gemm(const GemmProblem& p, int reps) = 0;
  virtual MeasuredPeaks measure_peaks(bool quick) = 0;
  virtual std::vector<OverheadSample> measure_overheads(int reps) {
    (void)reps;
    return {};
  }
  /// Rows of the attention kernel's tile (the padding ops.hpp models): 1 on CPU.
  virtual int attention_tile_rows() const { return 1; }
};

/// `threads` workers (>= 1), `splits` KV chunks per sequence (0 = automatic).
std::unique_ptr<KernelBackend> make_cpu_kernels(int threads, int splits);
/// nullptr when there is no usable CUDA device (or no CUDA in this build); `why` then says so.
std::unique_ptr<KernelBackend> make_cuda_kernels(std::string& why);

}  // namespace ridgeline::calib
