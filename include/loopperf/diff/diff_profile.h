// `loopperf diff -o FILE`: BASE and HEAD as one pprof diff profile, in Go pprof's own convention (what
// `pprof -diff_base=BASE -normalize HEAD` builds in memory), so pprof and its web UI show it as a diff.
#pragma once

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

}  // namespace loopperf::diff
