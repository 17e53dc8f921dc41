// SPDX-License-Identifier: Apache-2.0
// pybind11 bindings: a thin shell over the library (core, io, present). Every command function
// returns what `ridgeline <command> --json` prints, built by the same present/ code the CLI uses.
// The Pythonic layer (keyword arguments, units, docstrings) is python/ridgeline/__init__.py.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "present/checks.hpp"
#include "present/commands.hpp"
#include "present/emit_service.hpp"
#include "present/plan.hpp"
#include "present/service.hpp"
#include "report/report.hpp"
#include "ridgeline/evaluate.hpp"
#include "ridgeline/io/database.hpp"
#include "ridgeline/io/validation.hpp"

namespace py = pybind11;
using namespace ridgeline;

namespace {

py::object json_to_py(nlohmann::json j, const std::string& call) {
  j["meta"] = report::meta_json({"python", "ridgeline." + call});
  return py::module_::import("json").attr("loads")(j.dump());
}

/// Runs `f` (no Python objects inside) on a worker thread with the GIL released, while this thread
/// checks for signals every 50 ms: Ctrl-C sets the cancel flag the searches inside `f` poll
/// (present::CancelScope), waits for the worker to stop, and raises KeyboardInterrupt.
template <class F>
auto interruptible(F&& f) -> decltype(f()) {
  using Result = decltype(f());
  std::atomic<bool> cancel{false};
  std::optional<Result> result;
  std::exception_ptr error;
  std::mutex m;
  std::condition_variable cv;
  bool done = false, interrupted = false;
  {
    py::gil_scoped_release release;
    std::thread worker([&] {
      const present::CancelScope scope(&cancel);
      try {
        result.emplace(f());
      } catch (...) {
        error = std::current_exception();
      }
      const std::lock_guard<std::mutex> lock(m);
      done = true;
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lock(m);
    while (!done) {
      if (cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) break;
      lock.unlock();
      {
        py::gil_scoped_acquire acquire;
        interrupted = PyErr_CheckSignals() != 0;  // leaves the KeyboardInterrupt set
      }
      lock.lock();
      if (interrupted) {
        cancel = true;
        cv.wait(lock, [&] { return done; });
      }
    }
    lock.unlock();
    worker.join();
  }
  if (interrupted) throw py::error_already_set();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

/// Reads the keyword arguments the Python layer passes (already normalised to the CLI's types):
/// unknown keys are a TypeError, as Python does for unknown keyword arguments.
class Opts {
 public:
  Opts(const py::dict& d, const char* fn) : d_(d), fn_(fn) {
    for (const auto& item : d_) keys_.push_back(py::str(item.first));
  }
  template <class T>
  void get(const char* key, T& out) {
    used_.push_back(key);
    if (d_.contains(key) && !d_[key].is_none()) out = d_[key].cast<T>();
  }
  bool given(const char* key) const { return d_.contains(key) && !d_[key].is_none(); }
  void done() const {
    for (const auto& k : keys_)
      if (std::find(used_.begin(), used_.end(), k) == used_.end())
        throw py::type_error(std::string(fn_) + "() got an unexpected keyword argument '" + k + "'");
  }

 private:
  const py::dict& d_;
  const char* fn_;
  std::vector<std::string> keys_, used_;
};

void read_search_flags(Opts& o, present::SearchFlags& f, bool with_grid_axes) {
  if (with_grid_axes) {
    o.get("model", f.model);
    o.get("hardware", f.hardware);
    o.get("slo", f.slo);
    o.get("context", f.context);
  }
  o.get("attention_hardware", f.attention_hardware);
  o.get("ffn_hardware", f.ffn_hardware);
  o.get("weights", f.weights);
  o.get("kv_cache", f.kv_cache);
  o.get("dispatch", f.dispatch);
  o.get("combine", f.combine);
  o.get("mtp_acceptance", f.mtp_acceptance);
  o.get("mtp_draft_tokens", f.mtp_draft_tokens);
  o.get("strategy", f.strategy);
  o.get("gpus", f.gpus);
  o.get("max_gpus", f.max_gpus);
  f.max_gpus_given = o.given("max_gpus");
  o.get("objective", f.objective);
  o.get("afd_micro_batches", f.afd_micro_batches);
  o.get("require_bubble_free", f.require_bubble_free);
  o.get("scan_all_attention_counts", f.scan_all);
  o.get("no_bound", f.no_bound);
  o.get("threads", f.threads);
  o.get("calibration", f.calibration);
  o.get("calibration_for", f.calibration_for);
  o.get("calibration_any_device", f.calibration_any_device);
  o.get("gap", f.gap);
  o.get("mtp_step_gap", f.mtp_step_gap);
  o.get("routing", f.routing);
  o.get("context_cv", f.context_cv);
  o.get("ep_transport", f.ep_transport);
  o.get("afd_transport", f.afd_transport);
  o.get("dispatch_styles", f.dispatch_styles);
  o.get("attention_tp", f.attention_tp);
}

void read_roof(Opts& o, present::RoofRequest& r) {
  o.get("hwdb", r.hwdb);
  o.get("slo", r.slo);
  o.get("gap", r.gap);
  o.get("weights", r.weights);
  o.get("dispatch", r.dispatch);
  o.get("combine", r.combine);
  o.get("shared_on", r.shared_on);
  o.get("mtp_acceptance", r.mtp_acceptance);
  o.get("usable_hbm", r.usable_hbm);
  o.get("expert_tp", r.expert_tp);
  o.get("redundant_experts", r.redundant);
  o.get("gpu_granular", r.gpu_granular);
  o.get("latency", r.latency);
}

/// A scenario rebuilt from its JSON: overrides never touch the caller's object, and the copy owns
/// its what-if accelerators (a Scenario must not be copied: it points into its own storage).
io::Scenario fresh_copy(const io::Scenario& s, const io::Database& db) {
  return io::parse_scenario(io::scenario_to_json(s), s.source_file, db);
}

/// A sized service, kept for ridgeline.emit(): its plans point into the Database, so the handle
/// holds the Database's Python object too.
struct ServiceHandle {
  std::shared_ptr<const present::ServiceRun> run;
  py::object db;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "Ridgeline core (C++). Use the ridgeline package: help(ridgeline).";
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
      .value("watts", Dimension::watts)
      .value("usd_per_hour", Dimension::usd_per_hour);
  m.def(
      "parse_quantity_as", [](const std::string& s, Dimension d) { return io::parse_quantity_text(s, d); },
      py::arg("text"), py::arg("dimension"), "Parse text as a quantity of the given Dimension, in SI units.");

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
      .def("to_json", [](const io::Scenario& s) { return io::scenario_to_json(s); })
      .def("__repr__", [](const io::Scenario& s) { return "<Scenario " + s.source_file + ">"; });

  m.def("load_scenario", &io::load_scenario, py::arg("path"), py::arg("db"), "Load a scenario file.");
  m.def("parse_scenario", &io::parse_scenario, py::arg("text"), py::arg("name"), py::arg("db"),
        "Parse scenario JSON text (name is used in error messages).");
  m.def(
      "load_calibration_json",
      [](const std::string& path) {
        const io::Calibration c = io::load_calibration(path, Efficiencies{});
        nlohmann::json j{
            {"file", c.file}, {"description", c.description}, {"source", c.source}, {"fields", c.fields_set}};
        return py::module_::import("json").attr("loads")(j.dump());
      },
      py::arg("path"), "Read and check a calibration file; returns its file, description, source and fields.");

  m.def(
      "plan",
      [](const io::Database& db, const py::dict& kw) {
        Opts o(kw, "plan");
        present::SearchFlags f;
        read_search_flags(o, f, true);
        int top = 1;
        bool pareto = false, sensitivity = false;
        o.get("top", top);
        o.get("pareto", pareto);
        o.get("sensitivity", sensitivity);
        o.done();
        present::check_search_flags(f, true);
        if (top < 1 || top > 1000)  // the CLI's CLI::Range(1, 1000) wording
          throw present::FlagError(fmt::format("--top: Value {} not in range 1 to 1000", top));
        const nlohmann::json j = interruptible([&] {
          const present::SearchSetup s = present::resolve_search(f, db);
          present::PlanRun run = present::run_plan(s, top, pareto, sensitivity);
          present::add_per_hardware(run, f, db);
          return present::plan_json(run, pareto);
        });
        return json_to_py(j, "plan");
      },
      py::arg("db"), py::arg("kwargs"));

  py::class_<ServiceHandle>(m, "ServiceRun", "A sized service (ridgeline.plan_service), for ridgeline.emit().");

  m.def(
      "plan_service",
      [](const py::object& db_obj, const py::dict& kw) {
        const io::Database& db = db_obj.cast<const io::Database&>();
        Opts o(kw, "plan_service");
        present::ServiceRequest r;
        read_search_flags(o, r.flags, true);
        o.get("isl", r.isl);
        o.get("osl", r.osl);
        o.get("ttft", r.ttft);
        o.get("rate", r.rate);
        o.get("prefill_hardware", r.prefill_hardware);
        o.get("decode_hardware", r.decode_hardware);
        o.get("prefill_parallel", r.prefill_parallel);
        o.get("prefill_chunks", r.prefill_chunks);
        o.get("kv_transport", r.kv_transport);
        int top = 1;
        o.get("top", top);
        o.done();
        present::check_service_request(r);
        if (top < 1 || top > 1000)  // the CLI's CLI::Range(1, 1000) wording
          throw present::FlagError(fmt::format("--top: Value {} not in range 1 to 1000", top));
        auto run = std::make_shared<present::ServiceRun>();
        const nlohmann::json j = interruptible([&] {
          *run = present::run_service(r, db);
          return present::service_run_json(*run, top, {});
        });
        return py::make_tuple(json_to_py(j, "plan_service"), ServiceHandle{run, db_obj});
      },
      py::arg("db"), py::arg("kwargs"));

  m.def(
      "emit_service",
      [](const ServiceHandle& h, const std::string& kind, const std::string& backend) {
        present::check_emit_kind(kind, backend);
        const ServiceResult& r = h.run->result;
        if (!r.best)
          throw ConfigError(
              "emit: the service has no feasible disaggregated plan, so there is nothing to launch. Fix: relax --ttft "
              "/ --slo or give more --gpus.");
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& f : present::emit_service(kind, *r.best, *h.run->setup.model, backend))
          out.emplace_back(f.name, f.text);
        return out;
      },
      py::arg("run"), py::arg("kind"), py::arg("disaggregation_backend"));

  m.def(
      "emit_service_json",
      [](const py::object& db_obj, const std::string& text, const std::string& kind, const std::string& backend) {
        const io::Database& db = db_obj.cast<const io::Database&>();
        present::check_emit_kind(kind, backend);
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& e) {
          throw ConfigError(
              fmt::format("emit: the service object is not JSON ({}). Fix: pass the dict json.load "
                          "gives for `ridgeline plan --isl ... --json`.",
                          e.what()));
        }
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& f : present::emit_service(kind, present::launch_plan_from_json(j, db), backend))
          out.emplace_back(f.name, f.text);
        return out;
      },
      py::arg("db"), py::arg("service_json"), py::arg("kind"), py::arg("disaggregation_backend"),
      "ridgeline.emit() on a dict: the plan read back from `ridgeline plan --isl ... --json`.");

  m.def(
      "evaluate",
      [](const io::Database& db, const std::vector<const io::Scenario*>& scenarios, const py::dict& kw) {
        Opts o(kw, "evaluate");
        present::EvaluateRequest r;
        o.get("gap", r.gap);
        o.get("context", r.context);
        o.get("routing", r.routing);
        o.get("calibration", r.calibration);
        o.get("calibration_for", r.calibration_for);
        o.get("calibration_any_device", r.calibration_any_device);
        o.get("mtp_acceptance", r.mtp_acceptance);
        o.get("context_cv", r.context_cv);
        o.done();
        std::vector<io::Scenario> copies;
        copies.reserve(scenarios.size());  // never let the vector copy a Scenario
        for (const io::Scenario* s : scenarios) copies.push_back(fresh_copy(*s, db));
        const present::EvaluateCalibration cal = present::apply_evaluate_request(copies, r, db);
        nlohmann::json results = nlohmann::json::array();
        for (size_t i = 0; i < copies.size(); ++i) results.push_back(present::evaluate_json(copies[i], cal, i));
        return json_to_py(present::evaluate_results_json(results), "evaluate");
      },
      py::arg("db"), py::arg("scenarios"), py::arg("kwargs"));

  m.def(
      "sweep",
      [](const io::Database& db, const py::dict& kw) {
        Opts o(kw, "sweep");
        present::SweepRequest r;
        read_search_flags(o, r.flags, false);
        o.get("models", r.models);
        o.get("hardware", r.hardware);
        o.get("slo", r.slos);
        o.get("context", r.contexts);
        o.get("scale_out_bandwidth", r.bandwidths);
        o.done();
        return json_to_py(interruptible([&] { return present::sweep_json(r, db); }), "sweep");
      },
      py::arg("db"), py::arg("kwargs"));

  m.def(
      "compare",
      [](const io::Database& db, const py::dict& kw) {
        Opts o(kw, "compare");
        present::CompareRequest r;
        read_search_flags(o, r.flags, false);
        o.get("model", r.flags.model);
        o.get("hardware", r.flags.hardware);
        o.get("slos", r.slos);
        o.get("contexts", r.contexts);
        o.done();
        return json_to_py(interruptible([&] { return present::compare_json(r, db); }), "compare");
      },
      py::arg("db"), py::arg("kwargs"));

  m.def(
      "roofline",
      [](const io::Database& db, const py::dict& kw) {
        Opts o(kw, "roofline");
        present::RooflineRequest r;
        o.get("model", r.model);
        o.get("hardware", r.hardware);
        o.get("weights", r.weights);
        o.get("kv", r.kv);
        o.get("batch", r.batch);
        o.get("context", r.context);
        o.get("ep", r.ep);
        o.done();
        return json_to_py(present::roofline_json(r, db), "roofline");
      },
      py::arg("db"), py::arg("kwargs"));

  m.def(
      "commroof",
      [](const io::Database& db, const py::dict& kw) {
        Opts o(kw, "commroof");
        present::CommRoofRequest r;
        read_roof(o, r.roof);
        o.get("model", r.models);
        o.get("hardware", r.hardware);
        o.get("nf", r.nf);
        o.done();
        return json_to_py(present::commroof_json(r, db), "commroof");
      },
      py::arg("db"), py::arg("kwargs"));

  m.def(
      "deadzone",
      [](const io::Database& db, const py::dict& kw) {
        Opts o(kw, "deadzone");
        present::DeadZoneRequest r;
        read_roof(o, r.roof);
        o.get("model", r.model);
        o.get("nf", r.nf);
        o.get("target_hfu", r.target_hfu);
        o.done();
        return json_to_py(present::deadzone_json(r, db), "deadzone");
      },
      py::arg("db"), py::arg("kwargs"));

  m.def(
      "imbalance",
      [](const io::Database& db, const py::dict& kw) {
        Opts o(kw, "imbalance");
        present::ImbalanceRequest r;
        o.get("model", r.model);
        o.get("ranks", r.ranks);
        o.get("tokens", r.tokens);
        o.get("histogram", r.histogram);
        o.get("zipf", r.zipf);
        o.get("lambda_ep", r.lambda);
        o.get("redundant_experts", r.redundant);
        o.done();
        return json_to_py(present::imbalance_json(r, db), "imbalance");
      },
      py::arg("db"), py::arg("kwargs"));

  m.def(
      "alpha",
      [](const py::dict& kw) {
        Opts o(kw, "alpha");
        present::AlphaRequest r;
        o.get("sigma", r.sigma);
        o.get("nf", r.nf);
        o.get("lambda_max", r.lambda_max);
        o.done();
        return json_to_py(present::alpha_json(r), "alpha");
      },
      py::arg("kwargs"));

  m.def(
      "validate",
      [](const io::Database& db, const py::dict& kw) {
        Opts o(kw, "validate");
        present::ValidateRequest r;
        o.get("dir", r.dir);
        o.get("calibration", r.calibration);
        o.get("calibration_for", r.calibration_for);
        o.get("calibration_any_device", r.calibration_any_device);
        o.done();
        return json_to_py(present::validate_json(r, db), "validate");
      },
      py::arg("db"), py::arg("kwargs"));
}
