// Whole-loop measurements that `diff` compares when both profiles carry them: the main loop's
// utilization and stall rate, from the loop health `record` stores as `loopperf:loop.<tid>.*`
// metadata (loop/health.h, docs/labels.md). Older recordings, other tools' profiles and programs whose
// loop never ran have none: the metric is skipped with a note. A new metric is one table entry.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loopperf/profile/profile.h"

namespace loopperf::diff {

// A proportion, `count` of `trials`, so that the same two-proportion test and percentage-point
// threshold as for shares apply (docs/diff.md says what each metric counts).
struct LoopObservation {
  double count = 0;
  double trials = 0;
};

struct LoopMetric {
  std::string_view name;   // "utilization"
  std::string_view needs;  // what the profiles must hold, for the "skipped" note
  bool higher_is_worse = true;
  std::optional<LoopObservation> (*observe)(const profile::Profile& p) = nullptr;
  // Why BASE and HEAD cannot be compared on this metric ("" when they can), e.g. different stall
  // thresholds. Optional.
  std::string (*incomparable)(const profile::Profile& base, const profile::Profile& head) = nullptr;
};

const std::vector<LoopMetric>& loop_metrics();

}  // namespace loopperf::diff
