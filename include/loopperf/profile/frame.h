// One frame of a raw stack as the unwinders produce it and the stack table stores it: an address,
// whether it is a kernel address, and for a JavaScript frame named from the target's heap the id of
// its name (v8/stack_namer.h). Part of the model so that lp_profile needs no unwinder.
#pragma once

#include <cstdint>

namespace loopperf::profile {

struct Frame {
  // For the leaf: the sampled pc. For callers: the return address minus one, so that the address
  // lies inside the call instruction and symbolizes (and line-maps) to the call site.
  uint64_t addr = 0;
  bool kernel = false;
  // 0, or the heap namer's id of this frame's JavaScript function (and line): one address can run
  // many functions (the interpreter's trampoline runs every interpreted one), and code that
  // inlined others expands into several frames at the same address.
  uint32_t js = 0;
  bool operator==(const Frame&) const = default;
};

}  // namespace loopperf::profile
