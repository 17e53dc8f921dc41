// SPDX-License-Identifier: Apache-2.0
// Host-side logic of the calibrator's transfer sweeps: sizes, M->N schedules, payload checks,
// statistics and bandwidths (shared by the MPI, NCCL and verbs backends).
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "ridgeline/calibration_sweep.hpp"

using namespace ridgeline;
using namespace ridgeline::sweep;

TEST_CASE("message sizes follow nccl-tests' -b -e -f and always end at -e", "[calibration][sweep]") {
  CHECK(message_sizes(1024, 8192, 2) == std::vector<std::size_t>{1024, 2048, 4096, 8192});
  // 4x steps miss 1 MiB + 1: the largest size is appended, never exceeded.
  const auto s = message_sizes(1024, (1 << 20) + 1, 4);
  CHECK(s.front() == 1024);
  CHECK(s.back() == (1 << 20) + 1);
  CHECK(s[s.size() - 2] == (1 << 20));
  CHECK(message_sizes(5, 5, 2) == std::vector<std::size_t>{5});
  // Alignment rounds down to the element size and never to zero; sizes stay strictly increasing.
  const auto a = message_sizes(3, 100, 1.5, 4);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i] % 4 == 0);
    CHECK(a[i] >= 4);
    if (i) CHECK(a[i] > a[i - 1]);
  }
  CHECK_THROWS_AS(message_sizes(0, 10, 2), Error);
  CHECK_THROWS_AS(message_sizes(10, 5, 2), Error);
  CHECK_THROWS_AS(message_sizes(1, 5, 1.0), Error);
}

TEST_CASE("M->N, N->M and all-to-all schedules: every pair exactly once, sends match receives",
          "[calibration][sweep]") {
  for (auto [M, N] : std::vector<std::pair<int, int>>{{3, 1}, {2, 2}, {1, 3}, {4, 7}, {5, 2}}) {
    const Layout l{M, N};
    for (Pattern p : {Pattern::m2n, Pattern::n2m, Pattern::all_to_all}) {
      INFO(pattern_name(p) << " M=" << M << " N=" << N);
      std::set<std::pair<int, int>> sent, received;
      for (int r = 0; r < l.world(); ++r) {
        const RankSchedule s = schedule(p, l, r);
        for (int d : s.send_to) CHECK(sent.insert({r, d}).second);  // no duplicate message
        for (int src : s.recv_from) CHECK(received.insert({src, r}).second);
        for (int d : s.send_to) CHECK(d != r);
      }
      CHECK(sent == received);  // every send has its receive: no rank waits forever
      const std::size_t expected =
          p == Pattern::all_to_all ? std::size_t(l.world()) * (l.world() - 1) : std::size_t(M) * N;
      CHECK(sent.size() == expected);
      CHECK(phase_messages(p, l).size() == expected);
      for (const auto& [src, dst] : sent) {
        if (p == Pattern::m2n) CHECK((l.is_attention(src) && !l.is_attention(dst)));
        if (p == Pattern::n2m) CHECK((!l.is_attention(src) && l.is_attention(dst)));
      }
    }
  }
}

TEST_CASE("M->N senders start at different receivers", "[calibration][sweep]") {
  const Layout l{4, 4};
  std::set<int> first;
  for (int r = 0; r < 4; ++r) first.insert(schedule(Pattern::m2n, l, r).send_to.front());
  CHECK(first.size() == 4);
  CHECK_THROWS_AS(schedule(Pattern::m2n, l, 8), Error);
}

TEST_CASE("layout must match the processes started, with the fix in the message", "[calibration][sweep]") {
  CHECK_NOTHROW(check_layout({3, 1}, 4));
  CHECK_THROWS_WITH(check_layout({3, 2}, 4), Catch::Contains("mpirun -np 5") && Catch::Contains("4 processes"));
  CHECK_THROWS_WITH(check_layout({0, 4}, 4), Catch::Contains("at least 1"));
}

TEST_CASE("payload check catches corruption, misrouting, stale data and truncation", "[calibration][sweep]") {
  std::vector<std::uint8_t> buf(4096);
  fill_payload(buf.data(), buf.size(), 2, 5, 17);
  CHECK(check_payload(buf.data(), buf.size(), 2, 5, 17).ok);
  // One flipped byte: found, at its offset.
  auto bad = buf;
  bad[1000] ^= 0x10;
  const PayloadCheck c = check_payload(bad.data(), bad.size(), 2, 5, 17);
  CHECK_FALSE(c.ok);
  CHECK(c.first_bad_byte == 1000);
  CHECK(c.bad_bytes == 1);
  // The right bytes for another destination, from another source, or from another phase: wrong.
  CHECK_FALSE(check_payload(buf.data(), buf.size(), 2, 6, 17).ok);
  CHECK_FALSE(check_payload(buf.data(), buf.size(), 3, 5, 17).ok);
  CHECK_FALSE(check_payload(buf.data(), buf.size(), 2, 5, 18).ok);
  // A message that stopped halfway (receive buffer cleared to zero beyond it).
  auto half = buf;
  std::fill(half.begin() + 2048, half.end(), 0);
  const PayloadCheck h = check_payload(half.data(), half.size(), 2, 5, 17);
  CHECK_FALSE(h.ok);
  CHECK(h.first_bad_byte >= 2048);
  CHECK(h.bad_bytes > 1000);  // about 255/256 of the zeroed half differ from the pattern
  // Swapped source and destination is a different message.
  CHECK_FALSE(check_payload(buf.data(), buf.size(), 5, 2, 17).ok);
}

TEST_CASE("median, p99 and spread of timed iterations", "[calibration][sweep]") {
  std::vector<double> t;
  for (int i = 1; i <= 100; ++i) t.push_back(i * 1e-6);
  const TimeStats s = time_stats(t);
  CHECK(s.median_s == Approx(50.5e-6));
  CHECK(s.p99_s == Approx(99.01e-6));  // linear interpolation between the 99th and 100th values
  CHECK(s.min_s == Approx(1e-6));
  CHECK(s.max_s == Approx(100e-6));
  CHECK(s.iterations == 100);
  CHECK(percentile({3.0}, 0.99) == 3.0);
  CHECK(percentile({1.0, 2.0}, 0.0) == 1.0);
  // Identical iterations have no spread; one descheduled outlier barely moves the robust spread.
  CHECK(time_stats({2e-6, 2e-6, 2e-6}).relative_spread == 0);
  const TimeStats o = time_stats({10e-6, 10.1e-6, 9.9e-6, 10e-6, 500e-6});
  CHECK(o.median_s == Approx(10e-6));
  CHECK(o.relative_spread < 0.02);
  CHECK(o.p99_s > 400e-6);  // but the tail shows it
  CHECK_THROWS_AS(time_stats({}), Error);
}

TEST_CASE("algbw and busbw as nccl-tests defines them", "[calibration][sweep]") {
  const Layout l{3, 1};
  // M->N 3 -> 1: the FFN rank receives 3 messages, the busiest rank.
  CHECK(busiest_rank_bytes(Pattern::m2n, l, 1000) == 3000);
  CHECK(busiest_rank_bytes(Pattern::n2m, l, 1000) == 3000);
  CHECK(busiest_rank_bytes(Pattern::all_to_all, l, 1000) == 3000);
  const Bandwidth b = bandwidth(Pattern::m2n, l, 1e6, 1e-3);
  CHECK(b.algbw_bytes_per_s == Approx(3e9));
  CHECK(b.busbw_bytes_per_s == Approx(3e9));
  const Bandwidth a = bandwidth(Pattern::all_to_all, Layout{2, 2}, 1e6, 1e-3);
  CHECK(a.algbw_bytes_per_s == Approx(4e9));
  CHECK(a.busbw_bytes_per_s == Approx(3e9));
  CHECK_THROWS_AS(bandwidth(Pattern::m2n, l, 1, 0), Error);
}
