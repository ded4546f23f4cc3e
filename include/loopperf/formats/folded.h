// Collapsed ("folded") stacks, the input of flamegraph.pl and inferno: one line per distinct stack,
// `thread;[phase];frame;...;leaf count`, root first.
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats {

struct FoldedOptions {
  bool phase_roots = true;  // the `[phase]` element (omitted also when samples carry no phase label)
  std::string value_type;   // sample type to count; empty = the "count" type (samples)
};

// The thread element ("node (4242)") is present when the samples carry thread labels (profiles from
// other tools usually do not). `;` inside a frame name becomes `:` so that lines split unambiguously.
Result<std::string> to_folded(const profile::Profile& p, const FoldedOptions& opt = {});

}  // namespace loopperf::formats
