// `report FILE`: read a profile, build the verdict, render it as text or JSON (docs/report.md).
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/report/report.h"

namespace loopperf::report {

struct ReportConfig {
  std::string file;
  ReportOptions options;  // --thread, --top
  bool json = false;      // --format json
  bool stacks = false;    // --stacks (text only)
};

// The rendered report.
Result<std::string> report_file(const ReportConfig& cfg);

}  // namespace loopperf::report
