// Builds the format-neutral Profile from aggregated raw stacks: each distinct address is
// symbolized once, locations/functions/mappings are interned, and every sample gets its thread
// labels.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "loopperf/profile/profile.h"
#include "loopperf/profile/stack_table.h"
#include "loopperf/symbols/process_symbolizer.h"

namespace loopperf::profile {

struct BuildInfo {
  std::map<pid_t, std::string> thread_names;
  int64_t period_ns = 0;     // nominal sampling period (1e9 / rate)
  int64_t time_nanos = 0;    // wall-clock start of the recording
  int64_t duration_nanos = 0;
  std::vector<std::pair<std::string, std::string>> metadata;
  // The target's executable: its mapping goes first, since pprof names the profile after the
  // first mapping ("File: node").
  std::string main_binary;
  // Wall mode: values are samples/count and wall/nanoseconds, and every sample says how it was taken
  // (label clock = wall | cpu).
  bool wall_mode = false;
};

Profile build_profile(const StackTable& stacks, symbols::ProcessSymbolizer& symbolizer, const BuildInfo& info);

}  // namespace loopperf::profile
