// SPDX-License-Identifier: Apache-2.0
// Where a number came from. Every parameter that enters a prediction carries one.
#pragma once

namespace ridgeline {

enum class Source { datasheet, calibrated, derived, assumed };

inline const char* source_name(Source s) {
  switch (s) {
    case Source::datasheet: return "datasheet";
    case Source::calibrated: return "calibrated";
    case Source::derived: return "derived";
    case Source::assumed: return "assumed";
  }
  return "?";
}

}  // namespace ridgeline
