#include "source_positions.h"

#include <algorithm>

#include "strings.h"

namespace loopperf::v8 {

namespace {

bool decode_uvlq(const uint8_t* data, size_t size, size_t& i, uint64_t& out) {
  out = 0;
  for (int shift = 0;; shift += 7) {
    if (i >= size || shift > 63) return false;
    const uint8_t b = data[i++];
    out |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
}

bool decode_vlq(const uint8_t* data, size_t size, size_t& i, int64_t& out) {
  uint64_t bits = 0;
  if (!decode_uvlq(data, size, i, bits)) return false;
  out = static_cast<int64_t>(bits >> 1) ^ -static_cast<int64_t>(bits & 1);
  return true;
}

}  // namespace

std::optional<std::vector<PositionEntry>> decode_position_table(const uint8_t* data, size_t size, int format,
                                                                int64_t code_size) {
  std::vector<PositionEntry> out;
  int64_t code = -1, position = 0;
  size_t i = 0;
  while (i < size) {
    int64_t code_delta = 0, position_delta = 0;
    if (format == 2) {
      uint64_t bits = 0;
      if (!decode_uvlq(data, size, i, bits) || bits > UINT32_MAX) return std::nullopt;
      code_delta = static_cast<int64_t>(bits >> 2);
    } else {
      if (!decode_vlq(data, size, i, code_delta)) return std::nullopt;
      if (code_delta < 0) code_delta = -(code_delta + 1);
    }
    if (!decode_vlq(data, size, i, position_delta)) return std::nullopt;
    code += code_delta;
    position += position_delta;
    if (code >= code_size || position < 0) return std::nullopt;
    if (position & 1) continue;  // external (an embedder's line), not a script offset
    const int64_t script_offset = ((position >> 1) & 0x3fffffff) - 1;
    const int64_t inlining_id = (position >> 31) & 0xffff;
    out.push_back(PositionEntry{static_cast<int32_t>(code), static_cast<int32_t>(script_offset),
                                static_cast<int32_t>(inlining_id)});
  }
  return out;
}

int32_t position_at(const std::vector<PositionEntry>& table, int32_t code_offset) {
  int32_t position = -1;
  for (const PositionEntry& e : table) {
    if (e.code_offset > code_offset) break;
    position = e.script_offset;
  }
  return position;
}

bool LineEnds::locate(int64_t pos, int& line, int& column) const {
  if (pos < 0 || ends.empty() || pos > ends.back()) return false;
  auto it = std::lower_bound(ends.begin(), ends.end(), static_cast<uint32_t>(pos));
  line = static_cast<int>(it - ends.begin());
  const int64_t line_start = line > 0 ? int64_t{ends[line - 1]} + 1 : 0;
  column = static_cast<int>(pos - line_start);
  return true;
}

std::optional<LineEnds> scan_line_ends(HeapAccess& heap, uint64_t source, uint32_t max_chars) {
  auto length = string_length(heap, source);
  if (!length || *length > max_chars) return std::nullopt;
  LineEnds out;
  uint32_t index = 0;
  bool pending_cr = false;  // a \r at index - 1 ends a line unless a \n follows
  auto visit = [&](uint32_t c) {
    if (pending_cr) {
      if (c != '\n') out.ends.push_back(index - 1);
      pending_cr = false;
    }
    if (c == '\r') {
      pending_cr = true;
    } else if (c == '\n' || c == 0x2028 || c == 0x2029) {
      out.ends.push_back(index);
    }
    index++;
  };
  bool ok = visit_string(heap, source, *length, [&](const CharChunk& chunk) {
    if (chunk.one_byte) {
      for (size_t i = 0; i < chunk.size; ++i) visit(chunk.one_byte[i]);
    } else {
      for (size_t i = 0; i < chunk.size; ++i) visit(chunk.two_byte[i]);
    }
    return true;
  });
  if (!ok || index != *length) return std::nullopt;
  if (pending_cr) out.ends.push_back(index - 1);
  out.ends.push_back(index);
  return out;
}

}  // namespace loopperf::v8
