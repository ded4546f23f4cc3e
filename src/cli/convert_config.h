// `loopperf convert` options: the raw values, validated into the formats stage's ConvertConfig
// apart from any side effects (unit-tested).
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/formats/convert.h"

namespace loopperf::cli {

struct ConvertArgs {
  std::string input;
  std::string output;
  formats::FilterSpec filter;
  bool phase_roots = false;
  bool no_phase_roots = false;
  std::string value;
  bool quiet = false;
};

Result<formats::ConvertConfig> make_convert_config(const ConvertArgs& args);

}  // namespace loopperf::cli
