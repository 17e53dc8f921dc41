// SPDX-License-Identifier: Apache-2.0
// Deployment (a plan): EP or AFD, which hardware on each side, TP sizes, instance counts,
// micro-batches and batch. Accelerators are referenced, not owned, so the search can build
// millions of plans without copying strings.
#pragma once
#include <optional>

#include "ridgeline/comm.hpp"
#include "ridgeline/hardware.hpp"
#include "ridgeline/transport.hpp"

namespace ridgeline {

enum class Strategy { ep, afd };

inline const char* strategy_name(Strategy s) {
  return s == Strategy::ep ? "ep" : "afd";
}

struct Side {
  const Accelerator* hw = nullptr;
  int gpus = 0;  ///< GPUs on this side (EP: all GPUs, shared by both sides)
  /// attention: TP per DP attention instance; FFN: expert-TP (each expert split tp ways).
  /// EP uses both on the same GPUs: attention.tp = t runs gpus / t DP attention instances of t
  /// GPUs each (SGLang --enable-dp-attention with --tp-size / --dp-size = t); ffn.tp = e splits
  /// each expert e ways over gpus / e EP ranks. attention.tp = ffn.tp = gpus is a pure-TP worker.
  int tp = 1;
};

struct Deployment {
  Strategy strategy = Strategy::ep;
  int micro_batches = 1;  ///< EP: 1 (NBO) or 2 (TBO); AFD: >= 3 for a bubble-free ping-pong
  Side attention;         ///< EP: attention = ffn = all GPUs (DP attention, EP experts)
  Side ffn;
  /// EP: sequences per GPU (all micro-batches). AFD: derived from global_batch.
  double batch_per_gpu = 0;
  /// AFD: sequences in flight over all attention instances (all micro-batches).
  double global_batch = 0;
  DispatchStyle dispatch_style = DispatchStyle::low_latency;
  /// AFD: shared experts on the FFN side (default: attention side, as the paper assumes).
  bool shared_experts_on_ffn = false;
  /// EPLB: extra expert replicas over the whole EP group (they cost memory, cut imbalance).
  int redundant_experts = 0;
  /// EP low-latency all-to-all sends intra-node copies over RDMA too: DeepEP's low-latency
  /// kernels before June 2025 ("pure RDMA"; its README's February table), used by DeepSeek's
  /// production and profile runs and SGLang's May 2025 deployment. Later versions use NVLink.
  bool all_to_all_pure_rdma = false;
  /// How dispatch/combine (EP) or A->F/F->A (AFD) travel. Unset: what each strategy's reference
  /// systems run (default_transport): DeepEP low-latency kernels for EP decode (DeepSeek,
  /// SGLang), CPU-driven RDMA for AFD (MegaScale-Infer's M2N, StepMesh). EP with
  /// dispatch_style normal always uses deepep_normal.
  std::optional<TransportKind> transport;

  int total_gpus() const { return strategy == Strategy::ep ? attention.gpus : attention.gpus + ffn.gpus; }
  TransportKind resolved_transport() const {
    if (strategy == Strategy::ep && dispatch_style == DispatchStyle::normal) return TransportKind::deepep_normal;
    if (transport) return *transport;
    return strategy == Strategy::ep ? TransportKind::deepep_low_latency : TransportKind::cpu_rdma;
  }
  /// Sequences in flight over the whole deployment.
  double sequences() const { return strategy == Strategy::ep ? batch_per_gpu * attention.gpus : global_batch; }
};

}  // namespace ridgeline
