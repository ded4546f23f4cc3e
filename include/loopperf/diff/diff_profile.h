// `loopperf diff -o FILE`: BASE and HEAD as one pprof diff profile, in Go pprof's own convention (what
// `pprof -diff_base=BASE -normalize HEAD` builds in memory), so pprof and its web UI show it as a diff.
#pragma once

#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::diff {

// Head samples as they are. Base samples scaled per sample type by head total / base total (shares,
// not run lengths, are compared), rounded per sample record, negated and labelled `pprof::base=true`;
// records that round to zero are dropped. Functions shared by both are stored once; mappings and
// locations are kept per side (addresses differ between processes). Metadata: head's, plus
// `diff.base.cmdline`, `diff.base.samples`, `diff.head.samples`, `diff.base_scale`.
// The sample types must match (diff_profiles checks that first).
Result<profile::Profile> make_diff_profile(const profile::Profile& base, const profile::Profile& head);

// Several recordings of one side as one profile, for make_diff_profile: every run's samples (each
// run's share of the side is its share of the samples), the first run's metadata, durations summed.
Result<profile::Profile> concat_runs(const std::vector<const profile::Profile*>& runs);

}  // namespace loopperf::diff
