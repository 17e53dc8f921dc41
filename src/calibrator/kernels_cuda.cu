// SPDX-License-Identifier: Apache-2.0
// The CUDA KernelBackend of `ridgeline-calibrate attention|gemm`:
//  - MLA-absorbed decode attention in BF16 on tensor cores (WMMA 16x16x16): one block per 16
//    heads x one KV split of one sequence, 64-token tiles of the shared latent in shared memory,
//    an online softmax per split, then a combine kernel (flash-decoding);
//  - GQA decode attention in BF16 (split-KV, one lane per token for the scores, one lane per
//    output slice for P.V, FP32 accumulation), memory-bound like the real kernels;
//  - the expert grouped GEMM in BF16 (cublasGemmGroupedBatchedEx, one group per expert) and FP8
//    E4M3 through cuBLASLt (one matmul per expert) on compute capability >= 8.9;
//  - empty-kernel eager launch and CUDA-graph replay overheads; peaks from a large cuBLAS GEMM
//    and a streaming read.
// Every kernel is compared with the host reference on a small problem before it is timed.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "kernel_backend.hpp"
#include "ridgeline/error.hpp"

namespace ridgeline::calib {

namespace {

#define KS_CUDA(call)                                                                            \
  do {                                                                                           \
    cudaError_t e_ = (call);                                                                     \
    if (e_ != cudaSuccess)                                                                       \
      throw Error(std::string("kernels_cuda.cu:") + std::to_string(__LINE__) + ": " #call ": " + \
                  cudaGetErrorString(e_));                                                       \
  } while (0)
#define KS_CUBLAS(call)                                                                                 \
  do {                                                                                                  \
    cublasStatus_t s_ = (call);                                                                         \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                                    \
      throw Error(std::string("kernels_cuda.cu:") + std::to_string(__LINE__) + ": " #call ": status " + \
                  std::to_string(int(s_)));                                                             \
  } while (0)

using bf16 = __nv_bfloat16;
namespace wmma = nvcuda::wmma;
constexpr float kLog2e = 1.4426950408889634f;

// Device buffer that frees itself.
template <class T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  Dev() = default;
  explicit Dev(size_t count) : n(count) { KS_CUDA(cudaMalloc(&p, std::max<size_t>(1, count) * sizeof(T))); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  ~Dev() {
    if (p) cudaFree(p);
  }
  void reset(size_t count) {
    if (p) cudaFree(p);
    p = nullptr;
    n = count;
    KS_CUDA(cudaMalloc(&p, std::max<size_t>(1, count) * sizeof(T)));
  }
};

// ---------------------------------------------------------------------- fill, stream, empty --

__device__ __forceinline__ float hash_unit(size_t i, uint32_t seed) {
  uint32_t x = uint32_t(i) * 2654435761u ^ (uint32_t(i >> 32) * 40503u) ^ seed;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return float(x >> 8) / float(1 << 24) * 2.0f - 1.0f;  // [-1, 1)
}

__global__ void fill_bf16_random(bf16* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    p[i] = __float2bfloat16(hash_unit(i, seed));
}

__global__ void fill_fp8_random(__nv_fp8_e4m3* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    p[i] = __nv_fp8_e4m3(hash_unit(i, seed));
}

__global__ void stream_read(const float4* p, size_t n4, float* out) {
  float acc = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n4; i += size_t(gridDim.x) * blockDim.x) {
    const float4 v = p[i];
    acc += v.x + v.y + v.z + v.w;
  }
  if (acc == 12345.678f) *out = acc;  // keeps the loads; never true for the zero-filled buffer
}

__global__ void empty_kernel() {}

// ------------------------------------------------------------------------ MLA decode (WMMA) --
// q [B][H][dqk], kv [B][L][dqk] (values: the first dv columns), partials per (b, h, split).
constexpr int kMlaRows = 16, kMlaTile = 64, kMlaThreads = 256;

size_t mla_smem_bytes(int dqk, int dv) {
  return size_t(kMlaRows) * dqk * 2 + size_t(kMlaTile) * dqk * 2 + kMlaRows * kMlaTile * 4 + kMlaRows * kMlaTile * 2 +
         size_t(kMlaRows) * dv * 4 + 3 * kMlaRows * 4;
}

__global__ void __launch_bounds__(kMlaThreads)
    mla_decode_split(const bf16* __restrict__ q, const bf16* __restrict__ kv, float* part_o, float* part_ml, int H,
                     int L, int dqk, int dv, int chunk, int splits, float scale_log2) {
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Qs = reinterpret_cast<bf16*>(smem);
  bf16* KVs = Qs + kMlaRows * dqk;
  float* S = reinterpret_cast<float*>(KVs + kMlaTile * dqk);
  bf16* P = reinterpret_cast<bf16*>(S + kMlaRows * kMlaTile);
  float* Os = reinterpret_cast<float*>(P + kMlaRows * kMlaTile);
  float* m_s = Os + kMlaRows * dv;
  float* l_s = m_s + kMlaRows;
  float* a_s = l_s + kMlaRows;

  const int split = blockIdx.x, h0 = blockIdx.y * kMlaRows, b = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32;
  const int t0 = split * chunk, t1 = min(L, t0 + chunk);
  const int vec = dqk / 8;  // uint4 (8 bf16) per row
  for (int i = tid; i < kMlaRows * vec; i += kMlaThreads) {
    const int row = i / vec, c = i % vec;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (h0 + row < H) v = reinterpret_cast<const uint4*>(q + (size_t(b) * H + h0 + row) * dqk)[c];
    reinterpret_cast<uint4*>(Qs)[i] = v;
  }
  for (int i = tid; i < kMlaRows * dv; i += kMlaThreads) Os[i] = 0;
  if (tid < kMlaRows) {
    m_s[tid] = -INFINITY;
    l_s[tid] = 0;
  }
  const bf16* kvb = kv + size_t(b) * L * dqk;
  for (int tile = t0; tile < t1; tile += kMlaTile) {
    const int nt = min(kMlaTile, t1 - tile);
    __syncthreads();  // the previous tile's P.V is done with KVs
    for (int i = tid; i < kMlaTile * vec; i += kMlaThreads) {
      const int row = i / vec, c = i % vec;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (row < nt) v = reinterpret_cast<const uint4*>(kvb + size_t(tile + row) * dqk)[c];
      reinterpret_cast<uint4*>(KVs)[i] = v;
    }
    __syncthreads();
    // Scores S (16 x 64) = Q (16 x dqk) . KV^T: warps 0-3 each own 16 tokens.
    if (warp < kMlaTile / 16) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
      for (int k = 0; k < dqk; k += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> bt;
        wmma::load_matrix_sync(a, Qs + k, dqk);
        wmma::load_matrix_sync(bt, KVs + warp * 16 * dqk + k, dqk);
        wmma::mma_sync(acc, a, bt, acc);
      }
      wmma::store_matrix_sync(S + warp * 16, acc, kMlaTile, wmma::mem_row_major);
    }
    __syncthreads();
    {  // Online softmax, base 2: 16 threads per row, 4 columns each.
      const int row = tid / 16, c = tid % 16;
      float v[4], mx = -INFINITY;
      for (int j = 0; j < 4; ++j) {
        const int col = c * 4 + j;
        v[j] = col < nt ? S[row * kMlaTile + col] * scale_log2 : -INFINITY;
        mx = fmaxf(mx, v[j]);
      }
      for (int off = 8; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float m_old = m_s[row], m_new = fmaxf(m_old, mx);
      float sum = 0;
      for (int j = 0; j < 4; ++j) {
        const float p = exp2f(v[j] - m_new);
        P[row * kMlaTile + c * 4 + j] = __float2bfloat16(p);
        sum += p;
      }
      for (int off = 8; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
      if (c == 0) {
        const float alpha = exp2f(m_old - m_new);
        a_s[row] = alpha;
        m_s[row] = m_new;
        l_s[row] = l_s[row] * alpha + sum;
      }
    }
    __syncthreads();
    for (int i = tid; i < kMlaRows * dv; i += kMlaThreads) Os[i] *= a_s[i / dv];
    __syncthreads();
    // O (16 x dv) += P (16 x 64) . V (64 x dv): the dv/16 column tiles shared by 8 warps.
    for (int n = warp; n < dv / 16; n += kMlaThreads / 32) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, Os + n * 16, dv, wmma::mem_row_major);
      for (int k = 0; k < kMlaTile; k += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> bv;
        wmma::load_matrix_sync(a, P + k, kMlaTile);
        wmma::load_matrix_sync(bv, KVs + k * dqk + n * 16, dqk);
        wmma::mma_sync(acc, a, bv, acc);
      }
      wmma::store_matrix_sync(Os + n * 16, acc, dv, wmma::mem_row_major);
    }
  }
  __syncthreads();
  for (int i = tid; i < kMlaRows * dv; i += kMlaThreads) {
    const int row = i / dv, h = h0 + row;
    if (h < H) part_o[((size_t(b) * H + h) * splits + split) * dv + i % dv] = Os[i];
  }
  if (tid < kMlaRows && h0 + tid < H) {
    part_ml[((size_t(b) * H + h0 + tid) * splits + split) * 2] = m_s[tid];
    part_ml[((size_t(b) * H + h0 + tid) * splits + split) * 2 + 1] = l_s[tid];
  }
}

// Flash-decoding combine: one block per (sequence, head).
__global__ void combine_splits(const float* part_o, const float* part_ml, bf16* out, int splits, int dv) {
  const size_t bh = blockIdx.x;
  float M = -INFINITY;
  for (int s = 0; s < splits; ++s) M = fmaxf(M, part_ml[(bh * splits + s) * 2]);
  float Lsum = 0;
  for (int s = 0; s < splits; ++s)
    Lsum += part_ml[(bh * splits + s) * 2 + 1] * exp2f(part_ml[(bh * splits + s) * 2] - M);
  for (int d = threadIdx.x; d < dv; d += blockDim.x) {
    float acc = 0;
    for (int s = 0; s < splits; ++s)
      acc += part_o[(bh * splits + s) * dv + d] * exp2f(part_ml[(bh * splits + s) * 2] - M);
    out[bh * dv + d] = __float2bfloat16(acc / Lsum);
  }
}

// ------------------------------------------------------------------------------ GQA decode --
// q [B][Hq][D], k/v [B][Hkv][L][D]; block = 4 warps over one (sequence, KV head, split).
constexpr int kGqaWarps = 4;

template <int G>
size_t gqa_smem_bytes(int D) {
  return size_t(G) * D * 4 + size_t(kGqaWarps) * 32 * G * 4 + 2 * kGqaWarps * G * 4 + size_t(kGqaWarps) * G * D * 4;
}

template <int G, int DPL>
__global__ void __launch_bounds__(kGqaWarps * 32)
    gqa_decode_split(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v, float* part_o,
                     float* part_ml, int Hq, int Hkv, int L, int chunk, int splits, float scale_log2) {
  constexpr int D = 32 * DPL;
  extern __shared__ __align__(128) unsigned char smem[];
  float* qs = reinterpret_cast<float*>(smem);  // [G][D], scaled
  float* pbuf = qs + G * D;                    // [warps][32][G]
  float* wm = pbuf + kGqaWarps * 32 * G;       // [warps][G]
  float* wl = wm + kGqaWarps * G;              // [warps][G]
  float* wo = wl + kGqaWarps * G;              // [warps][G][D]
  const int split = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int t0 = split * chunk, t1 = min(L, t0 + chunk);
  for (int i = tid; i < G * D; i += kGqaWarps * 32)
    qs[i] = __bfloat162float(q[(size_t(b) * Hq + size_t(kvh) * G) * D + i]) * scale_log2;
  __syncthreads();
  const size_t base_kv = (size_t(b) * Hkv + kvh) * size_t(L) * D;
  float m[G], l[G], o[G][DPL];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    m[g] = -INFINITY;
    l[g] = 0;
#pragma unroll
    for (int j = 0; j < DPL; ++j) o[g][j] = 0;
  }
  float* pw = pbuf + warp * 32 * G;
  for (int base = t0 + warp * 32; base < t1; base += kGqaWarps * 32) {
    const int t = base + lane;
    const bool valid = t < t1;
    float s[G];
#pragma unroll
    for (int g = 0; g < G; ++g) s[g] = 0;
    if (valid) {
      const uint4* kr = reinterpret_cast<const uint4*>(k + base_kv + size_t(t) * D);
      for (int c = 0; c < D / 8; ++c) {
        const uint4 raw = kr[c];
        const __nv_bfloat162* h2 = reinterpret_cast<const __nv_bfloat162*>(&raw);
        float kf[8];
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const float2 f2 = __bfloat1622float2(h2[j]);
          kf[2 * j] = f2.x;
          kf[2 * j + 1] = f2.y;
        }
#pragma unroll
        for (int g = 0; g < G; ++g) {
          const float* qg = qs + g * D + c * 8;
#pragma unroll
          for (int j = 0; j < 8; ++j) s[g] += qg[j] * kf[j];
        }
      }
    }
#pragma unroll
    for (int g = 0; g < G; ++g) {
      const float sv = valid ? s[g] : -INFINITY;
      float mx = sv;
      for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float m_new = fmaxf(m[g], mx);
      const float p = exp2f(sv - m_new);
      float sum = p;
      for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
      const float alpha = exp2f(m[g] - m_new);
      l[g] = l[g] * alpha + sum;
      m[g] = m_new;
#pragma unroll
      for (int j = 0; j < DPL; ++j) o[g][j] *= alpha;
      pw[lane * G + g] = p;
    }
    __syncwarp();
    const int nt = min(32, t1 - base);
    for (int tt = 0; tt < nt; ++tt) {
      const bf16* vr = v + base_kv + size_t(base + tt) * D + lane * DPL;
      float vf[DPL];
#pragma unroll
      for (int j = 0; j < DPL; j += 2) {
        const float2 f2 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(vr + j));
        vf[j] = f2.x;
        vf[j + 1] = f2.y;
      }
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const float p = pw[tt * G + g];
#pragma unroll
        for (int j = 0; j < DPL; ++j) o[g][j] += p * vf[j];
      }
    }
    __syncwarp();
  }
  // Combine the four warps, then write this split's partial result.
#pragma unroll
  for (int g = 0; g < G; ++g) {
    if (lane == 0) {
      wm[warp * G + g] = m[g];
      wl[warp * G + g] = l[g];
    }
#pragma unroll
    for (int j = 0; j < DPL; ++j) wo[(warp * G + g) * D + lane * DPL + j] = o[g][j];
  }
  __syncthreads();
  for (int i = tid; i < G * D; i += kGqaWarps * 32) {
    const int g = i / D, d = i % D;
    float M = -INFINITY;
    for (int w = 0; w < kGqaWarps; ++w) M = fmaxf(M, wm[w * G + g]);
    float acc = 0, lsum = 0;
    for (int w = 0; w < kGqaWarps; ++w) {
      const float f = wm[w * G + g] == -INFINITY ? 0.0f : exp2f(wm[w * G + g] - M);
      acc += wo[(w * G + g) * D + d] * f;
      lsum += wl[w * G + g] * f;
    }
    const size_t idx = (size_t(b) * Hq + size_t(kvh) * G + g) * splits + split;
    part_o[idx * D + d] = acc;
    if (d == 0) {
      part_ml[idx * 2] = M;
      part_ml[idx * 2 + 1] = lsum;
    }
  }
}

// ----------------------------------------------------------------------------- the backend --

template <class F>
std::vector<double> event_times_s(int reps, F&& body) {
  cudaEvent_t a, b;
  KS_CUDA(cudaEventCreate(&a));
  KS_CUDA(cudaEventCreate(&b));
  body();
  KS_CUDA(cudaDeviceSynchronize());
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    KS_CUDA(cudaEventRecord(a));
    body();
    KS_CUDA(cudaEventRecord(b));
    KS_CUDA(cudaEventSynchronize(b));
    float ms = 0;
    KS_CUDA(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms * 1e-3);
  }
  KS_CUDA(cudaGetLastError());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return t;
}

std::vector<bf16> to_bf16(const std::vector<float>& x) {
  std::vector<bf16> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = __float2bfloat16(x[i]);
  return out;
}

template <class T>
void upload(Dev<T>& d, const std::vector<T>& h) {
  KS_CUDA(cudaMemcpy(d.p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
}

int grid_for(size_t n) {
  return int(std::min<size_t>(4096, (n + 255) / 256));
}

class CudaKernels final : public KernelBackend {
 public:
  CudaKernels() {
    KS_CUDA(cudaGetDeviceProperties(&prop_, 0));
    KS_CUBLAS(cublasCreate(&blas_));
    KS_CUBLAS(cublasLtCreate(&lt_));
    int rt = 0;
    cudaRuntimeGetVersion(&rt);
    device_ = std::string(prop_.name) + " (compute capability " + std::to_string(prop_.major) + "." +
              std::to_string(prop_.minor) + ", " + std::to_string(prop_.multiProcessorCount) + " SMs, " +
              std::to_string(prop_.totalGlobalMem >> 30) + " GiB), CUDA runtime " + std::to_string(rt / 1000) + "." +
              std::to_string(rt % 1000 / 10) + ", cuBLAS " + std::to_string(CUBLAS_VER_MAJOR) + "." +
              std::to_string(CUBLAS_VER_MINOR);
  }
  ~CudaKernels() override {
    cublasLtDestroy(lt_);
    cublasDestroy(blas_);
  }
  std::string name() const override { return "cuda"; }
  std::string device() const override { return device_; }
  std::string attention_dtype() const override { return "bf16"; }
  int attention_dtype_bytes() const override { return 2; }
  // BF16 inputs, P rounded to BF16 before P.V, BF16 output: ~2^-8 relative per step.
  double attention_error_bound() const override { return 2e-2; }
  int attention_tile_rows() const override { return kMlaRows; }

  CheckResult verify_attention(const AttentionShape& s) override {
    supported(s);
    const AttentionInputs in = make_attention_inputs(s, 1234, true);
    Tensors t(s);
    upload(t.q, to_bf16(in.q));
    upload(t.k, to_bf16(in.k));
    if (!in.v.empty()) upload(t.v, to_bf16(in.v));
    launch_attention(s, t);
    KS_CUDA(cudaDeviceSynchronize());
    KS_CUDA(cudaGetLastError());
    std::vector<bf16> o(t.out.n);
    KS_CUDA(cudaMemcpy(o.data(), t.out.p, o.size() * sizeof(bf16), cudaMemcpyDeviceToHost));
    std::vector<float> got(o.size());
    for (size_t i = 0; i < o.size(); ++i) got[i] = __bfloat162float(o[i]);
    return check_against_reference(got, attention_reference(s, in), attention_error_bound());
  }

  std::vector<double> time_attention(const AttentionShape& s, int reps) override {
    supported(s);
    Tensors t(s);
    fill_bf16_random<<<grid_for(t.q.n), 256>>>(t.q.p, t.q.n, 1);
    fill_bf16_random<<<grid_for(t.k.n), 256>>>(t.k.p, t.k.n, 2);
    if (t.v.n) fill_bf16_random<<<grid_for(t.v.n), 256>>>(t.v.p, t.v.n, 3);
    KS_CUDA(cudaGetLastError());
    return event_times_s(reps, [&] { launch_attention(s, t); });
  }

  std::vector<std::string> gemm_dtypes() const override {
    if (prop_.major * 10 + prop_.minor >= 89) return {"bf16", "fp8"};
    return {"bf16"};
  }

  CheckResult verify_gemm(const GemmProblem& p) override {
    Gemm g(*this, p);
    // Host data (rounded to the element type) so the double reference sees what the GPU sees.
    uint64_t st = 0x1234567ull;
    auto rnd = [&] {
      st = st * 6364136223846793005ull + 1442695040888963407ull;
      return float((st >> 40) & 0xFFFFFF) / float(1 << 24) * 2.0f - 1.0f;
    };
    const int K = p.hidden, N = p.intermediate;
    std::vector<std::vector<float>> xs, ws;
    for (size_t e = 0; e < p.tokens.size(); ++e) {
      std::vector<float> x(size_t(p.tokens[e]) * K), w(size_t(K) * N);
      for (auto& v : x) v = rnd();
      for (auto& v : w) v = rnd();
      if (p.dtype == "fp8") {
        for (auto& v : x) v = float(__nv_fp8_e4m3(v));
        for (auto& v : w) v = float(__nv_fp8_e4m3(v));
      } else {
        for (auto& v : x) v = round_to_bf16(v);
        for (auto& v : w) v = round_to_bf16(v);
      }
      xs.push_back(std::move(x));
      ws.push_back(std::move(w));
    }
    g.upload_host(xs, ws);
    g.run();
    KS_CUDA(cudaDeviceSynchronize());
    std::vector<float> got;
    std::vector<double> ref;
    for (size_t e = 0; e < p.tokens.size(); ++e) {
      const int m = p.tokens[e];
      if (m == 0) continue;
      std::vector<bf16> y(size_t(m) * N);
      KS_CUDA(cudaMemcpy(y.data(), g.y[e], y.size() * sizeof(bf16), cudaMemcpyDeviceToHost));
      for (int row : {0, m - 1})
        for (int n = 0; n < N; ++n) {
          double r = 0;
          for (int kk = 0; kk < K; ++kk) r += double(xs[e][size_t(row) * K + kk]) * ws[e][size_t(kk) * N + n];
          ref.push_back(r);
          got.push_back(__bfloat162float(y[size_t(row) * N + n]));
        }
    }
    return check_against_reference(got, ref, p.dtype == "fp8" ? 3e-2 : 2e-2);
  }

  std::vector<double> time_gemm(const GemmProblem& p, int reps) override {
    Gemm g(*this, p);
    g.fill_random();
    return event_times_s(reps, [&] { g.run(); });
  }

  MeasuredPeaks measure_peaks(bool quick) override {
    MeasuredPeaks pk;
    const int n = quick ? 4096 : 8192;
    Dev<bf16> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
    fill_bf16_random<<<grid_for(a.n), 256>>>(a.p, a.n, 5);
    fill_bf16_random<<<grid_for(b.n), 256>>>(b.p, b.n, 6);
    const float one = 1, zero = 0;
    const auto tg = event_times_s(quick ? 3 : 10, [&] {
      KS_CUBLAS(cublasGemmEx(blas_, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.p, CUDA_R_16BF, n, b.p, CUDA_R_16BF, n,
                             &zero, c.p, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    });
    pk.flops_per_s = 2.0 * n * n * double(n) / *std::min_element(tg.begin(), tg.end());
    const size_t bytes = size_t(quick ? 1 : 4) << 30;
    Dev<float> buf(bytes / 4), sink(1);
    KS_CUDA(cudaMemset(buf.p, 0, bytes));
    const int blocks = prop_.multiProcessorCount * 8;
    const auto ts = event_times_s(quick ? 3 : 10, [&] {
      stream_read<<<blocks, 512>>>(reinterpret_cast<const float4*>(buf.p), bytes / 16, sink.p);
    });
    pk.bytes_per_s = double(bytes) / *std::min_element(ts.begin(), ts.end());
    pk.how = "measured on this GPU: best of a cuBLAS BF16 " + std::to_string(n) + "^3 GEMM and a " +
             std::to_string(bytes >> 30) + " GiB streaming read";
    return pk;
  }

  std::vector<OverheadSample> measure_overheads(int reps) override {
    constexpr int N = 1000;
    std::vector<OverheadSample> out;
    cudaStream_t s;
    KS_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    cudaEvent_t a, b;
    KS_CUDA(cudaEventCreate(&a));
    KS_CUDA(cudaEventCreate(&b));
    auto per_kernel = [&](auto&& body) {
      std::vector<double> t;
      body();
      KS_CUDA(cudaStreamSynchronize(s));
      for (int i = 0; i < std::max(3, reps / 10); ++i) {
        KS_CUDA(cudaEventRecord(a, s));
        body();
        KS_CUDA(cudaEventRecord(b, s));
        KS_CUDA(cudaEventSynchronize(b));
        float ms = 0;
        KS_CUDA(cudaEventElapsedTime(&ms, a, b));
        t.push_back(ms * 1e-3 / N);
      }
      std::sort(t.begin(), t.end());
      return std::make_pair(t[t.size() / 2], t.back());
    };
    const auto eager = per_kernel([&] {
      for (int i = 0; i < N; ++i) empty_kernel<<<1, 32, 0, s>>>();
    });
    out.push_back({"eager_launch", N, eager.first, eager.second});
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    KS_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < N; ++i) empty_kernel<<<1, 32, 0, s>>>();
    KS_CUDA(cudaStreamEndCapture(s, &graph));
    KS_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    const auto replay = per_kernel([&] { KS_CUDA(cudaGraphLaunch(exec, s)); });
    out.push_back({"graph_replay", N, replay.first, replay.second});
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    cudaStreamDestroy(s);
    return out;
  }

 private:
  struct Tensors {
    Dev<bf16> q, k, v, out;
    explicit Tensors(const AttentionShape& s)
        : q(size_t(s.batch) * s.q_heads *
            (s.kind == AttentionKernelKind::mla ? size_t(s.latent_dim + s.rope_dim) : size_t(s.head_dim))),
          k(s.kind == AttentionKernelKind::mla ? size_t(s.batch) * s.context_tokens * size_t(s.latent_dim + s.rope_dim)
                                               : size_t(s.batch) * s.kv_heads * size_t(s.context_tokens) * s.head_dim),
          v(s.kind == AttentionKernelKind::mla ? 0 : k.n),
          out(attention_output_elements(s)) {}
  };

  void supported(const AttentionShape& s) const {
    if (s.kind == AttentionKernelKind::mla) {
      if ((s.latent_dim + s.rope_dim) % 16 != 0 || s.latent_dim % 128 != 0)
        throw UsageError("the CUDA MLA kernel needs --latent-dim a multiple of 128 and latent + rope a multiple of 16");
      if (mla_smem_bytes(s.latent_dim + s.rope_dim, s.latent_dim) > size_t(prop_.sharedMemPerBlockOptin))
        throw UsageError("the CUDA MLA kernel's tiles do not fit this GPU's shared memory; use a smaller --latent-dim");
    } else {
      const int g = s.q_heads / s.kv_heads;
      if ((s.head_dim != 64 && s.head_dim != 128) || (g != 1 && g != 2 && g != 4 && g != 8 && g != 16))
        throw UsageError("the CUDA GQA kernel runs --head-dim 64 or 128 with 1, 2, 4, 8 or 16 query heads per KV head");
    }
  }

  // Splits so that the grid covers about two waves of SMs, chunks a multiple of `tile` tokens.
  void plan_splits(int blocks, int L, int tile, int& splits, int& chunk) const {
    const int want = std::max(1, (2 * prop_.multiProcessorCount + blocks - 1) / blocks);
    splits = std::clamp(want, 1, std::max(1, (L + tile - 1) / tile));
    chunk = ((L + splits - 1) / splits + tile - 1) / tile * tile;
    splits = (L + chunk - 1) / chunk;
  }

  void launch_attention(const AttentionShape& s, Tensors& t) {
    const float scale_log2 = float(attention_softmax_scale(s)) * kLog2e;
    int splits = 1, chunk = s.context_tokens;
    if (s.kind == AttentionKernelKind::mla) {
      const int dqk = s.latent_dim + s.rope_dim, dv = s.latent_dim;
      const int hb = (s.q_heads + kMlaRows - 1) / kMlaRows;
      plan_splits(s.batch * hb, s.context_tokens, kMlaTile, splits, chunk);
      ensure_partials(size_t(s.batch) * s.q_heads * splits, dv);
      const size_t smem = mla_smem_bytes(dqk, dv);
      KS_CUDA(cudaFuncSetAttribute(mla_decode_split, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
      mla_decode_split<<<dim3(splits, hb, s.batch), kMlaThreads, smem>>>(
          t.q.p, t.k.p, part_o_.p, part_ml_.p, s.q_heads, s.context_tokens, dqk, dv, chunk, splits, scale_log2);
      combine_splits<<<s.batch * s.q_heads, 256>>>(part_o_.p, part_ml_.p, t.out.p, splits, dv);
    } else {
      const int g = s.q_heads / s.kv_heads;
      plan_splits(s.batch * s.kv_heads, s.context_tokens, 32 * kGqaWarps, splits, chunk);
      ensure_partials(size_t(s.batch) * s.q_heads * splits, s.head_dim);
      const dim3 grid(splits, s.kv_heads, s.batch);
      if (s.head_dim == 128) {
        switch (g) {
          case 1:
            gqa<1, 4>(grid, s, t, chunk, splits, scale_log2);
            break;
          case 2:
            gqa<2, 4>(grid, s, t, chunk, splits, scale_log2);
            break;
          case 4:
            gqa<4, 4>(grid, s, t, chunk, splits, scale_log2);
            break;
          case 8:
            gqa<8, 4>(grid, s, t, chunk, splits, scale_log2);
            break;
          default:
            gqa<16, 4>(grid, s, t, chunk, splits, scale_log2);
            break;
        }
      } else {
        switch (g) {
          case 1:
            gqa<1, 2>(grid, s, t, chunk, splits, scale_log2);
            break;
          case 2:
            gqa<2, 2>(grid, s, t, chunk, splits, scale_log2);
            break;
          case 4:
            gqa<4, 2>(grid, s, t, chunk, splits, scale_log2);
            break;
          case 8:
            gqa<8, 2>(grid, s, t, chunk, splits, scale_log2);
            break;
          default:
            gqa<16, 2>(grid, s, t, chunk, splits, scale_log2);
            break;
        }
      }
      combine_splits<<<s.batch * s.q_heads, 128>>>(part_o_.p, part_ml_.p, t.out.p, splits, s.head_dim);
    }
    KS_CUDA(cudaGetLastError());
  }

  template <int G, int DPL>
  void gqa(dim3 grid, const AttentionShape& s, Tensors& t, int chunk, int splits, float scale_log2) {
    const size_t smem = gqa_smem_bytes<G>(32 * DPL);
    KS_CUDA(cudaFuncSetAttribute(gqa_decode_split<G, DPL>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    gqa_decode_split<G, DPL><<<grid, kGqaWarps * 32, smem>>>(t.q.p, t.k.p, t.v.p, part_o_.p, part_ml_.p, s.q_heads,
                                                             s.kv_heads, s.context_tokens, chunk, splits, scale_log2);
  }

  void ensure_partials(size_t rows, int dv) {
    if (part_o_.n < rows * dv) part_o_.reset(rows * dv);
    if (part_ml_.n < rows * 2) part_ml_.reset(rows * 2);
  }

  // The grouped GEMM of one problem: device buffers per expert and the launch.
  struct Gemm {
    CudaKernels& k;
    const GemmProblem& p;
    std::vector<void*> x, y_raw, w;
    std::vector<bf16*> y;
    Dev<const void*> dA, dB;
    Dev<void*> dC;
    std::vector<int> ms, ns, ks, lda, ldb, ldc, gsize;
    std::vector<float> alpha, beta;
    std::vector<cublasOperation_t> ta, tb;
    Dev<unsigned char> workspace;
    Gemm(CudaKernels& kk, const GemmProblem& pp) : k(kk), p(pp), workspace(32u << 20) {
      const size_t eb = p.dtype == "fp8" ? 1 : 2;
      for (int m : p.tokens) {
        void *xp = nullptr, *wp = nullptr, *yp = nullptr;
        if (m > 0) {
          KS_CUDA(cudaMalloc(&xp, size_t(m) * p.hidden * eb));
          KS_CUDA(cudaMalloc(&wp, size_t(p.hidden) * p.intermediate * eb));
          KS_CUDA(cudaMalloc(&yp, size_t(m) * p.intermediate * 2));
        }
        x.push_back(xp);
        w.push_back(wp);
        y_raw.push_back(yp);
        y.push_back(static_cast<bf16*>(yp));
      }
      if (p.dtype == "bf16") {
        // Column-major: Y^T (N x m) = W^T (N x K) . X^T (K x m), one group per active expert.
        std::vector<const void*> A, B;
        std::vector<void*> C;
        for (size_t e = 0; e < p.tokens.size(); ++e) {
          if (p.tokens[e] == 0) continue;
          A.push_back(w[e]);
          B.push_back(x[e]);
          C.push_back(y_raw[e]);
          ms.push_back(p.intermediate);
          ns.push_back(p.tokens[e]);
          ks.push_back(p.hidden);
          lda.push_back(p.intermediate);
          ldb.push_back(p.hidden);
          ldc.push_back(p.intermediate);
          gsize.push_back(1);
          alpha.push_back(1.0f);
          beta.push_back(0.0f);
          ta.push_back(CUBLAS_OP_N);
          tb.push_back(CUBLAS_OP_N);
        }
        dA.reset(A.size());
        dB.reset(B.size());
        dC.reset(C.size());
        KS_CUDA(cudaMemcpy(dA.p, A.data(), A.size() * sizeof(void*), cudaMemcpyHostToDevice));
        KS_CUDA(cudaMemcpy(dB.p, B.data(), B.size() * sizeof(void*), cudaMemcpyHostToDevice));
        KS_CUDA(cudaMemcpy(dC.p, C.data(), C.size() * sizeof(void*), cudaMemcpyHostToDevice));
      }
    }
    ~Gemm() {
      for (size_t e = 0; e < x.size(); ++e) {
        cudaFree(x[e]);
        cudaFree(w[e]);
        cudaFree(y_raw[e]);
      }
    }
    // Host data: x row-major (m x K), w row-major (K x N). FP8 weights are stored transposed
    // (N x K, the TN layout cuBLASLt's FP8 path requires).
    void upload_host(const std::vector<std::vector<float>>& xs, const std::vector<std::vector<float>>& ws) {
      const int K = p.hidden, N = p.intermediate;
      for (size_t e = 0; e < xs.size(); ++e) {
        if (p.tokens[e] == 0) continue;
        if (p.dtype == "fp8") {
          std::vector<__nv_fp8_e4m3> hx(xs[e].size()), hw(ws[e].size());
          for (size_t i = 0; i < hx.size(); ++i) hx[i] = __nv_fp8_e4m3(xs[e][i]);
          for (int kk = 0; kk < K; ++kk)
            for (int n = 0; n < N; ++n) hw[size_t(n) * K + kk] = __nv_fp8_e4m3(ws[e][size_t(kk) * N + n]);
          KS_CUDA(cudaMemcpy(x[e], hx.data(), hx.size(), cudaMemcpyHostToDevice));
          KS_CUDA(cudaMemcpy(w[e], hw.data(), hw.size(), cudaMemcpyHostToDevice));
        } else {
          const auto hx = to_bf16(xs[e]), hw = to_bf16(ws[e]);
          KS_CUDA(cudaMemcpy(x[e], hx.data(), hx.size() * 2, cudaMemcpyHostToDevice));
          KS_CUDA(cudaMemcpy(w[e], hw.data(), hw.size() * 2, cudaMemcpyHostToDevice));
        }
      }
    }
    void fill_random() {
      for (size_t e = 0; e < x.size(); ++e) {
        if (p.tokens[e] == 0) continue;
        const size_t nx = size_t(p.tokens[e]) * p.hidden, nw = size_t(p.hidden) * p.intermediate;
        if (p.dtype == "fp8") {
          fill_fp8_random<<<grid_for(nx), 256>>>(static_cast<__nv_fp8_e4m3*>(x[e]), nx, uint32_t(2 * e));
          fill_fp8_random<<<grid_for(nw), 256>>>(static_cast<__nv_fp8_e4m3*>(w[e]), nw, uint32_t(2 * e + 1));
        } else {
          fill_bf16_random<<<grid_for(nx), 256>>>(static_cast<bf16*>(x[e]), nx, uint32_t(2 * e));
          fill_bf16_random<<<grid_for(nw), 256>>>(static_cast<bf16*>(w[e]), nw, uint32_t(2 * e + 1));
        }
      }
      KS_CUDA(cudaGetLastError());
    }
    void run() {
      if (p.dtype == "bf16") {
        if (ms.empty()) return;
        KS_CUBLAS(cublasGemmGroupedBatchedEx(k.blas_, ta.data(), tb.data(), ms.data(), ns.data(), ks.data(),
                                             alpha.data(), dA.p, CUDA_R_16BF, lda.data(), dB.p, CUDA_R_16BF, ldb.data(),
                                             beta.data(), dC.p, CUDA_R_16BF, ldc.data(), int(ms.size()), gsize.data(),
                                             CUBLAS_COMPUTE_32F));
        return;
      }
      // FP8 E4M3 through cuBLASLt, one matmul per active expert: D (N x m, bf16) = W^T . X^T,
      // A = W stored N x K row-major = K x N column-major, transposed (TN).
      const int K = p.hidden, N = p.intermediate;
      for (size_t e = 0; e < x.size(); ++e) {
        const int m = p.tokens[e];
        if (m == 0) continue;
        cublasLtMatmulDesc_t desc;
        cublasLtMatrixLayout_t la, lb, lc;
        KS_CUBLAS(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
        const cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
        KS_CUBLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT));
        KS_CUBLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN));
        KS_CUBLAS(cublasLtMatrixLayoutCreate(&la, CUDA_R_8F_E4M3, K, N, K));
        KS_CUBLAS(cublasLtMatrixLayoutCreate(&lb, CUDA_R_8F_E4M3, K, m, K));
        KS_CUBLAS(cublasLtMatrixLayoutCreate(&lc, CUDA_R_16BF, N, m, N));
        const float one = 1, zero = 0;
        KS_CUBLAS(cublasLtMatmul(k.lt_, desc, &one, w[e], la, x[e], lb, &zero, y_raw[e], lc, y_raw[e], lc, nullptr,
                                 workspace.p, workspace.n, nullptr));
        cublasLtMatrixLayoutDestroy(la);
        cublasLtMatrixLayoutDestroy(lb);
        cublasLtMatrixLayoutDestroy(lc);
        cublasLtMatmulDescDestroy(desc);
      }
    }
  };

  cudaDeviceProp prop_{};
  cublasHandle_t blas_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  std::string device_;
  Dev<float> part_o_, part_ml_;
};

}  // namespace

std::unique_ptr<KernelBackend> make_cuda_kernels(std::string& why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    why = std::string("no CUDA device (") + (e != cudaSuccess ? cudaGetErrorString(e) : "none visible") +
          "); run on a GPU machine or use --backend cpu";
    return nullptr;
  }
  try {
    return std::make_unique<CudaKernels>();
  } catch (const Error& err) {
    why = std::string("no usable CUDA device: ") + err.what();
    return nullptr;
  }
}

}  // namespace ridgeline::calib
