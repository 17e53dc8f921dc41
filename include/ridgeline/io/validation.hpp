// SPDX-License-Identifier: Apache-2.0
// Validation points and calibration files (the I/O edge of `ridgeline validate`).
// A validation point is a scenario file with a top-level "measured" block:
//   "measured": {"record_id": ..., "tokens_per_s_per_gpu": 2785.25, "field": ..., "source_url": ...,
//                "verification": "primary" | "secondary_transcription", ...}
// A point measured under aggregated serving (every request's prefill runs on the decode GPUs,
// e.g. trtllm-bench offline) says so, and is predicted with colocated_step (service.hpp):
//   "serving": {"mode": "aggregated", "input_tokens": 1024, "output_tokens": 2048}
// A point may not carry an "efficiency" block: validation runs every point with the same
// efficiencies (defaults or one --calibration file), so no per-point constant can hide an error.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ridgeline/efficiency.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/service.hpp"

namespace ridgeline::io {

struct Measurement {
  std::string record_id;  ///< id of the published measurement this point reproduces (see measured.source_url)
  std::string field;      ///< which published field the value is (and how it was derived)
  std::string source_url;
  std::string source_title;
  std::string verification;  ///< "primary" or "secondary_transcription"
  double tokens_per_s_per_gpu = 0;
};

/// Aggregated serving: prompt and output lengths of the measured requests.
struct AggregatedServing {
  double input_tokens = 0;
  double output_tokens = 0;
};

struct ValidationPoint {
  std::string name;  ///< file stem
  Scenario scenario;
  Measurement measured;
  std::optional<AggregatedServing> aggregated;  ///< unset: disaggregated decode (the decode pool alone)
};

/// A point's prediction: the decode evaluation of its scenario and, under aggregated serving, the
/// co-located step (decode step + the prefill chunk that keeps the batch full).
struct PointPrediction {
  Evaluation eval;
  std::optional<ColocatedStep> aggregated;
  double tokens_per_s_per_gpu = 0;  ///< what is compared with the measurement
};
PointPrediction predict_point(const ValidationPoint& p, const Efficiencies& eff);

/// Every *.json in `dir` (sorted by name), each a scenario with a "measured" block.
std::vector<ValidationPoint> load_validation_points(const std::filesystem::path& dir, const Database& db);
ValidationPoint load_validation_point(const std::filesystem::path& file, const Database& db);

/// One number a calibration file set: its key (transport ones as transport.<name>.<field>), the
/// value now in force and the value it replaced.
struct CalibratedValue {
  std::string key;
  double value = 0;
  double replaced = 0;
  std::string unit;  ///< "s" for times, "" for fractions and counts
};

/// Efficiency overrides shared by every point, with provenance:
///   {"description": ..., "source": ..., "efficiency": {<keys of a scenario's efficiency block>},
///    "applies_to": ["h800", ...] | ["any"],
///    "provenance": {"hardware_id": "h800", "device": "...", "link_kind": "...", ...}}
/// The device record (applies_to or provenance.hardware_id) says which hardware the numbers were
/// measured on; check_calibration_applies() refuses other hardware unless mapped explicitly.
struct Calibration {
  std::string file;
  std::string description;
  std::string source;
  Efficiencies efficiencies;
  std::vector<std::string> fields_set;  ///< which efficiency keys the file overrides
  std::vector<CalibratedValue> values;  ///< every number the file set, with the value it replaced
  std::vector<std::string> applies_to;  ///< hwdb ids (or "any") the file declares it applies to
  std::string hardware_id;              ///< provenance.hardware_id: the hwdb id it was measured on
  std::string device;                   ///< provenance.device: the measured device in words
  std::string link_kind;                ///< provenance.link_kind (or fits.link.kind)
};

/// Reads a calibration file on top of `base` (fields the file omits keep their base value).
Calibration load_calibration(const std::filesystem::path& file, const Efficiencies& base);

/// How the user maps a calibration onto hardware: `for_hardware` (--calibration-for ID, resolved
/// to an hwdb id) says the file applies to that hardware; `any_device` (--calibration-any-device)
/// skips the check.
struct CalibrationUse {
  std::string for_hardware;
  bool any_device = false;
};

/// Throws ConfigError (naming the file's device and `hw`, with a Fix) unless `cal` may be applied
/// to `hw`: the file's applies_to lists "any", hw's id or one of its aliases, or its
/// provenance.hardware_id is hw (ids resolved through `db`), or `use` maps it. A file with no
/// device record is refused: it must declare "applies_to" (["any"] for device-independent what-ifs).
void check_calibration_applies(const Calibration& cal, const Accelerator& hw, const Database& db,
                               const CalibrationUse& use);

/// `arg` of --calibration: an existing file, or a bare hardware id whose profile
/// hwdb/calibration/<id>.json exists (next to the hwdb file the id was read from).
std::filesystem::path resolve_calibration_file(const std::string& arg, const Database& db);

/// JSON-ready list of cal.values: [{"key", "value", "replaced", "unit"}] is built by the CLI.
/// "gemm_compute 0.62 (default 0.7); kernel_overhead 12.9 us (default 2 us)" for printing.
std::string calibrated_values_text(const Calibration& cal);

}  // namespace ridgeline::io
