// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point for the flags target (body in targets.hpp).
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ridgeline::fuzz::flags_target(data, size);
}
