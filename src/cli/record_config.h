// `loopperf record` options as a plain struct, parsed and validated apart from any side effects so
// the parsing is unit-testable.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "recorder_options.h"

namespace loopperf::cli {

struct RecordConfig {
  pid_t pid = 0;                                  // -p; 0 in launch mode
  std::vector<std::string> command;               // after `--`; empty in attach mode
  std::optional<std::chrono::nanoseconds> duration;  // -d; none = until Ctrl-C / target exit
  std::string output;                             // -o; "" = default name
  bool quiet = false;                             // -q
  bool perf_map = true;                           // launch mode: --no-perf-map turns it off
  bool keep_perf_map = false;                     // launch mode: keep /tmp/perf-PID.map afterwards
  RecorderOptions sampling;  // -F, --mode, --unwind, --stack-size, --max-stacks ... (pid set at start)
};

// Raw strings from the command line, before validation.
struct RecordArgs {
  std::string pid, duration, output, frequency, unwind = "auto", stack_size, mode = "cpu", stall_threshold;
  bool no_loop_health = false;
  std::string max_stacks;
  std::vector<std::string> command;
  bool quiet = false, no_perf_map = false, keep_perf_map = false, no_kernel = false;
};

// Validates and converts. `self_pid` is loopperf's own pid (refused as a target).
Result<RecordConfig> make_record_config(const RecordArgs& args, pid_t self_pid);

// "loopperf-PID-YYYYmmdd-HHMMSS.pb.gz" for the given local time.
std::string default_output_name(pid_t pid, std::time_t now);

}  // namespace loopperf::cli
