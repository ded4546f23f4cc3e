// Turns raw perf callchains into frames. Today: the kernel's frame-pointer callchain
// (PERF_SAMPLE_CALLCHAIN) with its PERF_CONTEXT_* markers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace loopperf::unwind {

struct Frame {
  // For the leaf: the sampled pc. For callers: the return address minus one, so that the address
  // lies inside the call instruction and symbolizes (and line-maps) to the call site.
  uint64_t addr = 0;
  bool kernel = false;
  bool operator==(const Frame&) const = default;
};

// Appends the frames of `ips[0..nr)` to `out`, leaf first. Context markers select kernel/user;
// guest contexts and bogus entries (0, -1) are skipped.
void frames_from_callchain(const uint64_t* ips, size_t nr, std::vector<Frame>& out);

}  // namespace loopperf::unwind
