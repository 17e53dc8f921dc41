// SPDX-License-Identifier: Apache-2.0
#include <Eigen/Dense>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "backend.hpp"

namespace ridgeline::calib {

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
sweep::TimeStats timed(int warmup, int reps, F&& body) {
  for (int w = 0; w < warmup; ++w) body();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = Clock::now();
    body();
    t.push_back(std::chrono::duration<double>(Clock::now() - a).count());
  }
  return sweep::time_stats(t);
}

template <class F>
double median_time_s(int reps, F&& body) {
  return timed(1, reps, body).median_s;
}

// Keeps results observable so the optimiser cannot drop the timed work.
volatile float g_sink = 0;

GemmSample grouped_gemm(const Options& o, int tokens, int reps) {
  std::vector<Eigen::MatrixXf> w(o.experts, Eigen::MatrixXf::Random(o.hidden, o.intermediate));
  Eigen::MatrixXf x = Eigen::MatrixXf::Random(tokens, o.hidden);
  Eigen::MatrixXf y(tokens, o.intermediate);
  // Verify before timing: one output element against a plain dot product.
  y.noalias() = x * w[0];
  double ref = 0;
  for (int k = 0; k < o.hidden; ++k) ref += double(x(0, k)) * w[0](k, 0);
  if (std::abs(ref - y(0, 0)) > 1e-3 * (1 + std::abs(ref)))
    throw Error("CPU grouped GEMM produced a wrong result; refusing to time it");
  GemmSample s;
  s.tokens_per_expert = tokens;
  s.experts = o.experts;
  s.hidden = o.hidden;
  s.intermediate = o.intermediate;
  s.weight_bytes_per_elem = sizeof(float);
  s.time_s = median_time_s(reps, [&] {
    for (int e = 0; e < o.experts; ++e) {
      y.noalias() = x * w[e];
      g_sink = g_sink + y(0, 0);
    }
  });
  return s;
}

StreamSample stream_read(size_t bytes, int warmup, int reps, sweep::TimeStats& st) {
  std::vector<float> buf(bytes / sizeof(float), 1.0f);
  StreamSample s;
  s.bytes = double(buf.size() * sizeof(float));
  float expect = float(buf.size());
  float got = 0;
  // Eight independent partial sums: one running sum would be bound by add latency, not memory.
  st = timed(warmup, reps, [&] {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const size_t n8 = buf.size() / 8 * 8;
    for (size_t i = 0; i < n8; i += 8)
      for (int k = 0; k < 8; ++k) acc[k] += buf[i + k];
    got = 0;
    for (float a : acc) got += a;
    for (size_t i = n8; i < buf.size(); ++i) got += buf[i];
  });
  s.time_s = st.median_s;
  if (got <= 0 || std::abs(got - expect) > 0.01f * expect) throw Error("CPU stream read produced a wrong sum");
  g_sink = g_sink + got;
  return s;
}

// Fills the source with the sweep payload, runs one hand-off and checks what arrived.
template <class F>
void fill_payload_and_check_once(std::vector<char>& src, std::vector<char>& dst, size_t bytes, F&& one) {
  sweep::fill_payload(reinterpret_cast<std::uint8_t*>(src.data()), bytes, 0, 1, 7);
  std::fill(dst.begin(), dst.end(), 0);
  one();
  const sweep::PayloadCheck c = sweep::check_payload(reinterpret_cast<const std::uint8_t*>(dst.data()), bytes, 0, 1, 7);
  if (!c.ok)
    throw Error("shared-memory link delivered wrong data at byte " + std::to_string(c.first_bad_byte) +
                "; refusing to time it");
}

// One message from a producer thread to a consumer thread: copy into a shared buffer, release a
// flag, the consumer acquires it and copies out. The time of one hand-off is the link sample.
LinkSample shared_memory_link(size_t bytes, int warmup, int reps, sweep::TimeStats& st) {
  std::vector<char> src(bytes, 1), mid(bytes), dst(bytes);
  std::atomic<int> turn{0};
  std::atomic<bool> stop{false};
  std::thread consumer([&] {
    int seen = 0;
    while (!stop.load(std::memory_order_acquire)) {
      const int t = turn.load(std::memory_order_acquire);
      if (t != seen && t % 2 == 1) {
        std::memcpy(dst.data(), mid.data(), bytes);
        seen = t + 1;
        turn.store(seen, std::memory_order_release);
      } else {
        std::this_thread::yield();  // a shared 2-core machine must not starve the producer
      }
    }
  });
  auto one = [&] {
    const int t = turn.load(std::memory_order_acquire);
    std::memcpy(mid.data(), src.data(), bytes);
    turn.store(t + 1, std::memory_order_release);
    while (turn.load(std::memory_order_acquire) != t + 2) std::this_thread::yield();
  };
  LinkSample s;
  s.message_bytes = double(bytes);
  // A round trip is one message each way; half of it is one transfer. The payload is checked
  // once before timing (nccl-tests' protocol) and again after.
  fill_payload_and_check_once(src, dst, bytes, one);
  st = timed(warmup, reps, one);
  for (double* v : {&st.median_s, &st.p99_s, &st.min_s, &st.max_s}) *v /= 2.0;
  s.time_s = st.median_s;
  stop.store(true, std::memory_order_release);
  consumer.join();
  if (std::memcmp(src.data(), dst.data(), bytes) != 0) throw Error("shared-memory link corrupted data");
  return s;
}

}  // namespace

Run run_cpu(const Options& o) {
  Run r;
  r.backend = "cpu";
  r.device = "host CPU (" + std::to_string(std::thread::hardware_concurrency()) + " threads), Eigen " +
             std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
             std::to_string(EIGEN_MINOR_VERSION) + " float32";
  const int reps = o.quick ? 3 : o.repetitions;
  const int iters = o.iterations > 0 ? o.iterations : reps;
  const int warmup = o.warmup >= 0 ? o.warmup : 1;
  // Weights must exceed the last-level cache, or small-token GEMMs run from cache and look
  // faster than memory allows: 8 experts x 2048 x 1024 float32 = 64 MiB.
  const std::vector<int> tokens =
      o.quick ? std::vector<int>{1, 4, 32, 64, 128, 256} : std::vector<int>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  for (int t : tokens) r.gemm.push_back(grouped_gemm(o, t, reps));
  for (size_t mb : o.quick ? std::vector<size_t>{32, 64} : std::vector<size_t>{64, 128, 256}) {
    sweep::TimeStats st;
    r.stream.push_back(stream_read(mb << 20, warmup, iters, st));
    r.stream_stats.push_back(st);
    if (o.on_row) o.on_row("stream", r.stream.back().bytes, st);
  }
  const std::vector<size_t> msgs = sweep::message_sizes(o.link_min_bytes ? o.link_min_bytes
                                                        : o.quick        ? 4 << 10
                                                                         : 1 << 10,
                                                        o.link_max_bytes ? o.link_max_bytes
                                                        : o.quick        ? 4 << 20
                                                                         : 16 << 20,
                                                        o.link_factor > 1 ? o.link_factor : 4);
  // Another process on a small host can stall every hand-off of a row by a scheduler slice
  // (2 ms per 4 KiB message was seen under a parallel ctest), and the fit then sees no growth
  // with size. The sizes run in interleaved rounds and each keeps its fastest round, so a
  // passing load hits one round of a row, not the whole sweep.
  const int link_rounds = 3;
  r.link.assign(msgs.size(), LinkSample{});
  r.link_stats.assign(msgs.size(), sweep::TimeStats{});
  for (int round = 0; round < link_rounds; ++round)
    for (size_t i = 0; i < msgs.size(); ++i) {
      sweep::TimeStats st;
      const LinkSample s = shared_memory_link(msgs[i], warmup, o.iterations > 0 ? o.iterations : reps * 3, st);
      if (round == 0 || s.time_s < r.link[i].time_s) {
        r.link[i] = s;
        r.link_stats[i] = st;
      }
    }
  if (o.on_row)
    for (size_t i = 0; i < msgs.size(); ++i) o.on_row("link", double(msgs[i]), r.link_stats[i]);
  r.link_kind = "shared-memory hand-off between two threads (stands in for M->N transfers)";

  r.notes.push_back("link rows: the fastest of " + std::to_string(link_rounds) +
                    " interleaved rounds, so a round stalled by another process is dropped");
  r.notes.push_back(
      "CPU backend: tests the calibrate -> fit -> predict loop; its numbers describe this host, not a GPU");
  return r;
}

}  // namespace ridgeline::calib
