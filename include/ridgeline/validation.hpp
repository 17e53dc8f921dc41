// SPDX-License-Identifier: Apache-2.0
// Validation against published measurements: signed errors and their summary. Pure functions;
// the points themselves (scenario + measured value + source) are read in io/validation.hpp.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "ridgeline/error.hpp"

namespace ridgeline {

/// Signed relative error (predicted - measured) / measured: > 0 means the model is optimistic.
inline double signed_error(double predicted, double measured) {
  RIDGELINE_CHECK(measured > 0, "a measured value must be positive");
  return (predicted - measured) / measured;
}

struct ErrorSummary {
  int points = 0;
  double median_abs_error = 0;  ///< median of |signed error| (mean of the middle two for even n)
  double max_abs_error = 0;
  double mean_signed_error = 0;  ///< bias: > 0 when the model is optimistic on average
  double share_optimistic = 0;   ///< fraction of points with predicted > measured
};

inline ErrorSummary summarize_errors(const std::vector<double>& signed_errors) {
  ErrorSummary s;
  s.points = int(signed_errors.size());
  if (signed_errors.empty()) return s;
  std::vector<double> a;
  a.reserve(signed_errors.size());
  int optimistic = 0;
  double sum = 0;
  for (double e : signed_errors) {
    a.push_back(std::abs(e));
    optimistic += e > 0;
    sum += e;
  }
  std::sort(a.begin(), a.end());
  const size_t n = a.size();
  s.median_abs_error = n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
  s.max_abs_error = a.back();
  s.mean_signed_error = sum / double(n);
  s.share_optimistic = double(optimistic) / double(n);
  return s;
}

}  // namespace ridgeline
