// SPDX-License-Identifier: Apache-2.0
// `ridgeline-calibrate attention` and `ridgeline-calibrate gemm`: sweeps of decode-attention and
// expert grouped-GEMM kernels over batch x context (tokens) grids, each kernel verified against
// a host reference before it is timed. They print a table row by row, write the raw samples
// (--json RAW) and, with -o, a calibration file holding the fitted efficiencies.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ridgeline::calib {

struct KernelSweepCommands;

/// Adds the `attention` and `gemm` subcommands to `app` (whose own options must then not be
/// required). After app.parse(), run_kernel_sweeps() runs the one selected.
std::shared_ptr<KernelSweepCommands> register_kernel_sweeps(CLI::App& app);

/// Exit status of the selected subcommand (0 ok, 1 bad file or failed check, 2 bad flags or no
/// CUDA device), or -1 when neither subcommand was selected.
int run_kernel_sweeps(const KernelSweepCommands& cmds, const std::vector<std::string>& argv);

/// Whole-program entry: when argv[1] is `attention` or `gemm`, parses and runs it and returns
/// the exit status; otherwise returns -1 (the caller handles its own command line).
int kernel_sweep_main(int argc, char** argv);

}  // namespace ridgeline::calib
