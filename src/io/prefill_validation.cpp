// SPDX-License-Identifier: Apache-2.0
#include "prefill_validation.hpp"

#include <algorithm>
#include <memory>

#include "json_reader.hpp"

namespace ridgeline::io {

namespace fs = std::filesystem;

namespace {

DType read_prefill_dtype(const Reader& r, const std::string& key, DType fallback) {
  if (!r.has(key)) return fallback;
  const std::string s = r.string(key);
  for (DType d : {DType::fp4, DType::int4, DType::fp8, DType::int8, DType::bf16, DType::fp16, DType::fp32})
    if (s == dtype_name(d)) return d;
  r.fail(key, "unknown number format", "use one of fp4, int4, fp8, int8, bf16, fp16, fp32");
}

void check_keys(const Reader& r, std::initializer_list<const char*> known) {
  if (!r.json().is_object()) return;
  for (auto it = r.json().begin(); it != r.json().end(); ++it)
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return it.key() == k; })) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      r.fail(it.key(), "unknown key", "allowed keys here are " + list);
    }
}

}  // namespace

bool is_prefill_validation_dir(const fs::path& dir) {
  // Not a readable folder: the decode loader reports it (exit 1 with a Fix).
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  bool any = false;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") {
      if (!is_prefill_point(e.path())) return false;
      any = true;
    }
  return any;
}

bool is_prefill_point(const fs::path& file) {
  try {
    const Json j = read_json_file(file.string());
    return j.is_object() && j.contains("phase") && j.at("phase") == "prefill";
  } catch (const Error&) {
    return false;
  }
}

std::vector<std::unique_ptr<PrefillValidationPoint>> load_prefill_points(const fs::path& dir, const Database& db) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::unique_ptr<PrefillValidationPoint>> out;
  for (const auto& f : files) {
    const std::string name = f.string();
    const Json j = read_json_file(name);
    const Reader r(j, name);
    if (!j.is_object()) throw ConfigError(name + ": a prefill validation point must be a JSON object");
    check_keys(r, {"$schema", "phase", "description", "source", "model", "precision", "workload", "deployment",
                   "measured", "notes"});
    if (r.string("phase") != "prefill")
      r.fail("phase", "is not \"prefill\"", "keep decode points and prefill points in separate folders");
    if (r.has("efficiency"))
      r.fail("efficiency", "per-point efficiencies are not allowed", "delete the block; use --calibration");
    auto p = std::make_unique<PrefillValidationPoint>();
    p->name = f.stem().string();
    p->file = name;
    p->description = r.opt_string("description", "");
    try {
      p->model = &db.model(r.string("model"));
    } catch (const LookupError& e) {
      throw LookupError(r.where("model") + ": " + e.what());
    }
    if (auto pr = r.opt_object("precision")) {
      check_keys(*pr, {"weights", "kv_cache", "dispatch", "combine", "attention_math"});
      p->precision.weights = read_prefill_dtype(*pr, "weights", p->precision.weights);
      p->precision.kv_cache = read_prefill_dtype(*pr, "kv_cache", p->precision.kv_cache);
      p->precision.dispatch = read_prefill_dtype(*pr, "dispatch", p->precision.dispatch);
      p->precision.combine = read_prefill_dtype(*pr, "combine", p->precision.combine);
      p->precision.attention_math = read_prefill_dtype(*pr, "attention_math", p->precision.attention_math);
    }
    const Reader w = r.object("workload");
    check_keys(w, {"input_tokens", "expert_load_imbalance"});
    p->input_tokens = w.quantity("input_tokens", Dimension::count);
    if (w.has("expert_load_imbalance"))
      p->workload.expert_load_imbalance = w.number_in("expert_load_imbalance", 1, 1000);
    const Reader d = r.object("deployment");
    check_keys(d, {"parallel", "hardware", "gpus", "micro_batches", "chunk_tokens", "redundant_experts"});
    const std::string par = d.string("parallel");
    if (par != "ep" && par != "tp") d.fail("parallel", "must be \"ep\" or \"tp\"", "write \"ep\" or \"tp\"");
    p->hardware_id = d.string("hardware");
    try {
      p->hardware = db.hardware(p->hardware_id);
    } catch (const LookupError& e) {
      throw LookupError(d.where("hardware") + ": " + e.what());
    }
    if (!p->hardware.supports(p->precision.weights))
      d.fail("hardware", std::string("has no ") + dtype_name(p->precision.weights) + " peak",
             "choose precision.weights the hardware supports");
    p->deployment.parallel = par == "ep" ? PrefillParallel::ep : PrefillParallel::tp;
    p->deployment.hw = &p->hardware;
    p->deployment.gpus = d.integer("gpus", 1);
    p->deployment.micro_batches = d.opt_integer("micro_batches", 1, par == "ep" ? 2 : 1);
    p->deployment.chunk_tokens = d.quantity("chunk_tokens", Dimension::count);
    p->deployment.redundant_experts = d.opt_integer("redundant_experts", 0, 0);
    const Reader m = r.object("measured");
    check_keys(m, {"input_tokens_per_s_per_gpu", "record_id", "field", "source_url", "source_title", "verification"});
    p->measured_tokens_per_s_per_gpu = m.quantity("input_tokens_per_s_per_gpu", Dimension::count);
    p->source_url = m.string("source_url");
    p->verification = m.string("verification");
    if (p->verification != "primary" && p->verification != "secondary_transcription")
      m.fail("verification", "must be \"primary\" or \"secondary_transcription\"",
             "write primary (read in the original source) or secondary_transcription");
    p->record_id = m.opt_string("record_id", "");
    p->field = m.opt_string("field", "");
    p->source_title = m.opt_string("source_title", "");
    out.push_back(std::move(p));
  }
  if (out.empty())
    throw ConfigError(dir.string() + ": no *.json prefill validation points. Fix: see docs/service.md, 'Validation'");
  return out;
}

}  // namespace ridgeline::io
