// SPDX-License-Identifier: Apache-2.0
// Issue 13, file handling: reads accept regular files only and never read past a size limit;
// writes are atomic (temp file + rename) and report every failure; outputs never land on an
// input or inside the data folder; duplicate JSON keys are found in linear time; FP32 GEMMs are
// refused instead of run at the BF16 peak.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "io/files.hpp"
#include "io/json_reader.hpp"
#include "ridgeline/hardware.hpp"

using namespace ridgeline;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("ridgeline-files-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool has_temp_files(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("read_bounded_file refuses devices, FIFOs, folders and oversized files", "[files][hostile]") {
  TempDir t;
  CHECK_THROWS_WITH(io::read_bounded_file("/dev/zero", 1000, "--histogram"),
                    Catch::Contains("--histogram \"/dev/zero\"") && Catch::Contains("not a regular file"));
  const auto fifo = t.path / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(io::read_bounded_file(fifo.string()), Catch::Contains("not a regular file"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));  // never blocks on open()
  CHECK_THROWS_WITH(io::read_bounded_file(t.path.string()), Catch::Contains("not a regular file"));
  CHECK_THROWS_WITH(io::read_bounded_file((t.path / "missing").string()), Catch::Contains("cannot read"));
  std::ofstream(t.path / "big") << std::string(2000, 'x');
  CHECK_THROWS_WITH(io::read_bounded_file((t.path / "big").string(), 1000), Catch::Contains("1000-byte limit"));
  CHECK(io::read_bounded_file((t.path / "big").string(), 2000).size() == 2000);
  // A symlink loop is a clear error, not a filesystem_error.
  fs::create_symlink("loop", t.path / "loop");
  CHECK_THROWS_AS(io::read_bounded_file((t.path / "loop").string()), ConfigError);
}

TEST_CASE("write_file_atomic replaces the file whole or not at all", "[files][hostile]") {
  TempDir t;
  const auto out = t.path / "out.svg";
  io::write_file_atomic(out.string(), "first", "--svg");
  CHECK(slurp(out) == "first");
  io::write_file_atomic(out.string(), "second", "--svg");
  CHECK(slurp(out) == "second");
  CHECK(!has_temp_files(t.path));

  CHECK_THROWS_WITH(io::write_file_atomic("/dev/full", "x", "--svg"),
                    Catch::Contains("--svg \"/dev/full\"") && Catch::Contains("not a regular file"));
  CHECK_THROWS_WITH(io::write_file_atomic((t.path / "no" / "such" / "x.svg").string(), "x", "--svg"),
                    Catch::Contains("cannot create a file in"));
  CHECK_THROWS_AS(io::write_file_atomic(t.path.string(), "x", "--svg"), ConfigError);  // a folder

  // A full disk: RLIMIT_FSIZE with SIGXFSZ ignored makes write() fail with EFBIG past 4 KiB.
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  bool threw = false;
  try {
    io::write_file_atomic(out.string(), std::string(100000, 'y'), "--svg");
  } catch (const ConfigError& e) {
    threw = std::string(e.what()).find("write error") != std::string::npos;
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  CHECK(threw);
  CHECK(slurp(out) == "second");  // the old file is intact
  CHECK(!has_temp_files(t.path));
}

TEST_CASE("check_output_path refuses inputs and the data folder", "[files][hostile]") {
  TempDir t;
  fs::create_directories(t.path / "data" / "hwdb");
  std::ofstream(t.path / "in.txt") << "1";
  CHECK_THROWS_WITH(io::check_output_path((t.path / "in.txt").string(), {t.path / "." / "in.txt"}, {}, "--svg"),
                    Catch::Contains("also an input"));
  CHECK_THROWS_WITH(
      io::check_output_path((t.path / "data" / "hwdb" / "x.svg").string(), {}, {t.path / "data" / "hwdb"}, "--svg"),
      Catch::Contains("inside the data folder"));
  CHECK_THROWS_WITH(io::check_output_path("/dev/full", {}, {}, "--out"), Catch::Contains("not a regular file"));
  CHECK_NOTHROW(
      io::check_output_path((t.path / "out.svg").string(), {t.path / "in.txt"}, {t.path / "data" / "hwdb"}, "--svg"));
  // A sibling whose name merely starts like the data folder is not inside it.
  CHECK_NOTHROW(
      io::check_output_path((t.path / "data" / "hwdb2.svg").string(), {}, {t.path / "data" / "hwdb"}, "--svg"));
}

TEST_CASE("duplicate JSON keys are found in linear time", "[files][hostile]") {
  // 200k keys in one object: the old list scan did 2e10 string compares (minutes); a hash set is
  // well under a few seconds even in a sanitizer build.
  const int n = 200000;
  std::string text = "{";
  for (int i = 0; i < n; ++i) text += "\"k" + std::to_string(i) + "\":0,";
  std::string dup = text + "\"k123\":1}";
  text += "\"last\":1}";
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_NOTHROW(io::parse_json_text(text, "keys.json"));
  CHECK_THROWS_WITH(io::parse_json_text(dup, "keys.json"), Catch::Contains("\"k123\" appears twice"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  // Same key in sibling and nested objects is fine; twice in one nested object is not.
  CHECK_NOTHROW(io::parse_json_text(R"({"a": {"x": 1}, "b": {"x": 2, "c": {"x": 3}}, "x": 4})", "f"));
  CHECK_THROWS_WITH(io::parse_json_text(R"({"a": [{"x": 1, "x": 2}]})", "f"), Catch::Contains("\"x\" appears twice"));
}

TEST_CASE("FP32 GEMMs are refused, not run at the BF16 peak", "[hardware][hostile]") {
  Accelerator a;
  a.id = "gpu";
  a.peak_bf16_flops_per_s = 989e12;
  CHECK(a.peak_flops_per_s(DType::bf16) == 989e12);
  CHECK(a.peak_flops_per_s(DType::fp16) == 989e12);
  CHECK_FALSE(a.supports(DType::fp32));
  CHECK_THROWS_AS(a.peak_flops_per_s(DType::fp32), MissingDataError);
}
