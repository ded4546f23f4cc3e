#include "bytecode_lines.h"

#include <cstring>

namespace loopperf::v8 {

namespace {

// Bounds on what the target can make us read or keep; all of its lengths are untrusted.
constexpr size_t kMaxBytecodeEntries = 1 << 16;
constexpr size_t kMaxLinesPerBytecode = 256;

}  // namespace

// The line executing in an interpreted frame, 0 when it cannot be told for sure.
int32_t BytecodeLines::current_line(const FrameCandidate& c, const FunctionNames::SfiEntry& fn,
                                    uint64_t function_data) {
  const Layout& l = layout_;
  auto it = bytecodes_.find(c.bytecode_array);
  const bool vouched = it != bytecodes_.end() && it->second.function_data && it->second.sfi == c.sfi &&
                       function_data == c.bytecode_array;
  if (!vouched) {
    // The header, from this call's batch or (when a vouching entry did not hold) read now.
    uint8_t head[64];
    const uint32_t size = bytecode_header_size();
    if (size > sizeof head) return 0;
    if (c.bytecode_read != RemoteMemory::kNone && mem_.ok(c.bytecode_read)) {
      std::memcpy(head, mem_.data(c.bytecode_read), size);
    } else if (c.bytecode_read != RemoteMemory::kNone || !mem_.read(untag(c.bytecode_array), head, size)) {
      return 0;
    }
    auto word = [&](uint32_t off) {
      uint64_t v;
      std::memcpy(&v, head + off, 8);
      return v;
    };
    const uint64_t map = word(l.map), length = word(l.bytecode_array_length),
                   table = word(l.bytecode_array_source_position_table);
    auto type = heap_.map_type(map);
    if (!type || *type != l.bytecode_array_type || !is_smi(length) || smi_value(length) <= 0 ||
        smi_value(length) > kMaxBytecodeLength) {
      return 0;
    }
    if (it == bytecodes_.end() || it->second.map != map || it->second.length != length ||
        it->second.table != table || it->second.sfi != c.sfi) {
      if (bytecodes_.size() >= kMaxBytecodeEntries) bytecodes_.clear();
      it =
          bytecodes_.insert_or_assign(c.bytecode_array, make_bytecode_entry(map, length, table, c.sfi)).first;
    }
    it->second.function_data = function_data == c.bytecode_array;
  }
  BytecodeEntry& e = it->second;
  if (c.bytecode_offset >= smi_value(e.length)) return 0;
  if (auto hit = e.lines.find(c.bytecode_offset); hit != e.lines.end()) return hit->second;
  int32_t line = 0;
  const int32_t position = position_at(e.positions, c.bytecode_offset);
  // A position outside the function's own range means the array is not this function's.
  if (position >= 0 && fn.script_object != 0 && fn.start >= 0 && position >= fn.start && position <= fn.end) {
    if (FunctionNames::ScriptEntry* s = names_.script_entry(fn.script_object)) {
      if (const LineEnds* ends = names_.line_ends(*s)) {
        int l0 = 0, column = 0;
        if (ends->locate(position, l0, column)) line = l0 + 1 + s->line_offset;
      }
    }
  }
  if (e.lines.size() < kMaxLinesPerBytecode) e.lines.emplace(c.bytecode_offset, line);
  return line;
}

BytecodeLines::BytecodeEntry BytecodeLines::make_bytecode_entry(uint64_t map, uint64_t length, uint64_t table,
                                                                uint64_t sfi) {
  const Layout& l = layout_;
  BytecodeEntry e;
  e.map = map;
  e.length = length;
  e.table = table;
  e.sfi = sfi;
  // No table yet (V8 collects source positions lazily) gives no positions; a later read sees the
  // table pointer change.
  auto table_type = heap_.type_of(table);
  if (!table_type || *table_type != l.source_position_table_type) return e;
  auto size = heap_.field(table, l.fixed_array_length);
  if (!size || !is_smi(*size) || smi_value(*size) < 0 || smi_value(*size) > kMaxPositionTableBytes) return e;
  std::vector<uint8_t> bytes(static_cast<size_t>(smi_value(*size)));
  if (!mem_.read(untag(table) + l.byte_array_data, bytes.data(), bytes.size())) return e;
  if (auto decoded =
          decode_position_table(bytes.data(), bytes.size(), l.source_position_format, smi_value(length))) {
    e.positions = std::move(*decoded);
  }
  return e;
}

void BytecodeLines::bound_caches(HeapReader::Stats& stats) {
  constexpr size_t kMaxBytecodes = 2000;
  if (bytecodes_.size() > kMaxBytecodes) {
    bytecodes_.clear();
    stats.cache_resets++;
  }
}

}  // namespace loopperf::v8
