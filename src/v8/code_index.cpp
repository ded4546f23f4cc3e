#include "code_index.h"

#include <algorithm>

namespace loopperf::v8 {

namespace {

// Bounds on what the target can make us read or keep; all of its lengths are untrusted.
constexpr size_t kMaxCodeEntries = 1 << 14;
constexpr size_t kMaxInlinedDepth = 64;  // inlined functions at one pc
constexpr uint64_t kMaxCodeScan = 512 << 10;  // how far below a pc its InstructionStream header may be
constexpr int32_t kMaxInliningPositions = 1 << 14;

}  // namespace

// The code entry covering the JIT pc `pc`: cached, else found by scanning down from the pc for an
// InstructionStream header (its map, then a Code whose instruction start is right after it).
// nullptr when none validates (then not looked for again for a while).
const CodeIndex::CodeEntry* CodeIndex::known_code_at(uint64_t pc) const {
  auto it = codes_.upper_bound(pc);
  if (it == codes_.begin()) return nullptr;
  --it;
  return pc >= it->second.start && pc < it->second.end ? &it->second : nullptr;
}

CodeIndex::CodeEntry* CodeIndex::code_at(uint64_t pc) {
  if (const CodeEntry* known = known_code_at(pc)) return const_cast<CodeEntry*>(known);
  if (auto miss = code_misses_.find(pc); miss != code_misses_.end() && calls_ < miss->second) return nullptr;
  std::optional<CodeEntry> found = scan_for_code(pc);
  if (!found) {
    if (code_misses_.size() >= kMaxCodeEntries) code_misses_.clear();
    code_misses_[pc] = calls_ + 64;
    return nullptr;
  }
  if (codes_.size() >= kMaxCodeEntries) codes_.clear();
  // Entries overlapping the new one are stale (their code was freed).
  for (auto o = codes_.lower_bound(found->start > (64u << 20) ? found->start - (64u << 20) : 0);
       o != codes_.end() && o->first < found->end;) {
    if (o->second.end > found->start) {
      o = codes_.erase(o);
    } else {
      ++o;
    }
  }
  const uint64_t start = found->start;
  return &(codes_[start] = std::move(*found));
}

std::optional<CodeIndex::CodeEntry> CodeIndex::scan_for_code(uint64_t pc) {
  const Layout& l = layout_;
  const uint32_t header = l.instruction_stream_header;
  if (header < 16 || header % 8 != 0 || header >= 64) return std::nullopt;
  const uint64_t base = pc & ~uint64_t{63};
  std::vector<uint8_t> buf;
  uint64_t hi = base + 64;  // candidates c (64-aligned) with c <= pc; their headers end at c - header + 16
  int learning = 0;
  // Reads go down in page-aligned chunks (4 KiB, growing to 64 KiB); a chunk that cannot be read
  // is retried as the one page below `hi` (code may start at the start of its mapping).
  constexpr uint64_t kPage = 4096;
  for (uint64_t chunk = kPage; hi > base + 64 - kMaxCodeScan && hi > 0x10000;
       chunk = std::min<uint64_t>(chunk * 2, 64 << 10)) {
    uint64_t lo = (hi - chunk) & ~(kPage - 1);
    buf.resize(hi - lo);
    if (!mem_.read(lo, buf.data(), hi - lo)) {
      lo = (hi - 1) & ~(kPage - 1);
      buf.resize(hi - lo);
      if (!mem_.read(lo, buf.data(), hi - lo)) return std::nullopt;
    }
    // Candidates c (64-aligned) whose header [c - header, c - header + 16) lies in [lo, hi).
    for (uint64_t c = hi; c >= lo + 64; c -= 64) {
      if (c > pc) continue;
      const uint64_t at = c - header - lo;
      const uint64_t map = word_at(buf.data(), at),
                     code = word_at(buf.data(), at + l.instruction_stream_code);
      if (!is_heap_object(map) || !is_heap_object(code)) continue;
      if (istream_map_ != 0) {
        if (map != istream_map_) continue;
      } else {
        if (++learning > 256) return std::nullopt;
        auto type = heap_.map_type(map);
        if (!type || *type != l.instruction_stream_type) continue;
      }
      std::optional<CodeEntry> e = make_code_entry(c, code, pc);
      if (!e) {
        // A header whose Code does not point back: not live code's (or not a header at all).
        continue;
      }
      if (istream_map_ == 0) istream_map_ = map;
      return e;
    }
    hi = lo;
  }
  return std::nullopt;
}

// The Code whose instructions start at `start` (the InstructionStream's Code field `code`), when
// it validates and covers `pc`: its entry, decoded. nullopt when it does not validate.
std::optional<CodeIndex::CodeEntry> CodeIndex::make_code_entry(uint64_t start, uint64_t code, uint64_t pc) {
  const Layout& l = layout_;
  uint8_t head[96];
  const uint32_t size = code_header_size();
  if (!is_heap_object(code) || size > sizeof head || !mem_.read(untag(code), head, size)) return std::nullopt;
  const uint64_t map = word_at(head, l.map);
  auto type = heap_.map_type(map);
  if (!type || *type != l.code_type || word_at(head, l.code_instruction_start) != start) return std::nullopt;
  const uint32_t instruction_size = u32_at(head, l.code_instruction_size);
  if (instruction_size == 0 || instruction_size > (64u << 20) || pc >= start + instruction_size)
    return std::nullopt;
  CodeEntry e;
  e.start = start;
  e.end = start + instruction_size;
  e.code = code;
  e.code_map = map;
  e.flags = u32_at(head, l.code_flags);
  const uint32_t kind = e.flags & l.code_kind_mask;
  if (kind != l.code_kind_turbofan && kind != l.code_kind_maglev) return e;  // nothing inlined
  const uint64_t deopt = word_at(head, l.code_deoptimization_data);
  const uint64_t table = word_at(head, l.code_position_table);
  // Code that cannot deoptimize (or whose tables do not validate) is named as before.
  if (!type_in(deopt, l.deopt_data_types)) return e;
  std::vector<uint64_t> d;
  const uint32_t n =
      std::max({l.deopt_inlined_count_index, l.deopt_literal_array_index, l.deopt_inlining_positions_index}) +
      1;
  if (!read_elements(deopt, n, d)) return e;
  const uint64_t count = d[l.deopt_inlined_count_index], literals = d[l.deopt_literal_array_index],
                 inlining = d[l.deopt_inlining_positions_index];
  if (!is_smi(count) || smi_value(count) <= 0 || smi_value(count) > kMaxInliningPositions) return e;
  if (!type_in(literals, l.literal_array_types) || !type_in(inlining, l.pod_array_types)) return e;
  auto literal_length = heap_.field(literals, l.fixed_array_length);
  if (!literal_length || !is_smi(*literal_length) || smi_value(*literal_length) < smi_value(count)) return e;
  auto bytes = heap_.field(inlining, l.fixed_array_length);
  if (!bytes || !is_smi(*bytes) || smi_value(*bytes) <= 0 ||
      smi_value(*bytes) % l.inlining_position_size != 0 ||
      smi_value(*bytes) / l.inlining_position_size > uint32_t{kMaxInliningPositions})
    return e;
  std::vector<uint8_t> raw(static_cast<size_t>(smi_value(*bytes)));
  if (!mem_.read(untag(inlining) + l.byte_array_data, raw.data(), raw.size())) return e;
  std::vector<std::pair<int32_t, int32_t>> positions;
  int32_t max_literal = -1;
  const int32_t inlined = static_cast<int32_t>(raw.size() / l.inlining_position_size);
  for (size_t off = 0; off < raw.size(); off += l.inlining_position_size) {
    const uint64_t position = word_at(raw.data(), off);
    const int32_t function = static_cast<int32_t>(u32_at(raw.data(), off + 8));
    const int32_t caller = static_cast<int32_t>((position >> 31) & 0xffff);
    if ((position & 1) != 0 || function < 0 || function >= smi_value(count) || caller > inlined) return e;
    max_literal = std::max(max_literal, function);
    positions.emplace_back(caller, function);
  }
  auto table_type = heap_.type_of(table);
  if (!table_type ||
      (*table_type != l.source_position_table_type &&
       std::find(l.pod_array_types.begin(), l.pod_array_types.end(), *table_type) == l.pod_array_types.end()))
    return e;
  auto table_size = heap_.field(table, l.fixed_array_length);
  if (!table_size || !is_smi(*table_size) || smi_value(*table_size) <= 0 ||
      smi_value(*table_size) > kMaxPositionTableBytes)
    return e;
  std::vector<uint8_t> table_bytes(static_cast<size_t>(smi_value(*table_size)));
  if (!mem_.read(untag(table) + l.byte_array_data, table_bytes.data(), table_bytes.size())) return e;
  auto decoded = decode_position_table(table_bytes.data(), table_bytes.size(), l.source_position_format,
                                       instruction_size);
  if (!decoded) return e;
  for (const PositionEntry& p : *decoded) {
    if (p.inlining_id > inlined) return e;
  }
  e.deopt = deopt;
  e.table = table;
  e.literals = literals;
  e.max_literal = max_literal;
  e.positions = std::move(*decoded);
  e.inlining = std::move(positions);
  return e;
}

// A tagged array's elements [0, n) (length Smi checked against `n`); false when it does not read.
bool CodeIndex::read_elements(uint64_t array, uint32_t n, std::vector<uint64_t>& out) {
  const Layout& l = layout_;
  auto length = heap_.field(array, l.fixed_array_length);
  if (!length || !is_smi(*length) || smi_value(*length) < int64_t{n}) return false;
  out.resize(n);
  return n == 0 || mem_.read(untag(array) + l.fixed_array_data, out.data(), 8 * size_t{n});
}

bool CodeIndex::type_in(uint64_t tagged, const std::vector<uint16_t>& types) {
  auto t = heap_.type_of(tagged);
  return t && std::find(types.begin(), types.end(), *t) != types.end();
}

void CodeIndex::bound_caches(HeapReader::Stats& stats) {
  constexpr size_t kMaxCodes = 2000, kMaxCodeMisses = 8000;
  if (codes_.size() > kMaxCodes) {
    codes_.clear();
    stats.cache_resets++;
  }
  if (code_misses_.size() > kMaxCodeMisses) {
    code_misses_.clear();
    stats.cache_resets++;
  }
}

bool frame_built(RemoteMemory& mem, size_t read) {
  if (!mem.ok(read)) return false;
  const uint8_t* code = mem.data(read);
  if (code[0] == 0x55 || code[0] == 0xc3 || code[0] == 0xc2) return false;  // push rbp; ret; ret imm16
  if (code[0] == 0x48 && ((code[1] == 0x89 && code[2] == 0xe5) || (code[1] == 0x8b && code[2] == 0xec)))
    return false;  // mov rbp, rsp
  return true;
}

InliningAt inlining_at(const CodeIndex::CodeEntry& e, int32_t offset) {
  InliningAt at;
  for (const PositionEntry& pe : e.positions) {
    if (pe.code_offset > offset) {
      at.next = pe.inlining_id;
      break;
    }
    at.id = pe.inlining_id;
  }
  return at;
}

bool inlined_literals(const CodeIndex::CodeEntry& e, int32_t id, std::vector<int32_t>& literals) {
  literals.clear();
  while (id > 0) {
    if (literals.size() >= kMaxInlinedDepth || static_cast<size_t>(id) > e.inlining.size()) return false;
    const auto [caller, literal] = e.inlining[static_cast<size_t>(id - 1)];
    literals.push_back(literal);
    id = caller;
  }
  return true;
}

bool after_call(const uint8_t* b) {
  if (b[1] == 0xe8) return true;                                           // call rel32
  if (b[4] == 0xff && (b[5] & 0xf8) == 0xd0) return true;                  // call r
  if (b[3] == 0x41 && b[4] == 0xff && (b[5] & 0xf8) == 0xd0) return true;  // call r8-r15
  if (b[0] == 0xff && (b[1] & 0x38) == 0x10) return true;                  // call [r + disp32] (approx.)
  if (b[3] == 0xff && (b[4] & 0xf8) == 0x50) return true;                  // call [r + disp8]
  return false;
}

}  // namespace loopperf::v8
