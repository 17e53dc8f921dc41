// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point for the scenario target (body in targets.hpp).
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ridgeline::fuzz::scenario_target(data, size);
}
