// SPDX-License-Identifier: Apache-2.0
// What the calibrator records about the host it ran on: the date and how loaded it was.
#pragma once
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

namespace ridgeline::calib {

inline std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

/// The 1-minute load average (/proc/loadavg; -1 where there is none) against the core count.
struct HostLoad {
  double loadavg_1min = -1;
  int cores = 0;
  /// More runnable processes than cores: measurements share the CPUs with something else.
  bool loaded() const { return cores > 0 && loadavg_1min > cores; }
};

inline HostLoad read_host_load() {
  HostLoad h;
  h.cores = int(std::thread::hardware_concurrency());
  std::ifstream f("/proc/loadavg");
  double v = 0;
  if (f >> v) h.loadavg_1min = v;
  return h;
}

}  // namespace ridgeline::calib
