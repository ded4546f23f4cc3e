#include "loopperf/unwind/callchain.h"

#include <linux/perf_event.h>

namespace loopperf::unwind {

void frames_from_callchain(const uint64_t* ips, size_t nr, std::vector<profile::Frame>& out) {
  bool kernel = false;
  bool skip = false;  // inside a guest context
  bool first = true;
  for (size_t i = 0; i < nr; i++) {
    uint64_t ip = ips[i];
    if (ip >= PERF_CONTEXT_MAX) {
      switch (ip) {
        case PERF_CONTEXT_KERNEL: kernel = true; skip = false; break;
        case PERF_CONTEXT_USER: kernel = false; skip = false; break;
        default: skip = true; break;  // PERF_CONTEXT_HV, GUEST*: not ours
      }
      continue;
    }
    if (skip || ip == 0) continue;
    out.push_back(profile::Frame{first ? ip : ip - 1, kernel});
    first = false;
  }
}

}  // namespace loopperf::unwind
