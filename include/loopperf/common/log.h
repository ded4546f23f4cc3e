// Messages for the person at the terminal. Everything goes to stderr; stdout is for command output.
#pragma once

#include <string_view>

namespace loopperf::log {

enum class Level { kQuiet, kNormal, kVerbose };
void set_level(Level level);
Level level();

void error(std::string_view message, std::string_view hint = {});
void warn(std::string_view message, std::string_view hint = {});
void info(std::string_view message);   // suppressed by -q
void debug(std::string_view message);  // only with -v

}  // namespace loopperf::log
