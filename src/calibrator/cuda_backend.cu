// SPDX-License-Identifier: Apache-2.0
// CUDA backend of ridgeline-calibrate: cuBLAS bf16 grouped GEMM (strided batched, one batch per
// expert), an HBM streaming-read kernel, and NCCL send/recv between GPU pairs (M->N transfers)
// when two or more GPUs are visible. Every measurement is verified before it is timed.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend.hpp"

namespace ridgeline::calib {

namespace {

#ifndef RIDGELINE_CUDA_CHECK
#define RIDGELINE_CUDA_CHECK(call)                                                                       \
  do {                                                                                                   \
    cudaError_t err_ = (call);                                                                           \
    if (err_ != cudaSuccess)                                                                             \
      throw Error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #call ": " + cudaGetErrorString(err_)); \
  } while (0)
#endif
#define RIDGELINE_CUBLAS_CHECK(call)                                                                \
  do {                                                                                              \
    cublasStatus_t st_ = (call);                                                                    \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                               \
      throw Error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #call ": cuBLAS status " + \
                  std::to_string(int(st_)));                                                        \
  } while (0)
#define RIDGELINE_NCCL_CHECK(call)                                                                    \
  do {                                                                                                \
    ncclResult_t r_ = (call);                                                                         \
    if (r_ != ncclSuccess)                                                                            \
      throw Error(std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #call ": " + ncclGetErrorString(r_)); \
  } while (0)

__global__ void fill_bf16(__nv_bfloat16* p, size_t n, float v) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    p[i] = __float2bfloat16(v);
}

__global__ void stream_sum(const float4* p, size_t n4, float* out) {
  float acc = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n4; i += size_t(gridDim.x) * blockDim.x) {
    const float4 v = p[i];
    acc += v.x + v.y + v.z + v.w;
  }
  atomicAdd(out, acc);
}

__global__ void fill_f32(float* p, size_t n, float v) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) p[i] = v;
}

template <class F>
double median_event_time_s(int reps, F&& body) {
  cudaEvent_t a, b;
  RIDGELINE_CUDA_CHECK(cudaEventCreate(&a));
  RIDGELINE_CUDA_CHECK(cudaEventCreate(&b));
  body();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    RIDGELINE_CUDA_CHECK(cudaEventRecord(a));
    body();
    RIDGELINE_CUDA_CHECK(cudaEventRecord(b));
    RIDGELINE_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    RIDGELINE_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms * 1e-3);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return median(t);
}

GemmSample grouped_gemm(cublasHandle_t h, const Options& o, int tokens, int reps) {
  const int E = o.experts, K = o.hidden, N = o.intermediate, M = tokens;
  __nv_bfloat16 *x, *w, *y;
  RIDGELINE_CUDA_CHECK(cudaMalloc(&x, sizeof(__nv_bfloat16) * size_t(E) * M * K));
  RIDGELINE_CUDA_CHECK(cudaMalloc(&w, sizeof(__nv_bfloat16) * size_t(E) * K * N));
  RIDGELINE_CUDA_CHECK(cudaMalloc(&y, sizeof(__nv_bfloat16) * size_t(E) * M * N));
  fill_bf16<<<256, 256>>>(x, size_t(E) * M * K, 0.5f);
  fill_bf16<<<256, 256>>>(w, size_t(E) * K * N, 0.25f);
  const float alpha = 1, beta = 0;
  // Column-major: Y^T (N x M) = W^T (N x K) . X^T (K x M), one batch per expert.
  auto run = [&] {
    RIDGELINE_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &alpha, w, CUDA_R_16BF, N,
                                                      size_t(K) * N, x, CUDA_R_16BF, K, size_t(M) * K, &beta, y,
                                                      CUDA_R_16BF, N, size_t(M) * N, E, CUBLAS_COMPUTE_32F,
                                                      CUBLAS_GEMM_DEFAULT));
  };
  run();
  RIDGELINE_CUDA_CHECK(cudaDeviceSynchronize());
  __nv_bfloat16 first;
  RIDGELINE_CUDA_CHECK(cudaMemcpy(&first, y, sizeof first, cudaMemcpyDeviceToHost));
  const float expect = 0.5f * 0.25f * K;
  if (std::abs(__bfloat162float(first) - expect) > 0.02f * expect)
    throw Error("cuBLAS grouped GEMM result is wrong; refusing to time it");
  GemmSample s;
  s.tokens_per_expert = tokens;
  s.experts = E;
  s.hidden = K;
  s.intermediate = N;
  s.weight_bytes_per_elem = 2;
  s.time_s = median_event_time_s(reps, run);
  cudaFree(x);
  cudaFree(w);
  cudaFree(y);
  return s;
}

StreamSample stream(size_t bytes, int reps) {
  float *p, *sum;
  const size_t n = bytes / sizeof(float);
  RIDGELINE_CUDA_CHECK(cudaMalloc(&p, n * sizeof(float)));
  RIDGELINE_CUDA_CHECK(cudaMalloc(&sum, sizeof(float)));
  fill_f32<<<1024, 256>>>(p, n, 1.0f / 1024);
  int sms = 0;
  RIDGELINE_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  auto run = [&] {
    cudaMemsetAsync(sum, 0, sizeof(float));
    stream_sum<<<sms * 8, 512>>>(reinterpret_cast<const float4*>(p), n / 4, sum);
  };
  run();
  float got = 0;
  RIDGELINE_CUDA_CHECK(cudaMemcpy(&got, sum, sizeof got, cudaMemcpyDeviceToHost));
  const float expect = float(n) / 1024;
  if (std::abs(got - expect) > 0.01f * expect) throw Error("HBM stream kernel produced a wrong sum");
  StreamSample s{double(n * sizeof(float)), median_event_time_s(reps, run)};
  cudaFree(p);
  cudaFree(sum);
  return s;
}

// GPU 0 sends `bytes` to GPU 1 with NCCL (one M->N pair); time on the receiver's stream.
std::vector<LinkSample> nccl_pair(const std::vector<size_t>& sizes, int reps) {
  std::vector<LinkSample> out;
  ncclComm_t comms[2];
  int devs[2] = {0, 1};
  RIDGELINE_NCCL_CHECK(ncclCommInitAll(comms, 2, devs));
  for (size_t bytes : sizes) {
    char* buf[2];
    cudaStream_t st[2];
    for (int d = 0; d < 2; ++d) {
      RIDGELINE_CUDA_CHECK(cudaSetDevice(d));
      RIDGELINE_CUDA_CHECK(cudaMalloc(&buf[d], bytes));
      RIDGELINE_CUDA_CHECK(cudaMemset(buf[d], d == 0 ? 7 : 0, bytes));
      RIDGELINE_CUDA_CHECK(cudaStreamCreate(&st[d]));
    }
    auto once = [&] {
      RIDGELINE_NCCL_CHECK(ncclGroupStart());
      RIDGELINE_NCCL_CHECK(ncclSend(buf[0], bytes, ncclChar, 1, comms[0], st[0]));
      RIDGELINE_NCCL_CHECK(ncclRecv(buf[1], bytes, ncclChar, 0, comms[1], st[1]));
      RIDGELINE_NCCL_CHECK(ncclGroupEnd());
      for (int d = 0; d < 2; ++d) {
        RIDGELINE_CUDA_CHECK(cudaSetDevice(d));
        RIDGELINE_CUDA_CHECK(cudaStreamSynchronize(st[d]));
      }
    };
    once();
    char probe = 0;
    RIDGELINE_CUDA_CHECK(cudaSetDevice(1));
    RIDGELINE_CUDA_CHECK(cudaMemcpy(&probe, buf[1] + bytes - 1, 1, cudaMemcpyDeviceToHost));
    if (probe != 7) throw Error("NCCL transfer delivered wrong data");
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
      const auto a = std::chrono::steady_clock::now();
      once();
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
    }
    out.push_back({double(bytes), median(t)});
    for (int d = 0; d < 2; ++d) {
      cudaSetDevice(d);
      cudaFree(buf[d]);
      cudaStreamDestroy(st[d]);
    }
  }
  for (auto& c : comms) ncclCommDestroy(c);
  cudaSetDevice(0);
  return out;
}

}  // namespace

int run_cuda(const Options& o, Run& r) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    std::fprintf(stderr, "ridgeline-calibrate: no CUDA device is visible; the cuda backend needs a GPU "
                         "(use --backend cpu to test the loop on this machine)\n");
    return 2;
  }
  try {
    cudaDeviceProp prop{};
    RIDGELINE_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    int nccl = 0;
    ncclGetVersion(&nccl);
    r.backend = "cuda";
    r.device = std::string(prop.name) + ", driver " + std::to_string(driver) + ", runtime " + std::to_string(runtime) +
               ", cuBLAS bf16, NCCL " + std::to_string(nccl) + ", " + std::to_string(n) + " GPU(s)";
    const int reps = o.quick ? 5 : std::max(o.repetitions, 20);
    cublasHandle_t h;
    RIDGELINE_CUBLAS_CHECK(cublasCreate(&h));
    Options g = o;
    g.hidden = 7168;  // DeepSeek-V3-sized experts: H = 7168, M = 2048
    g.intermediate = 2048;
    g.experts = 8;
    for (int t : {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}) r.gemm.push_back(grouped_gemm(h, g, t, reps));
    cublasDestroy(h);
    for (size_t mb : {256, 1024}) r.stream.push_back(stream(mb << 20, reps));
    const std::vector<size_t> sizes = {4 << 10, 32 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20};
    if (n >= 2) {
      r.link = nccl_pair(sizes, reps);
      r.link_kind = "NCCL send/recv GPU0 -> GPU1 (intra-node scale-up)";
    } else {
      // One GPU: device-to-device copies stand in, and the file says so.
      for (size_t bytes : sizes) {
        char *a, *b;
        RIDGELINE_CUDA_CHECK(cudaMalloc(&a, bytes));
        RIDGELINE_CUDA_CHECK(cudaMalloc(&b, bytes));
        RIDGELINE_CUDA_CHECK(cudaMemset(a, 3, bytes));
        r.link.push_back({double(bytes), median_event_time_s(reps, [&] { cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice); })});
        cudaFree(a);
        cudaFree(b);
      }
      r.link_kind = "device-to-device copy on one GPU (no second GPU for an M->N transfer)";
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "ridgeline-calibrate: CUDA error: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace ridgeline::calib
