#include "convert_config.h"

namespace loopperf::cli {

Result<formats::ConvertConfig> make_convert_config(const ConvertArgs& a) {
  if (a.phase_roots && a.no_phase_roots)
    return make_error(ErrorCode::kUsage, "--phase-roots and --no-phase-roots contradict each other",
                      "give at most one of them");
  formats::ConvertConfig cfg;
  cfg.input = a.input;
  cfg.output = a.output;
  cfg.filter = a.filter;
  if (a.phase_roots) cfg.write.phase_roots = true;
  if (a.no_phase_roots) cfg.write.phase_roots = false;
  cfg.write.value_type = a.value;
  return cfg;
}

}  // namespace loopperf::cli
