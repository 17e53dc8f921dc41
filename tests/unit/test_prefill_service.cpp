// SPDX-License-Identifier: Apache-2.0
// Prefill operator costs (causal FLOPs, non-absorbed MLA), prefill evaluation, queueing and the
// service split (prefill.hpp, service.hpp).
#include <catch2/catch.hpp>

#include "ridgeline/io/database.hpp"
#include "ridgeline/prefill.hpp"
#include "ridgeline/service.hpp"

using namespace ridgeline;

namespace {

const io::Database& db() {
  static const io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

double op_flops(const OpList& ops, const char* name) {
  for (const auto& op : ops)
    if (std::string_view(op.name) == name) return op.flops;
  return -1;
}

}  // namespace

TEST_CASE("causal pairs: half the square plus the diagonal, prefix adds c x P, window caps", "[prefill]") {
  CHECK(causal_pairs(4096, 0) == Approx(4096.0 * 4097 / 2));
  CHECK(causal_pairs(4096, 0) / (4096.0 * 4096) == Approx(0.5).epsilon(1e-3));
  CHECK(causal_pairs(1024, 3072) == Approx(1024.0 * 3072 + 1024.0 * 1025 / 2));
  // Chunks add up to the whole prompt.
  CHECK(causal_pairs(2048, 0) + causal_pairs(2048, 2048) == Approx(causal_pairs(4096, 0)));
  // Sliding window: never more than window keys per query.
  CHECK(causal_pairs(4096, 0, 128) <= 4096.0 * 128);
  CHECK(causal_pairs(4096, 0, 128) == Approx(128.0 * 129 / 2 + (4096 - 128) * 128.0));
  CHECK(causal_pairs(100, 0, 1000) == Approx(causal_pairs(100, 0)));
}

TEST_CASE("MLA prefill core: non-absorbed, 192-dim q.k and 128-dim v per head", "[prefill]") {
  const ModelSpec& m = db().model("deepseek-v3");
  const Precision p;
  const double L = 4096;
  const OpList ops = prefill_attention_ops(m, p, 1, L, 0, 1, true);
  const double pairs = L * (L + 1) / 2;
  CHECK(op_flops(ops, "attn_core") == Approx(2.0 * pairs * 128 * (128 + 64 + 128)));
  // kv_b decompresses every attended token: 512 -> 128 heads x (128 nope + 128 v).
  CHECK(op_flops(ops, "kv_decompress") == Approx(2.0 * L * 512.0 * 128 * 256));
  // The rest of the projections run on the new tokens only; the total equals the layer's params.
  CHECK(op_flops(ops, "attn_proj") + op_flops(ops, "kv_decompress") ==
        Approx(2.0 * L * m.attention_params_per_layer()));
  // A chunk after a prefix decompresses prefix + chunk tokens.
  const OpList chunk = prefill_attention_ops(m, p, 1, 1024, 3072, 1, true);
  CHECK(op_flops(chunk, "kv_decompress") == Approx(2.0 * 4096 * 512.0 * 128 * 256));
  // TP splits the heads.
  const OpList tp8 = prefill_attention_ops(m, p, 1, L, 0, 8, true);
  CHECK(op_flops(tp8, "attn_core") == Approx(op_flops(ops, "attn_core") / 8));
}

TEST_CASE("GQA prefill core: 4 x pairs x heads x head_dim", "[prefill]") {
  const ModelSpec& m = db().model("qwen3-235b-a22b");
  const Precision p;
  const OpList ops = prefill_attention_ops(m, p, 2, 1000, 0, 1, true);
  CHECK(op_flops(ops, "attn_core") ==
        Approx(4.0 * 2 * causal_pairs(1000, 0) * m.attention.num_heads * m.attention.head_dim));
  CHECK(op_flops(ops, "kv_decompress") == -1);
}

TEST_CASE("prefill evaluation: DeepSeek-V3 EP32 on H800, chunking, TBO, memory", "[prefill]") {
  const ModelSpec& m = db().model("deepseek-v3");
  const Accelerator& h800 = db().hardware("h800");
  const Precision p;
  Workload w;
  PrefillDeployment d;
  d.hw = &h800;
  d.gpus = 32;
  d.micro_batches = 2;
  d.chunk_tokens = 16384;
  const PrefillEvaluation e = evaluate_prefill(m, p, w, d, 4096);
  REQUIRE(e.feasible);
  CHECK(e.passes_per_request == 1);
  CHECK(e.requests_per_pass == 4);
  CHECK(e.request_slots == 4 * 32);
  CHECK(e.transport == TransportKind::deepep_normal);
  CHECK(e.tokens_per_s_per_gpu > 1000);
  CHECK(e.tokens_per_s_per_gpu < 20000);
  CHECK(e.hfu > 0.1);
  CHECK(e.hfu < 1.0);
  CHECK(e.last_pass.lm_head_s > 0);
  // Chunked: an 8K prompt in 2K chunks takes 4 passes; later chunks attend to more keys.
  PrefillDeployment dc = d;
  dc.chunk_tokens = 2048;
  const PrefillEvaluation ec = evaluate_prefill(m, p, w, dc, 8192);
  REQUIRE(ec.feasible);
  CHECK(ec.passes_per_request == 4);
  CHECK(ec.last_pass.prefix_tokens == 6144);
  CHECK(ec.latency_s > ec.mean_pass_s * 3.9);
  // Longer prompts cost more per token (quadratic attention).
  const PrefillEvaluation e16 = evaluate_prefill(m, p, w, d, 16384);
  CHECK(e16.tokens_per_s_per_gpu < e.tokens_per_s_per_gpu);
  // Two-batch overlap is never slower than no overlap here.
  PrefillDeployment d1 = d;
  d1.micro_batches = 1;
  CHECK(evaluate_prefill(m, p, w, d1, 4096).latency_s >= e.latency_s);
  // TP8 on an H800 node cannot hold DeepSeek-V3's FP8 weights; on H200 it can.
  PrefillDeployment tp = d;
  tp.parallel = PrefillParallel::tp;
  tp.gpus = 8;
  tp.micro_batches = 1;
  CHECK(evaluate_prefill(m, p, w, tp, 4096).reason == Infeasible::weights_exceed_hbm);
  tp.hw = &db().hardware("h200");
  const PrefillEvaluation et = evaluate_prefill(m, p, w, tp, 4096);
  REQUIRE(et.feasible);
  CHECK(et.last_pass.all_reduce_s > 0);
  CHECK(et.request_slots == 4);
  // TP beyond the scale-up domain is refused.
  tp.gpus = 16;
  CHECK(evaluate_prefill(m, p, w, tp, 4096).reason == Infeasible::bad_shape);
}

TEST_CASE("prefill two-batch overlap: the transport's SMs are partitioned off for the whole layer", "[prefill]") {
  // Contention 0: the ideal max() pairing of the four stage pairs.
  CHECK(prefill_overlap_slot_s(6, 5, 3, 6.5, 0) == Approx(0.5 * (6.5 + 6 + 5 + 6.5)));
  // Compute-bound pairings run at (1 - contention) of full speed; comm-bound ones are unchanged.
  CHECK(prefill_overlap_slot_s(6, 5, 1, 1, 0.25) == Approx((6 + 5) / 0.75));
  CHECK(prefill_overlap_slot_s(1, 1, 10, 20, 0.25) == Approx(0.5 * (20 + 10 + 10 + 20)));
  // Never faster than the same pairs with compute slowed only while a transfer flies.
  for (double k : {0.0, 0.1, 0.18, 0.5}) {
    const double a = 6.1, f = 5.1, d = 3.2, c = 6.4;
    const double in_flight_only = 0.5 * (overlapped_busy_s(a, c, k) + overlapped_busy_s(a, d, k) +
                                         overlapped_busy_s(f, d, k) + overlapped_busy_s(f, c, k));
    CHECK(prefill_overlap_slot_s(a, f, d, c, k) >= in_flight_only - 1e-12);
  }
}

TEST_CASE("prefill TBO gain on H100 EP32 stays near SGLang's measured ablation", "[prefill]") {
  // Held-out check of the overlap model (not a validation point): SGLang's TBO ablation
  // (lmsys.org 2025-05-05 large-scale-ep, "Ablation Study: Two-batch Overlap") measures
  // +27-35 % prefill throughput from TBO at the same tokens per device (8K) and +40.5 % for TBO
  // at 16K against the best no-TBO setup (8K). Before the SM partition the model gave 1.55 / 1.58.
  const ModelSpec& m = db().model("deepseek-v3");
  const Precision p;
  Workload w;
  w.expert_load_imbalance = 1.0;
  PrefillDeployment d;
  d.hw = &db().hardware("h100-sxm");
  d.gpus = 32;
  d.redundant_experts = 32;
  auto rate = [&](int mb, double chunk) {
    PrefillDeployment x = d;
    x.micro_batches = mb;
    x.chunk_tokens = chunk;
    return evaluate_prefill(m, p, w, x, 4096).tokens_per_s_per_gpu;
  };
  const double vanilla8k = rate(1, 8192);
  const double tbo8k = rate(2, 8192) / vanilla8k, tbo16k = rate(2, 16384) / vanilla8k;
  CHECK(tbo8k > 1.27);
  CHECK(tbo8k < 1.50);  // measured 1.27-1.35: the model still overlaps too well (docs/service.md)
  CHECK(tbo16k > 1.35);
  CHECK(tbo16k < 1.53);  // measured 1.405
}

TEST_CASE("queueing: Erlang C and the M/D/c wait", "[service]") {
  // One server: Erlang C = rho; M/M/1 wait = rho / (mu - lambda); M/D/1 (exact) is half of it.
  CHECK(erlang_c(1, 0.5) == Approx(0.5));
  CHECK(mdc_mean_wait_s(0.5, 1.0, 1) == Approx(0.5 * 0.5 / (1 - 0.5)));
  // Two servers, a = 1: C = 1/3 (textbook).
  CHECK(erlang_c(2, 1.0) == Approx(1.0 / 3));
  CHECK(std::isinf(mdc_mean_wait_s(2.0, 1.0, 2)));
  // The wait grows with the rate.
  double last = 0;
  for (double rate : {10.0, 50.0, 90.0, 99.0}) {
    const double wq = mdc_mean_wait_s(rate, 1.0, 100);
    CHECK(wq >= last);
    last = wq;
  }
  const double r = max_rate_for_latency(1.0, 100, 0.1, 1.5);
  CHECK(1.0 + mdc_mean_wait_s(r, 1.0, 100) + 0.1 == Approx(1.5).epsilon(1e-6));
  CHECK(max_rate_for_latency(1.0, 100, 0.6, 1.5) == 0);
}

TEST_CASE("KV transfer: MLA latent bytes over the slower NIC", "[service]") {
  const ModelSpec& m = db().model("deepseek-v3");
  const Precision p;
  PrefillDeployment d;
  d.hw = &db().hardware("h800");
  d.gpus = 32;
  const KvTransfer k = kv_transfer(m, p, 4096, d, db().hardware("h800"), Efficiencies{});
  CHECK(k.bytes_per_request == Approx(61.0 * 4096 * 576 * 2));
  CHECK(k.seconds > k.bytes_per_request / 50e9);
  CHECK(k.seconds < 0.02);
}

namespace {

ServiceResult small_service(double rate, int gpus, double ttft_s = 2.0, double tpot_s = 0.05) {
  const ModelSpec& m = db().model("deepseek-v3");
  ServiceSpace s;
  s.prefill_hardware = {&db().hardware("h800")};
  s.decode.ep_hardware = {&db().hardware("h800")};
  s.decode.attention_hardware = s.decode.ffn_hardware = s.decode.ep_hardware;
  s.decode.search_afd = false;  // keeps the unit test fast; the CLI test searches both
  s.chunk_tokens = {4096, 16384};
  s.rate_per_s = rate;
  s.total_gpus = gpus;
  s.max_gpus = 256;
  ServiceWorkload sw;
  sw.input_tokens = 4096;
  sw.output_tokens = 1024;
  sw.ttft_slo_s = ttft_s;
  sw.tpot_slo_s = tpot_s;
  return plan_service(m, Precision{}, Workload{}, sw, s);
}

}  // namespace

TEST_CASE("service split: more rate needs more GPUs, TTFT includes queueing", "[service]") {
  int last_gpus = 0;
  for (double rate : {2.0, 8.0, 20.0}) {
    const ServiceResult r = small_service(rate, 0);
    REQUIRE(r.best);
    const ServicePlan& sp = *r.best;
    CHECK(sp.rate_per_s == rate);
    CHECK(sp.total_gpus >= last_gpus);
    last_gpus = sp.total_gpus;
    CHECK(sp.ttft_s <= 2.0 + 1e-9);
    CHECK(sp.ttft_s == Approx(sp.queue_wait_s + sp.prefill_s + sp.kv.seconds));
    CHECK(sp.prefill_utilization < 1);
    CHECK(sp.decode_utilization <= 1 + 1e-9);
    CHECK(sp.tpot_s <= 0.05);
  }
  // Same pools, higher rate: the queueing wait and TTFT grow.
  const ServiceResult r = small_service(8.0, 0);
  REQUIRE(r.best);
  ServicePlan hi = *r.best, lo = *r.best;
  finish_service_plan(lo, ServiceWorkload{}, 0.5 * r.best->rate_per_s, Objective::tokens_per_gpu, 0, nullptr);
  CHECK(lo.queue_wait_s < hi.queue_wait_s);
  CHECK(lo.ttft_s < hi.ttft_s);
}

TEST_CASE("service split on a fixed GPU count: both pools, rate monotone in GPUs, co-located baseline", "[service]") {
  const ServiceResult r64 = small_service(0, 64);
  const ServiceResult r128 = small_service(0, 128);
  REQUIRE(r64.best);
  REQUIRE(r128.best);
  CHECK(r128.best->total_gpus == 128);
  CHECK(r128.best->prefill_gpus > 0);
  CHECK(r128.best->decode_gpus > 0);
  CHECK(r128.best->rate_per_s >= r64.best->rate_per_s);
  CHECK(r128.best->ttft_s <= 2.0 + 1e-9);
  // Co-located at 50 ms: every step carries prompt pieces on the busiest DP rank, whose NIC
  // dispatches them; pieces small enough for 50 ms make a 4K prompt's prefill too slow for a 2 s
  // TTFT. The result says which limit bound.
  if (!r128.colocated) CHECK((r128.colocated_miss.min_tpot_s > 0.05 || r128.colocated_miss.min_prefill_s > 2.0));
  // At 100 ms there is a baseline, and it pays its interference.
  const ServiceResult loose = small_service(0, 128, 2.0, 0.1);
  REQUIRE(loose.colocated);
  CHECK(loose.colocated->total_gpus <= 128);
  CHECK(loose.colocated->interference > 0);
  CHECK(loose.colocated->interference < 1);
  CHECK(loose.colocated->tpot_s <= 0.1);
  CHECK(loose.colocated->ttft_s <= 2.0 + 1e-9);
  CHECK(loose.colocated->chunk_tokens >= 64);
  CHECK(loose.colocated->chunk_tokens <= 4096);
  // A tighter TTFT never serves more.
  const ServiceResult tight = small_service(0, 128, 0.8);
  if (tight.best) CHECK(tight.best->rate_per_s <= r128.best->rate_per_s * (1 + 1e-9));
}
