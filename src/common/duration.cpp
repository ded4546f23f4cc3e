#include "loopperf/common/duration.h"

#include <time.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>

namespace loopperf {

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kUsage, "invalid duration '" + std::string(text) + "': " + why,
                      "use a positive number with a unit: 500ms, 10s, 2m, 1h");
  };
  if (text.empty()) return bad("empty");
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) i++;
  if (i == 0) return bad("it must start with a number");
  std::string number(text.substr(0, i));
  std::string_view unit = text.substr(i);
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return bad("not a number");
  double scale;
  const auto is = [&unit](std::initializer_list<std::string_view> names) {
    for (auto n : names)
      if (unit == n) return true;
    return false;
  };
  if (is({"", "s", "sec", "secs", "second", "seconds"})) scale = 1e9;
  else if (is({"ms", "msec", "msecs", "millisecond", "milliseconds"})) scale = 1e6;
  else if (is({"us", "\u00b5s", "usec", "usecs", "microsecond", "microseconds"})) scale = 1e3;
  else if (is({"ns", "nsec", "nsecs", "nanosecond", "nanoseconds"})) scale = 1;
  else if (is({"m", "min", "mins", "minute", "minutes"})) scale = 60e9;
  else if (is({"h", "hr", "hrs", "hour", "hours"})) scale = 3600e9;
  else return bad("unknown unit '" + std::string(unit) + "'");
  double ns = value * scale;
  if (ns >= static_cast<double>(std::numeric_limits<int64_t>::max())) return bad("too large");
  // Checked after the conversion: "0.1ns" is positive but truncates to a zero duration.
  auto whole = static_cast<int64_t>(ns);
  if (whole <= 0) return bad("must be greater than zero");
  return std::chrono::nanoseconds(whole);
}

std::string format_duration(std::chrono::nanoseconds d) {
  char buf[64];
  double ns = static_cast<double>(d.count());
  if (ns < 1e6) std::snprintf(buf, sizeof buf, "%.0fus", ns / 1e3);
  else if (ns < 1e9) std::snprintf(buf, sizeof buf, "%.0fms", ns / 1e6);
  else if (ns < 60e9) std::snprintf(buf, sizeof buf, "%.2fs", ns / 1e9);
  else {
    int64_t s = static_cast<int64_t>(ns / 1e9);
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  }
  return buf;
}

Result<int64_t> parse_int(std::string_view text, int64_t min, int64_t max, std::string_view what) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
    return make_error(ErrorCode::kUsage,
                      "invalid " + std::string(what) + " '" + std::string(text) + "'",
                      "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

int64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace loopperf
