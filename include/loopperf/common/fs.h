#pragma once

#include <optional>
#include <string>

#include "loopperf/common/result.h"

namespace loopperf {

// Reads a whole (small, e.g. /proc) file; nullopt when it cannot be opened.
std::optional<std::string> read_small_file(const std::string& path, size_t max_bytes = 16 << 20);

// Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename.
// On failure nothing is left behind.
Status write_file_atomic(const std::string& path, const std::string& data);

// Checks before any work is done that `path` can be created (directory exists and is writable).
Status check_output_writable(const std::string& path);

}  // namespace loopperf
