// `loopperf watch`: always-on stall capture (docs/watch.md). A flight recorder keeps the last
// `keep` of low-rate cpu samples and the loop's poll waits; a loop thread out of its poll wait for
// longer than `stall` is captured at the full rate (cpu and wall samples) until it is back or
// `max_capture` has passed, and the incident is written as one pprof file with a verdict. SIGTERM
// to the target, SIGUSR1 to loopperf, loopperf's stop and the target's exit write what is held too.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/record/incident.h"
#include "loopperf/record/options.h"
#include "loopperf/record/session.h"

namespace loopperf::record {

struct WatchConfig {
  pid_t pid = 0;                                     // -p; 0 in launch mode
  std::vector<std::string> command;                  // after `--`; empty in attach mode
  std::string dir = ".";                             // -o DIR, created when missing
  std::chrono::nanoseconds stall{std::chrono::milliseconds(200)};        // --stall
  std::chrono::nanoseconds keep{std::chrono::seconds(30)};               // --keep
  std::chrono::nanoseconds max_capture{std::chrono::seconds(10)};        // --max-capture
  std::optional<std::chrono::nanoseconds> duration;  // -d: watch this long (default: until stopped or the target exits)
  int idle_rate_hz = 49;                             // --idle-rate: the flight recorder's
  int max_incidents = 20;                            // --max-incidents: stall incidents per hour
  uint64_t max_bytes = 256ull << 20;                 // --max-bytes: incident files kept in DIR, oldest removed
  size_t flight_bytes = 24ull << 20;                 // the flight recorder's memory
  RecorderOptions sampling;  // -F (the capture's rate), --js-names, --unwind, --no-kernel ... (pid set at start)
};

// The exit status when the attached target exits (a verdict, like diff's regression status: not an error).
constexpr int kTargetExitedStatus = 11;

struct WatchHooks {
  // Asked at every step: a signal received since the last call (signo 0: none; SIGINT, SIGTERM,
  // SIGHUP: stop; SIGUSR1: a snapshot).
  std::function<StopRequest()> take_signal;
  // Each incident as it is written.
  std::function<void(const Incident&, const IncidentResult&, const WatchContext&)> incident;
  // Said once the watch is set up (what is watched, where incidents go).
  std::function<void(const std::string&)> watching;
};

// Returns the exit status: 0 when stopped (signal, -d); kTargetExitedStatus when the attached
// target exited; in launch mode the command's own status.
Result<int> run_watch(const WatchConfig& cfg, const WatchHooks& hooks);

}  // namespace loopperf::record
