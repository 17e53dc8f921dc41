// SPDX-License-Identifier: Apache-2.0
// The m2n backends this build does not have: each says what CMake did not find.
#include "m2n.hpp"
#include "m2n_memory.hpp"

namespace ridgeline::calib {

#ifndef RIDGELINE_HAVE_NCCL_M2N
std::unique_ptr<Transport> make_nccl_transport(int, int, int, std::string& why_not) {
  why_not =
      "this build has no nccl backend (CMake found no nvcc, CUDA toolkit or NCCL; see the configure log); "
      "rebuild on a machine with them, or use --backend cpu";
  return nullptr;
}
#endif

#ifndef RIDGELINE_HAVE_VERBS
std::unique_ptr<Transport> make_verbs_transport(int, int, int, bool, std::string& why_not) {
  why_not =
      "this build has no verbs backend (CMake found no libibverbs / infiniband/verbs.h; install "
      "libibverbs-dev and rebuild), or use --backend cpu";
  return nullptr;
}
#endif

#ifndef RIDGELINE_HAVE_GPU_MEMORY
bool gpu_memory_built() {
  return false;
}

bool gpu_available(std::string& why_not) {
  why_not = choose_memory("verbs", true, false).error;
  return false;
}

std::unique_ptr<BufferMemory> allocate_gpu_memory(int, std::size_t) {
  throw Unavailable(choose_memory("verbs", true, false).error);
}
#endif

}  // namespace ridgeline::calib
