// SPDX-License-Identifier: Apache-2.0
// Built instead of cuda_backend.cu when CMake found no nvcc / cuBLAS / NCCL.
#include <cstdio>

#include "backend.hpp"

namespace ridgeline::calib {

int run_cuda(const Options&, Run&) {
  std::fprintf(stderr,
               "ridgeline-calibrate: this build has no CUDA backend (CMake found no nvcc, cuBLAS or NCCL); "
               "rebuild on a machine with the CUDA toolkit, or use --backend cpu\n");
  return 2;
}

}  // namespace ridgeline::calib
