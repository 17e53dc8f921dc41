// SPDX-License-Identifier: Apache-2.0
// GPU memory for m2n --backend verbs --gpudirect (CUDA builds): cudaMalloc on the rank's GPU
// (local rank modulo the visible GPUs, as the nccl backend picks its device), payloads in and out
// through cudaMemcpy, and a dma-buf file descriptor of the buffer from the driver's
// cuMemGetHandleForAddressRange for ibv_reg_dmabuf_mr. The driver entry point is looked up through
// the runtime (cudaGetDriverEntryPoint*), so the binary does not link libcuda and still starts on a
// machine without the NVIDIA driver.
#include <cuda.h>
#include <cuda_runtime.h>
#include <unistd.h>

#include <string>

#include "m2n_memory.hpp"
#include "ridgeline/error.hpp"

namespace ridgeline::calib {

namespace {

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

// cuMemGetHandleForAddressRange (CUDA 11.7), as its 11.7 signature.
using GetHandleFn = CUresult (*)(void* handle, CUdeviceptr dptr, size_t size, CUmemRangeHandleType type,
                                 unsigned long long flags);

GetHandleFn get_handle_fn(std::string& why_not) {
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult q{};
#if CUDART_VERSION >= 12050
  const cudaError_t e =
      cudaGetDriverEntryPointByVersion("cuMemGetHandleForAddressRange", &fn, 11070, cudaEnableDefault, &q);
#else
  const cudaError_t e = cudaGetDriverEntryPoint("cuMemGetHandleForAddressRange", &fn, cudaEnableDefault, &q);
#endif
  if (e != cudaSuccess || q != cudaDriverEntryPointSuccess || !fn) {
    why_not = "the CUDA driver has no cuMemGetHandleForAddressRange (driver older than CUDA 11.7)";
    return nullptr;
  }
  return reinterpret_cast<GetHandleFn>(fn);
}

class GpuMemory final : public BufferMemory {
 public:
  GpuMemory(int gpu, std::size_t bytes) : gpu_(gpu), size_(bytes) {
    cuda_check(cudaSetDevice(gpu), "cudaSetDevice");
    // Whole 2 MiB GPU pages: a dma-buf export needs a page-aligned range.
    alloc_ = (bytes + kPage - 1) / kPage * kPage;
    if (alloc_ == 0) alloc_ = kPage;
    cuda_check(cudaMalloc(&data_, alloc_), "cudaMalloc of the GPUDirect buffer");
  }
  ~GpuMemory() override { cudaFree(data_); }
  GpuMemory(const GpuMemory&) = delete;
  GpuMemory& operator=(const GpuMemory&) = delete;
  MemoryKind kind() const override { return MemoryKind::gpu; }
  void* address() const override { return data_; }
  std::size_t size() const override { return size_; }
  void write(std::size_t offset, const void* src, std::size_t n) override {
    cuda_check(cudaMemcpy(static_cast<char*>(data_) + offset, src, n, cudaMemcpyHostToDevice), "cudaMemcpy to GPU");
    // From pageable memory cudaMemcpy may return before the copy has reached the GPU: the NIC must
    // not read the send buffer before it has.
    cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  void read(std::size_t offset, void* dst, std::size_t n) const override {
    // Synchronous: the NIC's writes, complete when their work completions were polled, are read
    // after them.
    cuda_check(cudaMemcpy(dst, static_cast<const char*>(data_) + offset, n, cudaMemcpyDeviceToHost),
               "cudaMemcpy from GPU");
  }
  void zero(std::size_t offset, std::size_t n) override {
    cuda_check(cudaMemset(static_cast<char*>(data_) + offset, 0, n), "cudaMemset");
    cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  int dmabuf_fd(std::string& why_not) const override {
    const GetHandleFn fn = get_handle_fn(why_not);
    if (!fn) return -1;
    int fd = -1;
    const CUresult r = fn(&fd, reinterpret_cast<CUdeviceptr>(data_), alloc_, CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0);
    if (r != CUDA_SUCCESS || fd < 0) {
      why_not = "cuMemGetHandleForAddressRange(DMA_BUF_FD) failed with CUresult " + std::to_string(int(r)) +
                (r == CUDA_ERROR_NOT_SUPPORTED ? " (not supported: driver, kernel or GPU without dma-buf)" : "");
      return -1;
    }
    return fd;
  }
  std::string describe() const override {
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, gpu_);
    return "GPU " + std::to_string(gpu_) + " (" + prop.name + ")";
  }
  std::map<std::string, std::string> versions() const override {
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    return {{"cuda_driver", std::to_string(driver)}, {"cuda_runtime", std::to_string(runtime)}};
  }

 private:
  static constexpr std::size_t kPage = std::size_t(2) << 20;
  int gpu_;
  std::size_t size_, alloc_ = 0;
  void* data_ = nullptr;
};

}  // namespace

bool gpu_memory_built() {
  return true;
}

bool gpu_available(std::string& why_not) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0) {
    why_not =
        "--gpudirect: no CUDA device is visible to this rank (GPUDirect RDMA needs a GPU per rank); drop "
        "--gpudirect to register host memory";
    return false;
  }
  return true;
}

std::unique_ptr<BufferMemory> allocate_gpu_memory(int local_rank, std::size_t bytes) {
  int n = 0;
  cuda_check(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
  if (n <= 0) throw Error("no CUDA device is visible to this rank");
  return std::make_unique<GpuMemory>(local_rank % n, bytes);
}

}  // namespace ridgeline::calib
