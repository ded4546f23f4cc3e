#include "report_config.h"

namespace loopperf::cli {

Result<report::ReportConfig> make_report_config(const ReportArgs& a) {
  if (a.format != "text" && a.format != "json")
    return make_error(ErrorCode::kUsage, "unknown format '" + a.format + "'", "use --format text (default) or json");
  if (a.top < 1 || a.top > 1000)
    return make_error(ErrorCode::kUsage, "--top " + std::to_string(a.top) + " is out of range", "give 1 to 1000");
  report::ReportConfig cfg;
  cfg.file = a.file;
  cfg.options.thread = a.thread;
  cfg.options.max_blockers = a.top;
  cfg.json = a.format == "json";
  cfg.stacks = a.stacks;
  if (a.pid < 0) return make_error(ErrorCode::kUsage, "--pid " + std::to_string(a.pid) + " is not a pid", "give a pid the profile holds");
  if (a.pid > 0) cfg.pid = a.pid;
  return cfg;
}

}  // namespace loopperf::cli
