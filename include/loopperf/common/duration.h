#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "loopperf/common/result.h"

namespace loopperf {

// Parses "500ms", "10s", "2m", "1h", "1.5s", "250us"; a bare number means seconds.
// Rejects negative, empty, unknown units and values that overflow int64 nanoseconds.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// "1.52s", "340ms", "2m05s": for humans.
std::string format_duration(std::chrono::nanoseconds d);

// The clocks perf_event timestamps use (CLOCK_MONOTONIC) and wall time (CLOCK_REALTIME), in ns.
uint64_t monotonic_ns();
int64_t realtime_ns();

// Parses a positive integer within [min, max], e.g. a sampling rate or a pid.
Result<int64_t> parse_int(std::string_view text, int64_t min, int64_t max, std::string_view what);

}  // namespace loopperf
