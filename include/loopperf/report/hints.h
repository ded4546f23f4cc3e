// The report's hints as data: one table (hint_rows) whose rows each name a hint, the quantity it
// looks at, its threshold, the condition and the message; evaluate_hints runs the table over a
// computed report. Each row has a unit test at its threshold (tests/unit/report/test_hints.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loopperf/profile/recording_info.h"
#include "loopperf/report/report.h"

namespace loopperf::report {

// What `record` found of the target's perf map (JavaScript names).
enum class PerfMapState {
  kNotRecorded,  // no `perf_map` metadata: another tool's profile, or an older loopperf
  kNone,         // no perf map
  kIgnored,      // a perf map that was not trusted (wrong owner, not a regular file ...)
  kLoaded,
};

// From what `record` wrote about the recording (profile/recording_info.h).
PerfMapState perf_map_state(const profile::RecordingInfo& r);

// What the hints need beyond the report itself.
struct HintFacts {
  std::string target_node;  // `target.node` metadata: "yes", "no", or "" (not recorded by loopperf)
  PerfMapState perf_map = PerfMapState::kNotRecorded;
  std::string perf_map_note;         // what `record` said of the perf map, quoted by the hint
  bool heap_names = false;           // JavaScript frames were named from the target's heap (js_names.frames.heap)
  std::string phase_problem;         // why the loop phases are unknown; "" when they are known
  uint64_t loop_samples = 0;         // samples of the report's loop threads
  uint64_t unknown_jit_samples = 0;  // ... of them with an unnamed JIT frame
};

// The thresholds (docs/report.md lists them).
// missing-js-names: more than one loop sample in this many has an unnamed JIT frame.
inline constexpr uint64_t kUnknownJitOneIn = 10;
// stall: a busy period longer than this, when the profile does not give its own stall threshold.
inline constexpr double kDefaultStallThresholdMs = 50;
// Activity hints: a loop thread with fewer samples says too little about its shares.
inline constexpr uint64_t kMinThreadSamplesForShares = 20;
// Activity hints: the share of a loop thread's samples (>=).
inline constexpr double kSyncIoShare = 0.05;
inline constexpr double kGcShare = 0.10;
inline constexpr double kMicrotasksShare = 0.30;
// continuations: the share of a loop thread's samples entered as promise jobs or nextTick callbacks
// (the `entry` label), when the microtask machinery itself stays under kMicrotasksShare and the loop
// had a busy period beyond the stall threshold (or no loop health).
inline constexpr double kContinuationsShare = 0.50;
// lost: samples lost (>=).
inline constexpr uint64_t kMinLostSamples = 1;
// off-cpu: a loop thread in a cpu-mode recording whose busy time (loop health) is more than its
// on-CPU time (the scheduler's, else samples / rate) plus the time it was runnable waiting for a CPU
// by this factor, and at least kMinOffCpuBusyMs of it.
inline constexpr double kOffCpuBusyFactor = 2;
inline constexpr double kMinOffCpuBusyMs = 200;
// cpu-wait: a loop thread that waited for a CPU (runnable, the scheduler's run delay) for at least
// this share of its busy time, and at least kMinOffCpuBusyMs.
inline constexpr double kCpuWaitShare = 0.25;

enum class HintScope {
  kProfile,   // once per report
  kThread,    // each of the report's threads
  kActivity,  // each activity of each thread, in the thread's share order
};

// What one evaluation of a row sees.
struct HintSubject {
  const Report& report;
  const HintFacts& facts;
  const ThreadSummary* thread = nullptr;  // kThread, kActivity
  const Share* activity = nullptr;        // kActivity
};

struct HintRow {
  std::string_view id;  // Hint::kind
  HintScope scope;
  std::string_view activity;  // kActivity rows: the activity whose share is measured
  std::string_view quantity;  // what `threshold` bounds, in words
  double threshold;
  bool (*fires)(const HintSubject&, const HintRow&);
  std::string (*message)(const HintSubject&, const HintRow&);
};

std::span<const HintRow> hint_rows();

// The hints of every row, in table order; a run of kActivity rows is evaluated as one, per thread,
// then per activity in share order (so a thread's hints read like its breakdown).
std::vector<Hint> evaluate_hints(const Report& r, const HintFacts& facts);

}  // namespace loopperf::report
