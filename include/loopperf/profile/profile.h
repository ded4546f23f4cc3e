// The one format-neutral profile model. Every reader produces it, every writer consumes it; no format
// talks to another format directly. It mirrors pprof's structure (so pprof round-trips without loss) but
// holds strings directly instead of a string table, and ids are always index + 1 into their vector.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loopperf/profile/sample.h"

namespace loopperf::profile {

struct ValueType {
  std::string type;  // "samples", "cpu", "wall"
  std::string unit;  // "count", "nanoseconds"
  bool operator==(const ValueType&) const = default;
};

struct Mapping {
  uint64_t start = 0;
  uint64_t limit = 0;
  uint64_t offset = 0;
  std::string file;      // "/usr/bin/node", "[kernel.kallsyms]", "[jit]"
  std::string build_id;  // hex, empty when unknown
  bool has_functions = false;
  bool has_filenames = false;
  bool has_line_numbers = false;
  // Code V8 made at run time (anonymous executable memory): "[jit]", or "[anon:...]" as the kernel
  // names a mapping V8 labelled.
  bool jit() const { return file == "[jit]" || file.starts_with("[anon"); }
};

struct Function {
  std::string name;         // demangled / human name: "authMiddleware", "node::fs::Read"
  std::string system_name;  // raw name: mangled C++ or the perf-map entry "JS:*authMiddleware app.js:17:3"
  std::string file;         // source file when known
  int64_t start_line = 0;
};

struct Line {
  uint64_t function_id = 0;  // 1-based index into Profile::functions
  int64_t line = 0;
  int64_t column = 0;
};

struct Location {
  uint64_t mapping_id = 0;  // 0 = no mapping
  uint64_t address = 0;
  std::vector<Line> lines;  // innermost (inlined callee) first, as in pprof
};

struct Profile {
  std::vector<ValueType> sample_types;
  ValueType period_type;
  int64_t period = 0;
  int64_t time_nanos = 0;
  int64_t duration_nanos = 0;
  std::string default_sample_type;

  std::vector<Mapping> mappings;
  std::vector<Location> locations;
  std::vector<Function> functions;
  SampleTable samples;

  // Free-form comments kept verbatim, plus loopperf's own key/value metadata (target command line,
  // node version, rate, lost records ...). The pprof writer stores metadata as comments
  // "loopperf:KEY=VALUE" and the reader turns them back into metadata.
  std::vector<std::string> comments;
  std::vector<std::pair<std::string, std::string>> metadata;

  const Mapping* mapping(uint64_t id) const { return id && id <= mappings.size() ? &mappings[id - 1] : nullptr; }
  const Location* location(uint64_t id) const {
    return id && id <= locations.size() ? &locations[id - 1] : nullptr;
  }
  const Function* function(uint64_t id) const {
    return id && id <= functions.size() ? &functions[id - 1] : nullptr;
  }
  std::string_view meta(std::string_view key) const;  // "" when absent
  void set_meta(std::string key, std::string value);

  // Index of the sample type named `type`, or nullopt.
  std::optional<size_t> value_index(std::string_view type) const;
};

// The tags V8 writes before a JavaScript function's name in its perf map, which loopperf keeps as the
// function's system_name: "JS:" since V8 11 (node 20); before it, how the code was compiled (node 18,
// as distributions still ship it). Eval and regexp code have tags of their own ("Eval:", "RegExp:").
inline constexpr std::string_view kV8JsTags[] = {"JS:",           "LazyCompile:",       "Function:",
                                                  "Script:",       "NativeLazyCompile:", "NativeFunction:",
                                                  "NativeScript:"};
// The JavaScript tag `system_name` starts with, or "".
std::string_view v8_js_tag(std::string_view system_name);

// What a frame is, derived from its function and mapping (no format stores it directly).
enum class FrameKind { kJs, kNative, kKernel, kV8Builtin, kGc, kUnknown };
FrameKind frame_kind(const Profile& p, const Location& loc, const Line& line);
const char* frame_kind_name(FrameKind kind);

}  // namespace loopperf::profile
