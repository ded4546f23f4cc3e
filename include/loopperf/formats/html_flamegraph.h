// A self-contained HTML flame graph: one file with the data, script and style inline (no network),
// written by loopperf's own template (src/formats/html/).
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats {

struct HtmlOptions {
  bool phase_roots = true;  // "[poll]" ... level between each thread and its frames
  std::string value_type;   // sample type to weigh by; empty = the "count" type (samples)
  std::string title;        // page title; empty = from the metadata
};

Result<std::string> to_html_flamegraph(const profile::Profile& p, const HtmlOptions& opt = {});

}  // namespace loopperf::formats
