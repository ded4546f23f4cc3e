// `loopperf watch` options: the raw strings, validated into the record stage's WatchConfig apart
// from any side effects (unit-tested).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/record/watch.h"

namespace loopperf::cli {

struct WatchArgs {
  std::string pid, output = ".", stall, keep, max_capture, duration, frequency, idle_rate, max_incidents, max_bytes;
  std::string js_names = "auto", unwind = "auto";
  std::vector<std::string> command;
  bool json = false, quiet = false, no_kernel = false;
};

struct WatchCommandConfig {
  record::WatchConfig watch;
  bool json = false;
  bool quiet = false;
};

// "256M", "1G", "500k", "1048576": bytes (powers of 1024).
Result<uint64_t> parse_bytes(const std::string& text, const std::string& what);

// `self_pid` is loopperf's own pid (refused as a target).
Result<WatchCommandConfig> make_watch_config(const WatchArgs& args, pid_t self_pid);

}  // namespace loopperf::cli
