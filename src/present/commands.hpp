// SPDX-License-Identifier: Apache-2.0
// The JSON results of the commands other than `plan`, as functions of their inputs: what
// `ridgeline <command> --json` prints (without its "meta" block) and the Python functions of the
// same names return. Each request struct holds the command's flags as typed (quantities as text
// so units work) with the CLI's defaults; each function checks them as the CLI does and throws
// FlagError / ConfigError / LookupError with the CLI's message.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "present/search.hpp"
#include "ridgeline/commroof.hpp"
#include "ridgeline/io/database.hpp"

namespace ridgeline::present {

/// `evaluate` overrides applied to every scenario (empty / 0 = as the file says).
struct EvaluateRequest {
  std::string gap, context, routing;
  std::string calibration;      ///< a file, or a bare hardware id with a profile in hwdb/calibration/
  std::string calibration_for;  ///< apply the file to this hardware id although measured elsewhere
  bool calibration_any_device = false;
  double mtp_acceptance = -1;  ///< -1: as the file says (any other value is range-checked)
  double context_cv = -1;      ///< -1: as the file says
};
/// The calibration an `evaluate` applied: the file it resolved to, its source, and what it set in
/// each scenario (one entry per scenario; empty without --calibration).
struct EvaluateCalibration {
  std::string file, source;
  std::vector<io::Calibration> per_scenario;
};
/// Applies the overrides (and the calibration file, refused on hardware it was not measured on
/// unless mapped) to each scenario.
EvaluateCalibration apply_evaluate_request(std::vector<io::Scenario>& scenarios, const EvaluateRequest& r,
                                           const io::Database& db);
/// Scenario `i`'s `evaluate --json` object ("scenario" = its file, "calibration" when applied).
nlohmann::json evaluate_json(const io::Scenario& s, const EvaluateCalibration& cal, size_t i);
/// `evaluate --json` without "meta": {"results": [one object per scenario]}; with one scenario its
/// fields are also at the top level.
nlohmann::json evaluate_results_json(const nlohmann::json& results);

struct SweepRequest {
  SearchFlags flags;  ///< model / hardware / slo / context are the axes below
  std::vector<std::string> models{"deepseek-v3"}, hardware{"h800"}, slos{"50 ms"}, contexts{"4096"}, bandwidths;
};
nlohmann::json sweep_json(const SweepRequest& r, const io::Database& db);

struct CompareRequest {
  SearchFlags flags;  ///< flags.model and flags.hardware; slo / context are the axes below
  std::vector<std::string> slos{"20 ms", "30 ms", "50 ms", "100 ms"}, contexts{"1024", "4096", "16384", "65536"};
};
nlohmann::json compare_json(const CompareRequest& r, const io::Database& db);

struct RooflineRequest {
  std::string model, hardware, weights = "fp8", kv = "bf16";
  double batch = 128, context = 4096;
  int ep = 64;
};
nlohmann::json roofline_json(const RooflineRequest& r, const io::Database& db);

/// The flags `commroof` and `deadzone` share (the AFD paper's defaults).
struct RoofRequest {
  std::string hwdb, slo = "50 ms", gap = "15 ms", weights = "fp8", dispatch = "fp8", combine = "bf16";
  std::string shared_on = "attention";
  double mtp_acceptance = 1.7, usable_hbm = 1.0;
  int expert_tp = 1, redundant = 0;
  bool gpu_granular = false, latency = false;
};
struct CommRoofRequest {
  RoofRequest roof;
  std::string models, hardware, nf = "1..64";
};
nlohmann::json commroof_json(const CommRoofRequest& r, const io::Database& db);
/// One N_F point of the communication roofline as JSON (the CLI's --json/--csv rows share it).
nlohmann::json commroof_point_json(const CommRoofPoint& p);

struct DeadZoneRequest {
  RoofRequest roof;
  std::string model, nf = "1..64";
  double target_hfu = 0.60;
};
nlohmann::json deadzone_json(const DeadZoneRequest& r, const io::Database& db);

/// A --hwdb folder with the models of `base`; nullptr for "" (use `base`).
std::unique_ptr<io::Database> hwdb_override(const io::Database& base, const std::string& hwdb_dir);

struct ImbalanceRequest {
  std::string model, ranks = "8,32,64,256", tokens = "16,128,1024", histogram;
  double zipf = -1, lambda = 4;  ///< zipf < 0: not given
  int redundant = 0;
};
nlohmann::json imbalance_json(const ImbalanceRequest& r, const io::Database& db);

/// `imbalance --alpha`: alpha vs lambda (AFD paper Fig. 6).
struct AlphaRequest {
  std::string sigma = "0.7,0.75,0.8,0.85", nf = "2,4,6";
  double lambda_max = 5;
};
nlohmann::json alpha_json(const AlphaRequest& r);

struct ValidateRequest {
  std::string dir, calibration;  ///< calibration: a file or a bare hardware id with a profile
  std::string calibration_for;   ///< apply the file to this hardware id although measured elsewhere
  bool calibration_any_device = false;
};
/// `ridgeline validate DIR --json` (decode and aggregated-serving points), without "meta".
nlohmann::json validate_json(const ValidateRequest& r, const io::Database& db);
/// The co-located step of an aggregated-serving validation point; null for a decode point.
nlohmann::json aggregated_step_json(const std::optional<ColocatedStep>& a);

}  // namespace ridgeline::present
