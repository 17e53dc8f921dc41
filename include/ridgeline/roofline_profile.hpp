// SPDX-License-Identifier: Apache-2.0
// An accelerator's measured operator-roofline fractions: the five Efficiencies fields that
// `ridgeline profile-check` fits to measured kernel tables (hwdb/calibration/<id>.json). They
// replace the generic fractions (tuned on Hopper kernels) for that accelerator unless a
// calibration gives a value (Efficiencies::given_roofline) or profiles are switched off.
#pragma once
#include <string>

namespace ridgeline {

/// Bits naming the five roofline fractions (Efficiencies::given_roofline, RooflineProfile::measured).
enum RooflineField : unsigned {
  kGemmCompute = 1u << 0,
  kGemmMemory = 1u << 1,
  kAttentionCompute = 1u << 2,
  kAttentionMemory = 1u << 3,
  kAttentionKvReread = 1u << 4,
};

/// The roofline fractions one operator is priced with.
struct RooflineFractions {
  double gemm_compute = 0, gemm_memory = 0, attention_compute = 0, attention_memory = 0, attention_kv_reread = 0;
};

/// Each fraction's name in efficiency blocks and outputs, its RooflineField bit and its member.
struct RooflineFieldInfo {
  const char* key;
  unsigned bit;
  double RooflineFractions::*value;
};
inline constexpr RooflineFieldInfo kRooflineFields[] = {
    {"gemm_compute", kGemmCompute, &RooflineFractions::gemm_compute},
    {"gemm_memory", kGemmMemory, &RooflineFractions::gemm_memory},
    {"attention_compute", kAttentionCompute, &RooflineFractions::attention_compute},
    {"attention_memory", kAttentionMemory, &RooflineFractions::attention_memory},
    {"attention_kv_reread", kAttentionKvReread, &RooflineFractions::attention_kv_reread}};

struct RooflineProfile {
  RooflineFractions values;  ///< meaningful only where `measured` has the field's bit
  unsigned measured = 0;     ///< RooflineField bits the profile sets
  std::string source;        ///< the profile file, e.g. "hwdb/calibration/h200.json"
};

}  // namespace ridgeline
