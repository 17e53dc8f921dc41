// SPDX-License-Identifier: Apache-2.0
// m2n verbs --gpudirect, the host side: which memory the flags and the build choose, the refusals
// and the registration-failure message (cause and fix), the provenance names, and host buffers
// through the BufferMemory interface the verbs backend fills and checks payloads with.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "calibrator/m2n_memory.hpp"
#include "ridgeline/calibration_sweep.hpp"

using namespace ridgeline;
using namespace ridgeline::calib;

TEST_CASE("m2n memory: host unless --gpudirect on verbs in a CUDA build") {
  for (const char* backend : {"cpu", "nccl", "verbs"})
    for (bool cuda : {false, true}) {
      const MemoryChoice c = choose_memory(backend, false, cuda);
      CHECK(c.kind == MemoryKind::host);
      CHECK(c.error.empty());
    }
  const MemoryChoice gpu = choose_memory("verbs", true, true);
  CHECK(gpu.kind == MemoryKind::gpu);
  CHECK(gpu.error.empty());
}

TEST_CASE("m2n memory: --gpudirect refusals name what is missing and the fix") {
  const MemoryChoice no_cuda = choose_memory("verbs", true, false);
  CHECK(no_cuda.kind == MemoryKind::host);
  CHECK_THAT(no_cuda.error, Catch::Contains("CUDA build"));
  CHECK_THAT(no_cuda.error, Catch::Contains("RIDGELINE_WITH_CUDA=ON"));
  CHECK_THAT(no_cuda.error, Catch::Contains("drop --gpudirect"));
  for (const char* backend : {"cpu", "nccl"}) {
    for (bool cuda : {false, true}) {
      const MemoryChoice c = choose_memory(backend, true, cuda);
      CHECK_THAT(c.error, Catch::Contains("--backend verbs only"));
    }
  }
}

TEST_CASE("m2n memory: registration failure names nvidia-peermem and both ways out") {
  const std::string m = gpu_registration_failed("mlx5_0", "CUresult 801 (not supported)", "Bad address");
  CHECK_THAT(m, Catch::Contains("mlx5_0"));
  CHECK_THAT(m, Catch::Contains("CUresult 801"));
  CHECK_THAT(m, Catch::Contains("Bad address"));
  CHECK_THAT(m, Catch::Contains("modprobe nvidia-peermem"));
  CHECK_THAT(m, Catch::Contains("drop --gpudirect"));
}

TEST_CASE("m2n memory: provenance names") {
  CHECK(std::string(registration_name(Registration::host)) == "host");
  CHECK(std::string(registration_name(Registration::gpu_dmabuf)) == "gpu-dmabuf");
  CHECK(std::string(registration_name(Registration::gpu_peermem)) == "gpu-peermem");
}

TEST_CASE("m2n memory: host buffers carry a payload through write, read and zero") {
  const std::size_t max = 1000, world = 3;
  HostMemory b(world * max);
  REQUIRE(b.ok());
  CHECK(b.kind() == MemoryKind::host);
  CHECK(b.size() == world * max);
  CHECK(reinterpret_cast<std::uintptr_t>(b.address()) % 4096 == 0);
  std::string why;
  CHECK(b.dmabuf_fd(why) == -1);
  CHECK(b.describe() == "host memory");

  std::vector<std::uint8_t> staging(max);
  const std::size_t bytes = 777;
  sweep::fill_payload(staging.data(), bytes, 0, 2, 42);
  b.write(2 * max, staging.data(), bytes);
  std::vector<std::uint8_t> back(max, 0xff);
  b.read(2 * max, back.data(), bytes);
  CHECK(sweep::check_payload(back.data(), bytes, 0, 2, 42).ok);
  // The slot of another peer is untouched, and zero() clears the written one.
  b.zero(2 * max, bytes);
  b.read(2 * max, back.data(), bytes);
  const sweep::PayloadCheck cleared = sweep::check_payload(back.data(), bytes, 0, 2, 42);
  CHECK_FALSE(cleared.ok);
  CHECK(cleared.bad_bytes > 0);
}
