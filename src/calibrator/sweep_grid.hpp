// SPDX-License-Identifier: Apache-2.0
// Sweep grids and token distributions of the kernel sweeps (attention, grouped GEMM): parsing
// of list flags, the batch x context grid with a memory cap, expert token counts (balanced,
// Zipf-skewed, one hot expert) and percentiles. Header-only and free of CLI/JSON so the unit
// tests exercise exactly what the calibrator runs.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "ridgeline/error.hpp"

namespace ridgeline::calib {

/// "1,4,16" -> {1,4,16}; "1..64" -> {1,2,4,...,64} (doubling; the upper end is always
/// included); both forms may be mixed ("1..8,100"). Values must lie in [lo, hi]; the result is
/// sorted and without duplicates. Throws UsageError naming `flag` on bad input.
inline std::vector<int> parse_int_list(const std::string& text, const std::string& flag, int lo, int hi) {
  auto bad = [&](const std::string& why) {
    return UsageError(flag + " " + text + ": " + why + " (expected e.g. 1,4,16 or 1..64, values in [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "])");
  };
  auto number = [&](const std::string& s) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
      throw bad("'" + s + "' is not a positive integer");
    const long v = std::stol(s);
    if (v < lo || v > hi) throw bad(s + " is out of range");
    return int(v);
  };
  std::vector<int> out;
  size_t start = 0;
  if (text.empty()) throw bad("empty list");
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t dots = item.find("..");
    if (dots == std::string::npos) {
      out.push_back(number(item));
    } else {
      const int a = number(item.substr(0, dots)), b = number(item.substr(dots + 2));
      if (a > b) throw bad("range " + item + " runs backwards");
      for (long v = a; v < b; v *= 2) out.push_back(int(v));
      out.push_back(b);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

struct GridPoint {
  int batch = 0;
  int context_tokens = 0;
};

/// The batch x context product, batch-major (all contexts of batch 1 first), without the points
/// whose bytes (bytes_per_token x batch x context) exceed `max_bytes` (0 = no cap). `skipped`
/// counts the points left out, so the caller can say so.
inline std::vector<GridPoint> make_grid(const std::vector<int>& batches, const std::vector<int>& contexts,
                                        double bytes_per_token, double max_bytes, int* skipped = nullptr) {
  std::vector<GridPoint> out;
  int left = 0;
  for (int b : batches)
    for (int l : contexts) {
      if (max_bytes > 0 && bytes_per_token * b * l > max_bytes) {
        ++left;
        continue;
      }
      out.push_back({b, l});
    }
  if (skipped) *skipped = left;
  return out;
}

/// How routed tokens spread over experts.
struct Skew {
  enum Kind { balanced, zipf, hot } kind = balanced;
  double value = 0;  ///< zipf: exponent s; hot: fraction of the tokens on expert 0
  std::string text() const {
    if (kind == balanced) return "balanced";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s:%g", kind == zipf ? "zipf" : "hot", value);
    return buf;
  }
};

/// "balanced", "zipf:S" (S in (0, 4]) or "hot:F" (F in (0, 1]). Throws UsageError naming the flag.
inline Skew parse_skew(const std::string& text, const std::string& flag = "--skew") {
  auto bad = [&](const std::string& why) {
    return UsageError(flag + " " + text + ": " + why + " (expected balanced, zipf:S with 0 < S <= 4, or hot:F with " +
                      "0 < F <= 1)");
  };
  if (text == "balanced" || text == "none") return {};
  const size_t colon = text.find(':');
  if (colon == std::string::npos) throw bad("unknown distribution");
  const std::string kind = text.substr(0, colon), num = text.substr(colon + 1);
  double v = 0;
  try {
    size_t used = 0;
    v = std::stod(num, &used);
    if (used != num.size()) throw bad("'" + num + "' is not a number");
  } catch (const std::logic_error&) {
    throw bad("'" + num + "' is not a number");
  }
  if (kind == "zipf") {
    if (!(v > 0 && v <= 4)) throw bad("exponent out of range");
    return {Skew::zipf, v};
  }
  if (kind == "hot") {
    if (!(v > 0 && v <= 1)) throw bad("fraction out of range");
    return {Skew::hot, v};
  }
  throw bad("unknown distribution '" + kind + "'");
}

/// Tokens per expert for `total` routed tokens over `experts` experts: exact integers summing
/// to `total` (largest remainder). Zipf: expert i gets a share proportional to 1/(i+1)^s; hot:
/// expert 0 gets round(F total) and the rest share the remainder evenly.
inline std::vector<int> expert_tokens(int64_t total, int experts, const Skew& skew) {
  RIDGELINE_CHECK(experts > 0 && total >= 0, "expert_tokens: experts must be positive");
  std::vector<double> share(size_t(experts), 1.0);
  if (skew.kind == Skew::zipf)
    for (int i = 0; i < experts; ++i) share[size_t(i)] = 1.0 / std::pow(i + 1.0, skew.value);
  if (skew.kind == Skew::hot) {
    const double rest = experts > 1 ? (1.0 - skew.value) / (experts - 1) : 0;
    for (int i = 0; i < experts; ++i) share[size_t(i)] = i == 0 ? (experts > 1 ? skew.value : 1.0) : rest;
  }
  const double sum = std::accumulate(share.begin(), share.end(), 0.0);
  std::vector<int> out(static_cast<size_t>(experts));
  std::vector<std::pair<double, int>> rem;
  int64_t given = 0;
  for (int i = 0; i < experts; ++i) {
    const double exact = double(total) * share[size_t(i)] / sum;
    out[size_t(i)] = int(std::floor(exact));
    given += out[size_t(i)];
    rem.emplace_back(exact - std::floor(exact), i);
  }
  // Ties go to the lower index, so the result is deterministic and still non-increasing.
  std::stable_sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < total; ++k, ++given) ++out[size_t(rem[k % rem.size()].second)];
  return out;
}

/// Nearest-rank percentile (p in (0, 100]) of `v`; throws on an empty vector.
inline double percentile(std::vector<double> v, double p) {
  RIDGELINE_CHECK(!v.empty(), "percentile of no values");
  std::sort(v.begin(), v.end());
  const size_t rank = size_t(std::ceil(p / 100.0 * double(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

}  // namespace ridgeline::calib
