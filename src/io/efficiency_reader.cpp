// SPDX-License-Identifier: Apache-2.0
#include "efficiency_reader.hpp"

#include <algorithm>

#include "ridgeline/io/database.hpp"

namespace ridgeline::io {

namespace {

void check_keys(const Reader& r, const std::vector<std::string>& known) {
  if (!r.json().is_object()) return;
  for (auto it = r.json().begin(); it != r.json().end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
    const auto m = close_matches(it.key(), known, 1);
    std::string all;
    for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
    throw ConfigError(r.where(it.key()) + ": unknown key. Fix: " +
                      (m.empty() ? "" : "did you mean \"" + m[0] + "\"? ") + "allowed keys here are " + all);
  }
}

}  // namespace

std::vector<std::string> read_efficiency_block(const Reader& e, Efficiencies& f) {
  static const std::vector<std::string> kKeys = {
      "gemm_compute",        "gemm_memory",         "attention_compute",       "attention_memory",    "kernel_overhead",
      "usable_hbm_fraction", "all_to_all_overhead", "small_kernels_per_layer", "micro_batch_overlap", "gemm_overlap"};
  check_keys(e, kKeys);
  f.gemm_compute = e.opt_number_in("gemm_compute", 1e-3, 1.0, f.gemm_compute);
  f.gemm_memory = e.opt_number_in("gemm_memory", 1e-3, 1.0, f.gemm_memory);
  f.attention_compute = e.opt_number_in("attention_compute", 1e-3, 1.0, f.attention_compute);
  f.attention_memory = e.opt_number_in("attention_memory", 1e-3, 1.0, f.attention_memory);
  f.kernel_overhead_s = e.opt_quantity("kernel_overhead", Dimension::seconds, true).value_or(f.kernel_overhead_s);
  f.usable_hbm_fraction = e.opt_number_in("usable_hbm_fraction", 0.05, 1.0, f.usable_hbm_fraction);
  f.all_to_all_overhead_s =
      e.opt_quantity("all_to_all_overhead", Dimension::seconds, true).value_or(f.all_to_all_overhead_s);
  f.small_kernels_per_layer = e.opt_number_in("small_kernels_per_layer", 0.0, 1000.0, f.small_kernels_per_layer);
  f.micro_batch_overlap = e.opt_number_in("micro_batch_overlap", 0.0, 1.0, f.micro_batch_overlap);
  f.gemm_overlap = e.opt_number_in("gemm_overlap", 0.0, 1.0, f.gemm_overlap);
  std::vector<std::string> set;
  for (const auto& k : kKeys)
    if (e.has(k)) set.push_back(k);
  return set;
}

}  // namespace ridgeline::io
