// Source positions: a bytecode array's position table (bytecode offset -> script offset) and a
// script's line ends (script offset -> line, column).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "heap_access.h"

namespace loopperf::v8 {

struct PositionEntry {
  int32_t code_offset = 0;
  int32_t script_offset = 0;
  int32_t inlining_id = 0;  // optimized code: 0 the code's own function, k: InliningPositions[k - 1]
};

// The longest position table read, bytecode's or optimized code's (its length is the target's:
// untrusted).
constexpr int32_t kMaxPositionTableBytes = 1 << 20;

// Decodes a source position table (V8's source-position-table.cc): pairs of VLQs, each a delta from
// the previous entry, starting at code offset -1 (the function entry) and position 0. The position
// is a zigzag VLQ. The code offset: format 1 (V8 <= 13) a zigzag VLQ whose sign carries
// is_statement (non-negative: a statement, else -(delta + 1)); format 2 (V8 14) an unsigned VLQ
// with is_statement in bit 0, a flag in bit 1 and the delta above. A position is a bit field:
// bit 0 external (not a script offset: skipped), bits 1-30 the script offset + 1, bits 31-46 the
// inlining id (0 in bytecode). nullopt when the bytes do not decode or a code offset reaches
// `code_size` (a table that is not this code's, or a format mismatch).
std::optional<std::vector<PositionEntry>> decode_position_table(const uint8_t* data, size_t size, int format,
                                                                int64_t code_size);

// The script offset in effect at `code_offset`: that of the last entry at or before it
// (BytecodeArray::SourcePosition). -1 when none.
int32_t position_at(const std::vector<PositionEntry>& table, int32_t code_offset);

// The offsets of a script's line terminators (\n, \r not before \n, U+2028, U+2029), plus one past
// the end of the source, as V8's String::CalculateLineEnds builds Script.line_ends.
struct LineEnds {
  std::vector<uint32_t> ends;
  // 0-based line and column of script offset `pos`; false when out of range.
  bool locate(int64_t pos, int& line, int& column) const;
};

// Line ends from the characters of `source` (a string), reading at most `max_chars` of it.
std::optional<LineEnds> scan_line_ends(HeapAccess& heap, uint64_t source, uint32_t max_chars);

}  // namespace loopperf::v8
