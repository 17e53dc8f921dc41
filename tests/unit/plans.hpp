// SPDX-License-Identifier: Apache-2.0
// Small deployment builders the unit tests share.
#pragma once
#include "ridgeline/deployment.hpp"

namespace ridgeline::test {

/// EP on `gpus` GPUs of `hw` (attention TP 1), `batch_per_gpu` sequences each.
inline Deployment ep_plan(const Accelerator& hw, int gpus, double batch_per_gpu, int micro_batches = 1) {
  Deployment d;
  d.strategy = Strategy::ep;
  d.micro_batches = micro_batches;
  d.attention = {&hw, gpus, 1};
  d.ffn = d.attention;
  d.batch_per_gpu = batch_per_gpu;
  return d;
}

/// AFD with `attention_gpus` (TP 1) and `ffn_gpus` (expert TP 1) of `hw`, `global_batch` sequences.
inline Deployment afd_plan(const Accelerator& hw, int attention_gpus, int ffn_gpus, double global_batch,
                           int micro_batches) {
  Deployment d;
  d.strategy = Strategy::afd;
  d.micro_batches = micro_batches;
  d.attention = {&hw, attention_gpus, 1};
  d.ffn = {&hw, ffn_gpus, 1};
  d.global_batch = global_batch;
  return d;
}

}  // namespace ridgeline::test
