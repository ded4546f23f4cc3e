// The line executing in an interpreted frame, from the frame's bytecode array and offset: the array's
// source position table (bytecode offset -> script offset), decoded once per array and kept with the
// lines it gave, then the function's Script's line ends (FunctionNames) -> the line.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "frame_candidate.h"
#include "function_names.h"
#include "heap_access.h"
#include "loopperf/v8/heap_reader.h"
#include "source_positions.h"

namespace loopperf::v8 {

class BytecodeLines {
 public:
  // The longest bytecode array (and so bytecode offset) believed: its length is the target's.
  static constexpr int32_t kMaxBytecodeLength = 1 << 24;

  // Reads with `mem` (the reader's batch) and `heap`; the lines come from `names`' scripts.
  BytecodeLines(const Layout& layout, RemoteMemory& mem, HeapAccess& heap, FunctionNames& names)
      : layout_(layout), mem_(mem), heap_(heap), names_(names) {}
  BytecodeLines(const BytecodeLines&) = delete;
  BytecodeLines& operator=(const BytecodeLines&) = delete;

  // How much of a BytecodeArray's header is read.
  uint32_t bytecode_header_size() const {
    const Layout& l = layout_;
    return std::max({l.map, l.bytecode_array_length, l.bytecode_array_source_position_table}) + 8;
  }

  // Whether a frame with this bytecode array needs the array's header read: false when its entry
  // was vouched for by its SharedFunctionInfo (see BytecodeEntry).
  bool needs_header(uint64_t bytecode_array) const {
    auto known = bytecodes_.find(bytecode_array);
    return known == bytecodes_.end() || !known->second.function_data;
  }

  int32_t current_line(const FrameCandidate& c, const FunctionNames::SfiEntry& fn, uint64_t function_data);

  // HeapReader::bound_caches and release_caches for the cache here.
  void bound_caches(HeapReader::Stats& stats);
  void release_caches() { bytecodes_ = {}; }

 private:
  // A bytecode array's decoded position table, for the current lines of interpreted frames; reused
  // while the array's map, length and table pointer read the same and it is the same function's.
  // When the function's SharedFunctionInfo pointed at the array (function_data) as the entry was
  // made, a fresh read of that SharedFunctionInfo still pointing at it vouches for the entry, and
  // the array's header is not read again: a BytecodeArray that moves or is replaced (bytecode
  // flushing) is no longer its function's function_data.
  struct BytecodeEntry {
    uint64_t map = 0, length = 0, table = 0, sfi = 0;
    bool function_data = false;
    std::vector<PositionEntry> positions;
    std::unordered_map<int32_t, int32_t> lines;  // bytecode offset -> line (0: none)
  };

  BytecodeEntry make_bytecode_entry(uint64_t map, uint64_t length, uint64_t table, uint64_t sfi);

  const Layout& layout_;
  RemoteMemory& mem_;
  HeapAccess& heap_;
  FunctionNames& names_;
  std::unordered_map<uint64_t, BytecodeEntry> bytecodes_;
};

}  // namespace loopperf::v8
