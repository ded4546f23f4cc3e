// One incident of `watch` (docs/watch.md): what triggered it, the profile built from the flight
// recorder's window (flight_recorder.h) with the incident's metadata, its file, and the verdict
// printed for it (one line, or one JSON object for log shippers).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/loop/stall_detector.h"
#include "loopperf/record/flight_recorder.h"
#include "loopperf/record/recorder.h"
#include "loopperf/report/report.h"

namespace loopperf::record {

enum class Trigger {
  kStall,     // a loop thread out of its poll wait for longer than --stall
  kSigterm,   // the target received SIGTERM (an orchestrator ending it)
  kSnapshot,  // SIGUSR1 to loopperf
  kExit,      // the target exited while a SIGTERM incident was open
  kStop,      // loopperf was stopped (SIGINT, SIGTERM) while an incident was open
};
std::string_view trigger_name(Trigger t);  // "stall", "sigterm", "snapshot", "exit", "stop"

struct Incident {
  Trigger trigger = Trigger::kStall;
  pid_t tid = 0;          // the stuck loop thread (kStall); 0 otherwise
  uint64_t start_ns = 0;  // CLOCK_MONOTONIC: the stall's start (its loop left the poll wait), or the trigger's
  uint64_t end_ns = 0;    // the stall's end, or when the capture stopped
  // The stall ended (its loop back in its poll wait); else it was cut by --max-capture, a stop or
  // the target's exit, and its duration is a lower bound.
  bool ended = false;
};

// What every incident of one watch shares.
struct WatchContext {
  pid_t pid = 0;
  bool is_node = false;
  std::string exe, cmdline, node_version;
  int rate_hz = 999;      // the capture's rate
  int idle_rate_hz = 49;  // the flight recorder's
  int64_t stall_threshold_ns = 200'000'000;
  uint64_t keep_ns = 30'000'000'000ULL;
  int64_t realtime_offset_ns = 0;  // CLOCK_REALTIME - CLOCK_MONOTONIC
};

struct IncidentResult {
  std::string file;     // where the profile was written
  std::string verdict;  // "stall 1.83 s at 12:04:07 poll › authMiddleware (auth.js:17) › readFileSync › uv_fs_read  [sync-io]"
  std::string summary;  // the heaviest stack's one-line summary, or why there is none
  std::string phase, activity;
  std::vector<report::StackFrame> frames;  // the heaviest stack, leaf first
  uint64_t samples = 0;                    // in the profile, before and during
  uint64_t incident_samples = 0;           // of the stuck thread (stall) or of all threads, during
  // The incident as one JSON object on one line (docs/watch.md "--json").
  std::string json(const Incident& inc, const WatchContext& ctx) const;
};

// "stall-20261205T120407.123Z-1830ms.pb.gz": the trigger, its start in ISO 8601 basic format (UTC,
// no colons: safe in every file system and URL), and its duration.
std::string incident_file_name(const Incident& inc, const WatchContext& ctx);

// Builds the incident's profile from the flight recorder: every sample from `keep` before the
// incident's start to its end (label window=before|incident), loop health over that window (the
// stall among its stalls), the recording's metadata and the incident's (incident.*), and writes it
// into `dir` (rescued to $TMPDIR when that fails, as record does).
Result<IncidentResult> write_incident(Recorder& rec, const FlightRecorder& flight, const loop::StallDetector& detector,
                                      const Incident& inc, const WatchContext& ctx, const std::string& dir);

}  // namespace loopperf::record
