// SPDX-License-Identifier: Apache-2.0
#include "present/lists.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "present/checks.hpp"

namespace ridgeline::present {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(text);
  while (std::getline(in, cur, sep)) {
    const auto t = std::string(detail::trim(cur));
    if (!t.empty()) out.push_back(t);
  }
  return out;
}

long parse_long(const std::string& s, const char* flag, const std::string& whole) {
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(s, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != s.size() || v < 1 || v > 1000000)
    throw FlagError(
        fmt::format("{} \"{}\": \"{}\" is not a whole number from 1 to 1000000. Fix: write a list or "
                    "range such as 1..64 or 1,2,4,8.",
                    flag, whole, s));
  return v;
}

}  // namespace

std::vector<int> parse_int_list(const std::string& text, const char* flag) {
  std::set<int> out;
  long requested = 0;  // values asked for, duplicates included: bounds the work before it is done
  for (const auto& part : split(text, ',')) {
    const auto dots = part.find("..");
    if (dots == std::string::npos) {
      check_work(fmt::format("{} values", flag), double(++requested), double(limits::kMaxListValues),
                 "list fewer values or shorter ranges");
      out.insert(int(parse_long(part, flag, text)));
      continue;
    }
    const long a = parse_long(std::string(detail::trim(part.substr(0, dots))), flag, text);
    const long b = parse_long(std::string(detail::trim(part.substr(dots + 2))), flag, text);
    if (b < a || b - a > 100000)
      throw FlagError(
          fmt::format("{} \"{}\": range {} is empty or too long. Fix: write FROM..TO with FROM <= TO "
                      "(at most 100000 values).",
                      flag, text, part));
    requested += b - a + 1;
    check_work(fmt::format("{} values", flag), double(requested), double(limits::kMaxListValues),
               "list fewer values or shorter ranges");
    for (long v = a; v <= b; ++v) out.insert(int(v));
  }
  if (out.empty()) throw FlagError(fmt::format("{} is empty. Fix: give values such as 1..64 or 1,2,4,8.", flag));
  return {out.begin(), out.end()};
}

std::vector<double> parse_number_list(const std::string& text, const char* flag, double lo, double hi) {
  std::vector<double> out;
  for (const auto& part : split(text, ',')) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(part, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != part.size() || !std::isfinite(v) || v < lo || v > hi)
      throw FlagError(
          fmt::format("{} \"{}\": \"{}\" is not a number in [{}, {}]. Fix: give comma-separated numbers "
                      "in that range.",
                      flag, text, part, lo, hi));
    out.push_back(v);
  }
  if (out.empty()) throw FlagError(fmt::format("{} is empty. Fix: give comma-separated numbers.", flag));
  return out;
}

double parse_flag_quantity(const std::string& text, Dimension dim, const char* flag) {
  double v = 0;
  try {
    v = io::parse_quantity_text(text, dim);
  } catch (const Error& e) {
    throw FlagError(
        fmt::format("{} \"{}\": {}. Fix: write a number with a unit, e.g. \"50 ms\".", flag, text, e.what()));
  }
  if (!(v > 0)) throw FlagError(fmt::format("{} \"{}\": must be positive. Fix: e.g. \"50 ms\".", flag, text));
  return v;
}

DType parse_dtype_name(const std::string& s, const char* flag) {
  return parse_format_flag(s, flag);  // case-insensitive
}

std::vector<std::string> split_ids(const std::string& text) {
  return split(text, ',');
}

}  // namespace ridgeline::present
