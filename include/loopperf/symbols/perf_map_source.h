// Where a target's V8 perf map comes from, whether to believe it, and what it has said so far.
//
// node --perf-basic-prof appends to /tmp/perf-PID.map while it runs. The file is found through the
// target's own open descriptor, or by name: in the target's /tmp with its innermost pid (containers:
// /proc/PID/root/tmp/perf-NSPID.map) or in ours. /tmp is world-writable and pids are reused, so a
// map is believed only when root or the target's user wrote it, nobody else can write it, and (found
// by name) it was written after the target started. The file is tailed: new lines are read on each
// tail(), and a truncated file is read again from the start.
//
// Reading is bounded (the file may be planted, sparse or corrupt): at most 1 GiB, nothing past the
// first NUL byte (V8 writes text; a hole of a sparse file reads as NULs), and at most 5 s of reading
// over the whole recording. Past a bound the rest is not read and a warning says which bound.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "loopperf/common/unique_fd.h"
#include "loopperf/process/status.h"
#include "loopperf/symbols/perf_map.h"

namespace loopperf::symbols {

struct PerfMapStatus {
  bool found = false;
  bool trusted = true;  // false: ignored because of its owner or permissions
  std::string path;     // where it was found
  std::string problem;  // why it was ignored / not found, for the warning
  size_t entries = 0;
  size_t malformed = 0;
};

class PerfMapSource {
 public:
  // `status`: the target's parsed /proc/PID/status (its NSpid finds the map in a container, its real
  // uid is the trusted owner), nullopt when unknown. `process_start`: when the target started, in
  // seconds since the epoch (process::start_time); a map found by name and last written more than
  // 2 s before is an earlier process's. nullopt: no staleness check.
  PerfMapSource(pid_t pid, std::optional<process::ProcStatus> status, std::optional<double> process_start);
  // A saved copy of a trusted map (a replayed recording, record/replay.h); "" = there was none.
  static PerfMapSource saved(std::string path);
  PerfMapSource(PerfMapSource&&) = default;
  PerfMapSource(const PerfMapSource&) = delete;
  PerfMapSource& operator=(const PerfMapSource&) = delete;

  // Finds and checks the map when none is open yet, re-checks the open one's trust, reads its new
  // lines. True when names may have changed (new lines, a restart, or trust withdrawn).
  bool tail();

  const PerfMapEntry* lookup(uint64_t addr) const { return map_.lookup(addr); }
  const PerfMap& map() const { return map_; }
  const PerfMapStatus& status() const { return status_; }
  // The map's open file (-1 when none is trusted): a saved recording copies it from here.
  int fd() const { return fd_.get(); }

  // Closes the file and frees its names; status() stays.
  void release();

 private:
  bool open();

  pid_t pid_;
  std::string proc_;        // "/proc/PID"
  // A file (new, or rewritten) is read from its first byte, within the size cap.
  void read_from_start();

  bool saved_ = false;      // only saved_path_ is looked at
  std::string saved_path_;
  std::optional<process::ProcStatus> target_status_;
  std::optional<double> process_start_;
  PerfMap map_;
  PerfMapStatus status_;
  UniqueFd fd_;
  uid_t uid_ = 0;  // owner when the map was accepted: a later chown or chmod revokes the trust
  uint64_t offset_ = 0;
  // Where reading stops for good (see the top): the size cap, or a NUL byte's offset once seen; and
  // the reading time spent so far against its budget.
  uint64_t stop_at_;
  std::chrono::nanoseconds read_time_{0};
  bool stopped_warned_ = false;
};

}  // namespace loopperf::symbols
