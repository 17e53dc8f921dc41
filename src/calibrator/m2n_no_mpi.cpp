// SPDX-License-Identifier: Apache-2.0
// Built instead of the m2n sources when CMake found no MPI.
#include <cstdio>

#include "m2n.hpp"

namespace ridgeline::calib {

int run_m2n(const M2NOptions&) {
  std::fprintf(stderr,
               "ridgeline-calibrate m2n: this build has no MPI (CMake found none); install an MPI "
               "(e.g. libopenmpi-dev openmpi-bin) and rebuild\n");
  return 2;
}

}  // namespace ridgeline::calib
