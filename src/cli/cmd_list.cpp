// SPDX-License-Identifier: Apache-2.0
// `ridgeline list hardware|models` and `ridgeline show ID`.
#include <fmt/format.h>

#include "cli.hpp"
#include "report/report.hpp"

namespace ridgeline::cli {

void add_list_command(CLI::App& app, Context& ctx) {
  auto what = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("list", "List the accelerators (hardware) or models Ridgeline knows, one line each.");
  cmd->add_option("what", *what, "hardware | models")->required()->check(CLI::IsMember({"hardware", "models", "hw"}));
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([what, json, &ctx] {
    const auto& db = ctx.db();
    report::Table t;
    nlohmann::json out = nlohmann::json::array();
    if (*what == "models") {
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
      t.header = {"id", "name", "bf16", "fp8", "HBM", "HBM BW", "scale-up", "domain", "scale-out", "$/h"};
      t.units = {"", "", "TFLOPS", "TFLOPS", "GB", "TB/s", "GB/s/dir", "GPUs", "GB/s", "USD"};
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
                          fmt::format("{:.2f}", h.price_usd_per_gpu_hour)});
        out.push_back({{"id", id},
                       {"name", h.name},
                       {"hbm_bytes", h.hbm_bytes},
                       {"hbm_bytes_per_s", h.hbm_bytes_per_s},
                       {"price_usd_per_gpu_hour", h.price_usd_per_gpu_hour},
                       {"dies_per_package", h.dies_per_package},
                       {"architecture", h.architecture}});
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
  auto* cmd = app.add_subcommand("show", "Print the database file of a hardware or model id (with its sources).");
  cmd->add_option("id", *id, "hardware or model id")->required();
  cmd->callback([id, &ctx] {
    const auto& db = ctx.db();
    std::string text = db.raw_json(*id);
    if (db.has_model(*id)) {
      const auto& m = db.model(*id);
      fmt::print(
          "# computed: {:.2f} B total parameters, {:.2f} B active per token, KV {:.0f} elements per token per layer\n",
          m.total_params() / 1e9, m.active_params() / 1e9, m.kv_elements_per_token_per_layer());
    }
    fmt::print("{}", text);
  });
}

}  // namespace ridgeline::cli
