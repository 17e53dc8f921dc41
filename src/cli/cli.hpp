// SPDX-License-Identifier: Apache-2.0
// The CLI shell: one add_<name>_command per subcommand file; main.cpp wires them and maps
// errors to exit codes (0 ok, 1 bad input / runtime error, 2 usage error, 3 no feasible plan).
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "ridgeline/io/database.hpp"

namespace ridgeline::cli {

struct Context {
  std::string data_dir;  ///< --data-dir: folder holding hwdb/ and models/
  std::vector<std::string> argv;
  /// Loads the databases once (from --data-dir, RIDGELINE_DATA_DIR or the source tree).
  const io::Database& db();
  /// Refuses an output file (`flag`, e.g. "--svg") that is one of `inputs` or lies inside the
  /// data folders being read (hwdb/, models/ and `input_dirs`). Throws ConfigError.
  void check_output(const std::string& path, const char* flag, const std::vector<std::string>& inputs = {},
                    const std::vector<std::string>& input_dirs = {});

 private:
  std::unique_ptr<io::Database> db_;
};

/// Thrown by a command to exit with a specific code after printing its result.
struct ExitCode {
  int code;
};

void add_evaluate_command(CLI::App& app, Context& ctx);
void add_roofline_command(CLI::App& app, Context& ctx);
void add_list_command(CLI::App& app, Context& ctx);
void add_show_command(CLI::App& app, Context& ctx);
void add_commroof_command(CLI::App& app, Context& ctx);
void add_deadzone_command(CLI::App& app, Context& ctx);
void add_imbalance_command(CLI::App& app, Context& ctx);
void add_validate_command(CLI::App& app, Context& ctx);
void add_plan_command(CLI::App& app, Context& ctx);
void add_bench_command(CLI::App& app, Context& ctx);
void add_sweep_command(CLI::App& app, Context& ctx);
void add_compare_command(CLI::App& app, Context& ctx);
void add_profile_command(CLI::App& app, Context& ctx);

}  // namespace ridgeline::cli
