// `convert`: read a pprof file (loopperf's, Go's, Node's pprof package), keep the samples the
// filters select, and write the format the output's name asks for (docs/convert.md).
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/formats/filter.h"
#include "loopperf/formats/output.h"

namespace loopperf::formats {

struct ConvertConfig {
  std::string input;
  std::string output;
  FilterSpec filter;
  WriteOptions write;  // phase roots, value type; all_threads is set from the filter
};

// Returns the one-line summary ("3190 of 4411 samples -> out.html (HTML flame graph)", or both
// sides of a diff profile). The output is checked before the input is read.
Result<std::string> convert_file(const ConvertConfig& cfg);

}  // namespace loopperf::formats
