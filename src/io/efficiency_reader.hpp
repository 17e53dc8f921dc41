// SPDX-License-Identifier: Apache-2.0
// The "efficiency" block shared by scenario files and calibration files.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "json_reader.hpp"
#include "ridgeline/efficiency.hpp"

namespace ridgeline::io {

/// Reads the keys `e` sets on top of `f` (unknown keys are an error naming the allowed ones).
/// Returns the keys that were set.
std::vector<std::string> read_efficiency_block(const Reader& e, Efficiencies& f);

/// A transport by its file/flag name (deepep_low_latency, deepep_normal, nccl, cpu_rdma).
std::optional<TransportKind> transport_of(const std::string& name);

}  // namespace ridgeline::io
