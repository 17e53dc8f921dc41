// SPDX-License-Identifier: Apache-2.0
// Validation points (scenario + "measured" block) and calibration files.
#include "ridgeline/io/validation.hpp"

#include <algorithm>

#include "efficiency_reader.hpp"
#include "json_reader.hpp"

namespace ridgeline::io {

namespace fs = std::filesystem;

ValidationPoint load_validation_point(const fs::path& file, const Database& db) {
  const std::string name = file.string();
  const std::string text = read_text_file(name);
  const Json j = parse_json_text(text, name);
  const Reader r(j, name);
  if (!r.has("measured"))
    throw ConfigError(name +
                      ": /measured: missing. Fix: a validation point needs \"measured\": "
                      "{\"tokens_per_s_per_gpu\": <published value>, \"source_url\": ..., \"verification\": ...}");
  if (r.has("efficiency"))
    throw ConfigError(name +
                      ": /efficiency: per-point efficiencies are not allowed in a validation point (they would "
                      "tune the model to that point). Fix: delete the block; put shared values in a "
                      "--calibration file");
  ValidationPoint p;
  p.name = file.stem().string();
  p.scenario = parse_scenario(text, name, db);
  const Reader m = r.object("measured");
  p.measured.tokens_per_s_per_gpu = m.quantity("tokens_per_s_per_gpu", Dimension::count);
  p.measured.source_url = m.string("source_url");
  p.measured.verification = m.string("verification");
  if (p.measured.verification != "primary" && p.measured.verification != "secondary_transcription")
    m.fail("verification", "must be \"primary\" or \"secondary_transcription\"",
           "write primary (read in the original source) or secondary_transcription (quoted by another source)");
  p.measured.record_id = m.opt_string("record_id", "");
  p.measured.field = m.opt_string("field", "");
  p.measured.source_title = m.opt_string("source_title", "");
  return p;
}

std::vector<ValidationPoint> load_validation_points(const fs::path& dir, const Database& db) {
  if (!fs::is_directory(dir))
    throw ConfigError(dir.string() +
                      ": not a folder. Fix: pass the folder of validation points, e.g. examples/validation");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw ConfigError(dir.string() + ": no *.json validation points. Fix: see README.md, section 'Validation'");
  std::vector<ValidationPoint> out;
  out.reserve(files.size());  // a Scenario holds pointers into itself: never let the vector copy one
  for (const auto& f : files) out.push_back(load_validation_point(f, db));
  return out;
}

Calibration load_calibration(const fs::path& file, const Efficiencies& base) {
  const std::string name = file.string();
  const Json j = read_json_file(name);
  const Reader r(j, name);
  if (!j.is_object())
    throw ConfigError(name + ": a calibration must be a JSON object. Fix: see README.md, section 'Validation'");
  for (auto it = j.begin(); it != j.end(); ++it)
    // provenance, fits and samples are what ridgeline-calibrate records beside the efficiencies.
    if (it.key() != "description" && it.key() != "source" && it.key() != "efficiency" && it.key() != "$schema" &&
        it.key() != "provenance" && it.key() != "fits" && it.key() != "samples")
      throw ConfigError(
          r.where(it.key()) +
          ": unknown key. Fix: allowed keys are description, source, efficiency, provenance, fits, samples");
  Calibration c;
  c.file = name;
  c.description = r.opt_string("description", "");
  c.source = r.string("source");
  if (c.source.empty()) r.fail("source", "is empty", "say where the values come from (a URL, a measurement, a fit)");
  c.efficiencies = base;
  c.fields_set = read_efficiency_block(r.object("efficiency"), c.efficiencies);
  c.efficiencies.source = Source::calibrated;
  return c;
}

}  // namespace ridgeline::io
