// SPDX-License-Identifier: Apache-2.0
#include "ridgeline/io/profile_samples.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "ridgeline/error.hpp"

namespace ridgeline::io {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  return out;
}

/// Rows of `file` as numbers (or strings for `text_columns`), after checking the header.
std::vector<std::vector<std::string>> read_csv(const fs::path& file, const std::string& header) {
  std::ifstream in(file);
  if (!in) throw ConfigError(file.string() + ": cannot be read. Fix: check the path and its permissions");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != header)
    throw ConfigError(file.string() + ":1: header \"" + line + "\" is not the expected one. Fix: write the header \"" +
                      header + "\" (tools/calibration_import.py writes these files)");
  const size_t cols = split(header).size();
  std::vector<std::vector<std::string>> rows;
  int n = 1;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto cells = split(line);
    if (cells.size() != cols)
      throw ConfigError(file.string() + ":" + std::to_string(n) + ": " + std::to_string(cells.size()) +
                        " values, expected " + std::to_string(cols) + " (" + header + "). Fix: one value per column");
    rows.push_back(std::move(cells));
    if (rows.size() > 100000)
      throw ConfigError(file.string() + ": more than 100000 rows. Fix: keep raw samples small (select rows)");
  }
  if (rows.empty()) throw ConfigError(file.string() + ": no rows. Fix: write at least one sample or delete the file");
  return rows;
}

double num(const fs::path& file, size_t row, const std::string& cell, bool positive = true) {
  char* end = nullptr;
  const double v = std::strtod(cell.c_str(), &end);
  if (cell.empty() || end != cell.c_str() + cell.size() || !std::isfinite(v) || (positive && !(v > 0)))
    throw ConfigError(file.string() + ":" + std::to_string(row + 2) + ": \"" + cell +
                      "\" is not a positive finite number. Fix: write a number such as 1.5e-05");
  return v;
}

int integer(const fs::path& file, size_t row, const std::string& cell) {
  const double v = num(file, row, cell);
  if (v != std::floor(v) || v > 1e7)
    throw ConfigError(file.string() + ":" + std::to_string(row + 2) + ": \"" + cell +
                      "\" is not a whole number below 1e7. Fix: write an integer");
  return int(v);
}

}  // namespace

ProfileSamples load_profile_samples(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw ConfigError(dir.string() + ": not a folder. Fix: pass a raw-sample folder such as hwdb/calibration/raw/h200");
  ProfileSamples s;
  bool any = false;
  if (auto f = dir / "gemm.csv"; fs::exists(f)) {
    any = true;
    for (const auto& r : read_csv(f, "groups,m,n,k,weight_bytes,activation_bytes,time_s")) {
      const size_t i = s.gemm.size();
      s.gemm.push_back({num(f, i, r[0]), num(f, i, r[1]), num(f, i, r[2]), num(f, i, r[3]), num(f, i, r[4]),
                        num(f, i, r[5]), num(f, i, r[6])});
    }
  }
  if (auto f = dir / "mla_decode.csv"; fs::exists(f)) {
    any = true;
    for (const auto& r : read_csv(f, "sequences,heads_per_gpu,context_tokens,kv_bytes,time_s")) {
      const size_t i = s.mla.size();
      s.mla.push_back({num(f, i, r[0]), num(f, i, r[1]), num(f, i, r[2]), num(f, i, r[3]), num(f, i, r[4])});
    }
  }
  if (auto f = dir / "moe.csv"; fs::exists(f)) {
    any = true;
    for (const auto& r : read_csv(f, "tokens,hidden,intermediate,top_k,experts,ep,weight_bytes,time_s")) {
      const size_t i = s.moe.size();
      MoeSample m;
      m.tokens = num(f, i, r[0]);
      m.hidden = integer(f, i, r[1]);
      m.intermediate = integer(f, i, r[2]);
      m.top_k = integer(f, i, r[3]);
      m.experts = integer(f, i, r[4]);
      m.ep = integer(f, i, r[5]);
      m.weight_bytes = num(f, i, r[6]);
      m.time_s = num(f, i, r[7]);
      if (m.top_k > m.experts || m.ep > m.experts)
        throw ConfigError(f.string() + ":" + std::to_string(i + 2) +
                          ": top_k and ep must not exceed experts. Fix: check the row");
      s.moe.push_back(m);
    }
  }
  if (auto f = dir / "deepep_ll.csv"; fs::exists(f)) {
    any = true;
    for (const auto& r : read_csv(f, "tokens,hidden,top_k,experts,gpus,dispatch_s,combine_s")) {
      const size_t i = s.all_to_all.size();
      AllToAllSample a;
      a.tokens = num(f, i, r[0]);
      a.hidden = integer(f, i, r[1]);
      a.top_k = integer(f, i, r[2]);
      a.experts = integer(f, i, r[3]);
      a.gpus = integer(f, i, r[4]);
      a.dispatch_s = num(f, i, r[5]);
      a.combine_s = num(f, i, r[6]);
      s.all_to_all.push_back(a);
    }
  }
  if (auto f = dir / "attention_peaks.csv"; fs::exists(f)) {
    any = true;
    for (const auto& r : read_csv(f, "bound,achieved_per_s")) {
      const size_t i = s.attention_peaks.size();
      if (r[0] != "compute" && r[0] != "memory")
        throw ConfigError(f.string() + ":" + std::to_string(i + 2) + ": bound \"" + r[0] +
                          "\" is not compute or memory. Fix: write compute (FLOP/s) or memory (bytes/s)");
      s.attention_peaks.push_back({r[0] == "compute", num(f, i, r[1])});
    }
  }
  if (!any)
    throw ConfigError(dir.string() +
                      ": no gemm.csv, mla_decode.csv, moe.csv, deepep_ll.csv or attention_peaks.csv. Fix: run "
                      "tools/calibration_import.py into this folder");
  return s;
}

std::string profile_sources_json(const fs::path& dir) {
  const fs::path f = dir / "sources.json";
  if (!fs::exists(f)) return {};
  std::ifstream in(f);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ridgeline::io
