// What `record` (and `watch`) note about a recording, typed: written into the profile's metadata in
// one place (write_recording_info) and read back in one place (read_recording_info), so the keys
// and their spelling live here only (docs/labels.md lists them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loopperf/profile/profile.h"

namespace loopperf::profile {

// Where the JavaScript names came from: node's perf map, trusted or ignored, or none found.
struct PerfMapInfo {
  enum class State { kNone, kUsed, kIgnored };
  State state = State::kNone;
  uint64_t entries = 0;  // kUsed
  std::string path;      // kUsed, kIgnored
  std::string problem;   // kIgnored: why
  bool operator==(const PerfMapInfo&) const = default;
};

struct RecordingInfo {
  std::string tool;                // "loopperf 0.1.0"
  std::string mode;                // "cpu" | "wall"
  int64_t pid = 0;
  std::string cmdline;
  std::optional<bool> is_node;     // absent in files not written by loopperf
  std::string node_version;
  int64_t rate_hz = 0;
  uint64_t samples = 0, lost = 0, threads = 0, threads_skipped = 0, stacks_overflowed = 0;
  std::optional<bool> kernel_frames;
  std::string unwind;              // "fp" | "dwarf" | "auto"
  std::optional<PerfMapInfo> perf_map;  // absent in files that do not say
  bool target_exited = false;
  std::string phase_problem;       // why uv_run's call sites are unknown; "" when they were found
  // How the recording went, for people reading the file (unwind.end.*, stacks.*, symbols.*,
  // wall.*, loop_health.*): kept in order, not interpreted by any reader.
  std::vector<std::pair<std::string, std::string>> details;
  bool operator==(const RecordingInfo&) const = default;
};

// Replaces the keys it owns in p.metadata (keeps everything else, e.g. loop.*).
void write_recording_info(Profile& p, const RecordingInfo& info);
// Reads what is there; missing or malformed values stay at their defaults.
RecordingInfo read_recording_info(const Profile& p);

// The `perf_map` value as written: "N entries from PATH", "ignored PATH: PROBLEM", "none". Any other
// text reads as a map that was used (older files said only where it came from).
std::string format_perf_map(const PerfMapInfo& m);
PerfMapInfo parse_perf_map(std::string_view text);

}  // namespace loopperf::profile
