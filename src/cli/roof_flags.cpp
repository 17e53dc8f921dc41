// SPDX-License-Identifier: Apache-2.0
#include "roof_flags.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "checks.hpp"

namespace ridgeline::cli::roof {

HardwareSource::HardwareSource(Context& ctx, const std::string& hwdb_dir) : ctx_(ctx), label_("hwdb") {
  if (hwdb_dir.empty()) return;
  if (!std::filesystem::is_directory(hwdb_dir))
    throw FlagError(
        fmt::format("--hwdb \"{}\": not a folder. Fix: give a folder of hardware JSON files, e.g. "
                    "examples/paper-afd-roofline/hardware (the AFD paper's Table 5 inputs).",
                    hwdb_dir));
  // Models come from the default database; find its folder through any model's file.
  const auto& base = ctx.db();
  const auto ids = base.model_ids();
  if (ids.empty()) throw UsageError("no models loaded. Fix: set --data-dir to a folder holding models/.");
  db_ = std::make_unique<io::Database>(io::Database::load(hwdb_dir, base.model_file(ids.front()).parent_path()));
  label_ = hwdb_dir;
}

}  // namespace ridgeline::cli::roof
