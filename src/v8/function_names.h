// Names JavaScript functions from the target's heap: a SharedFunctionInfo's header -> its name (a
// string, or its ScopeInfo's function and inferred names) and source range; its Script -> the
// script's name, whether it is eval code, and its line ends -> the function's first line and column.
// Holds the interned JsFunction table behind HeapReader's ids, and the caches per SharedFunctionInfo
// and per Script: an object's answer is kept with the raw fields it came from and reused only while
// a fresh read of the object shows those fields unchanged (objects move; see heap_reader.h).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "heap_access.h"
#include "loopperf/v8/heap_reader.h"
#include "source_positions.h"

namespace loopperf::v8 {

class FunctionNames {
 public:
  // Reads with `mem` (the reader's batch) and `heap`; `calls` counts HeapReader::name_frames() calls
  // (the clock of the retries below).
  FunctionNames(const Layout& layout, RemoteMemory& mem, HeapAccess& heap, const uint64_t& calls)
      : layout_(layout), mem_(mem), heap_(heap), calls_(calls) {}
  FunctionNames(const FunctionNames&) = delete;
  FunctionNames& operator=(const FunctionNames&) = delete;

  // What a SharedFunctionInfo was named with, and the raw fields that naming came from: reused only
  // while a fresh read of the object shows the same map and fields. An entry that did not come out
  // whole (nothing validated: id 0; or no start line although the function has a start) may be
  // the victim of objects moving under the read (a GC in another thread): it is resolved again
  // after a backoff of 1, 2, 4 ... 4096 calls.
  struct SfiEntry {
    uint64_t map = 0, function_data = 0, name_or_scope_info = 0, script = 0;
    uint32_t id = 0;
    uint64_t script_object = 0;    // the Script (after a DebugInfo), 0 when none
    int32_t start = -1, end = -1;  // the function's source range, -1 when unknown
    bool whole = false;
    uint32_t failures = 0;
    uint64_t retry_at = 0;  // in name_frames() calls
  };

  struct ScriptEntry {
    uint64_t map = 0, source = 0, name_object = 0, line_ends_object = 0;
    std::string name;
    bool eval = false;
    int32_t line_offset = 0;
    bool line_ends_tried = false;
    std::optional<LineEnds> line_ends;
  };

  // Every function named so far; ids are indexes + 1. An empty function for an id not given out.
  const JsFunction& function(uint32_t id) const;
  size_t function_count() const { return functions_.size(); }

  // How much of a SharedFunctionInfo's header is read to name it.
  uint32_t sfi_header_size() const {
    const Layout& l = layout_;
    return std::max({l.sfi_function_data, l.sfi_name_or_scope_info, l.sfi_script, l.map}) + 8;
  }

  // The cached entry of the SharedFunctionInfo `sfi`, whatever fields it was made from; nullptr
  // when there is none.
  const SfiEntry* cached(uint64_t sfi) const {
    auto it = sfis_.find(sfi);
    return it == sfis_.end() ? nullptr : &it->second;
  }

  uint32_t resolve_function(uint64_t sfi, uint64_t map, uint64_t function_data, uint64_t name_or_scope_info,
                            uint64_t script_field);
  uint32_t name_sfi(uint64_t sfi, const uint8_t* head, HeapReader::Stats& stats);
  ScriptEntry* script_entry(uint64_t script);
  const LineEnds* line_ends(ScriptEntry& s);

  // HeapReader::bound_caches and release_caches for the caches here (the functions stay).
  void bound_caches(HeapReader::Stats& stats);
  void release_caches();

 private:
  uint32_t intern(const JsFunction& f);
  std::optional<std::string> name_string(uint64_t tagged, size_t max_bytes);
  bool decode_scope_info(uint64_t scope_info, std::string& name, std::string& inferred, int32_t& start,
                         int32_t& end);

  const Layout& layout_;
  RemoteMemory& mem_;
  HeapAccess& heap_;
  const uint64_t& calls_;

  // Every function named so far; ids are indexes + 1.
  std::vector<JsFunction> functions_;
  std::unordered_map<std::string, uint32_t> function_ids_;

  std::unordered_map<uint64_t, SfiEntry> sfis_;
  std::unordered_map<uint64_t, ScriptEntry> scripts_;
};

}  // namespace loopperf::v8
