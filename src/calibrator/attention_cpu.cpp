// SPDX-License-Identifier: Apache-2.0
// Decode attention on the CPU: deterministic inputs, a double-precision reference, the checker,
// and a split-KV (flash-decoding) kernel in plain C++ with optional threads.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "kernel_backend.hpp"
#include "ridgeline/error.hpp"

namespace ridgeline::calib {

namespace {

bool is_mla(const AttentionShape& s) {
  return s.kind == AttentionKernelKind::mla;
}
int qk_dim(const AttentionShape& s) {
  return is_mla(s) ? s.latent_dim + s.rope_dim : s.head_dim;
}
int v_dim(const AttentionShape& s) {
  return is_mla(s) ? s.latent_dim : s.head_dim;
}
// Query heads per KV unit: all heads share MLA's latent; GQA groups Hq / Hkv heads per KV head.
int group(const AttentionShape& s) {
  return is_mla(s) ? s.q_heads : s.q_heads / s.kv_heads;
}
int kv_units(const AttentionShape& s) {
  return is_mla(s) ? 1 : s.kv_heads;
}

void validate(const AttentionShape& s) {
  RIDGELINE_CHECK(s.batch > 0 && s.context_tokens > 0 && s.q_heads > 0, "attention shape: empty dimension");
  if (is_mla(s)) {
    RIDGELINE_CHECK(s.latent_dim > 0 && s.rope_dim >= 0, "MLA shape: latent_dim must be positive");
  } else {
    RIDGELINE_CHECK(s.kv_heads > 0 && s.head_dim > 0 && s.q_heads % s.kv_heads == 0,
                    "GQA shape: q_heads must be a multiple of kv_heads");
  }
}

// Pointers to the K rows and V rows of (sequence b, KV unit u), and their row strides.
struct KvView {
  const float* k;
  const float* v;
  size_t stride;
};
KvView kv_view(const AttentionShape& s, const AttentionInputs& in, int b, int u) {
  const size_t L = size_t(s.context_tokens);
  if (is_mla(s)) {
    const float* base = in.k.data() + size_t(b) * L * size_t(qk_dim(s));
    return {base, base, size_t(qk_dim(s))};
  }
  const size_t off = (size_t(b) * s.kv_heads + size_t(u)) * L * size_t(s.head_dim);
  return {in.k.data() + off, in.v.data() + off, size_t(s.head_dim)};
}

// One split of one KV unit: tokens [t0, t1) against G query heads. qT is [Dqk][G] (scaled),
// m/l/acc hold the running max, sum and un-normalised output ([G][Dv]) of the online softmax.
void attend_split(const float* qT, int G, const KvView& kv, int Dqk, int Dv, int t0, int t1, float* m, float* l,
                  float* acc) {
  constexpr int TB = 16;  // tokens per block: the V block stays in L1 while each head's row accumulates
  std::vector<float> sc(size_t(TB) * G);
  for (int h = 0; h < G; ++h) {
    m[h] = -std::numeric_limits<float>::infinity();
    l[h] = 0;
  }
  std::fill(acc, acc + size_t(G) * Dv, 0.0f);
  for (int tb = t0; tb < t1; tb += TB) {
    const int nt = std::min(TB, t1 - tb);
    std::fill(sc.begin(), sc.end(), 0.0f);
    // Scores: sc[t][h] = sum_d k[t][d] qT[d][h]; the innermost loop over heads vectorises.
    for (int d = 0; d < Dqk; ++d) {
      const float* qd = qT + size_t(d) * G;
      for (int t = 0; t < nt; ++t) {
        const float kd = kv.k[size_t(tb + t) * kv.stride + d];
        float* st = sc.data() + size_t(t) * G;
        for (int h = 0; h < G; ++h) st[h] += kd * qd[h];
      }
    }
    for (int h = 0; h < G; ++h) {
      float mx = m[h];
      for (int t = 0; t < nt; ++t) mx = std::max(mx, sc[size_t(t) * G + h]);
      const float alpha = std::exp(m[h] - mx);  // exp(-inf) = 0 on the first block
      float sum = 0;
      for (int t = 0; t < nt; ++t) {
        float& p = sc[size_t(t) * G + h];
        p = std::exp(p - mx);
        sum += p;
      }
      m[h] = mx;
      l[h] = l[h] * alpha + sum;
      float* a = acc + size_t(h) * Dv;
      if (alpha != 1.0f)
        for (int d = 0; d < Dv; ++d) a[d] *= alpha;
      for (int t = 0; t < nt; ++t) {
        const float p = sc[size_t(t) * G + h];
        const float* vt = kv.v + size_t(tb + t) * kv.stride;
        for (int d = 0; d < Dv; ++d) a[d] += p * vt[d];
      }
    }
  }
}

}  // namespace

size_t attention_output_elements(const AttentionShape& s) {
  return size_t(s.batch) * size_t(s.q_heads) * size_t(v_dim(s));
}

double attention_softmax_scale(const AttentionShape& s) {
  return 1.0 / std::sqrt(double(qk_dim(s)));
}

float round_to_bf16(float x) {
  if (!std::isfinite(x)) return x;
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u += 0x7FFFu + ((u >> 16) & 1u);  // round to nearest even
  u &= 0xFFFF0000u;
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}

AttentionInputs make_attention_inputs(const AttentionShape& s, uint32_t seed, bool bf16) {
  validate(s);
  uint64_t state = 0x9E3779B97F4A7C15ull ^ seed;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const float u = float((state >> 40) & 0xFFFFFF) / float(1 << 24);  // [0, 1)
    const float x = 2.0f * u - 1.0f;
    return bf16 ? round_to_bf16(x) : x;
  };
  AttentionInputs in;
  const size_t B = size_t(s.batch), L = size_t(s.context_tokens);
  in.q.resize(B * size_t(s.q_heads) * size_t(qk_dim(s)));
  for (auto& x : in.q) x = next();
  if (is_mla(s)) {
    in.k.resize(B * L * size_t(qk_dim(s)));
  } else {
    in.k.resize(B * size_t(s.kv_heads) * L * size_t(s.head_dim));
    in.v.resize(in.k.size());
    for (auto& x : in.v) x = next();
  }
  for (auto& x : in.k) x = next();
  return in;
}

std::vector<double> attention_reference(const AttentionShape& s, const AttentionInputs& in) {
  validate(s);
  const int Dqk = qk_dim(s), Dv = v_dim(s), G = group(s), L = s.context_tokens;
  const double scale = attention_softmax_scale(s);
  std::vector<double> out(attention_output_elements(s));
  std::vector<double> p(static_cast<size_t>(L));
  for (int b = 0; b < s.batch; ++b)
    for (int h = 0; h < s.q_heads; ++h) {
      const KvView kv = kv_view(s, in, b, h / G);
      const float* q = in.q.data() + (size_t(b) * s.q_heads + size_t(h)) * size_t(Dqk);
      double mx = -std::numeric_limits<double>::infinity();
      for (int t = 0; t < L; ++t) {
        double dot = 0;
        for (int d = 0; d < Dqk; ++d) dot += double(q[d]) * kv.k[size_t(t) * kv.stride + d];
        p[size_t(t)] = dot * scale;
        mx = std::max(mx, p[size_t(t)]);
      }
      double sum = 0;
      for (auto& x : p) sum += (x = std::exp(x - mx));
      double* o = out.data() + (size_t(b) * s.q_heads + size_t(h)) * size_t(Dv);
      for (int t = 0; t < L; ++t)
        for (int d = 0; d < Dv; ++d) o[d] += p[size_t(t)] * kv.v[size_t(t) * kv.stride + d];
      for (int d = 0; d < Dv; ++d) o[d] /= sum;
    }
  return out;
}

void attention_cpu(const AttentionShape& s, const AttentionInputs& in, float* out, int splits, int threads) {
  validate(s);
  const int Dqk = qk_dim(s), Dv = v_dim(s), G = group(s), U = kv_units(s), L = s.context_tokens;
  threads = std::max(1, threads);
  const int units = s.batch * U;
  if (splits <= 0) splits = std::max(1, (2 * threads + units - 1) / units);
  splits = std::clamp(splits, 1, std::max(1, L / 16));
  const int chunk = (L + splits - 1) / splits;
  splits = (L + chunk - 1) / chunk;
  const float scale = float(attention_softmax_scale(s));
  // Per work item (unit, split): transposed scaled query, then running max, sum and output.
  const size_t items = size_t(units) * size_t(splits);
  std::vector<float> m(items * G), l(items * G), acc(items * size_t(G) * Dv);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    std::vector<float> qT(size_t(Dqk) * G);
    for (size_t it = next++; it < items; it = next++) {
      const int unit = int(it / size_t(splits)), sp = int(it % size_t(splits));
      const int b = unit / U, u = unit % U;
      const float* q = in.q.data() + (size_t(b) * s.q_heads + size_t(u) * G) * size_t(Dqk);
      for (int h = 0; h < G; ++h)
        for (int d = 0; d < Dqk; ++d) qT[size_t(d) * G + h] = q[size_t(h) * Dqk + d] * scale;
      const int t0 = sp * chunk, t1 = std::min(L, t0 + chunk);
      attend_split(qT.data(), G, kv_view(s, in, b, u), Dqk, Dv, t0, t1, m.data() + it * G, l.data() + it * G,
                   acc.data() + it * size_t(G) * Dv);
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  // Combine the splits: out = sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M).
  for (int unit = 0; unit < units; ++unit)
    for (int h = 0; h < G; ++h) {
      float M = -std::numeric_limits<float>::infinity();
      for (int sp = 0; sp < splits; ++sp) M = std::max(M, m[(size_t(unit) * splits + sp) * G + h]);
      float* o = out + (size_t(unit) * G + size_t(h)) * size_t(Dv);
      std::fill(o, o + Dv, 0.0f);
      float denom = 0;
      for (int sp = 0; sp < splits; ++sp) {
        const size_t it = size_t(unit) * splits + sp;
        const float w = std::exp(m[it * G + h] - M);
        denom += l[it * G + h] * w;
        const float* a = acc.data() + (it * G + size_t(h)) * Dv;
        for (int d = 0; d < Dv; ++d) o[d] += w * a[d];
      }
      for (int d = 0; d < Dv; ++d) o[d] /= denom;
    }
}

CheckResult check_against_reference(const std::vector<float>& got, const std::vector<double>& ref, double bound) {
  CheckResult r;
  if (got.size() != ref.size() || ref.empty()) {
    r.max_relative_error = std::numeric_limits<double>::infinity();
    return r;
  }
  double scale = 0;
  for (double x : ref) scale = std::max(scale, std::abs(x));
  scale = std::max(scale, 1e-30);
  bool finite = true;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) {
      finite = false;
      r.max_relative_error = std::numeric_limits<double>::infinity();
      r.worst_index = i;
      break;
    }
    const double e = std::abs(double(got[i]) - ref[i]) / scale;
    if (e > r.max_relative_error) {
      r.max_relative_error = e;
      r.worst_index = i;
    }
  }
  r.ok = finite && r.max_relative_error <= bound;
  return r;
}

}  // namespace ridgeline::calib
