// SPDX-License-Identifier: Apache-2.0
// Every file Ridgeline reads or writes goes through here. Reads: regular files only (a FIFO,
// /dev/zero or a folder is refused before anything blocks or grows) and never more than a size
// limit. Writes: to a temporary file in the target's folder, renamed over the target only once
// every byte is on disk, so a full disk or a write error leaves the old file (or none) and an
// error, never a truncated file and "wrote ...".
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ridgeline::io {

/// Files larger than this are not Ridgeline input (JSON, histograms): refused before reading.
inline constexpr std::uintmax_t kMaxInputFileBytes = 16u * 1024u * 1024u;

/// Reads a whole regular file of at most `max_bytes`; throws ConfigError naming `file` (and
/// `flag` when given, e.g. "--histogram") otherwise.
std::string read_bounded_file(const std::string& file, std::uintmax_t max_bytes = kMaxInputFileBytes,
                              const std::string& flag = "");

/// Writes `text` to `path` atomically (temporary file in the same folder, then rename).
/// Refuses a target that exists and is not a regular file (/dev/full, a FIFO, a folder).
/// Throws ConfigError naming `flag` and the path on any failure; the temporary is removed.
void write_file_atomic(const std::string& path, std::string_view text, const std::string& flag);

/// Refuses an output path that is one of `inputs` or lies inside one of `input_dirs` (e.g. the
/// data folder being read): writing there would destroy or corrupt the input. Throws ConfigError.
void check_output_path(const std::string& path, const std::vector<std::filesystem::path>& inputs,
                       const std::vector<std::filesystem::path>& input_dirs, const std::string& flag);

}  // namespace ridgeline::io
