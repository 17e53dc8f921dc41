// SPDX-License-Identifier: Apache-2.0
// What `plan`, `sweep`, `compare` and `bench` share with the Python bindings: the search inputs
// as typed, turning them into a model / precision / workload / SearchSpace, a searched plan as a
// scenario, and the JSON of a plan search (one schema for `ridgeline plan --json` and rl.plan()).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ridgeline/io/database.hpp"
#include "ridgeline/io/validation.hpp"
#include "ridgeline/search.hpp"

namespace ridgeline::present {

/// Flags of one search, as typed (quantities as text so units work: "50 ms", "8K").
struct SearchFlags {
  std::string model = "deepseek-v3";
  std::vector<std::string> hardware{"h800"};
  std::vector<std::string> attention_hardware, ffn_hardware;
  std::string slo = "50 ms";
  std::string context = "4096";
  std::string weights = "fp8", kv_cache = "bf16", dispatch = "fp8", combine = "bf16";
  double mtp_acceptance = 1.0;
  int mtp_draft_tokens = 0;
  std::string strategy = "both";
  int gpus = 0, max_gpus = 1024;
  bool max_gpus_given = false;  ///< --max-gpus was given: --gpus may not exceed it
  std::string objective = "gpu";
  std::vector<int> afd_micro_batches{3, 4};
  bool require_bubble_free = false;
  bool scan_all = false;
  bool no_bound = false;  ///< search every AFD plan family (SearchSpace::prune_by_bound false)
  int threads = 0;
  // Realism inputs (README "Defaults and their sources"); empty = the default.
  std::string calibration;      ///< calibration file (or hardware id with a profile) applied to every evaluation
  std::string calibration_for;  ///< --calibration-for: hardware id the file is mapped to
  bool calibration_any_device = false;
  std::string gap;                  ///< per-step iteration gap, e.g. "5 ms"
  std::string mtp_step_gap;         ///< extra per-step time with real MTP drafting
  std::string routing = "uniform";  ///< uniform | balanced | zipf:S | a fixed max/mean such as 1.2
  double context_cv = -1;           ///< KV-length spread (coefficient of variation); < 0 = the default
  std::string ep_transport, afd_transport;
  std::vector<std::string> dispatch_styles{"low_latency"};
  std::vector<int> attention_tp{1, 2, 4, 8};  ///< EP attention-TP candidates; > 1 also tries pure TP
};

/// Where each realism input of a search came from: "default", "given" or "calibrated".
struct InputProvenance {
  std::string name, value, source;
};

/// The range checks the CLI's flag validators apply (FLAG: reason, as CLI11 words it), for callers
/// that do not go through CLI11 (the Python bindings). `with_grid_axes`: also --slo and --context.
void check_search_flags(const SearchFlags& f, bool with_grid_axes = true);

/// A resolved search: everything search_plans needs. Accelerators live in the Database.
struct SearchSetup {
  const ModelSpec* model = nullptr;
  Precision precision;
  Workload workload;
  Efficiencies efficiencies;
  SearchSpace space;
  std::vector<InputProvenance> inputs;  ///< the realism inputs, their values and origin
  std::string calibration_source;       ///< the calibration file's "source", when one was given
  std::string calibration_file;         ///< the file --calibration resolved to
  nlohmann::json calibration_values;    ///< the numbers it set: [{key, value, replaced, unit}]
  std::string calibration_values_text;  ///< the same, for printing
};

/// The numbers a calibration set, as [{"key", "value", "replaced", "unit"}].
nlohmann::json calibration_values_json(const io::Calibration& cal);

/// The cancel flag that resolve_search puts into every SearchSpace it makes on this thread (null:
/// none). The Python bindings set it around a call so that Ctrl-C stops the searches inside it.
class CancelScope {
 public:
  explicit CancelScope(const std::atomic<bool>* flag);
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;
  static const std::atomic<bool>* current();

 private:
  const std::atomic<bool>* previous_;
};

/// Validates the flags against the databases (unknown ids, unsupported dtypes, bad values)
/// and throws ConfigError / LookupError naming the flag, the value and the fix.
SearchSetup resolve_search(const SearchFlags& f, const io::Database& db);

DType parse_search_dtype(const std::string& s, const char* flag);
double parse_search_quantity(const std::string& text, Dimension dim, const char* flag);
/// As parse_search_quantity, but zero is allowed (gaps).
double parse_search_quantity_or_zero(const std::string& text, Dimension dim, const char* flag);
Objective parse_objective(const std::string& s);

/// Applies a --routing value (uniform | balanced | zipf:S | a fixed max/mean) to a workload and
/// returns how to describe it; throws ConfigError naming the flag.
std::string apply_routing_flag(const std::string& text, const ModelSpec& m, Workload& w);

/// A searched plan as a scenario (what `--write-scenario` saves and `evaluate` reads back).
io::Scenario scenario_of(const SearchSetup& s, const Candidate& c);

}  // namespace ridgeline::present

namespace ridgeline::present {

/// A one-line label of a plan, e.g. "EP 264 x h800 m=2 normal" or
/// "AFD attn 176 x h20 TP1 + FFN 24 x l40s ETP1 m=3".
std::string plan_label(const Deployment& d);

/// The JSON of one searched plan: its evaluation, its deployment (scenario form) and score.
nlohmann::json candidate_json(const SearchSetup& s, const Candidate& c);

}  // namespace ridgeline::present

#include <deque>
#include <optional>

namespace ridgeline::present {

/// One grid point of `sweep` / `compare`: the best EP and AFD plan and AFD/EP score ratio.
struct PointResult {
  std::optional<Candidate> ep, afd;
  double ratio = 0;  ///< best AFD score / best EP score; 0 when either is missing
  long shapes = 0, evaluations = 0;
};

/// Searches one point. A non-empty `scale_out_bandwidth` (e.g. "800 Gb/s") overrides the NIC
/// rate of every hardware kind in the search; the copies live in `owned`.
PointResult run_point(const SearchFlags& f, const io::Database& db, const std::string& scale_out_bandwidth,
                      std::deque<Accelerator>& owned);

/// The winner of a grid point: "EP", "AFD" or "none".
std::string point_winner(const PointResult& r);

}  // namespace ridgeline::present
