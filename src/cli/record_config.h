// `loopperf record` options: the raw strings, parsed and validated into the record stage's
// RecordConfig apart from any side effects, so the parsing is unit-testable.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/record/config.h"

namespace loopperf::cli {

// Raw strings from the command line, before validation.
struct RecordArgs {
  std::string pid, duration, output, frequency, unwind = "auto", stack_size, mode = "cpu", stall_threshold;
  std::string js_names = "auto";
  bool no_loop_health = false;
  std::string max_stacks;
  std::vector<std::string> command;
  bool quiet = false, no_perf_map = false, keep_perf_map = false, no_kernel = false, no_children = false, children = false;
};

// Validates and converts. `self_pid` is loopperf's own pid (refused as a target).
Result<record::RecordConfig> make_record_config(const RecordArgs& args, pid_t self_pid);

}  // namespace loopperf::cli
