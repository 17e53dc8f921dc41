// SPDX-License-Identifier: Apache-2.0
#include "io/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ridgeline/error.hpp"

namespace ridgeline::io {

namespace fs = std::filesystem;

namespace {
std::string named(const std::string& flag, const std::string& file) {
  return flag.empty() ? file : flag + " \"" + file + "\"";
}

/// Closes a descriptor on every path out of a function.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

std::string read_bounded_file(const std::string& file, std::uintmax_t max_bytes, const std::string& flag) {
  const std::string who = named(flag, file);
  // stat() first: it never blocks, where open() on a FIFO would wait for a writer forever.
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    throw ConfigError(who + ": cannot read (" + std::strerror(errno) + "). Fix: check the path.");
  if (!S_ISREG(st.st_mode))
    throw ConfigError(who + ": not a regular file (a folder, device, FIFO or socket). Fix: give a file.");
  if (std::uintmax_t(st.st_size) > max_bytes)
    throw ConfigError(who + ": file is " + std::to_string(st.st_size) + " bytes, more than the " +
                      std::to_string(max_bytes) + "-byte limit for Ridgeline input files. Fix: pass the right file.");
  Fd in{::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (in.fd < 0) throw ConfigError(who + ": cannot open (" + std::strerror(errno) + "). Fix: check the permissions.");
  // The path may have been swapped between stat() and open(): check what was opened.
  if (::fstat(in.fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw ConfigError(who + ": not a regular file. Fix: give a file.");
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(in.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ConfigError(who + ": read error (" + std::strerror(errno) + "). Fix: check the file.");
    }
    if (n == 0) break;
    text.append(buf, size_t(n));
    if (text.size() > max_bytes)  // the file grew while being read
      throw ConfigError(who + ": more than the " + std::to_string(max_bytes) +
                        "-byte limit for Ridgeline input files. Fix: pass the right file.");
  }
  return text;
}

void write_file_atomic(const std::string& path, std::string_view text, const std::string& flag) {
  const std::string who = named(flag, path);
  if (path.empty()) throw ConfigError(flag + ": empty file name. Fix: give a file path.");
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!ec && fs::exists(status) && !fs::is_regular_file(status))
    throw ConfigError(who +
                      ": exists and is not a regular file (a folder, device or FIFO). Fix: write to a "
                      "file path.");
  fs::path target(path);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    throw ConfigError(who + ": cannot create a file in " + dir.string() + " (" + std::strerror(errno) +
                      "). Fix: check the folder exists and is writable.");
  auto fail = [&](const char* what, int err) {
    ::unlink(tmp.c_str());
    throw ConfigError(who + ": " + what + " (" + std::strerror(err) +
                      "); nothing was written. Fix: free disk space or choose another folder.");
  };
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail("write error", err);
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int err = errno;
    ::close(fd);
    fail("write error", err);
  }
  if (::close(fd) != 0) fail("write error", errno);
  // mkstemp makes the file 0600; give it the usual permissions of a new file.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(tmp.c_str(), 0666 & ~mask);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename the finished file into place", errno);
}

void check_output_path(const std::string& path, const std::vector<fs::path>& inputs,
                       const std::vector<fs::path>& input_dirs, const std::string& flag) {
  std::error_code ec;
  if (path.empty()) throw ConfigError(flag + ": empty file name. Fix: give a file path.");
  const fs::file_status status = fs::status(path, ec);
  if (!ec && fs::exists(status) && !fs::is_regular_file(status))
    throw ConfigError(named(flag, path) +
                      ": exists and is not a regular file (a folder, device or FIFO). Fix: "
                      "write to a file path.");
  ec.clear();
  const fs::path out = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return;  // write_file_atomic reports an unusable path
  for (const auto& in : inputs) {
    std::error_code e2;
    if (in.empty()) continue;
    if (fs::weakly_canonical(fs::absolute(in, e2), e2) == out && !e2)
      throw ConfigError(named(flag, path) + ": is also an input file (" + in.string() +
                        "); writing it would destroy the input. Fix: choose another output file.");
  }
  for (const auto& d : input_dirs) {
    std::error_code e2;
    if (d.empty()) continue;
    const fs::path dir = fs::weakly_canonical(fs::absolute(d, e2), e2);
    if (e2) continue;
    const fs::path rel = out.lexically_relative(dir);
    const bool inside = !rel.empty() && *rel.begin() != "..";
    if (inside)
      throw ConfigError(named(flag, path) + ": lies inside the data folder " + dir.string() +
                        " being read. Fix: write the output elsewhere.");
  }
}

}  // namespace ridgeline::io
