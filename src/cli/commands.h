#pragma once

#include "loopperf/common/result.h"
#include "record_config.h"

namespace loopperf::cli {

// Each command returns the process exit status on success, or an Error that main() reports.
Result<int> run_record(const RecordConfig& cfg);

}  // namespace loopperf::cli
