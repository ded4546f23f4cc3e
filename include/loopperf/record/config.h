// What `record` is asked to do, as a plain struct: the CLI parses its options into it
// (src/cli/record_config.cpp, unit-tested), the session (session.h) runs it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "loopperf/record/options.h"

namespace loopperf::record {

struct RecordConfig {
  pid_t pid = 0;                                     // -p; 0 in launch mode
  std::vector<std::string> command;                  // after `--`; empty in attach mode
  std::optional<std::chrono::nanoseconds> duration;  // -d; none = until Ctrl-C / target exit
  std::string output;                                // -o; "" = default name
  bool quiet = false;                                // -q
  bool perf_map = true;                              // launch mode: --no-perf-map turns it off
  bool keep_perf_map = false;                        // launch mode: keep /tmp/perf-PID.map afterwards
  // The processes the target starts: launch mode by default (--no-children: the launched process
  // only); attach mode with --children (its running descendants, and those it starts later).
  bool follow_children = true;
  RecorderOptions sampling;  // -F, --mode, --unwind, --stack-size, --max-stacks ... (pid set at start)
};

// "loopperf-PID-YYYYmmdd-HHMMSS.pb.gz" for the given local time.
std::string default_output_name(pid_t pid, std::time_t now);

}  // namespace loopperf::record
