// Whole-loop measurements (utilization, stalls) that a profile may carry as `loopperf:` metadata.
// `record` does not write them yet; each metric here reads its keys and is skipped when either
// profile lacks them, so a later recorder only has to write the keys (docs/diff.md lists them).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "loopperf/profile/profile.h"

namespace loopperf::diff {

// A proportion: `count` of `trials` (busy samples of all loop samples, stalled iterations of all
// iterations), so that the same two-proportion test and percentage-point threshold apply.
struct LoopObservation {
  double count = 0;
  double trials = 0;
};

struct LoopMetric {
  std::string_view name;   // "utilization"
  std::string_view keys;   // the metadata it needs, for the "skipped" note
  bool higher_is_worse = true;
  std::optional<LoopObservation> (*observe)(const profile::Profile& p) = nullptr;
};

const std::vector<LoopMetric>& loop_metrics();

}  // namespace loopperf::diff
