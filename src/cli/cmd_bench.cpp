// SPDX-License-Identifier: Apache-2.0
// `ridgeline bench`: how fast the planner is. Prints candidate evaluations per second on one
// thread, the wall time of the default `ridgeline plan` (in process and as a whole process),
// and the wall time of an exhaustive DeepSeek-V3 search over 6 accelerators (all 36 A/F pairs
// plus EP on each), up to 1,024 GPUs, at 3 TPOT SLOs. Results are checked before timing.
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "checks.hpp"
#include "cli.hpp"
#include "plan_common.hpp"
#include "report/report.hpp"

namespace ridgeline::cli {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Evaluations per second of evaluate() (or, with `probes`, of the batch search's
/// evaluate_probe()) on one thread over a spread of EP and AFD plans.
double evaluations_per_second(const ModelSpec& m, const Accelerator& hw, double min_seconds, long& count,
                              bool probes = false) {
  const Precision p;
  const Workload w;
  const Efficiencies eff;
  std::vector<Deployment> plans;
  for (int mb : {1, 2})
    for (int gpus : {32, 64, 128, 256}) {
      Deployment d;
      d.strategy = Strategy::ep;
      d.micro_batches = mb;
      d.attention = {&hw, gpus, 1};
      d.ffn = d.attention;
      d.batch_per_gpu = 64;
      plans.push_back(d);
    }
  for (int mb : {3, 4})
    for (int ffn : {16, 32, 64, 128}) {
      Deployment d;
      d.strategy = Strategy::afd;
      d.micro_batches = mb;
      d.attention = {&hw, 8 * ffn, 1};
      d.ffn = {&hw, ffn, 1};
      d.global_batch = 64.0 * 8 * ffn;
      plans.push_back(d);
    }
  for (const auto& d : plans)  // verify before timing: every plan evaluates to a finite TPOT
    if (!(evaluate(m, p, w, d, eff).tpot_s > 0)) throw Error("bench: a benchmark plan did not evaluate");
  double sink = 0;
  count = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  do {
    for (int rep = 0; rep < 256; ++rep)
      for (auto& d : plans) {
        d.batch_per_gpu += 1e-3;  // defeat hoisting: every call sees a new batch
        d.global_batch += 1e-3;
        sink += (probes ? evaluate_probe(m, p, w, d, eff) : evaluate(m, p, w, d, eff)).tokens_per_s;
        ++count;
      }
    elapsed = seconds_since(t0);
  } while (elapsed < min_seconds);
  if (!(sink > 0)) throw Error("bench: evaluations returned no throughput");
  return double(count) / elapsed;
}

/// Runs `exe plan` with stdout and stderr on /dev/null, without a shell (argv[0] may hold spaces
/// or shell syntax: it is never parsed). Returns the exit status, or -1 when it could not run.
int run_plan_process(const std::string& exe) {
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0) return -1;
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string arg0 = exe, arg1 = "plan";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  const int err = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv, ::environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// This executable: /proc/self/exe where there is one, else argv[0] as given.
std::string self_path(const Context& ctx) {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) return std::string(buf, size_t(n));
  return ctx.argv.empty() ? "ridgeline" : ctx.argv[0];
}

}  // namespace

void add_bench_command(CLI::App& app, Context& ctx) {
  struct Options {
    double seconds = 0.5;
    int threads = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "bench",
      "Measure the planner's speed: candidate evaluations per second on one thread, the wall time of the\n"
      "default `ridgeline plan` (DeepSeek-V3, H800, 50 ms), and of an exhaustive DeepSeek-V3 search over\n"
      "6 accelerators (h800 h20 h200 b200 l40s gb200: 36 attention/FFN pairs + EP on each), up to 1,024 GPUs,\n"
      "at 3 TPOT SLOs (30, 50, 100 ms). Targets: >= 5e6 evaluations/s, plan < 50 ms, exhaustive < 0.5 s.");
  cmd->add_option("--seconds", o->seconds, "minimum time of the evaluation-rate loop")
      ->check(FiniteRange(0, limits::kMaxBenchSeconds))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "threads for the searches (0 = all cores)")
      ->check(FiniteRange(0, limits::kMaxThreads));
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->callback([o, &ctx] {
    const auto& db = ctx.db();
    const ModelSpec& m = db.model("deepseek-v3");
    long count = 0;
    const double rate = evaluations_per_second(m, db.hardware("h800"), o->seconds, count);
    long probe_count = 0;
    const double probe_rate = evaluations_per_second(m, db.hardware("h800"), o->seconds, probe_count, true);

    // The default plan, in process (databases already loaded) and as a whole process.
    SearchFlags f;
    f.threads = o->threads;
    SearchSetup s = resolve_search(f, db);
    auto t0 = Clock::now();
    const SearchResult def = search_plans(*s.model, s.precision, s.workload, s.space, s.efficiencies);
    const double plan_search_s = seconds_since(t0);
    if (!def.best_ep() || !def.best_afd()) throw Error("bench: the default plan found no EP or AFD plan");
    t0 = Clock::now();
    const int rc = run_plan_process(self_path(ctx));
    const double plan_process_s = seconds_since(t0);

    // The exhaustive search.
    SearchFlags x;
    x.hardware = {"h800", "h20", "h200", "b200", "l40s", "gb200"};
    x.max_gpus = 1024;
    x.threads = o->threads;
    long shapes = 0, evals = 0;
    int feasible = 0;
    const std::string checked_slo = "50 ms";
    SearchResult with_bound;  // the timed search at checked_slo
    t0 = Clock::now();
    for (const char* slo : {"30 ms", "50 ms", "100 ms"}) {
      x.slo = slo;
      SearchSetup xs = resolve_search(x, db);
      SearchResult r = search_plans(*xs.model, xs.precision, xs.workload, xs.space, xs.efficiencies);
      shapes += r.shapes;
      evals += r.evaluations;
      feasible += (r.best_ep() != nullptr) + (r.best_afd() != nullptr);
      if (x.slo == checked_slo) with_bound = std::move(r);
    }
    const double exhaustive_s = seconds_since(t0);
    // Verify the branch and bound (untimed for the target): at 50 ms the search without the score
    // bound must return the same best plans.
    x.slo = checked_slo;
    SearchSetup bs = resolve_search(x, db);
    bs.space.prune_by_bound = false;
    t0 = Clock::now();
    const SearchResult without_bound = search_plans(*bs.model, bs.precision, bs.workload, bs.space, bs.efficiencies);
    const double unbounded_s = seconds_since(t0);
    for (auto pick : {&SearchResult::best_ep, &SearchResult::best_afd}) {
      const Candidate *a = (with_bound.*pick)(), *b = (without_bound.*pick)();
      if (!a != !b || (a && search_detail::plan_key(*a) != search_detail::plan_key(*b)))
        throw Error("bench: the search with the score bound returned another best plan than the one without it");
    }
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());

    if (o->json) {
      nlohmann::json j = {{"evaluations_per_s_one_thread", rate},
                          {"evaluations_timed", count},
                          {"probe_evaluations_per_s_one_thread", probe_rate},
                          {"default_plan_search_s", plan_search_s},
                          {"default_plan_process_s", rc == 0 ? nlohmann::json(plan_process_s) : nlohmann::json()},
                          {"exhaustive_search_s", exhaustive_s},
                          {"exhaustive_shapes", shapes},
                          {"exhaustive_evaluations", evals},
                          {"one_slo_without_score_bound_s", unbounded_s},
                          {"hardware_threads", cores},
                          {"meta", report::meta_json(ctx.argv)}};
      fmt::print("{}\n", j.dump(2));
      return;
    }
    report::Table t;
    t.header = {"benchmark", "measured", "target"};
    t.rows.push_back({"evaluate() calls per second, one thread", fmt::format("{:.3g}", rate), ">= 5e6"});
    t.rows.push_back({"  evaluate_probe() calls per second (the batch search's probes: no HFU, OFU, roof)",
                      fmt::format("{:.3g}", probe_rate), ""});
    t.rows.push_back({"default plan: search only", fmt::format("{:.1f} ms", plan_search_s * 1e3), ""});
    t.rows.push_back({"default plan: whole `ridgeline plan` process",
                      rc == 0 ? fmt::format("{:.1f} ms", plan_process_s * 1e3) : std::string("(could not run)"),
                      "< 50 ms"});
    t.rows.push_back(
        {fmt::format("exhaustive DeepSeek-V3: 6 kinds, <= 1024 GPUs, 3 SLOs ({} shapes, {} evals)", shapes, evals),
         fmt::format("{:.3f} s", exhaustive_s), "< 0.5 s"});
    t.rows.push_back({fmt::format("  the 50 ms search of it without the AFD score bound ({} shapes, {} evals)",
                                  without_bound.shapes, without_bound.evaluations),
                      fmt::format("{:.3f} s", unbounded_s), "(same plans)"});
    fmt::print("Ridgeline {} bench on {} hardware thread(s)\n{}", report::kVersion, cores, t.render());
    fmt::print("  {} of 6 best plans (EP and AFD at 3 SLOs) found in the exhaustive search\n", feasible);
  });
}

}  // namespace ridgeline::cli
