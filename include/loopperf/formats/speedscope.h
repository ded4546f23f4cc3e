// speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): one sampled
// profile per thread, named "name (tid)", event-loop threads first.
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats {

struct SpeedscopeOptions {
  bool phase_roots = true;  // a synthetic "[poll]" ... root frame per libuv phase
  std::string value_type;   // sample type to weigh by; empty = pprof's default (time for loopperf)
  std::string name;         // the file's name shown by speedscope; empty = from the metadata
};

// Samples are merged per distinct stack and ordered by thread, phase and frame names: pprof keeps no
// per-sample timestamps, so speedscope's "Time Order" view shows this synthesized order.
Result<std::string> to_speedscope(const profile::Profile& p, const SpeedscopeOptions& opt = {});

}  // namespace loopperf::formats
