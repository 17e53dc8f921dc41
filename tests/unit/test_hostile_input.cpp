// SPDX-License-Identifier: Apache-2.0
// Hostile input: huge files, deep nesting, NaN/Inf/negative/zero/denormal quantities, unknown
// units, duplicated keys, ids with path separators, wrong types, empty files and binary
// garbage. Each must give a ridgeline::Error whose message names the file (and the JSON path
// where there is one), quickly and without reading a huge file into memory.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "io/json_reader.hpp"
#include "ridgeline/io/database.hpp"

using namespace ridgeline;
namespace fs = std::filesystem;

namespace {

const io::Database& db() {
  static const io::Database d = io::Database::load(RIDGELINE_SOURCE_DIR "/hwdb", RIDGELINE_SOURCE_DIR "/models");
  return d;
}

/// A fresh temporary folder, removed when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("ridgeline-hostile-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
    return path / name;
  }
};

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Runs `f`, requires a ridgeline::Error containing every `parts` substring; returns the message.
template <class F>
std::string error_of(F&& f, std::initializer_list<std::string> parts) {
  std::string msg;
  try {
    f();
  } catch (const Error& e) {
    msg = e.what();
  }
  INFO("message: " << msg);
  REQUIRE(!msg.empty());
  for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
  return msg;
}

/// h800.json with one JSON-pointer location replaced by `value` (raw JSON text).
std::string h800_with(const std::string& pointer, const std::string& value) {
  io::Json j = io::Json::parse(read(RIDGELINE_SOURCE_DIR "/hwdb/h800.json"));
  j[io::Json::json_pointer(pointer)] = io::Json::parse(value);
  return j.dump(2);
}

std::string scenario_with(const std::string& deployment_hw) {
  return R"({"model": "deepseek-v3", "workload": {"context_tokens": 4096, "tpot_slo": "50 ms"},
             "deployment": {"strategy": "ep", "hardware": )" +
         deployment_hw + R"(, "gpus": 128, "batch_per_gpu": 64}})";
}

}  // namespace

TEST_CASE("hostile: a 100 MB file is refused before it is read", "[hostile]") {
  TempDir t;
  const fs::path big = t.path / "big.json";
  {
    std::ofstream out(big, std::ios::binary);
    out << "{\"notes\": \"";
    const std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 100; ++i) out << chunk;
    out << "\"}";
  }
  REQUIRE(fs::file_size(big) > 100u * 1000u * 1000u);
  const auto t0 = std::chrono::steady_clock::now();
  error_of([&] { io::load_accelerator_file(big); }, {big.string(), "byte limit", "Fix"});
  error_of([&] { io::load_model_file(big); }, {big.string(), "byte limit"});
  error_of([&] { io::load_scenario(big, db()); }, {big.string(), "byte limit"});
  // Refusing must not cost a read of the file: far under a second even under sanitizers.
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}

TEST_CASE("hostile: a huge file inside hwdb/ stops the database load with its name", "[hostile]") {
  TempDir t;
  fs::create_directories(t.path / "hwdb");
  fs::create_directories(t.path / "models");
  {
    std::ofstream out(t.path / "hwdb" / "huge.json", std::ios::binary);
    out << std::string(17u << 20, ' ');
  }
  error_of([&] { io::Database::load(t.path / "hwdb", t.path / "models"); }, {"huge.json", "byte limit"});
}

TEST_CASE("hostile: deep nesting is refused before parsing", "[hostile]") {
  TempDir t;
  for (const std::string open : {"[", "{\"a\":"}) {
    std::string text;
    for (int i = 0; i < 200000; ++i) text += open;
    const auto f = t.write("deep.json", text);
    error_of([&] { io::load_accelerator_file(f); }, {f.string(), "nested deeper"});
    error_of([&] { io::load_scenario(f, db()); }, {f.string(), "nested deeper"});
  }
  // Brackets inside strings do not count as nesting.
  const std::string in_string = "{\"notes\": \"" + std::string(1000, '[') + "\"}";
  const std::string msg = error_of([&] { io::parse_accelerator(in_string, "s.json", "s"); }, {"s.json"});
  CHECK(msg.find("nested") == std::string::npos);
}

TEST_CASE("hostile: NaN, Inf, negative, zero, denormal and overflowing quantities", "[hostile]") {
  struct Bad {
    const char* pointer;
    const char* value;
    const char* expect;
  };
  for (const Bad& b :
       {Bad{"/hbm_bytes", "\"NaN GB\"", "not a number"}, Bad{"/hbm_bytes", "\"inf GB\"", "not a number"},
        Bad{"/hbm_bytes", "\"-80 GB\"", "must be positive"}, Bad{"/hbm_bytes", "0", "must be positive"},
        Bad{"/hbm_bytes", "-1", "must be positive"}, Bad{"/hbm_bytes_per_s", "\"1e999 TB/s\"", "/hbm_bytes_per_s"},
        Bad{"/hbm_bytes_per_s", "1e-320", "/hbm_bytes_per_s"},
        Bad{"/scale_out/bytes_per_s", "\"1e-300 GB/s\"", "/scale_out/bytes_per_s"},
        Bad{"/peak_flops_per_s/bf16", "1e300", "/peak_flops_per_s/bf16"},
        Bad{"/scale_up/latency_s", "\"-2 us\"", "must not be negative"},
        Bad{"/scale_up/latency_s", "\"-2 us\"", "use a value >= 0"}}) {
    INFO(b.pointer << " = " << b.value);
    const std::string text = h800_with(b.pointer, b.value);
    error_of([&] { io::parse_accelerator(text, "hw.json", "hw"); },
             {"hw.json: " + std::string(b.pointer), b.expect, "Fix"});
  }
  // JSON has no NaN literal; a number too large for a double is refused, not read as inf.
  error_of([&] { io::parse_accelerator(R"({"hbm_bytes": NaN})", "n.json", "n"); }, {"n.json", "malformed JSON"});
  std::string huge = h800_with("/hbm_bytes", "1");
  huge.replace(huge.find("\"hbm_bytes\": 1"), 14, "\"hbm_bytes\": 1e999");
  error_of([&] { io::parse_accelerator(huge, "h.json", "h"); }, {"h.json"});
}

TEST_CASE("hostile: unknown units, wrong kinds and wrong types name the path and the fix", "[hostile]") {
  error_of([&] { io::parse_accelerator(h800_with("/hbm_bytes", "\"80 GBB\""), "u.json", "u"); },
           {"u.json: /hbm_bytes", "unknown unit \"GBB\"", "Fix"});
  error_of([&] { io::parse_accelerator(h800_with("/hbm_bytes", "\"80 GB/s\""), "u.json", "u"); },
           {"u.json: /hbm_bytes", "wrong kind"});
  error_of([&] { io::parse_accelerator(h800_with("/hbm_bytes", "[80]"), "u.json", "u"); }, {"u.json: /hbm_bytes"});
  error_of([&] { io::parse_accelerator(h800_with("/scale_up", "\"fast\""), "u.json", "u"); },
           {"u.json: /scale_up", "must be an object"});
  error_of([&] { io::parse_accelerator(h800_with("/scale_up/domain_gpus", "\"8\""), "u.json", "u"); },
           {"u.json: /scale_up/domain_gpus", "whole number"});
  error_of([&] { io::parse_accelerator(h800_with("/scale_up/domain_gpus", "8.5"), "u.json", "u"); },
           {"u.json: /scale_up/domain_gpus", "whole number"});
  error_of([&] { io::parse_accelerator(h800_with("/scale_up/domain_gpus", "1e12"), "u.json", "u"); },
           {"u.json: /scale_up/domain_gpus", "whole number"});
  error_of([&] { io::parse_accelerator(h800_with("/sources", "[1, 2]"), "u.json", "u"); },
           {"u.json: /sources", "list of strings"});
}

TEST_CASE("hostile: duplicated keys are refused at any depth", "[hostile]") {
  error_of([&] { io::parse_accelerator(R"({"hbm_bytes": "80 GB", "hbm_bytes": "1 TB"})", "d.json", "d"); },
           {"d.json", "\"hbm_bytes\" appears twice"});
  error_of([&] { io::parse_accelerator(R"({"scale_up": {"bytes_per_s": 1, "bytes_per_s": 2}})", "d.json", "d"); },
           {"d.json", "\"bytes_per_s\" appears twice"});
  // The same key in sibling objects is not a duplicate.
  const std::string ok = read(RIDGELINE_SOURCE_DIR "/hwdb/h800.json");
  CHECK_NOTHROW(io::parse_accelerator(ok, "h800.json", "h800"));
}

TEST_CASE("hostile: ids with path separators never reach the file system", "[hostile]") {
  for (const char* id : {"../hwdb/h800", "hwdb/h800", "/etc/passwd", "..", "h800\\..\\x", "h800/", ""}) {
    INFO(id);
    const std::string text = scenario_with(io::Json(id).dump());
    error_of([&] { io::parse_scenario(text, "s.json", db()); }, {"s.json: /deployment/hardware"});
    const std::string m = R"({"model": )" + io::Json(id).dump() +
                          R"(, "workload": {"context_tokens": 1, "tpot_slo": 1}, "deployment": {}})";
    error_of([&] { io::parse_scenario(m, "s.json", db()); }, {"s.json: /model"});
  }
  error_of([&] { io::parse_scenario(scenario_with(R"({"base": "../h800"})"), "s.json", db()); },
           {"s.json: /deployment/hardware/base", "not a valid id"});
  TempDir t;
  fs::create_directories(t.path / "hwdb");
  fs::create_directories(t.path / "models");
  fs::copy_file(RIDGELINE_SOURCE_DIR "/hwdb/h800.json", t.path / "hwdb" / "h 800.json");
  error_of([&] { io::Database::load(t.path / "hwdb", t.path / "models"); }, {"h 800.json", "not a valid id"});
}

TEST_CASE("hostile: empty files, binary garbage and invalid UTF-8", "[hostile]") {
  TempDir t;
  const auto empty = t.write("empty.json", "");
  error_of([&] { io::load_accelerator_file(empty); }, {empty.string(), "malformed JSON"});
  error_of([&] { io::load_scenario(empty, db()); }, {empty.string(), "malformed JSON"});
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += char((i * 131 + 7) % 256);
  const auto bin = t.write("garbage.json", garbage);
  error_of([&] { io::load_model_file(bin); }, {bin.string(), "malformed JSON"});
  error_of([&] { io::parse_accelerator("{\"name\": \"\xff\xfe\"}", "utf.json", "utf"); },
           {"utf.json", "malformed JSON"});
  error_of([&] { io::parse_accelerator("[1, 2, 3]", "arr.json", "arr"); }, {"arr.json", "JSON object"});
  error_of([&] { io::parse_model("null", "null.json", "null"); }, {"null.json", "JSON object"});
  error_of([&] { io::parse_scenario("\"text\"", "str.json", db()); }, {"str.json", "JSON object"});
  error_of([&] { io::load_accelerator_file(t.path / "missing.json"); }, {"missing.json", "cannot read"});
  error_of([&] { io::load_accelerator_file(t.path); }, {t.path.string()});  // a folder, not a file
}
