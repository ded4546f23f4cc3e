// V8's /tmp/perf-PID.map: "<hex start> <hex size> <name>" per line, append-only, later lines win.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace loopperf::symbols {

enum class JitKind { kJs, kBuiltin, kBytecodeHandler, kRegExp, kEval, kOther };

struct PerfMapEntry {
  uint64_t start = 0;
  uint64_t size = 0;
  std::string raw;   // the name exactly as in the file: "JS:*authMiddleware /srv/app.js:17:3"
  std::string name;  // "authMiddleware"; "(anonymous)" for an empty JS name
  std::string file;  // "/srv/app.js", "node:internal/fs/utils"; empty when not a JS entry
  int64_t line = 0;
  int64_t column = 0;
  char tier = 0;  // '~' interpreted, '^' baseline, '+' maglev, '*' turbofan, 0 when none
  JitKind kind = JitKind::kOther;
};

// Parses one line (without the newline). Returns false for malformed lines.
bool parse_perf_map_line(std::string_view line, PerfMapEntry& out);

class PerfMap {
 public:
  // Feeds more bytes of the file; a trailing partial line is kept until the rest arrives.
  // Malformed lines are counted and skipped.
  void feed(std::string_view bytes);
  // Inserts one entry; it replaces every older entry it overlaps (later entries win).
  void insert(PerfMapEntry entry);
  const PerfMapEntry* lookup(uint64_t addr) const;

  size_t size() const { return by_start_.size(); }
  size_t malformed_lines() const { return malformed_; }

 private:
  std::map<uint64_t, PerfMapEntry> by_start_;  // non-overlapping intervals
  std::string partial_;
  size_t malformed_ = 0;
};

}  // namespace loopperf::symbols
