// SPDX-License-Identifier: Apache-2.0
// `ridgeline-calibrate m2n`: M->N, N->M (and all-to-all) transfer sweeps between MPI ranks, one
// process per rank. m2n_driver.cpp runs the nccl-tests protocol (check, warm-up, timed
// iterations, median / p99, rank 0 prints and writes the raw JSON); a Transport moves the bytes:
// MPI point-to-point on host memory (cpu), NCCL send/recv (nccl) or RDMA write-with-immediate
// (verbs, from host or, with --gpudirect, GPU memory: m2n_memory.hpp). Host-side logic (sizes, schedules, payload,
// statistics) is ridgeline/calibration_sweep.hpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ridgeline/calibration_sweep.hpp"

namespace ridgeline::calib {

struct M2NOptions {
  std::string backend = "cpu";  ///< cpu, nccl or verbs
  sweep::Layout layout;
  std::size_t min_bytes = 1024;        ///< -b: smallest message per (sender, receiver) pair
  std::size_t max_bytes = 1 << 20;     ///< -e
  double factor = 2;                   ///< -f
  int warmup = 5;                      ///< -w: untimed iterations per size
  int iterations = 20;                 ///< -n: timed iterations per size
  int rounds = 1;                      ///< --rounds: passes over all sizes the timed iterations are split into
  bool check_every_iteration = false;  ///< --check: verify the payload after every timed iteration too
  bool all_to_all = false;             ///< also the DeepEP all-to-all pattern over all ranks
  bool gpudirect = false;              ///< verbs: register GPU memory (needs a CUDA build)
  std::string json_out;                ///< --json: raw results (rank 0 writes)
  std::vector<std::string> argv;
};

/// One rank's end of the transfers. All ranks call every method collectively, in the same order.
class Transport {
 public:
  virtual ~Transport() = default;
  /// This rank's device, e.g. "host memory" or "NVIDIA H100 80GB HBM3 (GPU 3)".
  virtual std::string device() const = 0;
  /// Library and driver versions worth recording (name -> version).
  virtual std::map<std::string, std::string> versions() const { return {}; }
  /// The memory the transfers use and how the NIC reaches it, for the provenance: "host" (MPI or
  /// verbs on host memory), "gpu" (NCCL), "gpu-dmabuf" or "gpu-peermem" (verbs with --gpudirect).
  /// Known after prepare().
  virtual std::string memory() const = 0;
  /// Allocates (and registers) one send buffer per destination and one receive buffer per source
  /// of `max_bytes` each, for every pattern the sweep will run. No allocation after this.
  virtual void prepare(const sweep::Layout& l, std::size_t max_bytes) = 0;
  /// Writes the payload of every message this rank sends in `p` and clears its receive buffers.
  virtual void fill(sweep::Pattern p, std::size_t bytes, std::uint32_t seed) = 0;
  /// Clears the receive buffers only (before a checked iteration).
  virtual void clear(sweep::Pattern p, std::size_t bytes) = 0;
  /// One phase: posts every send and receive of this rank and returns when all have completed.
  virtual void run(sweep::Pattern p, std::size_t bytes) = 0;
  /// Checks every message this rank received; returns the first wrong one (source in `src`).
  virtual sweep::PayloadCheck verify(sweep::Pattern p, std::size_t bytes, std::uint32_t seed, int& src) = 0;
};

/// Thrown by a backend that cannot run here (no GPU, no RDMA device): exit status 2, not a crash.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::unique_ptr<Transport> make_cpu_transport(int rank);
/// Return nullptr when this build has no such backend (the message names what was missing).
std::unique_ptr<Transport> make_nccl_transport(int rank, int world, int local_rank, std::string& why_not);
/// gpudirect: send and receive buffers in GPU memory on the rank's GPU (local_rank modulo the
/// visible GPUs), registered for GPUDirect RDMA; needs a CUDA build (see m2n_memory.hpp).
std::unique_ptr<Transport> make_verbs_transport(int rank, int world, int local_rank, bool gpudirect,
                                                std::string& why_not);

/// Runs the sweep under MPI (MPI_Init .. MPI_Finalize inside). Exit status: 0 ok, 1 a failed
/// check or bad file, 2 bad flags / layout / backend not available.
int run_m2n(const M2NOptions& o);

}  // namespace ridgeline::calib
