// SPDX-License-Identifier: Apache-2.0
// The calibrator's subcommands other than m2n (m2n.hpp): fit (raw measurements -> calibration).
#pragma once
#include <string>
#include <vector>

namespace ridgeline::calib {

struct FitArgs {
  std::vector<std::string> inputs;  ///< m2n raw files and/or calibration files with GEMM samples
  std::string out;
  std::string pattern = "m2n";  ///< whose fit becomes the transport entry
  std::string transport;        ///< transport name to write; "" = from the backend (or none)
  std::vector<double> holdout_bytes;
  std::string hardware, link, data_dir;
  int hidden = 0;
  double bytes_per_elem = 1;
  double bytes_per_token = 0;
  double max_rms_error = 0.25;
  bool accept_poor_fit = false;
  int bootstrap = 200;
  std::vector<std::string> argv;
};

/// Exit status: 0 written, 1 bad input or a refused fit (message with a fix on stderr).
int run_fit(const FitArgs& a);

}  // namespace ridgeline::calib
