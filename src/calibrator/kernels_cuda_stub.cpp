// SPDX-License-Identifier: Apache-2.0
// Built instead of kernels_cuda.cu when CMake found no nvcc / cuBLAS / NCCL.
#include "kernel_backend.hpp"

namespace ridgeline::calib {

std::unique_ptr<KernelBackend> make_cuda_kernels(std::string& why) {
  why =
      "no CUDA backend in this build (CMake found no nvcc, cuBLAS or NCCL), so no CUDA device can be used; "
      "rebuild on a machine with the CUDA toolkit, or use --backend cpu";
  return nullptr;
}

}  // namespace ridgeline::calib
