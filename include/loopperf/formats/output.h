// Picks a writer from an output file name. pprof is canonical; other writers plug in here.
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats {

enum class OutputFormat { kPprof };

// Checked before any recording starts, so a typo in -o costs nothing.
Result<OutputFormat> output_format_for(const std::string& path);
const char* output_format_name(OutputFormat f);

Status write_profile(const profile::Profile& p, const std::string& path);

}  // namespace loopperf::formats
