#include "loopperf/report/report_file.h"

#include "loopperf/formats/pprof.h"

namespace loopperf::report {

Result<std::string> report_file(const ReportConfig& cfg) {
  auto prof = formats::read_pprof(cfg.file);
  if (!prof) return prof.error();
  auto r = build_report(*prof, cfg.options);
  if (!r) return r.error();
  return cfg.json ? render_json(*r) : render_text(*r, cfg.stacks);
}

}  // namespace loopperf::report
