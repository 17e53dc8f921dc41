// SPDX-License-Identifier: Apache-2.0
// Hardware profiles from measured kernel tables: the operator roofline's efficiencies fitted to
// per-kernel timings (GEMM, MLA decode attention, routed MoE experts, DeepEP low-latency
// all-to-all), and held-out checks of the model's per-operator predictions with them.
// Every prediction goes through the model's own functions (op_time, attention_stage_ops,
// ffn_stage_ops, ep_all_to_all, transfer_overhead_s): the fit tunes the model's parameters, never a
// separate formula. Pure: plain sample structs in, numbers out.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ridgeline/calibration_fit.hpp"
#include "ridgeline/comm.hpp"
#include "ridgeline/efficiency.hpp"
#include "ridgeline/hardware.hpp"
#include "ridgeline/model.hpp"
#include "ridgeline/ops.hpp"

namespace ridgeline {

/// One (grouped) GEMM kernel: `groups` x (m x k) . (k x n), measured time.
struct GemmKernelSample {
  double groups = 1, m = 0, n = 0, k = 0;
  double weight_bytes = 1, activation_bytes = 1;  ///< per element
  double time_s = 0;
};

/// One decode MLA attention call: `sequences` sequences of `context_tokens` each, `heads_per_gpu`
/// query heads, one query token per sequence, KV cache elements of `kv_bytes`.
struct MlaDecodeSample {
  double sequences = 0, heads_per_gpu = 0, context_tokens = 0, kv_bytes = 1, time_s = 0;
};

/// Routed experts of one MoE layer on one GPU of an EP group of `ep` GPUs: `tokens` tokens routed
/// top-`top_k` of `experts` experts of hidden x intermediate (gated SwiGLU).
struct MoeSample {
  double tokens = 0;
  int hidden = 0, intermediate = 0, top_k = 0, experts = 0, ep = 1;
  double weight_bytes = 1, time_s = 0;
};

/// One DeepEP low-latency dispatch + combine over `gpus` GPUs, `tokens` tokens per GPU.
struct AllToAllSample {
  double tokens = 0;
  int hidden = 0, top_k = 0, experts = 0, gpus = 0;
  double dispatch_s = 0, combine_s = 0;
};

/// A published achieved rate of the attention kernel: compute-bound FLOP/s or memory-bound bytes/s.
struct AttentionPeakSample {
  bool compute = true;
  double achieved_per_s = 0;
};

struct ProfileSamples {
  std::vector<GemmKernelSample> gemm;
  std::vector<MlaDecodeSample> mla;
  std::vector<MoeSample> moe;
  std::vector<AllToAllSample> all_to_all;
  std::vector<AttentionPeakSample> attention_peaks;
};

// ---- predictions (the model's own operators) ----

inline DType dtype_for_bytes(double bytes) {
  return bytes <= 1.0 ? DType::fp8 : DType::bf16;
}

inline double predict_gemm_s(const GemmKernelSample& s, const Accelerator& hw, const Efficiencies& eff) {
  const double rows = s.groups * s.m;
  const OpCost op{"gemm",
                  OpKind::gemm,
                  dtype_for_bytes(s.weight_bytes),
                  2.0 * rows * s.n * s.k,
                  s.groups * s.n * s.k * s.weight_bytes + rows * s.k * s.activation_bytes + rows * s.n * 2.0,
                  1,
                  0};
  return op_time(op, hw, eff).time_s;
}

/// The attention core of `mla_model` (an MLA model: DeepSeek-V3's shape) with its heads split so
/// that `heads_per_gpu` remain, through attention_stage_ops.
inline double predict_mla_s(const MlaDecodeSample& s, const ModelSpec& mla_model, const Accelerator& hw,
                            const Efficiencies& eff) {
  RIDGELINE_CHECK(mla_model.attention.kind == AttentionKind::mla, "MLA samples need an MLA model");
  Precision p;
  p.kv_cache = dtype_for_bytes(s.kv_bytes);
  p.attention_math = DType::bf16;  // as the kernels run it: FP8 with an FP8 KV on Blackwell
  p = attention_precision(p, hw);
  const int tp = std::max(1, int(std::lround(mla_model.attention.num_heads / s.heads_per_gpu)));
  const OpList ops = attention_stage_ops(mla_model, p, s.sequences, 1, s.context_tokens, tp, true, false);
  for (const auto& op : ops)
    if (op.kind == OpKind::attention) return op_time(op, hw, eff).time_s;
  throw Error("attention_stage_ops returned no attention core");
}

/// Routed experts through ffn_stage_ops on a copy of `base` with the sample's MoE shape.
/// `tokens` tokens are routed over the EP group: this GPU receives tokens x top_k / ep pairs for
/// its experts / ep experts; an expert that receives none is not read.
inline double predict_moe_s(const MoeSample& s, const ModelSpec& base, const Accelerator& hw, const Efficiencies& eff) {
  ModelSpec m = base;
  m.hidden_size = s.hidden;
  m.moe.expert_intermediate_size = s.intermediate;
  m.moe.top_k = s.top_k;
  m.moe.num_experts = s.experts;
  Precision p;
  p.weights = dtype_for_bytes(s.weight_bytes);
  const OpList ops = ffn_stage_ops(m, p, s.tokens * s.top_k / s.ep, double(s.experts) / s.ep, 1, s.tokens, 0);
  return stage_time(ops, hw, eff).time_s;
}

/// Dispatch and combine of DeepEP low-latency: link time (ep_all_to_all, FP8 dispatch, BF16
/// combine) plus the transport's software cost.
inline std::pair<double, double> predict_all_to_all_s(const AllToAllSample& s, const Accelerator& hw,
                                                      const TransportCost& t) {
  const CommTime c =
      ep_all_to_all(hw, s.gpus, s.experts, s.top_k, s.hidden, s.tokens, 1.0, 2.0, DispatchStyle::low_latency, 1.0);
  return {c.dispatch_s + transfer_overhead_s(t, s.tokens), c.combine_s + transfer_overhead_s(t, s.tokens)};
}

// ---- fitting ----

/// Minimises f over a box by coordinate search: each round scans every parameter over a grid
/// around the best point so far and shrinks the window. Deterministic, derivative-free, enough
/// for 2-3 well-conditioned parameters.
inline std::vector<double> minimize_box(const std::function<double(const std::vector<double>&)>& f,
                                        std::vector<double> x, const std::vector<double>& lo,
                                        const std::vector<double>& hi, int rounds = 12, int grid = 24) {
  std::vector<double> width(x.size());
  for (size_t i = 0; i < x.size(); ++i) width[i] = hi[i] - lo[i];
  double best = f(x);
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < x.size(); ++i) {
      const double a = std::max(lo[i], x[i] - width[i] / 2), b = std::min(hi[i], x[i] + width[i] / 2);
      for (int g = 0; g <= grid; ++g) {
        std::vector<double> y = x;
        y[i] = a + (b - a) * g / grid;
        const double v = f(y);
        if (v < best) {
          best = v;
          x = y;
        }
      }
      width[i] *= 0.5;
    }
  }
  return x;
}

/// Sum of squared log errors: relative, symmetric, so 1 us and 1 ms kernels count alike.
inline double log_sq(double pred, double meas) {
  const double l = std::log(std::max(pred, 1e-15) / meas);
  return l * l;
}

/// GEMM: gemm_compute, gemm_memory and kernel_overhead of `base` (gemm_overlap kept) that best
/// reproduce the samples through op_time.
inline Efficiencies fit_gemm_profile(const std::vector<GemmKernelSample>& s, const Accelerator& hw, Efficiencies base) {
  base.hardware_profiles = false;  // the fit's own values price hw, not hw's shipped profile
  if (s.empty()) return base;
  auto cost = [&](const std::vector<double>& x) {
    Efficiencies e = base;
    e.gemm_compute = x[0];
    e.gemm_memory = x[1];
    e.kernel_overhead_s = x[2];
    double c = 0;
    for (const auto& p : s) c += log_sq(predict_gemm_s(p, hw, e), p.time_s);
    return c;
  };
  const auto x = minimize_box(cost, {base.gemm_compute, base.gemm_memory, base.kernel_overhead_s}, {0.02, 0.02, 0.0},
                              {1.0, 1.0, 100e-6});
  base.gemm_compute = x[0];
  base.gemm_memory = x[1];
  base.kernel_overhead_s = x[2];
  return base;
}

/// True when some sample runs a kernel that splits its heads over CTAs (see
/// attention_kernel_shape): only then is attention_kv_reread identifiable.
inline bool mla_samples_split_heads(const std::vector<MlaDecodeSample>& s, const Accelerator& hw) {
  return std::any_of(s.begin(), s.end(), [&](const MlaDecodeSample& p) {
    return attention_kernel_shape(p.heads_per_gpu, true, hw).kv_ctas > 1;
  });
}

/// MLA decode: attention_compute and attention_memory, and attention_kv_reread where the
/// samples identify it (kernel_overhead as `base` has it).
inline Efficiencies fit_mla_profile(const std::vector<MlaDecodeSample>& s, const ModelSpec& m, const Accelerator& hw,
                                    Efficiencies base) {
  base.hardware_profiles = false;  // the fit's own values price hw, not hw's shipped profile
  if (s.empty()) return base;
  const bool reread = mla_samples_split_heads(s, hw);
  auto with = [&](const std::vector<double>& x) {
    Efficiencies e = base;
    e.attention_compute = x[0];
    e.attention_memory = x[1];
    if (reread) e.attention_kv_reread = x[2];
    return e;
  };
  auto cost = [&](const std::vector<double>& x) {
    const Efficiencies e = with(x);
    double c = 0;
    for (const auto& p : s) c += log_sq(predict_mla_s(p, m, hw, e), p.time_s);
    return c;
  };
  std::vector<double> x0{base.attention_compute, base.attention_memory}, lo{0.02, 0.02}, hi{1.0, 1.0};
  if (reread) {
    x0.push_back(base.attention_kv_reread);
    lo.push_back(0.0);
    hi.push_back(1.0);
  }
  return with(minimize_box(cost, x0, lo, hi));
}

/// Published attention rates: efficiency = achieved / peak (median of each bound's figures).
inline Efficiencies fit_attention_peaks(const std::vector<AttentionPeakSample>& s, const Accelerator& hw, DType math,
                                        Efficiencies base) {
  base.hardware_profiles = false;
  std::vector<double> c, m;
  for (const auto& p : s)
    (p.compute ? c : m)
        .push_back(p.compute ? p.achieved_per_s / hw.peak_flops_per_s(math) : p.achieved_per_s / hw.hbm_bytes_per_s);
  if (!c.empty()) base.attention_compute = std::min(1.0, median(c));
  if (!m.empty()) base.attention_memory = std::min(1.0, median(m));
  return base;
}

/// DeepEP low-latency: fixed and per-token cost, a least-squares line (relative residuals) through
/// measured minus modelled link time against tokens, dispatch and combine pooled. A table with one
/// token count fits the fixed cost only.
inline TransportCost fit_all_to_all_profile(const std::vector<AllToAllSample>& s, const Accelerator& hw,
                                            TransportCost base) {
  if (s.size() < 2) return base;
  std::vector<double> x, y;
  TransportCost zero = base;
  zero.fixed_s = zero.per_token_s = 0;
  for (const auto& p : s) {
    const auto link = predict_all_to_all_s(p, hw, zero);
    x.push_back(p.tokens);
    y.push_back(std::max(1e-9, p.dispatch_s - link.first));
    x.push_back(p.tokens);
    y.push_back(std::max(1e-9, p.combine_s - link.second));
  }
  const bool one_size = std::all_of(x.begin(), x.end(), [&](double t) { return t == x.front(); });
  if (one_size) {
    // One token count (DeepEP's own table: 128 per GPU): the slope is not identifiable, so the
    // per-token cost stays as `base` has it and the fixed part is the median remainder.
    for (size_t i = 0; i < y.size(); ++i) y[i] -= base.per_token_s * x[i];
    base.fixed_s = std::max(0.0, median(y));
  } else {
    const LinearFit f = fit_linear(x, y, true);
    base.fixed_s = std::max(0.0, f.intercept);
    base.per_token_s = std::max(0.0, f.slope);
  }
  base.source = Source::calibrated;
  return base;
}

/// The whole profile: GEMM first (its kernel overhead also prices attention), then MLA (or the
/// published attention rates), then the low-latency transport. MoE samples are not fitted: they
/// check the GEMM parameters on the model's expert operators.
inline Efficiencies fit_profile(const ProfileSamples& s, const ModelSpec& mla_model, const Accelerator& hw,
                                Efficiencies base = {}) {
  Efficiencies e = fit_gemm_profile(s.gemm, hw, base);
  e = fit_mla_profile(s.mla, mla_model, hw, e);
  e = fit_attention_peaks(s.attention_peaks, hw, DType::bf16, e);
  e.transports[size_t(TransportKind::deepep_low_latency)] =
      fit_all_to_all_profile(s.all_to_all, hw, e.transport(TransportKind::deepep_low_latency));
  e.source = Source::calibrated;
  return e;
}

// ---- held-out check ----

/// Rows 0, 2, 4, ... (fit half) or 1, 3, 5, ... (held-out half) of each table.
template <class T>
std::vector<T> half_of(const std::vector<T>& v, bool held_out) {
  std::vector<T> out;
  for (size_t i = held_out ? 1 : 0; i < v.size(); i += 2) out.push_back(v[i]);
  return out;
}

inline ProfileSamples half_of(const ProfileSamples& s, bool held_out) {
  // Published rates are single figures: both halves keep them (they are not held out).
  return {half_of(s.gemm, held_out), half_of(s.mla, held_out), half_of(s.moe, held_out),
          half_of(s.all_to_all, held_out), s.attention_peaks};
}

struct OperatorError {
  std::string op;  ///< gemm, mla_decode, moe_experts, deepep_ll
  int samples = 0;
  double median_abs_error = 0;
  double max_abs_error = 0;
  double median_signed_error = 0;  ///< > 0: the model predicts a longer time than measured
};

inline OperatorError summarize_op(const std::string& name, std::vector<double> errs) {
  OperatorError o;
  o.op = name;
  o.samples = int(errs.size());
  if (errs.empty()) return o;
  std::vector<double> a;
  for (double e : errs) a.push_back(std::abs(e));
  o.median_abs_error = median(a);
  o.max_abs_error = *std::max_element(a.begin(), a.end());
  o.median_signed_error = median(errs);
  return o;
}

/// Relative errors (predicted / measured - 1) of every operator's samples in `s` under `eff`'s
/// own fractions (hw's shipped profile, which such a check produces, is not applied).
inline std::vector<OperatorError> operator_errors(const ProfileSamples& s, const ModelSpec& mla_model,
                                                  const Accelerator& hw, const Efficiencies& eff_in) {
  Efficiencies eff = eff_in;
  eff.hardware_profiles = false;
  std::vector<OperatorError> out;
  std::vector<double> e;
  for (const auto& p : s.gemm) e.push_back(predict_gemm_s(p, hw, eff) / p.time_s - 1);
  if (!s.gemm.empty()) out.push_back(summarize_op("gemm", e));
  e.clear();
  for (const auto& p : s.mla) e.push_back(predict_mla_s(p, mla_model, hw, eff) / p.time_s - 1);
  if (!s.mla.empty()) out.push_back(summarize_op("mla_decode", e));
  e.clear();
  for (const auto& p : s.moe) e.push_back(predict_moe_s(p, mla_model, hw, eff) / p.time_s - 1);
  if (!s.moe.empty()) out.push_back(summarize_op("moe_experts", e));
  e.clear();
  for (const auto& p : s.all_to_all) {
    const auto t = predict_all_to_all_s(p, hw, eff.transport(TransportKind::deepep_low_latency));
    e.push_back(t.first / p.dispatch_s - 1);
    e.push_back(t.second / p.combine_s - 1);
  }
  if (!s.all_to_all.empty()) out.push_back(summarize_op("deepep_ll", e));
  return out;
}

/// Fit on the even rows of every table, report the errors on the odd rows.
inline std::vector<OperatorError> held_out_errors(const ProfileSamples& s, const ModelSpec& mla_model,
                                                  const Accelerator& hw, const Efficiencies& base = {}) {
  const Efficiencies fitted = fit_profile(half_of(s, false), mla_model, hw, base);
  return operator_errors(half_of(s, true), mla_model, hw, fitted);
}

}  // namespace ridgeline
