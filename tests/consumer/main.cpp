// SPDX-License-Identifier: Apache-2.0
// Uses the installed header-only core: a datasheet quantity, one GEMM on a hand-built
// accelerator, and its roofline time. Prints "consumer ok" when the numbers are consistent.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "ridgeline/ops.hpp"
#include "ridgeline/units.hpp"

int main() {
  using namespace ridgeline;
  Accelerator hw;
  hw.id = "toy";
  hw.peak_bf16_flops_per_s = parse_quantity("1000 TFLOPS", Dimension::flops_per_s);
  hw.hbm_bytes_per_s = parse_quantity("4 TB/s", Dimension::bytes_per_s);
  Efficiencies eff;
  eff.gemm_overlap = 1.0;
  eff.kernel_overhead_s = 0;
  // One token through a 1e9-parameter bf16 GEMM: 2e9 FLOP, 2e9 bytes: memory bound, 0.5 ms.
  const OpCost op = gemm_op("toy", 1, 1e9, 1, DType::bf16);
  const OpTime t = op_time(op, hw, eff);
  const double want_s = 2e9 / (4e12 * eff.gemm_memory);
  std::printf("gemm: %.6g s (%s bound), data %s\n", t.time_s, bound_name(t.bound), RIDGELINE_DATA_DIR_FOUND);
  if (t.bound != Bound::memory || std::fabs(t.time_s - want_s) > 1e-12 * want_s) return 1;
  if (!std::filesystem::is_directory(std::filesystem::path(RIDGELINE_DATA_DIR_FOUND) / "hwdb")) return 1;
  std::printf("consumer ok\n");
  return 0;
}
