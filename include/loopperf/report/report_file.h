// `report FILE`: read a profile, build the verdict, render it as text or JSON (docs/report.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "loopperf/common/result.h"
#include "loopperf/report/report.h"

namespace loopperf::report {

struct ReportConfig {
  std::string file;
  ReportOptions options;  // --thread, --top
  bool json = false;      // --format json
  bool stacks = false;    // --stacks (text only)
  // --pid: one process of a recording that followed several; none: every process, one section each.
  std::optional<int64_t> pid;
};

// The rendered report.
Result<std::string> report_file(const ReportConfig& cfg);

}  // namespace loopperf::report
