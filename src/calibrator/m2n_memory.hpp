// SPDX-License-Identifier: Apache-2.0
// Where the m2n verbs backend's send and receive buffers live and how the NIC gets at them: host
// memory (the default) or, with --gpudirect in a CUDA build, GPU memory registered for GPUDirect
// RDMA (dma-buf when the driver, kernel and NIC offer it, else nvidia-peermem through plain
// ibv_reg_mr on the device pointer). The choice from flags and build, the messages, and host
// memory are here (header-only, unit-tested without a GPU or NIC); GPU memory is
// m2n_gpu_memory.cpp (CUDA builds) or a stub; registration is in m2n_verbs.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

namespace ridgeline::calib {

enum class MemoryKind { host, gpu };

/// How a buffer was registered with the NIC; recorded per rank in the raw file's provenance.
enum class Registration { host, gpu_dmabuf, gpu_peermem };

inline const char* registration_name(Registration r) {
  switch (r) {
    case Registration::gpu_dmabuf:
      return "gpu-dmabuf";
    case Registration::gpu_peermem:
      return "gpu-peermem";
    case Registration::host:
      break;
  }
  return "host";
}

/// True when this build can allocate GPU memory for --gpudirect (defined by m2n_gpu_memory.cpp in
/// a CUDA build, else by m2n_stubs.cpp).
bool gpu_memory_built();

struct MemoryChoice {
  MemoryKind kind = MemoryKind::host;
  std::string error;  ///< non-empty: refuse the flags (exit 2) with this message
};

/// The buffers' memory from --backend, --gpudirect and whether the build has CUDA.
inline MemoryChoice choose_memory(const std::string& backend, bool gpudirect, bool cuda_built) {
  if (!gpudirect) return {};
  if (backend != "verbs")
    return {MemoryKind::host,
            "--gpudirect applies to --backend verbs only (the nccl backend always moves GPU "
            "memory, the cpu backend host memory)"};
  if (!cuda_built)
    return {MemoryKind::host,
            "--gpudirect needs a CUDA build of ridgeline-calibrate and this one has none (CMake found no nvcc, "
            "CUDA toolkit or NCCL, or RIDGELINE_WITH_CUDA=OFF; see the configure log). Fix: rebuild with "
            "-DRIDGELINE_WITH_CUDA=ON on a machine with the CUDA toolkit, or drop --gpudirect to register host "
            "memory"};
  return {MemoryKind::gpu, ""};
}

/// The message when the NIC registered neither a dma-buf of the GPU buffer nor its device pointer.
inline std::string gpu_registration_failed(const std::string& nic, const std::string& dmabuf_why,
                                           const std::string& peermem_why) {
  return "cannot register GPU memory with " + nic + " for GPUDirect RDMA (dma-buf: " + dmabuf_why +
         "; ibv_reg_mr on the device pointer: " + peermem_why +
         "). Likely cause: the nvidia-peermem kernel module is not loaded and the driver, kernel or NIC offer no "
         "dma-buf export. Fix: load it (sudo modprobe nvidia-peermem), or drop --gpudirect to measure from host "
         "memory";
}

/// One buffer the NIC reads (send) or writes (receive).
class BufferMemory {
 public:
  virtual ~BufferMemory() = default;
  virtual MemoryKind kind() const = 0;
  /// The base address ibv_reg_mr, the scatter-gather entries and the peers' remote writes use
  /// (for GPU memory a device pointer: not dereferenceable on the host).
  virtual void* address() const = 0;
  virtual std::size_t size() const = 0;
  /// Copies host bytes into [offset, offset + n) (cudaMemcpy for GPU memory).
  virtual void write(std::size_t offset, const void* src, std::size_t n) = 0;
  /// Copies [offset, offset + n) out to host bytes.
  virtual void read(std::size_t offset, void* dst, std::size_t n) const = 0;
  virtual void zero(std::size_t offset, std::size_t n) = 0;
  /// GPU memory: a dma-buf file descriptor of the whole buffer (the caller closes it), or -1 with
  /// the reason in `why_not`. Host memory: -1.
  virtual int dmabuf_fd(std::string& why_not) const = 0;
  /// "host memory" or e.g. "GPU 3 (NVIDIA H100 80GB HBM3)".
  virtual std::string describe() const = 0;
  /// Library and driver versions worth recording (GPU memory: the CUDA driver and runtime).
  virtual std::map<std::string, std::string> versions() const { return {}; }
};

/// Page-aligned host memory.
class HostMemory final : public BufferMemory {
 public:
  explicit HostMemory(std::size_t bytes) : size_(bytes) {
    const std::size_t rounded = (bytes + 4095) / 4096 * 4096;
    data_ = static_cast<std::uint8_t*>(std::aligned_alloc(4096, rounded ? rounded : 4096));
  }
  ~HostMemory() override { std::free(data_); }
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;
  bool ok() const { return data_ != nullptr; }
  MemoryKind kind() const override { return MemoryKind::host; }
  void* address() const override { return data_; }
  std::size_t size() const override { return size_; }
  void write(std::size_t offset, const void* src, std::size_t n) override { std::memcpy(data_ + offset, src, n); }
  void read(std::size_t offset, void* dst, std::size_t n) const override { std::memcpy(dst, data_ + offset, n); }
  void zero(std::size_t offset, std::size_t n) override { std::memset(data_ + offset, 0, n); }
  int dmabuf_fd(std::string& why_not) const override {
    why_not = "host memory";
    return -1;
  }
  std::string describe() const override { return "host memory"; }

 private:
  std::size_t size_;
  std::uint8_t* data_ = nullptr;
};

/// Whether this rank sees a GPU (false with the reason when not, or when the build has no CUDA).
bool gpu_available(std::string& why_not);

/// GPU memory on GPU (local_rank modulo the visible GPUs), as the nccl backend picks its device.
/// Throws when this build has no CUDA or the allocation fails.
std::unique_ptr<BufferMemory> allocate_gpu_memory(int local_rank, std::size_t bytes);

}  // namespace ridgeline::calib
