#pragma once

#include <string_view>
#include <vector>

#include "loopperf/profile/profile.h"

namespace loopperf::report {

// A sample's stack with inlined frames expanded, leaf first.
struct ExpandedFrame {
  const profile::Function* fn = nullptr;
  const profile::Mapping* mapping = nullptr;
  std::string_view name;
  int64_t line = 0;
  profile::FrameKind kind = profile::FrameKind::kUnknown;
};

std::vector<ExpandedFrame> expand(const profile::Profile& p, const profile::Sample& s);

}  // namespace loopperf::report
