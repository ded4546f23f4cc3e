// Chrome DevTools' .cpuprofile (the Profiler.Profile of the DevTools protocol, as written by
// `node --cpu-prof`): one thread's call tree, samples and timeDeltas. Loads in DevTools' Performance
// panel and in speedscope.
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats {

struct CpuprofileOptions {
  bool phase_roots = false;  // DevTools expects program frames under (root); opt in for "[poll]" roots
  std::string thread;        // a thread selector as in FilterSpec::threads; empty = the main loop
                             // thread, else the thread with most samples
  bool all_threads = false;  // every thread of the profile on one time line (convert --thread
                             // has already chosen them)
};

// pprof has no per-sample timestamps: each pprof sample becomes `count` consecutive samples of its
// stack, stacks ordered depth-first, each sample `period` apart (timeDeltas in microseconds,
// accumulated without rounding drift), starting at the profile's time_nanos.
Result<std::string> to_cpuprofile(const profile::Profile& p, const CpuprofileOptions& opt = {});

}  // namespace loopperf::formats
