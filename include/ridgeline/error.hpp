// SPDX-License-Identifier: Apache-2.0
// Error types. Exceptions are for bad input (malformed files, unknown ids, impossible values);
// an infeasible *plan* is never an exception but an Evaluation with feasible == false.
#pragma once
#include <stdexcept>
#include <string>

namespace ridgeline {

/// Root of every error Ridgeline throws.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A bad or missing field; the message names the file, the JSON path, the value and the fix.
struct ConfigError : Error {
  using Error::Error;
};

/// An unknown hardware or model id; the message lists the close matches.
struct LookupError : Error {
  using Error::Error;
};

/// A quantity the model needs is absent (e.g. no FP8 peak for an FP8 plan). Never guessed.
struct MissingDataError : Error {
  using Error::Error;
};

/// API misuse (a broken invariant in a caller's arguments).
struct UsageError : Error {
  using Error::Error;
};

}  // namespace ridgeline

#ifndef RIDGELINE_CHECK
#define RIDGELINE_STR2(x) #x
#define RIDGELINE_STR(x) RIDGELINE_STR2(x)
/// Throws UsageError with file:line and the condition when `cond` is false.
#define RIDGELINE_CHECK(cond, msg)                                                           \
  do {                                                                                       \
    if (!(cond))                                                                             \
      throw ::ridgeline::UsageError(std::string(__FILE__ ":" RIDGELINE_STR(__LINE__) ": ") + \
                                    #cond + ": " + (msg));                                   \
  } while (0)
#endif
