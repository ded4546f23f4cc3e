// `loopperf dump` options: the raw strings, validated into the record stage's DumpConfig apart from
// any side effects (unit-tested).
#pragma once

#include <sys/types.h>

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/record/dump.h"

namespace loopperf::cli {

struct DumpArgs {
  std::string pid;
  std::string js_names = "auto";
  bool json = false;
  bool children = false;
};

struct DumpCommandConfig {
  record::DumpConfig dump;
  bool json = false;
  bool children = false;
};

// `self_pid` is loopperf's own pid (refused as a target).
Result<DumpCommandConfig> make_dump_config(const DumpArgs& args, pid_t self_pid);

}  // namespace loopperf::cli
