// Turns raw perf callchains into frames. Today: the kernel's frame-pointer callchain
// (PERF_SAMPLE_CALLCHAIN) with its PERF_CONTEXT_* markers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "loopperf/profile/frame.h"

namespace loopperf::unwind {

// Appends the frames of `ips[0..nr)` to `out`, leaf first. Context markers select kernel/user;
// guest contexts and bogus entries (0, -1) are skipped.
void frames_from_callchain(const uint64_t* ips, size_t nr, std::vector<profile::Frame>& out);

}  // namespace loopperf::unwind
