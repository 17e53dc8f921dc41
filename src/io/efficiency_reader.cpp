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

/// A transport name as written in files and flags.
std::optional<TransportKind> transport_of(const std::string& name) {
  for (int k = 0; k < kTransportKinds; ++k)
    if (name == transport_name(TransportKind(k))) return TransportKind(k);
  return std::nullopt;
}

std::vector<std::string> read_efficiency_block(const Reader& e, Efficiencies& f) {
  static const std::vector<std::string> kKeys = {
      "gemm_compute",    "gemm_memory",           "attention_compute",   "attention_memory",
      "kernel_overhead", "usable_hbm_fraction",   "transport",           "small_kernels_per_layer",
      "gemm_overlap",    "eager_launch_overhead", "attention_kv_reread", "hardware_profiles"};
  // Keys of earlier versions, replaced by the transport model: say what replaces them.
  if (e.has("micro_batch_overlap"))
    e.fail("micro_batch_overlap", "was replaced by the transport contention model",
           "set transport.<name>.contention (0 = ideal overlap, 1 = none), e.g. "
           "{\"transport\": {\"deepep_low_latency\": {\"contention\": 0.5}}}");
  if (e.has("all_to_all_overhead"))
    e.fail("all_to_all_overhead", "was replaced by per-transport costs",
           "set transport.<name>.fixed (e.g. \"12 us\") and transport.<name>.per_token");
  check_keys(e, kKeys);
  f.gemm_compute = e.opt_number_in("gemm_compute", 1e-3, 1.0, f.gemm_compute);
  f.gemm_memory = e.opt_number_in("gemm_memory", 1e-3, 1.0, f.gemm_memory);
  f.attention_compute = e.opt_number_in("attention_compute", 1e-3, 1.0, f.attention_compute);
  f.attention_memory = e.opt_number_in("attention_memory", 1e-3, 1.0, f.attention_memory);
  f.attention_kv_reread = e.opt_number_in("attention_kv_reread", 0.0, 1.0, f.attention_kv_reread);
  // A given fraction prices every accelerator, over any measured profile (roofline_fractions).
  for (const auto& k : kRooflineFields)
    if (e.has(k.key)) f.given_roofline |= k.bit;
  f.hardware_profiles = e.opt_bool("hardware_profiles", f.hardware_profiles);
  f.kernel_overhead_s = e.opt_quantity("kernel_overhead", Dimension::seconds, true).value_or(f.kernel_overhead_s);
  f.eager_launch_overhead_s =
      e.opt_quantity("eager_launch_overhead", Dimension::seconds, true).value_or(f.eager_launch_overhead_s);
  f.usable_hbm_fraction = e.opt_number_in("usable_hbm_fraction", 0.05, 1.0, f.usable_hbm_fraction);
  f.small_kernels_per_layer = e.opt_number_in("small_kernels_per_layer", 0.0, 1000.0, f.small_kernels_per_layer);
  f.gemm_overlap = e.opt_number_in("gemm_overlap", 0.0, 1.0, f.gemm_overlap);
  if (auto t = e.opt_object("transport")) {
    std::vector<std::string> names;
    for (int k = 0; k < kTransportKinds; ++k) names.push_back(transport_name(TransportKind(k)));
    check_keys(*t, names);
    for (int k = 0; k < kTransportKinds; ++k) {
      auto one = t->opt_object(names[size_t(k)]);
      if (!one) continue;
      check_keys(*one, {"fixed", "per_token", "contention"});
      TransportCost& c = f.transports[size_t(k)];
      c.fixed_s = one->opt_quantity("fixed", Dimension::seconds, true).value_or(c.fixed_s);
      c.per_token_s = one->opt_quantity("per_token", Dimension::seconds, true).value_or(c.per_token_s);
      c.contention = one->opt_number_in("contention", 0.0, 1.0, c.contention);
      c.source = Source::calibrated;
    }
  }
  std::vector<std::string> set;
  for (const auto& k : kKeys)
    if (e.has(k)) set.push_back(k);
  return set;
}

}  // namespace ridgeline::io
