// SPDX-License-Identifier: Apache-2.0
// Transports: what one dispatch / combine / A->F / F->A transfer costs beyond its link time, and
// what it takes away from the compute it overlaps. EP's all-to-all and AFD's M2N are priced by
// the same two functions below; where they differ it is because their default transports
// differ (DeepEP's GPU-initiated kernels vs CPU-driven RDMA), a named, sourced property.
#pragma once
#include <algorithm>

#include "ridgeline/provenance.hpp"

namespace ridgeline {

enum class TransportKind {
  deepep_low_latency,  ///< DeepEP low-latency kernels: GPU-initiated (IBGDA), CUDA-graph capturable
  deepep_normal,       ///< DeepEP normal (high-throughput) kernels: CPU sync for counts, not capturable
  nccl,                ///< NCCL grouped send/recv
  cpu_rdma,            ///< CPU-driven GPUDirect RDMA (MegaScale-Infer's M2N library, StepMesh)
};
inline constexpr int kTransportKinds = 4;

inline const char* transport_name(TransportKind k) {
  switch (k) {
    case TransportKind::deepep_low_latency:
      return "deepep_low_latency";
    case TransportKind::deepep_normal:
      return "deepep_normal";
    case TransportKind::nccl:
      return "nccl";
    case TransportKind::cpu_rdma:
      return "cpu_rdma";
  }
  return "?";
}

/// The software cost of one transfer phase and its contention with overlapped compute.
struct TransportCost {
  /// Fixed time of one transfer phase (kernel launch, barrier, completion signalling/polling).
  double fixed_s = 0;
  /// Time per token the GPU sends or receives in the phase (packing, FP8 cast, unpacking on SMs).
  double per_token_s = 0;
  /// Fraction of the GPU's SMs (and with them its HBM issue rate) the transport holds while a
  /// transfer is in flight: compute overlapping it runs at (1 - contention) of its speed.
  double contention = 0;
  /// Kernels can be captured in a CUDA graph; otherwise every kernel of the layer pays the
  /// eager launch cost (Efficiencies::eager_launch_overhead_s) instead of kernel_overhead_s.
  bool graph_capturable = true;
  Source source = Source::assumed;
};

/// Defaults per transport. Sources (README "Defaults and their sources" has the full list):
/// - deepep_low_latency: fixed 12 us = aiconfigurator-core 0.12's measured DeepEP low-latency
///   tables at 1-9 tokens per GPU (11-20 us per phase, H100/H200); per token 0.22 us so that
///   128 tokens cost the 40 us intercept of DeepEP's own June 2025 H800 table (EP8-EP64).
///   Contention 0: in decode the kernels only issue RDMA writes and return (receive hook), so
///   "all GPU SMs are freed" while the transfer flies (DeepSeek profile-data README, decoding).
///   Without the hook they spin on ceil(E / 3) blocks (86 of 132 SMs for 256 experts: 0.65);
///   sensitivity range [0, 0.5]. Check: SGLang's measured TBO gains of 25-36 %.
/// - deepep_normal: 24 SMs of 132 (DeepEP's Buffer.num_sms default) = 0.18; not capturable.
///   Fixed 135 us and 0.028 us per token: the least-squares fit (relative errors) of the time
///   aiconfigurator-core 0.12's measured SGLang DeepEP-normal table (H100, 2 and 4 nodes,
///   1,024-16,384 tokens per GPU, hidden 7168, top-8) spends beyond the link time ep_all_to_all
///   gives: the layout and notify kernels, the host round trip that reads the receive counts, and
///   per-token packing (tests/unit/test_prefill_kernels.cpp refits it from the table).
/// - nccl: 16-32 channels of 132 SMs: 0.18; fixed 30 us (group launch + proxy progress).
/// - cpu_rdma: zero SMs (MegaScale-Infer §4 and StepMesh: every verb is posted by a CPU thread,
///   GPUDirect, no GPU-side copy); fixed 25 us for the event poll, post, CQ poll and stream
///   unblock that StepMesh names as its jitter sources (assumed; range 10-50 us).
inline TransportCost default_transport_cost(TransportKind k) {
  switch (k) {
    case TransportKind::deepep_low_latency:
      return {12e-6, 0.22e-6, 0.0, true, Source::derived};
    case TransportKind::deepep_normal:
      return {135e-6, 0.028e-6, 0.18, false, Source::derived};
    case TransportKind::nccl:
      return {30e-6, 0.0, 0.18, true, Source::assumed};
    case TransportKind::cpu_rdma:
      return {25e-6, 0.0, 0.0, true, Source::assumed};
  }
  return {};
}

/// Software time of one transfer phase on one GPU that sends or receives `tokens` tokens.
inline double transfer_overhead_s(const TransportCost& t, double tokens) {
  return t.fixed_s + t.per_token_s * std::max(0.0, tokens);
}

/// Time of a GPU's busy period in which `compute_s` of compute overlaps `comm_s` of transfers
/// whose transport holds `contention` of the GPU: compute runs at (1 - contention) of its speed
/// while the transfer is in flight, full speed after. 0 = ideal max(); 1 = serial sum.
/// EP's two-batch overlap and AFD's ping-pong both call this.
inline double overlapped_busy_s(double compute_s, double comm_s, double contention) {
  return std::max(comm_s, compute_s + contention * comm_s);
}

}  // namespace ridgeline
