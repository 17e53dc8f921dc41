// SPDX-License-Identifier: Apache-2.0
// The m2n sweep under MPI: every rank runs the same loop; rank 0 prints the table as rows finish
// and writes the raw JSON that `ridgeline-calibrate fit` reads.
#include <fmt/format.h>
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "host_info.hpp"
#include "io/files.hpp"
#include "m2n.hpp"
#include "report/report.hpp"
#include "ridgeline/calibration_samples.hpp"

namespace ridgeline::calib {

namespace {

using nlohmann::json;
using sweep::Pattern;

/// Gathers one short string per rank to rank 0 (fixed-size records: no variable-length protocol).
std::vector<std::string> gather_strings(const std::string& mine, int rank, int world) {
  constexpr int kLen = 256;
  std::vector<char> buf(kLen, '\0'), all(rank == 0 ? size_t(kLen) * world : 1, '\0');
  mine.copy(buf.data(), kLen - 1);
  MPI_Gather(buf.data(), kLen, MPI_CHAR, all.data(), kLen, MPI_CHAR, 0, MPI_COMM_WORLD);
  std::vector<std::string> out;
  if (rank == 0)
    for (int r = 0; r < world; ++r) out.emplace_back(all.data() + size_t(r) * kLen);
  return out;
}

/// The lowest rank for which `failed` is true, or -1; every rank gets the answer.
int first_failing_rank(bool failed, int rank, int world) {
  int mine = failed ? rank : world, low = world;
  MPI_Allreduce(&mine, &low, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return low == world ? -1 : low;
}

/// A message from `from` to rank 0 (both call it; the others pass through).
std::string send_to_root(const std::string& msg, int from, int rank) {
  if (from == 0) return msg;
  constexpr int kLen = 1024;
  std::vector<char> buf(kLen, '\0');
  if (rank == from) {
    msg.copy(buf.data(), kLen - 1);
    MPI_Send(buf.data(), kLen, MPI_CHAR, 0, 77, MPI_COMM_WORLD);
  } else if (rank == 0) {
    MPI_Recv(buf.data(), kLen, MPI_CHAR, from, 77, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  return std::string(buf.data());
}

std::string human_bytes(double b) {
  if (b >= (1 << 30)) return fmt::format("{:g} GiB", b / (1 << 30));
  if (b >= (1 << 20)) return fmt::format("{:g} MiB", b / (1 << 20));
  if (b >= 1024) return fmt::format("{:g} KiB", b / 1024);
  return fmt::format("{:g} B", b);
}

std::uint32_t seed_of(int pattern, int size_index, int iteration) {
  return std::uint32_t(pattern * 7919 + size_index * 104729 + iteration * 31 + 1);
}

}  // namespace

int run_m2n(const M2NOptions& o) {
  MPI_Init(nullptr, nullptr);
  int rank = 0, world = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  auto finish = [](int rc) {
    std::fflush(stdout);
    MPI_Finalize();
    return rc;
  };
  auto say = [&](const std::string& s) {
    if (rank == 0) {
      std::fputs(s.c_str(), stdout);
      std::fflush(stdout);
    }
  };
  try {
    sweep::check_layout(o.layout, world);
  } catch (const Error& e) {
    if (rank == 0) fmt::print(stderr, "ridgeline-calibrate m2n: error: {}\n", e.what());
    return finish(2);
  }
  // The output must be writable before minutes of measuring: rank 0 checks, everyone learns.
  int out_ok = 1;
  if (rank == 0 && !o.json_out.empty()) {
    try {
      io::check_output_path(o.json_out, {}, {}, "--json");
    } catch (const Error& e) {
      fmt::print(stderr, "ridgeline-calibrate m2n: error: {}\n", e.what());
      out_ok = 0;
    }
  }
  MPI_Bcast(&out_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!out_ok) return finish(2);

  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local);
  int local_rank = 0;
  MPI_Comm_rank(local, &local_rank);
  MPI_Comm_free(&local);

  std::unique_ptr<Transport> t;
  std::string why;
  try {
    if (o.backend == "cpu")
      t = make_cpu_transport(rank);
    else if (o.backend == "nccl")
      t = make_nccl_transport(rank, world, local_rank, why);
    else
      t = make_verbs_transport(rank, world, local_rank, o.gpudirect, why);
  } catch (const std::exception& e) {
    why = e.what();
    t.reset();
  }
  const int bad = first_failing_rank(!t, rank, world);
  if (bad >= 0) {
    const std::string msg = send_to_root(why, bad, rank);
    if (rank == 0) fmt::print(stderr, "ridgeline-calibrate m2n: rank {}: {}\n", bad, msg);
    return finish(2);
  }

  const std::vector<std::size_t> sizes = sweep::message_sizes(o.min_bytes, o.max_bytes, o.factor);
  std::vector<Pattern> patterns = {Pattern::m2n, Pattern::n2m};
  if (o.all_to_all) patterns.push_back(Pattern::all_to_all);

  char host[MPI_MAX_PROCESSOR_NAME] = {0};
  int host_len = 0;
  MPI_Get_processor_name(host, &host_len);
  char lib[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int lib_len = 0;
  MPI_Get_library_version(lib, &lib_len);
  int mpi_major = 0, mpi_minor = 0;
  MPI_Get_version(&mpi_major, &mpi_minor);
  const HostLoad load = read_host_load();
  const std::vector<std::string> hosts = gather_strings(host, rank, world);
  const std::vector<std::string> devices = gather_strings(t->device(), rank, world);
  const std::vector<std::string> loads =
      gather_strings(fmt::format("{} {}", load.loadavg_1min, load.cores), rank, world);

  json env;
  std::string lib_first_line = std::string(lib).substr(0, std::string(lib).find('\n'));
  if (rank == 0) {
    env["date"] = utc_now();
    env["tool"] = fmt::format("ridgeline-calibrate {}", report::kVersion);
    env["argv"] = o.argv;
    env["backend"] = o.backend;
    env["world_size"] = world;
    env["mpi_version"] = lib_first_line;
    env["mpi_standard"] = fmt::format("{}.{}", mpi_major, mpi_minor);
    env["versions"] = t->versions();
    env["hostnames"] = hosts;
    env["layout"] = {{"attention_ranks", o.layout.attention_ranks}, {"ffn_ranks", o.layout.ffn_ranks}};
    for (int r = 0; r < world; ++r) {
      double la = 0;
      int cores = 0;
      std::sscanf(loads[size_t(r)].c_str(), "%lf %d", &la, &cores);
      env["ranks"].push_back({{"rank", r},
                              {"role", o.layout.role(r)},
                              {"host", hosts[size_t(r)]},
                              {"device", devices[size_t(r)]},
                              {"loadavg_1min", la},
                              {"cores", cores}});
    }
    env["device"] = devices[0];
  }
  say(fmt::format("# ridgeline-calibrate m2n: backend {}, {} attention rank(s) -> {} FFN rank(s), world {}\n",
                  o.backend, o.layout.attention_ranks, o.layout.ffn_ranks, world));
  say(fmt::format("# MPI: {} (standard {}.{})\n", lib_first_line, mpi_major, mpi_minor));
  if (rank == 0) {
    for (int r = 0; r < world; ++r)
      say(fmt::format("#   rank {:3d} {:9s} host {} device {}\n", r, o.layout.role(r), hosts[size_t(r)],
                      devices[size_t(r)]));
    for (const auto& [k, v] : t->versions()) say(fmt::format("#   {} {}\n", k, v));
    if (load.loaded())
      say(fmt::format("# warning: host load {:.2f} exceeds its {} cores before the sweep: timings will be noisy\n",
                      load.loadavg_1min, load.cores));
  }
  say(fmt::format("# sizes {} .. {} x{:g} per message ({} sizes), {} warm-up + {} timed iterations each{}{}\n",
                  human_bytes(double(sizes.front())), human_bytes(double(sizes.back())), o.factor, sizes.size(),
                  o.warmup, o.iterations,
                  o.rounds > 1 ? fmt::format(" in {} rounds over all sizes (warm-up each round)", o.rounds) : "",
                  o.check_every_iteration ? ", payload checked every iteration" : ""));

  int rc = 0;
  try {
    t->prepare(o.layout, sizes.back());
  } catch (const std::exception& e) {
    fmt::print(stderr, "ridgeline-calibrate m2n: rank {}: cannot set up the buffers: {}\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  // Known only now: the memory each rank registered (host, gpu, gpu-dmabuf or gpu-peermem), its
  // GPU, and the CUDA versions of a --gpudirect run.
  {
    const std::vector<std::string> memories = gather_strings(t->memory(), rank, world);
    const std::vector<std::string> devices_now = gather_strings(t->device(), rank, world);
    if (rank == 0) {
      for (int r = 0; r < world; ++r) {
        env["ranks"][size_t(r)]["memory"] = memories[size_t(r)];
        env["ranks"][size_t(r)]["device"] = devices_now[size_t(r)];
      }
      env["device"] = devices_now[0];
      env["memory"] = memories[0];
      env["versions"] = t->versions();
      std::string kinds;
      for (int r = 0; r < world; ++r)
        if (kinds.find(memories[size_t(r)]) == std::string::npos)
          kinds += (kinds.empty() ? "" : ", ") + memories[size_t(r)];
      say(fmt::format("# memory: {}\n", kinds));
    }
  }

  json results = json::array();
  std::vector<double> spreads;
  const auto sweep_start = std::chrono::steady_clock::now();
  // Verifies every received message; on a failure rank 0 prints which and everyone stops.
  auto verified = [&](Pattern p, std::size_t bytes, std::uint32_t seed, const char* when) {
    int src = -1;
    sweep::PayloadCheck c;
    try {
      c = t->verify(p, bytes, seed, src);
    } catch (const std::exception& e) {
      c.ok = false;
      c.bad_bytes = -1;
      why = e.what();
    }
    const int bad_rank = first_failing_rank(!c.ok, rank, world);
    if (bad_rank < 0) return true;
    const std::string msg = send_to_root(
        c.bad_bytes < 0 ? why
                        : fmt::format("received wrong data from rank {} {}: {} of {} bytes wrong, first at byte {} "
                                      "(expected 0x{:02x}, got 0x{:02x})",
                                      src, when, c.bad_bytes, bytes, c.first_bad_byte, c.expected, c.got),
        bad_rank, rank);
    if (rank == 0)
      fmt::print(stderr,
                 "ridgeline-calibrate m2n: error: {} {} check failed on rank {}: {}. Nothing after this row "
                 "was timed. Fix: check the fabric and the backend's environment (e.g. NCCL_DEBUG=INFO), then "
                 "re-run with --check\n",
                 sweep::pattern_name(p), human_bytes(double(bytes)), bad_rank, msg);
    return false;
  };

  for (std::size_t pi = 0; pi < patterns.size() && rc == 0; ++pi) {
    const Pattern p = patterns[pi];
    say(fmt::format("#\n# {}: {}\n", sweep::pattern_name(p),
                    p == Pattern::m2n   ? "every attention rank sends one message to every FFN rank"
                    : p == Pattern::n2m ? "every FFN rank sends one message to every attention rank"
                                        : "every rank sends one message to every other rank"));
    say(fmt::format("# {:>12s} {:>12s} {:>12s} {:>12s} {:>11s} {:>11s} {:>7s}\n", "size", "busiest", "time med",
                    "time p99", "algbw", "busbw", "#wrong"));
    say(fmt::format("# {:>12s} {:>12s} {:>12s} {:>12s} {:>11s} {:>11s} {:>7s}\n", "(B/message)", "(B/rank)", "(us)",
                    "(us)", "(GB/s)", "(GB/s)", ""));
    // --rounds R: the timed iterations of every size are split over R passes through all sizes,
    // so a burst of load on a shared host hits every size alike instead of biasing one row.
    std::vector<std::vector<double>> times(sizes.size());
    const int rounds = std::max(1, std::min(o.rounds, o.iterations));
    for (int round = 0; round < rounds && rc == 0; ++round) {
      const int iters = o.iterations / rounds + (round < o.iterations % rounds ? 1 : 0);
      for (std::size_t si = 0; si < sizes.size() && rc == 0; ++si) {
        const std::size_t bytes = sizes[si];
        const std::uint32_t seed = seed_of(int(pi), int(si), 0);
        // Other sizes of this pattern overwrote the buffers: the payload is written again each round.
        t->fill(p, bytes, seed);
        if (round == 0) {
          MPI_Barrier(MPI_COMM_WORLD);
          t->run(p, bytes);
          MPI_Barrier(MPI_COMM_WORLD);
          if (!verified(p, bytes, seed, "before timing")) {
            rc = 1;
            break;
          }
        }
        for (int w = 0; w < o.warmup; ++w) {
          MPI_Barrier(MPI_COMM_WORLD);
          t->run(p, bytes);
        }
        const auto row_start = std::chrono::steady_clock::now();
        auto last_note = row_start;
        for (int i = 0; i < iters; ++i) {
          if (o.check_every_iteration) t->clear(p, bytes);
          MPI_Barrier(MPI_COMM_WORLD);
          const double a = MPI_Wtime();
          t->run(p, bytes);
          double dt = MPI_Wtime() - a, slowest = 0;
          // A phase ends when its slowest rank is done.
          MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
          times[si].push_back(slowest);
          if (o.check_every_iteration && !verified(p, bytes, seed, "in a timed iteration")) {
            rc = 1;
            break;
          }
          const auto now = std::chrono::steady_clock::now();
          if (now - last_note > std::chrono::seconds(5)) {
            last_note = now;
            say(fmt::format("#   ... {} {}: {} of {} iterations, {:.0f} s in this row\n", sweep::pattern_name(p),
                            human_bytes(double(bytes)), i + 1, iters,
                            std::chrono::duration<double>(now - row_start).count()));
          }
        }
        if (rc != 0) break;
        if (rank == 0 && round + 1 < rounds && si + 1 == sizes.size())
          say(fmt::format("#   ... {}: round {} of {} done\n", sweep::pattern_name(p), round + 1, rounds));
        if (rank == 0 && round + 1 == rounds) {
          const sweep::TimeStats st = sweep::time_stats(times[si]);
          const sweep::Bandwidth bw = sweep::bandwidth(p, o.layout, double(bytes), st.median_s);
          const double busiest = sweep::busiest_rank_bytes(p, o.layout, double(bytes));
          spreads.push_back(st.relative_spread);
          say(fmt::format("  {:>12d} {:>12.0f} {:>12.2f} {:>12.2f} {:>11.3f} {:>11.3f} {:>7d}\n", bytes, busiest,
                          st.median_s * 1e6, st.p99_s * 1e6, bw.algbw_bytes_per_s / 1e9, bw.busbw_bytes_per_s / 1e9,
                          0));
          results.push_back({{"pattern", sweep::pattern_name(p)},
                             {"message_bytes", bytes},
                             {"busiest_rank_bytes", busiest},
                             {"time_median_s", st.median_s},
                             {"time_p99_s", st.p99_s},
                             {"time_min_s", st.min_s},
                             {"time_max_s", st.max_s},
                             {"relative_spread", st.relative_spread},
                             {"algbw_bytes_per_s", bw.algbw_bytes_per_s},
                             {"busbw_bytes_per_s", bw.busbw_bytes_per_s},
                             {"iteration_times_s", times[si]}});
        }
      }
    }
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - sweep_start).count();
  if (rc == 0 && rank == 0) {
    const double spread = spreads.empty() ? 0 : median(spreads);
    const bool loaded = load.loaded() || spread > 0.25;
    say(fmt::format("#\n# {} rows in {:.1f} s; median spread of iterations {:.1f} %{}\n", results.size(), total_s,
                    100 * spread,
                    loaded ? " -- LOADED host: timings are noisy; re-run on an idle machine or with more -n" : ""));
    if (!o.json_out.empty()) {
      json j;
      j["format"] = "ridgeline-calibrate m2n raw";
      j["format_version"] = 1;
      j["environment"] = env;
      j["settings"] = {{"min_bytes", o.min_bytes},
                       {"max_bytes", o.max_bytes},
                       {"factor", o.factor},
                       {"warmup", o.warmup},
                       {"iterations", o.iterations},
                       {"rounds", o.rounds},
                       {"check_every_iteration", o.check_every_iteration},
                       {"time", "max over ranks of each rank's wall time of the phase (MPI_Wtime), per iteration"}};
      j["host_load"] = {{"loadavg_1min", load.loadavg_1min},
                        {"cores", load.cores},
                        {"median_relative_spread", spread},
                        {"loaded", loaded}};
      j["results"] = results;
      try {
        io::write_file_atomic(o.json_out, j.dump(1) + "\n", "--json");
        say(fmt::format("# wrote {}\n", o.json_out));
      } catch (const Error& e) {
        fmt::print(stderr, "ridgeline-calibrate m2n: error: {}\n", e.what());
        rc = 1;
      }
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  t.reset();  // backends release their resources before MPI goes
  return finish(rc);
}

}  // namespace ridgeline::calib
