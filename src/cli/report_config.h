// `loopperf report` options: the raw values, validated into the report stage's ReportConfig apart
// from any side effects (unit-tested).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "loopperf/common/result.h"
#include "loopperf/report/report_file.h"

namespace loopperf::cli {

struct ReportArgs {
  std::string file;
  std::string thread;
  std::string format = "text";
  bool stacks = false;
  size_t top = 10;
  int64_t pid = 0;  // --pid; 0: every process
};

Result<report::ReportConfig> make_report_config(const ReportArgs& args);

}  // namespace loopperf::cli
