// SPDX-License-Identifier: Apache-2.0
#include "ridgeline/io/database.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "json_reader.hpp"
#include "ridgeline/io/validation.hpp"

namespace ridgeline::io {

namespace fs = std::filesystem;

struct DbEntry {
  fs::path file;
  std::string text;
  Json json;
  Accelerator hw;
  ModelSpec model;
};

namespace {
bool whole_number(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end != s.c_str() && *end == '\0';
}

}  // namespace

double parse_quantity_text(const std::string& text, Dimension dim) {
  const std::string t(detail::trim(text));
  double v = 0;
  if (const char* unit = likely_unit(dim); unit && whole_number(t, v) && v != 0)  // 0 needs no unit
    throw ConfigError(t + " has no unit; write \"" + t + " " + unit + "\"");
  if (dim == Dimension::count && !t.empty()) {
    static constexpr std::pair<char, double> kSuffixes[] = {{'K', 1024.0}, {'M', 1048576.0}, {'k', 1e3}, {'m', 1e6}};
    for (const auto& [c, scale] : kSuffixes)
      if (t.back() == c && whole_number(t.substr(0, t.size() - 1), v)) {
        check_quantity_magnitude(v * scale, t, dim);
        if (!std::isfinite(v * scale)) throw ConfigError("\"" + t + "\" is not finite");
        return v * scale;
      }
  }
  return parse_quantity(t, dim);
}

namespace {

void check_schema(const Reader& r) {
  const int v = r.opt_integer("schema_version", 1, 1);
  if (v != 1)
    r.fail("schema_version", "unsupported schema version " + std::to_string(v) + " (this Ridgeline reads 1)",
           "upgrade Ridgeline or convert the file to schema_version 1");
}

std::optional<double> opt_peak(const Reader& peaks, const char* key) {
  return peaks.opt_quantity(key, Dimension::flops_per_s);
}

Link read_link(const Reader& r, double default_efficiency) {
  Link l;
  l.bytes_per_s = r.quantity("bytes_per_s", Dimension::bytes_per_s);
  l.efficiency = r.opt_number_in("efficiency", 1e-3, 1.0, default_efficiency);
  l.latency_s = r.opt_quantity("latency_s", Dimension::seconds, true).value_or(0.0);
  return l;
}

/// A package of several dies that the serving stack runs as separate ranks (each Ascend 910C
/// die is a DP rank with its own copy of the attention weights): the file gives per-package
/// figures, the model's unit is the die. Everything per package is split evenly.
void split_into_dies(Accelerator& a) {
  const double d = a.dies_per_package;
  for (auto* peak :
       {&a.peak_fp4_flops_per_s, &a.peak_fp8_flops_per_s, &a.peak_bf16_flops_per_s, &a.peak_int8_flops_per_s})
    if (*peak) **peak /= d;
  a.hbm_bytes /= d;
  a.hbm_bytes_per_s /= d;
  a.scale_up.bytes_per_s /= d;
  a.scale_out.bytes_per_s /= d;
  a.price_usd_per_gpu_hour /= d;
  a.power_w /= d;
  a.gpus_per_node *= a.dies_per_package;
  a.scale_up_domain_gpus *= a.dies_per_package;
}

Accelerator accelerator_from_json(const Json& j, const std::string& file, const std::string& id) {
  Reader r(j, file);
  if (!j.is_object())
    throw ConfigError(file + ": a hardware file must be a JSON object. Fix: see docs/data-format.md.");
  check_schema(r);
  Accelerator a;
  a.id = id;
  a.name = r.opt_string("name", id);
  a.vendor = r.opt_string("vendor", "");
  a.architecture = r.opt_string("architecture", "");
  a.attention_tile_rows = std::max(1, Accelerator::tile_rows_for(a.architecture));
  a.attention_tiles_by_rows = Accelerator::tiles_by_rows_for(a.architecture);
  a.attention_math_follows_kv = Accelerator::attention_math_follows_kv_for(a.architecture);
  if (!a.architecture.empty() && Accelerator::tile_rows_for(a.architecture) == 0)
    r.fail("architecture", "unknown architecture \"" + a.architecture + "\"",
           "use ampere, ada, hopper, blackwell, cdna3, cdna4 or ascend (or leave it out: no attention tile padding)");
  const Reader peaks = r.object("peak_flops_per_s");
  a.peak_fp4_flops_per_s = opt_peak(peaks, "fp4");
  a.peak_fp8_flops_per_s = opt_peak(peaks, "fp8");
  a.peak_bf16_flops_per_s = opt_peak(peaks, "bf16");
  a.peak_int8_flops_per_s = opt_peak(peaks, "int8");
  if (!a.peak_bf16_flops_per_s && !a.peak_fp8_flops_per_s)
    peaks.fail("bf16", "no bf16 or fp8 peak given", "add \"bf16\": \"<n> TFLOPS\" (dense, no sparsity)");
  a.hbm_bytes = r.quantity("hbm_bytes", Dimension::bytes);
  a.hbm_bytes_per_s = r.quantity("hbm_bytes_per_s", Dimension::bytes_per_s);
  const Reader up = r.object("scale_up");
  a.scale_up = read_link(up, 0.8);
  a.scale_up_domain_gpus = up.opt_integer("domain_gpus", 1, 8);
  a.scale_out = read_link(r.object("scale_out"), 1.0);
  a.gpus_per_node = r.opt_integer("gpus_per_node", 1, 8);
  a.price_usd_per_gpu_hour = r.opt_quantity("price_usd_per_gpu_hour", Dimension::usd_per_hour, true).value_or(0.0);
  a.power_w = r.opt_quantity("power_w", Dimension::watts, true).value_or(0.0);
  a.notes = r.opt_string("notes", "");
  a.sources = r.opt_strings("sources");
  a.dies_per_package = r.opt_integer("dies_per_package", 1, 1);
  if (a.dies_per_package > 16)
    r.fail("dies_per_package", "more than 16 dies", "give the dies of one package (Ascend 910C: 2)");
  if (a.dies_per_package > 1) split_into_dies(a);
  return a;
}

ModelSpec model_from_json(const Json& j, const std::string& file, const std::string& id) {
  Reader r(j, file);
  if (!j.is_object()) throw ConfigError(file + ": a model file must be a JSON object. Fix: see docs/data-format.md.");
  check_schema(r);
  ModelSpec m;
  m.id = id;
  m.name = r.opt_string("name", id);
  m.num_layers = r.integer("num_layers", 1);
  m.num_dense_layers = r.opt_integer("num_dense_layers", 0, 0);
  if (m.num_dense_layers > m.num_layers)
    r.fail("num_dense_layers", "is larger than num_layers", "count only the layers with a dense FFN");
  m.hidden_size = r.integer("hidden_size", 1);
  m.vocab_size = r.integer("vocab_size", 1);
  m.tie_word_embeddings = r.opt_bool("tie_word_embeddings", false);
  m.dense_intermediate_size = r.opt_integer("dense_intermediate_size", 0, 0);
  if (m.num_dense_layers > 0 && m.dense_intermediate_size == 0)
    r.fail("dense_intermediate_size", "must be given when num_dense_layers > 0", "add the dense FFN width");
  const Reader a = r.object("attention");
  const std::string kind = a.string("kind");
  if (kind == "mha")
    m.attention.kind = AttentionKind::mha;
  else if (kind == "gqa")
    m.attention.kind = AttentionKind::gqa;
  else if (kind == "mla")
    m.attention.kind = AttentionKind::mla;
  else if (kind == "mfa")
    m.attention.kind = AttentionKind::mfa;
  else
    a.fail("kind", "unknown attention kind", "use one of mha, gqa, mla, mfa");
  auto& at = m.attention;
  at.num_heads = a.integer("num_heads", 1);
  if (at.kind == AttentionKind::mla) {
    at.num_kv_heads = a.opt_integer("num_kv_heads", 0, at.num_heads);
    at.q_lora_rank = a.opt_integer("q_lora_rank", 0, 0);
    at.kv_lora_rank = a.integer("kv_lora_rank", 1);
    at.qk_nope_head_dim = a.integer("qk_nope_head_dim", 1);
    at.qk_rope_head_dim = a.integer("qk_rope_head_dim", 0);
    at.v_head_dim = a.integer("v_head_dim", 1);
    at.head_dim = a.opt_integer("head_dim", 0, at.v_head_dim);
  } else {
    at.num_kv_heads = a.integer("num_kv_heads", 1);
    at.head_dim = a.integer("head_dim", 1);
    if (at.kind == AttentionKind::mfa) at.q_lora_rank = a.integer("q_lora_rank", 1);
    if (at.num_kv_heads > at.num_heads)
      a.fail("num_kv_heads", "is larger than num_heads", "use the KV head count from the model config");
  }
  at.sliding_window_tokens = a.opt_integer("sliding_window_tokens", 0, 0);
  at.num_sliding_window_layers = a.opt_integer("num_sliding_window_layers", 0, 0);
  if (at.num_sliding_window_layers > m.num_layers)
    a.fail("num_sliding_window_layers", "is larger than num_layers", "count the windowed layers only");
  const Reader moe = r.object("moe");
  m.moe.num_experts = moe.integer("num_experts", 1);
  m.moe.top_k = moe.integer("top_k", 1);
  if (m.moe.top_k > m.moe.num_experts) moe.fail("top_k", "is larger than num_experts", "use the router's top-k");
  m.moe.expert_intermediate_size = moe.integer("expert_intermediate_size", 1);
  m.moe.num_shared_experts = moe.opt_integer("num_shared_experts", 0, 0);
  m.moe.shared_expert_intermediate_size = moe.opt_integer("shared_expert_intermediate_size", 0, 0);
  if (m.moe.num_shared_experts > 0 && m.moe.shared_expert_intermediate_size == 0)
    moe.fail("shared_expert_intermediate_size", "must be given when num_shared_experts > 0",
             "add the shared expert width");
  m.mtp_layers = r.opt_integer("mtp_layers", 0, 0);
  m.published_total_params = r.opt_quantity("published_total_params", Dimension::count).value_or(0.0);
  m.param_count_note = r.opt_string("param_count_note", "");
  m.sources = r.opt_strings("sources");
  return m;
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return id.find("..") == std::string::npos;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::vector<std::string> close_matches(const std::string& id, const std::vector<std::string>& ids, size_t n) {
  std::vector<std::pair<size_t, std::string>> scored;
  const std::string lid = lower(id);
  for (const auto& c : ids) {
    size_t d = edit_distance(lid, lower(c));
    if (lower(c).find(lid) != std::string::npos || lid.find(lower(c)) != std::string::npos) d = d / 2;
    scored.emplace_back(d, c);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& [d, c] : scored) {
    if (out.size() >= n) break;
    if (d <= std::max<size_t>(3, id.size() / 2)) out.push_back(c);
  }
  return out;
}

Accelerator load_accelerator_file(const fs::path& file) {
  return accelerator_from_json(read_json_file(file.string()), file.string(), file.stem().string());
}

ModelSpec load_model_file(const fs::path& file) {
  return model_from_json(read_json_file(file.string()), file.string(), file.stem().string());
}

Accelerator parse_accelerator(const std::string& text, const std::string& file, const std::string& id) {
  return accelerator_from_json(parse_json_text(text, file), file, id);
}

ModelSpec parse_model(const std::string& text, const std::string& file, const std::string& id) {
  return model_from_json(parse_json_text(text, file), file, id);
}

Database::Database() = default;
Database::~Database() = default;
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;

namespace {
std::vector<fs::path> json_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw ConfigError(dir.string() +
                      ": not a directory. Fix: point --data-dir (or RIDGELINE_DATA_DIR) at a folder holding hwdb/ and "
                      "models/.");
  // Every filesystem call takes an error_code: an unreadable folder or a symlink loop is bad
  // input with the folder's name, not a filesystem_error escaping as an "internal error".
  auto unreadable = [&](const std::error_code& e) {
    return ConfigError(dir.string() + ": cannot list the folder (" + e.message() +
                       "). Fix: check its permissions, or pass another --data-dir.");
  };
  fs::directory_iterator it(dir, ec), end;
  if (ec) throw unreadable(ec);
  for (; it != end; it.increment(ec)) {
    if (ec) throw unreadable(ec);
    if (it->path().extension() != ".json") continue;
    std::error_code fe;
    const bool regular = it->is_regular_file(fe);
    if (fe)  // e.g. a symlink loop named *.json
      throw ConfigError(it->path().string() + ": cannot read (" + fe.message() + "). Fix: remove or repair it.");
    if (regular) out.push_back(it->path());
  }
  if (ec) throw unreadable(ec);
  std::sort(out.begin(), out.end());
  return out;
}

template <class F>
void load_into(const fs::path& dir, std::map<std::string, std::unique_ptr<DbEntry>>& entries,
               std::map<std::string, std::string>& aliases, F&& fill) {
  for (const auto& file : json_files(dir)) {
    auto e = std::make_unique<DbEntry>();
    e->file = file;
    e->text = read_text_file(file.string());
    e->json = parse_json_text(e->text, file.string());
    const std::string id = file.stem().string();
    if (!valid_id(id))
      throw ConfigError(file.string() + ": file name \"" + id +
                        "\" is not a valid id. Fix: use letters, digits, '-', '_', '.'.");
    if (e->json.is_object() && e->json.contains("id") && e->json["id"] != id)
      throw ConfigError(file.string() + ": /id is " + short_value(e->json["id"]) + " but the file name says \"" + id +
                        "\". Fix: make them equal.");
    fill(*e, id);
    Reader r(e->json, file.string());
    for (const auto& a : r.opt_strings("aliases")) {
      if (aliases.count(a) || entries.count(a))
        throw ConfigError(file.string() + ": /aliases: \"" + a +
                          "\" is already used by another entry. Fix: remove it.");
      aliases[a] = id;
    }
    entries[id] = std::move(e);
  }
}
}  // namespace

namespace {
/// hwdb/calibration/<id>.json (ridgeline profile-check's fit to the accelerator's measured kernel
/// tables), if there is one: the roofline fractions it sets become the accelerator's profile.
std::optional<RooflineProfile> load_roofline_profile(const fs::path& hwdb_dir, const std::string& id) {
  const fs::path file = hwdb_dir / "calibration" / (id + ".json");
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  const Calibration c = load_calibration(file, Efficiencies{});
  const bool mine = std::find(c.applies_to.begin(), c.applies_to.end(), id) != c.applies_to.end() ||
                    (c.applies_to.empty() && c.hardware_id == id);
  if (!mine)
    throw ConfigError(file.string() +
                      ": a hardware profile must apply to its own hardware. Fix: set \"applies_to\": [\"" + id +
                      "\"] (profile-check --write does), or move the file out of hwdb/calibration/.");
  RooflineProfile p;
  p.values = c.efficiencies.own_fractions();
  p.measured = c.efficiencies.given_roofline;
  p.source = "hwdb/calibration/" + id + ".json";
  if (p.measured == 0) return std::nullopt;
  return p;
}
}  // namespace

Database Database::load(const fs::path& hwdb_dir, const fs::path& models_dir) {
  Database db;
  load_into(hwdb_dir, db.hw_, db.hw_alias_, [&](DbEntry& e, const std::string& id) {
    e.hw = accelerator_from_json(e.json, e.file.string(), id);
    e.hw.roofline_profile = load_roofline_profile(hwdb_dir, id);
  });
  load_into(models_dir, db.models_, db.model_alias_,
            [](DbEntry& e, const std::string& id) { e.model = model_from_json(e.json, e.file.string(), id); });
  return db;
}

Database Database::load_default() {
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("RIDGELINE_DATA_DIR"); env && *env) {
    // A set but mistyped RIDGELINE_DATA_DIR is an error, not a silent fall back to another folder.
    const fs::path r(env);
    std::error_code ec;
    if (!fs::is_directory(r / "hwdb", ec) || !fs::is_directory(r / "models", ec))
      throw ConfigError("RIDGELINE_DATA_DIR=\"" + r.string() +
                        "\": no hwdb/ and models/ folders there. Fix: point it at the folder holding them "
                        "(e.g. the Ridgeline source folder), or unset it.");
    return load(r / "hwdb", r / "models");
  }
#ifdef RIDGELINE_DATA_FROM_BIN
  {  // an installed binary: <prefix>/bin/ridgeline reads <prefix>/share/ridgeline
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec && !exe.empty()) roots.push_back(exe.parent_path() / RIDGELINE_DATA_FROM_BIN);
  }
#endif
#ifdef RIDGELINE_SOURCE_DIR
  roots.emplace_back(RIDGELINE_SOURCE_DIR);
#endif
  roots.emplace_back(".");
  for (const auto& r : roots) {
    std::error_code ec;
    if (fs::is_directory(r / "hwdb", ec) && fs::is_directory(r / "models", ec)) return load(r / "hwdb", r / "models");
  }
  throw ConfigError(
      "cannot find the hwdb/ and models/ folders (looked in share/ridgeline next to the binary, the source "
      "tree and ./). Fix: pass --data-dir or set RIDGELINE_DATA_DIR to the folder holding them.");
}

namespace {
/// Looks an id up by exact id, alias, then lower case; errors list the close matches.
/// `what` is "hardware" or "models" (the `ridgeline list` argument), `kind` the noun.
const DbEntry& find_entry(const std::map<std::string, std::unique_ptr<DbEntry>>& entries,
                          const std::map<std::string, std::string>& aliases, const std::string& id, const char* kind,
                          const char* what) {
  if (!valid_id(id))
    throw LookupError(std::string(kind) + " id \"" + id +
                      "\" is not a valid id (letters, digits, '-', '_', '.'; no paths). " +
                      "Fix: run `ridgeline list " + what + "`.");
  auto it = entries.find(id);
  if (it == entries.end()) {
    auto a = aliases.find(id);
    if (a == aliases.end()) a = aliases.find(lower(id));
    it = a != aliases.end() ? entries.find(a->second) : entries.find(lower(id));
  }
  if (it == entries.end()) {
    std::vector<std::string> ids;
    for (const auto& [k, _] : entries) ids.push_back(k);
    const auto m = close_matches(id, ids);
    throw LookupError("unknown " + std::string(kind) + " \"" + id + "\"" +
                      (m.empty() ? "" : "; did you mean " + join(m) + "?") + " Fix: run `ridgeline list " + what +
                      "` for all ids.");
  }
  return *it->second;
}
}  // namespace

const DbEntry& Database::hw_entry(const std::string& id) const {
  return find_entry(hw_, hw_alias_, id, "hardware", "hardware");
}

const DbEntry& Database::model_entry(const std::string& id) const {
  return find_entry(models_, model_alias_, id, "model", "models");
}

const Accelerator& Database::hardware(const std::string& id) const {
  return hw_entry(id).hw;
}
const ModelSpec& Database::model(const std::string& id) const {
  return model_entry(id).model;
}
bool Database::has_hardware(const std::string& id) const {  // as find_entry: exact, alias, lower case
  return hw_.count(id) || hw_alias_.count(id) || hw_.count(lower(id)) || hw_alias_.count(lower(id));
}
bool Database::has_model(const std::string& id) const {
  return models_.count(id) || model_alias_.count(id) || models_.count(lower(id)) || model_alias_.count(lower(id));
}
fs::path Database::hardware_file(const std::string& id) const {
  return hw_entry(id).file;
}
fs::path Database::model_file(const std::string& id) const {
  return model_entry(id).file;
}

std::string Database::raw_json(const std::string& id) const {
  if (has_hardware(id)) return hw_entry(id).text;
  if (has_model(id)) return model_entry(id).text;
  std::vector<std::string> all = hardware_ids();
  for (auto& m : model_ids()) all.push_back(m);
  const auto m = close_matches(id, all);
  throw LookupError("unknown id \"" + id + "\"" + (m.empty() ? "" : "; did you mean " + join(m) + "?") +
                    " Fix: run `ridgeline list hardware` or `ridgeline list models`.");
}

std::vector<std::string> Database::hardware_ids() const {
  std::vector<std::string> v;
  for (const auto& [k, _] : hw_) v.push_back(k);
  return v;
}
std::vector<std::string> Database::model_ids() const {
  std::vector<std::string> v;
  for (const auto& [k, _] : models_) v.push_back(k);
  return v;
}

Accelerator Database::hardware_with_overrides(const std::string& base_id, const std::string& overrides_json,
                                              const std::string& where) const {
  const DbEntry& base = hw_entry(base_id);
  Json patch = parse_json_text(overrides_json, where);
  Json merged = base.json;
  // Shortcuts for the common what-ifs; any hwdb key path also works (merge patch).
  static const std::pair<const char*, const char*> kShortcuts[] = {{"scale_out_bandwidth", "/scale_out/bytes_per_s"},
                                                                   {"scale_up_bandwidth", "/scale_up/bytes_per_s"},
                                                                   {"scale_out_efficiency", "/scale_out/efficiency"},
                                                                   {"scale_up_efficiency", "/scale_up/efficiency"},
                                                                   {"scale_out_latency", "/scale_out/latency_s"},
                                                                   {"scale_up_latency", "/scale_up/latency_s"},
                                                                   {"scale_up_domain", "/scale_up/domain_gpus"},
                                                                   {"hbm_bandwidth", "/hbm_bytes_per_s"},
                                                                   {"hbm_capacity", "/hbm_bytes"},
                                                                   {"price", "/price_usd_per_gpu_hour"},
                                                                   {"fp8_peak", "/peak_flops_per_s/fp8"},
                                                                   {"bf16_peak", "/peak_flops_per_s/bf16"},
                                                                   {"fp4_peak", "/peak_flops_per_s/fp4"}};
  for (const auto& [k, ptr] : kShortcuts) {
    if (patch.contains(k)) {
      merged[Json::json_pointer(ptr)] = patch[k];
      patch.erase(k);
    }
  }
  patch.erase("base");
  const std::vector<std::string> allowed = {"name",          "peak_flops_per_s",
                                            "hbm_bytes",     "hbm_bytes_per_s",
                                            "scale_up",      "scale_out",
                                            "gpus_per_node", "price_usd_per_gpu_hour",
                                            "power_w",       "notes"};
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      std::vector<std::string> keys = allowed;
      for (const auto& [k, _] : kShortcuts) keys.emplace_back(k);
      const auto m = close_matches(it.key(), keys);
      throw ConfigError(where + "/" + it.key() + ": unknown hardware override" +
                        (m.empty() ? "" : "; did you mean " + join(m) + "?") +
                        " Fix: use an hwdb key (docs/data-format.md) or a shortcut such as scale_out_bandwidth.");
    }
  }
  merged.merge_patch(patch);
  Accelerator a = accelerator_from_json(merged, where + " (overrides on " + base.file.string() + ")", base.hw.id);
  a.roofline_profile = base.hw.roofline_profile;  // the same chips: their measured kernels stay
  a.id = base.hw.id + "*";
  a.notes = "what-if overrides of " + base.hw.id;
  return a;
}

}  // namespace ridgeline::io
