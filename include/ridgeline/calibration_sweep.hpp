// SPDX-License-Identifier: Apache-2.0
// Host-side logic of the calibrator's transfer sweeps, shared by every backend (MPI on host
// buffers, NCCL, verbs): message sizes (nccl-tests' -b/-e/-f), who sends to whom in an M->N,
// N->M or all-to-all phase, the payload every message carries and its check, timing statistics
// and the bandwidths a table row reports. Pure: no MPI, CUDA, I/O or printing.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ridgeline/error.hpp"

namespace ridgeline::sweep {

/// nccl-tests' size sweep: from `min_bytes`, multiplied by `factor`, up to and including
/// `max_bytes` (it is appended when the geometric steps miss it). Each size is rounded down to a
/// multiple of `align_bytes` (a backend's element size), never below it. Throws on min = 0,
/// max < min or factor <= 1.
inline std::vector<std::size_t> message_sizes(std::size_t min_bytes, std::size_t max_bytes, double factor,
                                              std::size_t align_bytes = 1) {
  RIDGELINE_CHECK(min_bytes > 0, "the smallest message must be at least 1 byte");
  RIDGELINE_CHECK(max_bytes >= min_bytes, "the largest message size is below the smallest");
  RIDGELINE_CHECK(factor > 1 && std::isfinite(factor), "the size factor must be above 1");
  RIDGELINE_CHECK(align_bytes > 0, "alignment must be positive");
  auto align = [&](double b) {
    const auto v = static_cast<std::size_t>(b) / align_bytes * align_bytes;
    return std::max(v, align_bytes);
  };
  std::vector<std::size_t> out;
  for (double b = double(min_bytes); b <= double(max_bytes) * (1 + 1e-12); b *= factor) {
    const std::size_t s = align(b);
    if (out.empty() || s > out.back()) out.push_back(s);
    if (out.size() > 4096) break;  // a factor barely above 1 must not produce millions of sizes
  }
  const std::size_t last = align(double(max_bytes));
  if (out.back() < last) out.push_back(last);
  return out;
}

/// Which transfer a phase performs. Ranks 0 .. M-1 are attention ranks, M .. M+N-1 FFN ranks.
enum class Pattern {
  m2n,         ///< every attention rank sends one message to every FFN rank (dispatch)
  n2m,         ///< every FFN rank sends one message to every attention rank (combine)
  all_to_all,  ///< every rank sends one message to every other rank (DeepEP / EP all-to-all)
};

inline const char* pattern_name(Pattern p) {
  switch (p) {
    case Pattern::m2n:
      return "m2n";
    case Pattern::n2m:
      return "n2m";
    case Pattern::all_to_all:
      return "all_to_all";
  }
  return "?";
}

struct Layout {
  int attention_ranks = 0;  ///< M
  int ffn_ranks = 0;        ///< N
  int world() const { return attention_ranks + ffn_ranks; }
  bool is_attention(int rank) const { return rank >= 0 && rank < attention_ranks; }
  std::string role(int rank) const { return is_attention(rank) ? "attention" : "ffn"; }
};

/// Checks M, N >= 1 and M + N = the number of processes started; the message names the fix.
inline void check_layout(const Layout& l, int world_size) {
  if (l.attention_ranks < 1 || l.ffn_ranks < 1)
    throw ConfigError("--attention-ranks and --ffn-ranks must both be at least 1 (got " +
                      std::to_string(l.attention_ranks) + " and " + std::to_string(l.ffn_ranks) + ")");
  if (l.world() != world_size)
    throw ConfigError("--attention-ranks " + std::to_string(l.attention_ranks) + " + --ffn-ranks " +
                      std::to_string(l.ffn_ranks) + " = " + std::to_string(l.world()) + " ranks, but " +
                      std::to_string(world_size) + " processes were started. Fix: launch with mpirun -np " +
                      std::to_string(l.world()) + " (or srun -n " + std::to_string(l.world()) +
                      "), or change the two counts to add up to " + std::to_string(world_size));
}

/// What one rank does in one phase: the peers it sends a message to and those it receives one
/// from, in posting order.
struct RankSchedule {
  std::vector<int> send_to;
  std::vector<int> recv_from;
};

/// Senders start at different receivers (sender i's first destination is receiver i mod count,
/// then round-robin) so that all of them do not hit receiver 0 first, as nccl-tests' alltoall
/// does. Every (sender, receiver) pair of the pattern appears exactly once.
inline RankSchedule schedule(Pattern p, const Layout& l, int rank) {
  RIDGELINE_CHECK(rank >= 0 && rank < l.world(), "rank outside the layout");
  RankSchedule s;
  const int M = l.attention_ranks, N = l.ffn_ranks, W = l.world();
  // `count` peers numbered from `first`, starting at the `start`-th.
  auto rotate = [](int first, int count, int start, std::vector<int>& out) {
    for (int k = 0; k < count; ++k) out.push_back(first + (start + k) % count);
  };
  switch (p) {
    case Pattern::m2n:
      if (rank < M)
        rotate(M, N, rank % N, s.send_to);
      else
        rotate(0, M, (rank - M) % M, s.recv_from);
      break;
    case Pattern::n2m:
      if (rank >= M)
        rotate(0, M, (rank - M) % M, s.send_to);
      else
        rotate(M, N, rank % N, s.recv_from);
      break;
    case Pattern::all_to_all:
      for (int k = 1; k < W; ++k) {
        s.send_to.push_back((rank + k) % W);
        s.recv_from.push_back((rank - k + W) % W);
      }
      break;
  }
  return s;
}

/// Every (source, destination) message of one phase of the pattern.
inline std::vector<std::pair<int, int>> phase_messages(Pattern p, const Layout& l) {
  std::vector<std::pair<int, int>> out;
  for (int r = 0; r < l.world(); ++r)
    for (int d : schedule(p, l, r).send_to) out.emplace_back(r, d);
  return out;
}

/// Bytes the busiest rank sends or receives in one phase with `message_bytes` per message.
inline double busiest_rank_bytes(Pattern p, const Layout& l, double message_bytes) {
  switch (p) {
    case Pattern::m2n:
    case Pattern::n2m:
      return message_bytes * std::max(l.attention_ranks, l.ffn_ranks);
    case Pattern::all_to_all:
      return message_bytes * (l.world() - 1);
  }
  return 0;
}

/// nccl-tests' two bandwidths of one row. algbw = bytes of the busiest rank's buffer / time:
/// for M->N the max of an attention rank's N messages sent and an FFN rank's M received (N->M
/// alike); for all-to-all W messages (nccl-tests counts the rank's copy to itself). busbw = the
/// bytes that cross links per rank / time: all of them for M->N and N->M (no self traffic), and
/// algbw x (W-1)/W for all-to-all, nccl-tests' alltoall factor. Both in bytes per second.
struct Bandwidth {
  double algbw_bytes_per_s = 0;
  double busbw_bytes_per_s = 0;
};

inline Bandwidth bandwidth(Pattern p, const Layout& l, double message_bytes, double time_s) {
  RIDGELINE_CHECK(time_s > 0, "a phase time must be positive");
  Bandwidth b;
  if (p == Pattern::all_to_all) {
    const double W = l.world();
    b.algbw_bytes_per_s = message_bytes * W / time_s;
    b.busbw_bytes_per_s = b.algbw_bytes_per_s * (W - 1) / W;
  } else {
    b.algbw_bytes_per_s = busiest_rank_bytes(p, l, message_bytes) / time_s;
    b.busbw_bytes_per_s = b.algbw_bytes_per_s;
  }
  return b;
}

/// The byte at offset `i` of the message `src` sends to `dst` (seed: which phase): a mix of all
/// four, so a message delivered to the wrong rank, from the wrong rank, shifted, truncated or
/// left over from another phase fails the check.
inline std::uint8_t payload_byte(int src, int dst, std::size_t i, std::uint32_t seed) {
  std::uint64_t x = (std::uint64_t(std::uint32_t(src)) << 40) ^ (std::uint64_t(std::uint32_t(dst)) << 20) ^
                    (std::uint64_t(seed) << 52) ^ (std::uint64_t(seed) * 0x9E3779B97F4A7C15ull) ^
                    (std::uint64_t(i) * 0xD1B54A32D192ED03ull);
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return std::uint8_t(x);
}

inline void fill_payload(std::uint8_t* buf, std::size_t bytes, int src, int dst, std::uint32_t seed) {
  for (std::size_t i = 0; i < bytes; ++i) buf[i] = payload_byte(src, dst, i, seed);
}

struct PayloadCheck {
  bool ok = true;
  std::size_t first_bad_byte = 0;  ///< offset of the first wrong byte when !ok
  int expected = 0, got = 0;
  int bad_bytes = 0;
};

inline PayloadCheck check_payload(const std::uint8_t* buf, std::size_t bytes, int src, int dst, std::uint32_t seed) {
  PayloadCheck c;
  for (std::size_t i = 0; i < bytes; ++i) {
    const std::uint8_t want = payload_byte(src, dst, i, seed);
    if (buf[i] != want) {
      if (c.ok) {
        c.ok = false;
        c.first_bad_byte = i;
        c.expected = want;
        c.got = buf[i];
      }
      ++c.bad_bytes;
    }
  }
  return c;
}

/// Percentile q in [0, 1] by linear interpolation between order statistics (q = 0.5: median).
inline double percentile(std::vector<double> v, double q) {
  RIDGELINE_CHECK(!v.empty(), "percentile of no values");
  RIDGELINE_CHECK(q >= 0 && q <= 1, "percentile outside [0, 1]");
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

/// Statistics of one row's timed iterations.
struct TimeStats {
  double median_s = 0, p99_s = 0, min_s = 0, max_s = 0;
  /// 1.4826 x median absolute deviation / median: a robust coefficient of variation, the
  /// spread a loaded host shows.
  double relative_spread = 0;
  int iterations = 0;
};

inline TimeStats time_stats(const std::vector<double>& t) {
  RIDGELINE_CHECK(!t.empty(), "no timed iterations");
  TimeStats s;
  s.iterations = int(t.size());
  s.median_s = percentile(t, 0.5);
  s.p99_s = percentile(t, 0.99);
  s.min_s = *std::min_element(t.begin(), t.end());
  s.max_s = *std::max_element(t.begin(), t.end());
  std::vector<double> dev;
  for (double x : t) dev.push_back(std::abs(x - s.median_s));
  s.relative_spread = s.median_s > 0 ? 1.4826 * percentile(dev, 0.5) / s.median_s : 0;
  return s;
}

}  // namespace ridgeline::sweep
