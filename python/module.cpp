// SPDX-License-Identifier: Apache-2.0
// pybind11 bindings: a thin shell over io + core. Python attribute names are the C++ field names.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>

#include "cli/checks.hpp"
#include "cli/plan_common.hpp"
#include "report/report.hpp"
#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"

namespace py = pybind11;
using namespace ridgeline;

namespace {
py::object json_to_py(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

/// plan()'s arguments go through the CLI's own flag definitions and validators (the same
/// ranges, NaN and inf refused), so rl.plan() accepts exactly what `ridgeline plan` accepts.
/// A bad value raises ValueError naming the keyword argument, the value and the range.
void parse_as_cli(cli::SearchFlags& f, const std::vector<std::pair<std::string, std::string>>& flags) {
  CLI::App app{"rl.plan", "plan"};
  cli::add_search_flags(&app, f, true);
  std::vector<std::string> args;
  for (const auto& [flag, value] : flags) args.push_back(flag + "=" + value);
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    for (const auto& [flag, value] : flags) {  // name the keyword argument, not the CLI flag
      std::string kw = flag.substr(2);
      std::replace(kw.begin(), kw.end(), '-', '_');
      for (size_t at = msg.find(flag); at != std::string::npos; at = msg.find(flag, at + kw.size()))
        msg.replace(at, flag.size(), kw);
    }
    throw py::value_error(msg);
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "Ridgeline core: evaluate MoE decode deployments (EP vs AFD). See help(ridgeline).";
  m.attr("__version__") = report::kVersion;

  // Bad input -> ValueError / KeyError, as Python users expect.
  // pybind11 tries translators newest first, so the base class goes first.
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception<ConfigError>(m, "ConfigError", PyExc_ValueError);
  py::register_exception<UsageError>(m, "UsageError", PyExc_ValueError);  // a bad argument value
  py::register_exception<LookupError>(m, "UnknownIdError", PyExc_KeyError);
  py::register_exception<MissingDataError>(m, "MissingDataError", PyExc_ValueError);

  py::enum_<Dimension>(m, "Dimension")
      .value("count", Dimension::count)
      .value("bytes", Dimension::bytes)
      .value("bytes_per_s", Dimension::bytes_per_s)
      .value("flops_per_s", Dimension::flops_per_s)
      .value("seconds", Dimension::seconds)
      .value("watts", Dimension::watts);
  m.def(
      "parse_quantity", [](const std::string& s, Dimension d) { return parse_quantity(s, d); }, py::arg("text"),
      py::arg("dimension"), "Parse '400 Gb/s', '80 GB', '50 ms', ... into SI base units.");

  py::class_<Link>(m, "Link")
      .def_readonly("bytes_per_s", &Link::bytes_per_s)
      .def_readonly("efficiency", &Link::efficiency)
      .def_readonly("latency_s", &Link::latency_s)
      .def("sustained_bytes_per_s", &Link::sustained_bytes_per_s);

  py::class_<Accelerator>(m, "Accelerator")
      .def_readonly("id", &Accelerator::id)
      .def_readonly("name", &Accelerator::name)
      .def_readonly("hbm_bytes", &Accelerator::hbm_bytes)
      .def_readonly("hbm_bytes_per_s", &Accelerator::hbm_bytes_per_s)
      .def_readonly("scale_up", &Accelerator::scale_up)
      .def_readonly("scale_up_domain_gpus", &Accelerator::scale_up_domain_gpus)
      .def_readonly("scale_out", &Accelerator::scale_out)
      .def_readonly("gpus_per_node", &Accelerator::gpus_per_node)
      .def_readonly("price_usd_per_gpu_hour", &Accelerator::price_usd_per_gpu_hour)
      .def_readonly("power_w", &Accelerator::power_w)
      .def_readonly("sources", &Accelerator::sources)
      .def("peak_flops_per_s",
           [](const Accelerator& a, const std::string& dtype) {
             for (DType d : {DType::fp4, DType::fp8, DType::int8, DType::bf16, DType::fp16})
               if (dtype == dtype_name(d)) return a.peak_flops_per_s(d);
             throw ConfigError("unknown dtype '" + dtype + "'. Fix: use fp4, fp8, int8, bf16 or fp16.");
           })
      .def("__repr__", [](const Accelerator& a) { return "<Accelerator " + a.id + ">"; });

  py::class_<ModelSpec>(m, "ModelSpec")
      .def_readonly("id", &ModelSpec::id)
      .def_readonly("name", &ModelSpec::name)
      .def_readonly("num_layers", &ModelSpec::num_layers)
      .def_readonly("num_dense_layers", &ModelSpec::num_dense_layers)
      .def_readonly("hidden_size", &ModelSpec::hidden_size)
      .def_readonly("vocab_size", &ModelSpec::vocab_size)
      .def_readonly("published_total_params", &ModelSpec::published_total_params)
      .def_property_readonly("num_experts", [](const ModelSpec& s) { return s.moe.num_experts; })
      .def_property_readonly("top_k", [](const ModelSpec& s) { return s.moe.top_k; })
      .def_property_readonly("expert_intermediate_size",
                             [](const ModelSpec& s) { return s.moe.expert_intermediate_size; })
      .def_property_readonly("attention_kind", [](const ModelSpec& s) { return attention_kind_name(s.attention.kind); })
      .def("total_params", &ModelSpec::total_params)
      .def("active_params", &ModelSpec::active_params)
      .def("kv_elements_per_token_per_layer", &ModelSpec::kv_elements_per_token_per_layer)
      .def("__repr__", [](const ModelSpec& s) { return "<ModelSpec " + s.id + ">"; });

  py::class_<io::Database>(m, "Database")
      .def_static("load", &io::Database::load, py::arg("hwdb_dir"), py::arg("models_dir"))
      .def_static("default", &io::Database::load_default,
                  "The shipped hwdb/ and models/ ($RIDGELINE_DATA_DIR, or the source tree).")
      .def("hardware", &io::Database::hardware, py::return_value_policy::reference_internal)
      .def("model", &io::Database::model, py::return_value_policy::reference_internal)
      .def("hardware_ids", &io::Database::hardware_ids)
      .def("model_ids", &io::Database::model_ids);

  py::class_<io::Scenario>(m, "Scenario")
      .def_readonly("source_file", &io::Scenario::source_file)
      .def_readonly("model", &io::Scenario::model)
      .def("to_json", [](const io::Scenario& s) { return io::scenario_to_json(s); });

  m.def("load_scenario", &io::load_scenario, py::arg("path"), py::arg("db"), "Load a scenario file.");
  m.def("parse_scenario", &io::parse_scenario, py::arg("text"), py::arg("name"), py::arg("db"),
        "Parse scenario JSON text (name is used in error messages).");
  m.def(
      "plan",
      [](const io::Database& db, const std::string& model, const std::vector<std::string>& hardware,
         const std::string& slo, const std::string& context, const std::string& objective, const std::string& strategy,
         int max_gpus, int gpus, int top, bool pareto, const std::vector<std::string>& attention_hardware,
         const std::vector<std::string>& ffn_hardware, const std::string& weights, const std::string& kv_cache,
         double mtp_acceptance, int mtp_draft_tokens, const std::string& gap, const std::string& routing,
         const std::string& calibration, const std::string& ep_transport, const std::string& afd_transport) {
        cli::SearchFlags f;
        std::vector<std::pair<std::string, std::string>> flags = {
            {"--model", model},
            {"--slo", slo},
            {"--context", context},
            {"--objective", objective},
            {"--strategy", strategy},
            {"--max-gpus", std::to_string(max_gpus)},
            {"--gpus", std::to_string(gpus)},
            {"--weights", weights},
            {"--kv-cache", kv_cache},
            {"--mtp-acceptance", fmt::format("{}", mtp_acceptance)},
            {"--mtp-draft-tokens", std::to_string(mtp_draft_tokens)}};
        if (!hardware.empty()) flags.emplace_back("--hardware", join(hardware));
        if (!attention_hardware.empty()) flags.emplace_back("--attention-hardware", join(attention_hardware));
        if (!ffn_hardware.empty()) flags.emplace_back("--ffn-hardware", join(ffn_hardware));
        // Realism inputs (README "Defaults and their sources"); empty = the default.
        for (auto [flag, value] :
             {std::pair{"--gap", &gap}, std::pair{"--routing", &routing}, std::pair{"--calibration", &calibration},
              std::pair{"--ep-transport", &ep_transport}, std::pair{"--afd-transport", &afd_transport}})
          if (!value->empty()) flags.emplace_back(flag, *value);
        parse_as_cli(f, flags);
        if (hardware.empty()) f.hardware.clear();  // resolve_search names the empty list
        if (std::string e = cli::FiniteRange(1, 1000)(std::to_string(top)); !e.empty())
          throw py::value_error("top: " + e);
        cli::SearchSetup setup = cli::resolve_search(f, db);
        setup.space.top_k = top;
        setup.space.keep_pareto = pareto;
        SearchResult r;
        {
          py::gil_scoped_release release;  // the search uses every core
          r = search_plans(*setup.model, setup.precision, setup.workload, setup.space, setup.efficiencies);
        }
        nlohmann::json j;
        for (const char* side : {"ep", "afd", "pareto"}) j[side] = nlohmann::json::array();
        for (const auto& c : r.ep) j["ep"].push_back(cli::candidate_json(setup, c));
        for (const auto& c : r.afd) j["afd"].push_back(cli::candidate_json(setup, c));
        for (const auto& c : r.pareto) j["pareto"].push_back(cli::candidate_json(setup, c));
        for (int k = 0; k < kRejectionKinds; ++k) j["rejected"][rejection_name(Rejection(k))] = r.rejected[k];
        j["inputs"] = nlohmann::json::array();
        for (const auto& in : setup.inputs)
          j["inputs"].push_back({{"name", in.name}, {"value", in.value}, {"source", in.source}});
        j["shapes"] = r.shapes;
        j["evaluations"] = r.evaluations;
        return json_to_py(j);
      },
      py::arg("db"), py::arg("model"), py::arg("hardware") = std::vector<std::string>{"h800"}, py::arg("slo") = "50 ms",
      py::arg("context") = "4096", py::arg("objective") = "gpu", py::arg("strategy") = "both",
      py::arg("max_gpus") = 1024, py::arg("gpus") = 0, py::arg("top") = 1, py::arg("pareto") = false,
      py::arg("attention_hardware") = std::vector<std::string>{}, py::arg("ffn_hardware") = std::vector<std::string>{},
      py::arg("weights") = "fp8", py::arg("kv_cache") = "bf16", py::arg("mtp_acceptance") = 1.0,
      py::arg("mtp_draft_tokens") = 0, py::arg("gap") = "", py::arg("routing") = "", py::arg("calibration") = "",
      py::arg("ep_transport") = "", py::arg("afd_transport") = "",
      "Search the best EP and AFD deployments (the same search and fields as `ridgeline plan --json`).\n"
      "objective: gpu | cost | watt | hfu; strategy: ep | afd | both. Returns a dict with 'ep', 'afd'\n"
      "(best first, at most `top` each), 'pareto' (when pareto=True), 'rejected' counts by reason,\n"
      "'inputs' (each realism input, its value and whether it was a default, given or calibrated).\n"
      "gap ('5 ms'), routing (uniform | balanced | zipf:S | 1.2), calibration (a file), ep_transport and\n"
      "afd_transport (deepep_low_latency | deepep_normal | nccl | cpu_rdma) are `ridgeline plan`'s flags.");

  m.def(
      "evaluate",
      [](const io::Scenario& s) {
        const Evaluation e = evaluate(s.model, s.precision, s.workload, s.deployment, s.efficiencies);
        return json_to_py(report::evaluation_json(s, e));
      },
      py::arg("scenario"), "Evaluate a scenario; returns the same dict as `ridgeline evaluate --json` (without meta).");
}
