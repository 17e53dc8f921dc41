// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point for the model target (body in targets.hpp).
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ridgeline::fuzz::model_target(data, size);
}
