#include "loopperf/common/log.h"

#include <cstdio>
#include <string>

namespace loopperf::log {
namespace {
Level g_level = Level::kNormal;

void emit(const char* prefix, std::string_view message, std::string_view hint) {
  std::string line = "loopperf: ";
  line += prefix;
  line += message;
  line += '\n';
  if (!hint.empty()) {
    line += "  hint: ";
    line += hint;
    line += '\n';
  }
  std::fputs(line.c_str(), stderr);
}
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }
void error(std::string_view message, std::string_view hint) { emit("error: ", message, hint); }
void warn(std::string_view message, std::string_view hint) {
  if (g_level != Level::kQuiet) emit("warning: ", message, hint);
}
void info(std::string_view message) {
  if (g_level != Level::kQuiet) emit("", message, {});
}
void debug(std::string_view message) {
  if (g_level == Level::kVerbose) emit("debug: ", message, {});
}

}  // namespace loopperf::log
