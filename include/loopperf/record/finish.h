// The end of every recording, shared by `record`, `dump` and `watch`: raw stacks become one
// labelled Profile (symbols, phases and activities, loop health, the recording's metadata), and the
// profile is written, or rescued to $TMPDIR when its destination fails.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "loopperf/common/result.h"
#include "loopperf/loop/classifier.h"
#include "loopperf/loop/health.h"
#include "loopperf/profile/builder.h"
#include "loopperf/profile/recording_info.h"
#include "loopperf/profile/stack_table.h"
#include "loopperf/symbols/process_symbolizer.h"

namespace loopperf::record {

struct FinishOptions {
  pid_t pid = 0;                 // the target: its main thread is the main loop, when it runs node
  bool is_node = true;           // false: no thread is a loop unless its stacks show one (uv_run)
  profile::BuildInfo build;      // thread names, period, times, main binary, wall mode
  // Written into the profile's metadata when present (record, watch); dump has none.
  std::optional<profile::RecordingInfo> recording;
  // Loop health measured while recording, closed at end_ns; null when not measured.
  loop::LoopHealthTracker* health = nullptr;
  uint64_t end_ns = 0;
  // Called once the profile holds the stacks and their names: frees what built them before the
  // labels add their own memory (the peak of a long recording is here).
  std::function<void()> release_raw;
};

struct FinishedProfile {
  profile::Profile profile;
  loop::LabelSummary labels;
  std::string phase_problem;  // why some loop samples have phase=unknown; "" when none
};

FinishedProfile finish_profile(const profile::StackTable& stacks, symbols::ProcessSymbolizer& symbolizer,
                               FinishOptions opts);

// The perf map's part of a recording's metadata (RecordingInfo::perf_map).
profile::PerfMapInfo perf_map_info(const symbols::PerfMapStatus& st);

// Fills each stall's phase and one-line summary from the profile's sample at its heaviest stack.
void resolve_stalls(std::vector<loop::LoopHealth>& health, const profile::Profile& p);

// Writes `output` in the format its name asks for. When that fails (disk full, directory gone),
// the canonical pprof is saved under $TMPDIR (or /tmp) and the error says where: a recording is
// never lost to its destination.
Status write_or_rescue(const profile::Profile& p, const std::string& output, pid_t pid);

}  // namespace loopperf::record
