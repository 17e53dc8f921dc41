// SPDX-License-Identifier: Apache-2.0
// Raw calibration samples of a hardware profile (hwdb/calibration/raw/<hardware>/): small CSV
// files, one per operator, and sources.json naming the measured table each came from.
#pragma once
#include <filesystem>
#include <string>

#include "ridgeline/profile_fit.hpp"

namespace ridgeline::io {

/// Reads gemm.csv, mla_decode.csv, moe.csv, deepep_ll.csv and attention_peaks.csv from `dir`
/// (each optional, at least one present). A file with other columns or a bad number is an error
/// naming the file, the line and the fix.
ProfileSamples load_profile_samples(const std::filesystem::path& dir);

/// The text of `dir`/sources.json (empty when absent).
std::string profile_sources_json(const std::filesystem::path& dir);

}  // namespace ridgeline::io
