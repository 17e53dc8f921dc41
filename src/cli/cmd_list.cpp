// SPDX-License-Identifier: Apache-2.0
// `ridgeline list hardware|models` and `ridgeline show ID`.
#include <fmt/format.h>

#include "checks.hpp"
#include "cli.hpp"
#include "report/report.hpp"

namespace ridgeline::cli {

void add_list_command(CLI::App& app, Context& ctx) {
  auto what = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("list", "List the accelerators (hardware) or models Ridgeline knows, one line each.");
  cmd->add_option("what", *what, "hardware | models")
      ->required()
      ->check(CLI::IsMember({"hardware", "models", "hw"}, CLI::ignore_case));
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([what, json, &ctx] {
    const auto& db = ctx.db();
    report::Table t;
    nlohmann::json out = nlohmann::json::array();
    if (lower_ascii(*what) == "models") {
      t.header = {"id", "name", "attention", "layers", "experts", "top-k", "params"};
      t.units = {"", "", "", "", "", "", "B"};
      for (const auto& id : db.model_ids()) {
        const auto& m = db.model(id);
        t.rows.push_back({id, m.name, attention_kind_name(m.attention.kind), std::to_string(m.num_layers),
                          std::to_string(m.moe.num_experts), std::to_string(m.moe.top_k),
                          fmt::format("{:.1f}", m.total_params() / 1e9)});
        out.push_back(
            {{"id", id}, {"name", m.name}, {"total_params", m.total_params()}, {"active_params", m.active_params()}});
      }
    } else {
      t.header = {"id", "name", "bf16", "fp8", "HBM", "HBM BW", "scale-up", "domain", "scale-out", "$/h", "kernels"};
      t.units = {"", "", "TFLOPS", "TFLOPS", "GB", "TB/s", "GB/s/dir", "GPUs", "GB/s", "USD", ""};
      for (const auto& id : db.hardware_ids()) {
        const auto& h = db.hardware(id);
        auto tf = [](const std::optional<double>& v) {
          return v ? fmt::format("{:.0f}", *v / 1e12) : std::string("-");
        };
        const std::string name = h.dies_per_package > 1
                                     ? fmt::format("{} [per die: {} dies per package]", h.name, h.dies_per_package)
                                     : h.name;
        t.rows.push_back({id, name, tf(h.peak_bf16_flops_per_s), tf(h.peak_fp8_flops_per_s),
                          fmt::format("{:.0f}", h.hbm_bytes / 1e9), fmt::format("{:.2f}", h.hbm_bytes_per_s / 1e12),
                          fmt::format("{:.0f}", h.scale_up.bytes_per_s / 1e9), std::to_string(h.scale_up_domain_gpus),
                          fmt::format("{:.1f}", h.scale_out.bytes_per_s / 1e9),
                          fmt::format("{:.2f}", h.price_usd_per_gpu_hour),
                          // Whether operators are priced from a measured profile or the generic fractions.
                          h.roofline_profile ? "measured" : "generic"});
        out.push_back(
            {{"id", id},
             {"name", h.name},
             {"hbm_bytes", h.hbm_bytes},
             {"hbm_bytes_per_s", h.hbm_bytes_per_s},
             {"price_usd_per_gpu_hour", h.price_usd_per_gpu_hour},
             {"dies_per_package", h.dies_per_package},
             {"architecture", h.architecture},
             {"roofline_profile", h.roofline_profile ? nlohmann::json(h.roofline_profile->source) : nlohmann::json()}});
      }
    }
    if (*json)
      fmt::print("{}\n", out.dump(2));
    else
      fmt::print("{}", t.render());
  });
}

void add_show_command(CLI::App& app, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "show",
      "Print the database file of a hardware or model id (with its sources) as JSON: the file's fields in\n"
      "file order, plus a \"computed\" block (models: total and active parameters, KV elements per token per\n"
      "layer; hardware: the ridge point per number format). Ids are case-insensitive; aliases work.");
  cmd->add_option("id", *id, "hardware or model id")->required();
  cmd->add_flag("--json", *json, "print JSON (what show always prints; accepted for symmetry with other commands)");
  // The callback keeps `json` alive: CLI11 writes the flag into it while parsing, after this
  // function has returned (ASan found the use after free).
  cmd->callback([id, json, &ctx] {
    (void)json;
    const auto& db = ctx.db();
    const std::string text = db.raw_json(*id);  // throws "unknown id" with close matches
    // Ordered: the file's own key order, so the output reads like the file.
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(text);
    nlohmann::ordered_json computed;
    if (db.has_model(*id)) {
      const auto& m = db.model(*id);
      computed["kind"] = "model";
      computed["id"] = m.id;
      computed["total_params"] = m.total_params();
      computed["active_params_per_token"] = m.active_params();
      computed["kv_elements_per_token_per_layer"] = m.kv_elements_per_token_per_layer();
    } else {
      const auto& h = db.hardware(*id);
      computed["kind"] = "hardware";
      computed["id"] = h.id;
      if (h.dies_per_package > 1) computed["dies_per_package"] = h.dies_per_package;
      computed["hbm_bytes_per_gpu"] = h.hbm_bytes;
      computed["hbm_bytes_per_s_per_gpu"] = h.hbm_bytes_per_s;
      for (DType d : {DType::fp4, DType::fp8, DType::int8, DType::bf16})
        if (h.supports(d))
          computed[fmt::format("ridge_{}_flop_per_byte", dtype_name(d))] = h.peak_flops_per_s(d) / h.hbm_bytes_per_s;
    }
    computed["file"] = (db.has_model(*id) ? db.model_file(*id) : db.hardware_file(*id)).string();
    j["computed"] = computed;
    fmt::print("{}\n", j.dump(2));
  });
}

}  // namespace ridgeline::cli
