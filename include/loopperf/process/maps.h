// /proc/PID/maps, parsed. A snapshot is kept because the target may exit before symbolization.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loopperf/common/result.h"

namespace loopperf::process {

struct MapEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;  // file offset of `start`
  bool readable = false, writable = false, executable = false, is_private = false;
  uint64_t inode = 0;
  std::string dev;   // "fd:01"
  std::string path;  // as printed: "/usr/bin/node", "[heap]", "", "/x (deleted)", "[anon:...]"

  bool is_file_backed() const { return inode != 0 && !path.empty() && path[0] == '/'; }
  bool is_deleted() const;
  // The path with " (deleted)" removed.
  std::string clean_path() const;
  std::string_view clean_path_view() const;  // the same without a copy, valid while the entry is
};

// Parses the text of a maps file. Malformed lines are skipped, never fatal.
std::vector<MapEntry> parse_maps(const std::string& text);

// Reads /proc/PID/maps.
Result<std::vector<MapEntry>> read_maps(pid_t pid);

// The path of the libnode.so (libnode.so or libnode.so.N) that `maps` hold, as in the maps (in the
// process's mount namespace), or "": the node runtime built as a shared library (Debian's nodejs).
std::string libnode_path(const std::vector<MapEntry>& maps);

// The entry containing `addr`, or nullptr. `maps` must be sorted by start (as the kernel prints them).
const MapEntry* find_map(const std::vector<MapEntry>& maps, uint64_t addr);

}  // namespace loopperf::process
