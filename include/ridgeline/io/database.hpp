// SPDX-License-Identifier: Apache-2.0
// Loading hwdb/, models/ and scenario files. This is the I/O edge: it parses JSON into the
// plain structs of the core and throws ConfigError / LookupError naming the file, the JSON path,
// the bad value and the fix. No JSON type leaks through this header.
#pragma once
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ridgeline/deployment.hpp"
#include "ridgeline/efficiency.hpp"
#include "ridgeline/hardware.hpp"
#include "ridgeline/units.hpp"
#include "ridgeline/model.hpp"
#include "ridgeline/workload.hpp"

namespace ridgeline::io {

/// Reads a quantity a person typed (a command-line flag): a number with a unit (see
/// docs/data-format.md). A bare number where a time, size, bandwidth, FLOP rate or power is due is
/// an error that names the unit to add ("50 has no unit; write \"50 ms\""). Token counts are plain
/// numbers or take a suffix: "32K" = 32768, "1M" = 1048576 (binary, as context lengths are quoted),
/// "32k" = 32000, "1m" = 1e6. Throws ConfigError without the flag's name (the caller adds it).
double parse_quantity_text(const std::string& text, Dimension dim);

struct DbEntry;  // raw JSON kept for what-if overrides

/// The hardware and model databases. Ids are file stems; aliases resolve to them.
class Database {
 public:
  Database();
  ~Database();
  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;

  /// Loads every *.json under the two folders; throws on the first bad file.
  static Database load(const std::filesystem::path& hwdb_dir, const std::filesystem::path& models_dir);
  /// The folders shipped with Ridgeline, from the first of: the RIDGELINE_DATA_DIR env var,
  /// share/ridgeline relative to the running binary (an installed prefix), the build-time
  /// source tree, ./
  static Database load_default();

  const Accelerator& hardware(const std::string& id) const;
  const ModelSpec& model(const std::string& id) const;
  std::vector<std::string> hardware_ids() const;
  std::vector<std::string> model_ids() const;
  bool has_hardware(const std::string& id) const;
  bool has_model(const std::string& id) const;
  /// The file a hardware or model id was read from.
  std::filesystem::path hardware_file(const std::string& id) const;
  std::filesystem::path model_file(const std::string& id) const;
  /// The raw file text of an id (for `ridgeline show`).
  std::string raw_json(const std::string& id) const;

  /// Applies what-if overrides (a JSON object text, keys as in hwdb files or shortcuts such as
  /// "scale_out_bandwidth") to a copy of `base_id`. `where` names the file and JSON path.
  Accelerator hardware_with_overrides(const std::string& base_id, const std::string& overrides_json,
                                      const std::string& where) const;

 private:
  std::map<std::string, std::unique_ptr<DbEntry>> hw_, models_;
  std::map<std::string, std::string> hw_alias_, model_alias_;
  const DbEntry& hw_entry(const std::string& id) const;
  const DbEntry& model_entry(const std::string& id) const;
};

Accelerator load_accelerator_file(const std::filesystem::path& file);
ModelSpec load_model_file(const std::filesystem::path& file);
/// Parse a hardware / model file's text (`file` names it in errors, `id` is its id). What the
/// loaders above do after reading the file; used by the fuzz targets and tests.
Accelerator parse_accelerator(const std::string& text, const std::string& file, const std::string& id);
ModelSpec parse_model(const std::string& text, const std::string& file, const std::string& id);

/// A fixed deployment to evaluate: what `ridgeline evaluate SCENARIO.json` reads.
struct Scenario {
  std::string source_file;
  ModelSpec model;
  Precision precision;
  Workload workload;
  Efficiencies efficiencies;
  Deployment deployment;
  /// Owns the accelerators the deployment points at (stable addresses).
  std::deque<Accelerator> hardware;
  std::string attention_hardware_id, ffn_hardware_id;
  /// Raw JSON of a {"base": id, ...} what-if hardware value (empty for a plain id).
  std::string attention_hardware_overrides, ffn_hardware_overrides;
};

Scenario load_scenario(const std::filesystem::path& file, const Database& db);
Scenario parse_scenario(const std::string& text, const std::string& file_name, const Database& db);

/// Writes a scenario back as JSON text that load_scenario accepts (round trip).
std::string scenario_to_json(const Scenario& s);

/// Up to `n` ids closest to `id` (edit distance), for "did you mean" messages.
std::vector<std::string> close_matches(const std::string& id, const std::vector<std::string>& ids, size_t n = 3);

}  // namespace ridgeline::io
