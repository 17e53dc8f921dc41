// SPDX-License-Identifier: Apache-2.0
// Validation points (scenario + "measured" block) and calibration files.
#include "ridgeline/io/validation.hpp"

#include <fmt/format.h>

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
  if (r.has("serving")) {
    const Reader sv = r.object("serving");
    for (auto it = sv.json().begin(); it != sv.json().end(); ++it)
      if (it.key() != "mode" && it.key() != "input_tokens" && it.key() != "output_tokens")
        throw ConfigError(sv.where(it.key()) +
                          ": unknown key. Fix: allowed keys are mode, input_tokens, output_tokens");
    const std::string mode = sv.string("mode");
    if (mode == "aggregated") {
      p.aggregated = AggregatedServing{sv.quantity("input_tokens", Dimension::count),
                                       sv.quantity("output_tokens", Dimension::count)};
    } else if (mode != "disaggregated") {
      sv.fail("mode", "must be \"aggregated\" or \"disaggregated\"",
              "write aggregated when the prefill ran on the measured GPUs (e.g. trtllm-bench offline), "
              "disaggregated (the default) for a decode pool measured alone");
    }
    Json rest = j;
    rest.erase("serving");  // a scenario file has no serving block; the rest is a scenario
    p.scenario = parse_scenario(rest.dump(), name, db);
    if (p.aggregated && p.scenario.deployment.strategy != Strategy::ep)
      sv.fail("mode", "aggregated serving is modelled for EP deployments only",
              "measure the AFD point with a separate prefill pool, or remove the serving block");
  } else {
    p.scenario = parse_scenario(text, name, db);
  }
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

PointPrediction predict_point(const ValidationPoint& p, const Efficiencies& eff) {
  const Scenario& s = p.scenario;
  PointPrediction out;
  out.eval = evaluate(s.model, s.precision, s.workload, s.deployment, eff);
  out.tokens_per_s_per_gpu = out.eval.tokens_per_s_per_gpu;
  if (p.aggregated) {
    out.aggregated = colocated_step(s.model, s.precision, s.workload, p.aggregated->input_tokens,
                                    p.aggregated->output_tokens, s.deployment, out.eval, eff);
    out.tokens_per_s_per_gpu = out.aggregated->priced ? out.aggregated->output_tokens_per_s_per_gpu : 0.0;
  }
  return out;
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
        it.key() != "provenance" && it.key() != "fits" && it.key() != "samples" && it.key() != "applies_to")
      throw ConfigError(r.where(it.key()) +
                        ": unknown key. Fix: allowed keys are description, source, efficiency, applies_to, "
                        "provenance, fits, samples");
  Calibration c;
  c.file = name;
  c.description = r.opt_string("description", "");
  c.source = r.string("source");
  if (c.source.empty()) r.fail("source", "is empty", "say where the values come from (a URL, a measurement, a fit)");
  c.applies_to = r.opt_strings("applies_to");
  if (r.has("applies_to") && c.applies_to.empty())
    r.fail("applies_to", "is empty", "list the hwdb ids the numbers apply to, e.g. [\"h800\"], or [\"any\"]");
  if (j.contains("provenance") && j["provenance"].is_object()) {
    const Reader p = r.object("provenance");
    // Free-form apart from these three; ridgeline-calibrate writes device, profiles all three.
    if (p.has("hardware_id")) c.hardware_id = p.string("hardware_id");
    if (p.has("device") && p.json()["device"].is_string()) c.device = p.string("device");
    if (p.has("link_kind") && p.json()["link_kind"].is_string()) c.link_kind = p.string("link_kind");
  }
  if (c.link_kind.empty() && j.contains("fits") && j["fits"].is_object() && j["fits"].contains("link") &&
      j["fits"]["link"].is_object() && j["fits"]["link"].contains("kind") && j["fits"]["link"]["kind"].is_string())
    c.link_kind = j["fits"]["link"]["kind"].get<std::string>();
  c.efficiencies = base;
  const Reader e = r.object("efficiency");
  c.fields_set = read_efficiency_block(e, c.efficiencies);
  c.efficiencies.source = Source::calibrated;
  // Every number the file set, with what it replaced.
  const Efficiencies& a = c.efficiencies;
  const struct {
    const char* key;
    double Efficiencies::*field;
    const char* unit;
  } scalars[] = {{"gemm_compute", &Efficiencies::gemm_compute, ""},
                 {"gemm_memory", &Efficiencies::gemm_memory, ""},
                 {"gemm_overlap", &Efficiencies::gemm_overlap, ""},
                 {"attention_compute", &Efficiencies::attention_compute, ""},
                 {"attention_memory", &Efficiencies::attention_memory, ""},
                 {"attention_kv_reread", &Efficiencies::attention_kv_reread, ""},
                 {"kernel_overhead", &Efficiencies::kernel_overhead_s, "s"},
                 {"eager_launch_overhead", &Efficiencies::eager_launch_overhead_s, "s"},
                 {"usable_hbm_fraction", &Efficiencies::usable_hbm_fraction, ""},
                 {"small_kernels_per_layer", &Efficiencies::small_kernels_per_layer, ""}};
  for (const auto& s : scalars)
    if (e.has(s.key)) c.values.push_back({s.key, a.*(s.field), base.*(s.field), s.unit});
  if (e.has("transport")) {
    const Json& t = e.json()["transport"];
    for (int k = 0; k < kTransportKinds; ++k) {
      const std::string tn = transport_name(TransportKind(k));
      if (!t.contains(tn)) continue;
      const TransportCost &now = a.transports[size_t(k)], &was = base.transports[size_t(k)];
      if (t[tn].contains("fixed")) c.values.push_back({"transport." + tn + ".fixed", now.fixed_s, was.fixed_s, "s"});
      if (t[tn].contains("per_token"))
        c.values.push_back({"transport." + tn + ".per_token", now.per_token_s, was.per_token_s, "s"});
      if (t[tn].contains("contention"))
        c.values.push_back({"transport." + tn + ".contention", now.contention, was.contention, ""});
    }
  }
  return c;
}

namespace {

/// `id` as an hwdb id (aliases resolved), or itself when the database does not know it.
std::string canonical_hardware(const std::string& id, const Database& db) {
  return db.has_hardware(id) ? db.hardware(id).id : id;
}

}  // namespace

void check_calibration_applies(const Calibration& cal, const Accelerator& hw, const Database& db,
                               const CalibrationUse& use) {
  if (use.any_device) return;
  if (!use.for_hardware.empty()) {
    if (canonical_hardware(use.for_hardware, db) == hw.id) return;
    throw ConfigError(cal.file + ": --calibration-for " + use.for_hardware + " maps the file to " +
                      canonical_hardware(use.for_hardware, db) + ", but the scenario runs on " + hw.id + " (" +
                      hw.name + "). Fix: pass --calibration-for " + hw.id +
                      " if the numbers hold there too, or use a calibration measured on " + hw.id);
  }
  std::vector<std::string> ids;
  for (const auto& a : cal.applies_to) ids.push_back(a == "any" ? a : canonical_hardware(a, db));
  if (!cal.hardware_id.empty()) ids.push_back(canonical_hardware(cal.hardware_id, db));
  for (const auto& id : ids)
    if (id == "any" || id == hw.id) return;
  std::string measured;
  if (!cal.hardware_id.empty()) measured = "hardware " + cal.hardware_id;
  if (!cal.device.empty())
    measured +=
        (measured.empty() ? "device \"" : " (device \"") + cal.device + (cal.hardware_id.empty() ? "\"" : "\")");
  if (!cal.applies_to.empty()) {
    std::string list;
    for (const auto& a : cal.applies_to) list += (list.empty() ? "" : ", ") + a;
    measured += (measured.empty() ? "" : ", ") + std::string("applies to ") + list;
  }
  if (measured.empty())
    throw ConfigError(cal.file +
                      ": records no device (no \"applies_to\", no provenance.hardware_id), so it cannot be "
                      "checked against " +
                      hw.id + " (" + hw.name + "). Fix: add \"applies_to\": [\"" + hw.id +
                      "\"] (or [\"any\"] if the numbers are device-independent) to the file, or pass "
                      "--calibration-for " +
                      hw.id + " or --calibration-any-device");
  throw ConfigError(cal.file + ": measured on " + measured + ", but the scenario runs on " + hw.id + " (" + hw.name +
                    "). Fix: use a calibration measured on " + hw.id +
                    ", or map it explicitly with --calibration-for " + hw.id +
                    " (or --calibration-any-device) if its numbers hold there");
}

fs::path resolve_calibration_file(const std::string& arg, const Database& db) {
  if (fs::exists(arg)) return arg;
  if (arg.find('/') == std::string::npos && db.has_hardware(arg)) {
    const fs::path profile = db.hardware_file(arg).parent_path() / "calibration" / (db.hardware(arg).id + ".json");
    if (fs::exists(profile)) return profile;
    throw ConfigError("--calibration " + arg + ": no file of that name, and " + profile.string() +
                      " (the hardware profile of " + db.hardware(arg).id +
                      ") does not exist. Fix: pass a calibration file, or an id with a profile in hwdb/calibration/");
  }
  throw ConfigError("--calibration " + arg +
                    ": no such file or hardware id. Fix: pass a calibration file, or a hardware id with a profile in "
                    "hwdb/calibration/ (h100-sxm, h200, b200, gb200, h800)");
}

std::string calibrated_values_text(const Calibration& cal) {
  auto show = [](double v, const std::string& unit) {
    if (unit == "s") return v >= 1e-3 ? fmt::format("{:.4g} ms", v * 1e3) : fmt::format("{:.4g} us", v * 1e6);
    return fmt::format("{:.4g}", v);
  };
  std::string out;
  for (const auto& v : cal.values)
    out += (out.empty() ? "" : "; ") + v.key + " " + show(v.value, v.unit) + " (was " + show(v.replaced, v.unit) + ")";
  return out.empty() ? std::string("none") : out;
}

}  // namespace ridgeline::io
