// SPDX-License-Identifier: Apache-2.0
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "checks.hpp"
#include "cli.hpp"
#include "io/files.hpp"
#include "report/report.hpp"

namespace ridgeline::cli {

const io::Database& Context::db() {
  if (!db_) {
    if (!data_dir.empty()) {
      const std::filesystem::path root(data_dir);
      db_ = std::make_unique<io::Database>(io::Database::load(root / "hwdb", root / "models"));
    } else {
      db_ = std::make_unique<io::Database>(io::Database::load_default());
    }
  }
  return *db_;
}

void Context::check_output(const std::string& path, const char* flag, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& input_dirs) {
  std::vector<std::filesystem::path> ins(inputs.begin(), inputs.end()), dirs(input_dirs.begin(), input_dirs.end());
  try {  // the folders the databases come from; a command that reads none (imbalance --alpha) may
         // run where they do not load
    const auto& d = db();
    if (const auto ids = d.hardware_ids(); !ids.empty()) dirs.push_back(d.hardware_file(ids.front()).parent_path());
    if (const auto ids = d.model_ids(); !ids.empty()) dirs.push_back(d.model_file(ids.front()).parent_path());
  } catch (const Error&) {
  }
  io::check_output_path(path, ins, dirs, flag);
}

}  // namespace ridgeline::cli

namespace {
int stdout_failed() {
  fmt::print(stderr,
             "ridgeline: error: cannot write the result to standard output ({}). Fix: check the disk "
             "or pipe it goes to.\n",
             std::strerror(errno ? errno : EIO));
  return 1;
}

/// CLI11 drops the empty elements of a comma-separated list ("--hardware h800," reads as h800): a
/// typo that must not pass silently. Checks the value of every list option of the chosen
/// subcommand, as written (`--flag value`, `--flag=value`, `-f value`).
void check_list_values(const CLI::App& app, const std::vector<std::string>& argv) {
  const CLI::App* sub = nullptr;
  size_t i = 1;
  for (; i < argv.size() && !sub; ++i)
    for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; }))
      if (s->get_name() == argv[i]) sub = s;
  if (!sub) return;
  auto is_list = [&](const std::string& name, bool is_long) {
    for (const CLI::Option* o : sub->get_options())
      if (o->get_delimiter() == ',') {
        const auto& names = is_long ? o->get_lnames() : o->get_snames();
        if (std::find(names.begin(), names.end(), name) != names.end()) return true;
      }
    return false;
  };
  for (; i < argv.size(); ++i) {
    const std::string& t = argv[i];
    std::string flag, value;
    bool have = false;
    if (t.rfind("--", 0) == 0 && t.size() > 2) {
      const size_t eq = t.find('=');
      flag = t.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (!is_list(flag, true)) continue;
      if (eq != std::string::npos) {
        value = t.substr(eq + 1), have = true;
      } else if (i + 1 < argv.size()) {
        value = argv[++i], have = true;
      }
      flag = "--" + flag;
    } else if (t.size() == 2 && t[0] == '-' && t[1] != '-' && is_list(t.substr(1), false) && i + 1 < argv.size()) {
      flag = t, value = argv[++i], have = true;
    }
    if (have && (value.empty() || value.front() == ',' || value.back() == ',' || value.find(",,") != std::string::npos))
      throw ridgeline::cli::FlagError(fmt::format(
          "{} \"{}\": an empty element in the comma-separated list. Fix: remove the extra comma.", flag, value));
  }
}

/// A result is only delivered once stdout is flushed without error: `ridgeline ... > /dev/full`
/// or a full disk must not exit 0.
int finish_stdout(int code) {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) return stdout_failed();
  return code;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace ridgeline;
  cli::Context ctx;
  for (int i = 0; i < argc; ++i) ctx.argv.emplace_back(argv[i]);
  CLI::App app{
      "Ridgeline: plan MoE decode deployments — large Expert Parallelism (EP) or Attention-FFN\n"
      "Disaggregation (AFD) — and see why one wins: a roofline extended to the network.\n\n"
      "Start with:\n"
      "  ridgeline list hardware            accelerators in hwdb/\n"
      "  ridgeline list models              models in models/\n"
      "  ridgeline evaluate SCENARIO.json   one fixed deployment: TPOT, tokens/s/GPU, $/token, binding roof\n"
      "  ridgeline roofline --model deepseek-v3 --hardware h800   per-operator roofline of one layer\n",
      "ridgeline"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("ridgeline ") + report::kVersion);
  app.add_option("--data-dir", ctx.data_dir,
                 "folder holding hwdb/ and models/ (default: $RIDGELINE_DATA_DIR, then ../share/ridgeline next to "
                 "this binary, then the source tree)");
  // Every usage error is one line on stderr: the flag, the bad value, what is allowed.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return fmt::format("ridgeline: error: {} (see --help)\n", e.what());
  });
  cli::add_evaluate_command(app, ctx);
  cli::add_roofline_command(app, ctx);
  cli::add_list_command(app, ctx);
  cli::add_show_command(app, ctx);
  cli::add_commroof_command(app, ctx);
  cli::add_deadzone_command(app, ctx);
  cli::add_imbalance_command(app, ctx);
  cli::add_validate_command(app, ctx);
  cli::add_plan_command(app, ctx);
  cli::add_bench_command(app, ctx);
  cli::add_sweep_command(app, ctx);
  cli::add_compare_command(app, ctx);
  cli::add_profile_command(app, ctx);
  try {
    check_list_values(app, ctx.argv);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return finish_stdout(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    return finish_stdout(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    return finish_stdout(app.exit(e));
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage error (documented in README)
  } catch (const cli::ExitCode& e) {
    return finish_stdout(e.code);
  } catch (const cli::FlagError& e) {
    fmt::print(stderr, "ridgeline: error: {}\n", e.what());
    return 2;  // a bad flag value found after parsing: a usage error too
  } catch (const ridgeline::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "ridgeline: error: {}\n", e.what());
    return 1;
  } catch (const std::system_error& e) {
    // fmt::print throws when stdout fails (a full disk, a closed pipe, /dev/full).
    if (std::ferror(stdout)) return stdout_failed();
    fmt::print(stderr, "ridgeline: internal error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ridgeline: internal error: {}\n", e.what());
    return 1;
  }
  return finish_stdout(0);
}
