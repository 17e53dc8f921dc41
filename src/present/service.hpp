// SPDX-License-Identifier: Apache-2.0
// `ridgeline plan --isl N ...` as a function: a whole service (prefill + decode pools, the KV
// transfer between them, TTFT with queueing, the co-located baseline) and its JSON, shared by the
// CLI (src/cli/cmd_service.cpp) and ridgeline.plan_service() so both print the same object.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "present/search.hpp"
#include "ridgeline/service.hpp"

namespace ridgeline::present {

/// The service flags of `plan`, as typed (quantities as text), with the CLI's defaults. The
/// search flags' `gpus` is the service's total (else `rate`).
struct ServiceRequest {
  SearchFlags flags;
  std::string isl, osl = "1024", ttft = "2 s";
  double rate = 0;
  std::vector<std::string> prefill_hardware, decode_hardware;
  std::vector<std::string> prefill_parallel{"ep", "tp"};
  std::vector<std::string> prefill_chunks{"2048", "4096", "8192", "16384", "32768"};
  std::string kv_transport = "cpu_rdma";
};

/// The range and membership checks the CLI's validators apply to the service flags (CLI11's
/// wording), for callers that do not go through CLI11 (the Python bindings).
void check_service_request(const ServiceRequest& r);

/// One service sizing: the resolved decode search, the workload, the result and its wall time.
struct ServiceRun {
  SearchSetup setup;
  ServiceWorkload workload;
  ServiceResult result;
  int gpus = 0;       ///< --gpus (0: sized for `rate`)
  double rate = 0;    ///< --rate (0: sized to `gpus`)
  double wall_s = 0;  ///< the search's wall time
};

/// Checks the request against the databases (FlagError / MissingDataError / LookupError with the
/// CLI's message) and sizes the service.
ServiceRun run_service(const ServiceRequest& r, const io::Database& db);

/// How the queueing wait is modelled (the CLI prints it).
extern const char* const kServiceQueueModel;

/// `ridgeline plan --isl ... --json` without "meta": the best disaggregated plan, the co-located
/// baseline, the `top` best plans, rejections, inputs and `emitted` (the files --emit-dir wrote).
nlohmann::json service_run_json(const ServiceRun& run, int top, const std::vector<std::string>& emitted);

}  // namespace ridgeline::present
