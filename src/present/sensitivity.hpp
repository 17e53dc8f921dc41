// SPDX-License-Identifier: Apache-2.0
// `plan --sensitivity`: the EP-vs-AFD verdict at the low and high end of each uncertain
// parameter's sourced range (README "Defaults and their sources").
#pragma once
#include <string>
#include <vector>

#include "present/search.hpp"

namespace ridgeline::present {

struct SensitivityRow {
  std::string parameter, low, high;                           ///< the parameter and the values at each end
  double ep_low = 0, ep_high = 0, afd_low = 0, afd_high = 0;  ///< best scores (objective units)
  std::string winner_low, winner_high;                        ///< "ep", "afd" or "none"
};

/// Re-runs the search (`full`) or re-sizes the batch of the two given best plans (fast) at both
/// ends of each parameter's range.
std::vector<SensitivityRow> run_sensitivity(const SearchSetup& base, const Candidate* best_ep,
                                            const Candidate* best_afd, bool full);

/// One line: whether the winner stays the same at every end of every range.
std::string robustness_line(const std::vector<SensitivityRow>& rows, const std::string& winner, bool full);

}  // namespace ridgeline::present
