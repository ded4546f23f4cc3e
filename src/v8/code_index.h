// The optimized code objects met at JIT pcs: which Code covers a pc (found by scanning down from the
// pc for its InstructionStream header, then cached by instruction start), where its instructions
// end and, when it inlined functions, its deoptimization data's inlining table and its source
// position table, decoded. Pcs where no code validates are remembered for a while, so a pc in code
// that is not V8's (or freed) is not scanned for with every sample. Also the instruction bytes
// around a pc that the reader looks at: a JIT leaf's frame built or not, a return address after a call.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "heap_access.h"
#include "loopperf/v8/heap_reader.h"
#include "source_positions.h"

namespace loopperf::v8 {

class CodeIndex {
 public:
  // Reads with `mem` (the reader's batch) and `heap`; `calls` counts HeapReader::name_frames() calls
  // (the clock of the misses' retries).
  CodeIndex(const Layout& layout, RemoteMemory& mem, HeapAccess& heap, const uint64_t& calls)
      : layout_(layout), mem_(mem), heap_(heap), calls_(calls) {}
  CodeIndex(const CodeIndex&) = delete;
  CodeIndex& operator=(const CodeIndex&) = delete;

  // Optimized code met at JIT pcs, by instruction start: where its instructions end and, when it
  // inlined functions, the decoded tables. An entry is used only after a fresh read shows the same
  // InstructionStream -> Code -> deoptimization data -> literal array chain (see
  // InlinedFrames::expand_inlined).
  struct CodeEntry {
    uint64_t start = 0, end = 0;
    uint64_t code = 0, code_map = 0;
    uint32_t flags = 0;
    uint64_t deopt = 0, table = 0, literals = 0;  // 0 when the code inlined nothing
    int32_t max_literal = -1;
    std::vector<PositionEntry> positions;
    std::vector<std::pair<int32_t, int32_t>> inlining;  // per inlining id - 1: (caller's id, literal index)
  };

  // The entry covering pc, looked for (a read) when none met so far does; nullptr when no code
  // validates there.
  CodeEntry* code_at(uint64_t pc);
  // The entry covering pc among those met so far; nothing is read.
  const CodeEntry* known_code_at(uint64_t pc) const;
  // The entry whose instructions start at `start`; nullptr when there is none (any more).
  const CodeEntry* find(uint64_t start) const {
    auto found = codes_.find(start);
    return found == codes_.end() ? nullptr : &found->second;
  }
  // Drops the entry at `start` (a fresh read showed it stale): looked up again next time.
  void forget(uint64_t start) { codes_.erase(start); }

  uint64_t istream_map() const { return istream_map_; }  // the InstructionStream map, once seen
  // How much of a Code's header is read.
  uint32_t code_header_size() const {
    const Layout& l = layout_;
    return std::max({l.code_deoptimization_data, l.code_position_table, l.code_instruction_start,
                     l.code_flags, l.code_instruction_size}) +
           8;
  }

  // HeapReader::bound_caches and release_caches for the caches here.
  void bound_caches(HeapReader::Stats& stats);
  void release_caches() {
    codes_ = {};
    code_misses_ = {};
  }

 private:
  std::optional<CodeEntry> make_code_entry(uint64_t start, uint64_t code, uint64_t pc);
  std::optional<CodeEntry> scan_for_code(uint64_t pc);
  bool read_elements(uint64_t array, uint32_t n, std::vector<uint64_t>& out);
  bool type_in(uint64_t tagged, const std::vector<uint16_t>& types);

  const Layout& layout_;
  RemoteMemory& mem_;
  HeapAccess& heap_;
  const uint64_t& calls_;
  std::map<uint64_t, CodeEntry> codes_;
  std::unordered_map<uint64_t, uint64_t> code_misses_;  // pc -> name_frames() call to look again at
  uint64_t istream_map_ = 0;                            // the InstructionStream map, once seen
};

// The code at a JIT leaf's pc (FrameSlots::leaf): false at `push rbp`, `mov rbp, rsp`, `ret`, or
// when it could not be read.
bool frame_built(RemoteMemory& mem, size_t read);

// Does the instruction before pc + 1 look like a call (pc a return address - 1)? Only there does
// the last position at or before pc belong to the executing call: V8 records optimized code's
// positions at calls only (unless a profiler asks for more), so a leaf pc elsewhere would take a
// neighbouring call's inlining.
bool after_call(const uint8_t* b);  // b: the 6 bytes ending at pc + 1

// Where `e`'s instructions at `offset` (pc - start) were inlined: the inlining id of the last
// position at or before it (0: the code's own function) and of the next position (-1: none).
struct InliningAt {
  int32_t id = 0, next = -1;
};
InliningAt inlining_at(const CodeIndex::CodeEntry& e, int32_t offset);

// The literal indices of the functions inlined at inlining id `id` (> 0), innermost first, into
// `literals`; false when the table does not hold a chain of believable depth.
bool inlined_literals(const CodeIndex::CodeEntry& e, int32_t id, std::vector<int32_t>& literals);

}  // namespace loopperf::v8
