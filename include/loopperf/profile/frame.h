// One frame of a raw stack as the unwinders produce it and the stack table stores it: an address
// and whether it is a kernel address. Part of the model so that lp_profile needs no unwinder.
#pragma once

#include <cstdint>

namespace loopperf::profile {

struct Frame {
  // For the leaf: the sampled pc. For callers: the return address minus one, so that the address
  // lies inside the call instruction and symbolizes (and line-maps) to the call site.
  uint64_t addr = 0;
  bool kernel = false;
  bool operator==(const Frame&) const = default;
};

}  // namespace loopperf::profile
