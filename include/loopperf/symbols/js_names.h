// Where JavaScript frames get their names: V8's perf map (the target wrote it: needs a flag), the
// target's own heap (read by loopperf: no flag), both, or neither. The heap namer (v8/stack_namer.h)
// marks the frames it named with an id (profile::Frame::js); the symbolizer turns that id into a name
// through this interface, so the symbols stage needs no V8 knowledge.
#pragma once

#include <cstdint>
#include <string>

#include "loopperf/common/result.h"
#include "loopperf/symbols/elf_symbolizer.h"

namespace loopperf::symbols {

// --js-names: auto = the perf map where it names a frame, the heap elsewhere (and alone when there
// is no map); heap = the heap alone; map = the perf map alone; none = JIT frames stay unnamed.
enum class JsNamesMode : uint8_t { kAuto, kHeap, kMap, kNone };
Result<JsNamesMode> parse_js_names_mode(const std::string& s);
const char* js_names_mode_name(JsNamesMode m);
inline bool uses_heap(JsNamesMode m) { return m == JsNamesMode::kAuto || m == JsNamesMode::kHeap; }
inline bool uses_perf_map(JsNamesMode m) { return m == JsNamesMode::kAuto || m == JsNamesMode::kMap; }

// Which source a JavaScript frame's name came from (counted per sample in the profile's metadata).
enum class JsNameSource : uint8_t { kNone, kMap, kHeap };

struct JsFrameName {
  SourceFrame frame;     // name ("(anonymous)" for none), system_name "JS:name file:line:column", file, line, column
  bool eval = false;     // eval / new Function code
  bool inlined = false;  // a function the frame's optimized code inlined (no perf-map entry of its own)
};

class JsNameTable {
 public:
  virtual ~JsNameTable() = default;
  // The frame named `id` (> 0). False when unknown.
  virtual bool js_frame(uint32_t id, JsFrameName& out) const = 0;
};

}  // namespace loopperf::symbols
