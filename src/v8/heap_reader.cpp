#include "loopperf/v8/heap_reader.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

#include "heap_access.h"
#include "remote_memory.h"
#include "source_positions.h"
#include "strings.h"

namespace loopperf::v8 {

namespace {

// Bounds on what the target can make us read or keep; all of its lengths are untrusted.
constexpr size_t kMaxNameBytes = 512;
constexpr size_t kMaxScriptNameBytes = 4096;
constexpr uint32_t kMaxSourceChars = 32u << 20;  // a script larger than this gets no lines
constexpr int32_t kMaxLineEnds = 8 << 20;        // Script.line_ends entries
constexpr int32_t kMaxPositionTableBytes = 1 << 20;
constexpr int32_t kMaxBytecodeLength = 1 << 24;
constexpr int32_t kMaxContextLocals = 1 << 20;
constexpr size_t kMaxSfiEntries = 1 << 18;
constexpr size_t kMaxScriptEntries = 1 << 14;
constexpr size_t kMaxBytecodeEntries = 1 << 16;
constexpr size_t kMaxFunctionLinks = 1 << 14;
constexpr size_t kMaxLinesPerBytecode = 256;
constexpr size_t kMaxCodeEntries = 1 << 14;
constexpr uint64_t kMaxCodeScan = 512 << 10;  // how far below a pc its InstructionStream header may be
constexpr int32_t kMaxInliningPositions = 1 << 14;
constexpr size_t kMaxInlinedDepth = 64;

const JsFunction kNoFunction{};

}  // namespace

struct HeapReader::Impl {
  Impl(const Layout& layout, pid_t pid) : l(layout), mem(pid), heap(layout, mem), aux(pid) {}

  const Layout& l;
  RemoteMemory mem;
  HeapAccess heap;

  // Every function named so far; ids are indexes + 1.
  std::vector<JsFunction> functions;
  std::unordered_map<std::string, uint32_t> function_ids;

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
  std::unordered_map<uint64_t, SfiEntry> sfis;
  uint64_t calls = 0;

  struct ScriptEntry {
    uint64_t map = 0, source = 0, name_object = 0, line_ends_object = 0;
    std::string name;
    bool eval = false;
    int32_t line_offset = 0;
    bool line_ends_tried = false;
    std::optional<LineEnds> line_ends;
  };
  std::unordered_map<uint64_t, ScriptEntry> scripts;

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
  std::unordered_map<uint64_t, BytecodeEntry> bytecodes;

  // Per-call scratch.
  struct Candidate {
    uint32_t slot = 0;
    uint64_t function = 0, bytecode_array = 0;
    int32_t bytecode_offset = -1;
    size_t function_read = RemoteMemory::kNone, bytecode_read = RemoteMemory::kNone;
    size_t map_read = RemoteMemory::kNone, sfi_read = RemoteMemory::kNone;
    uint64_t sfi = 0;
    // Level 2's reads queued at level 1 on the strength of what this JSFunction held last time
    // (function_links): used only when the fresh header shows the same map and SharedFunctionInfo.
    uint64_t guessed_map = 0, guessed_sfi = 0;
    size_t leaf_code_read = RemoteMemory::kNone;  // FrameSlots::leaf: the code bytes at pc
    size_t guessed_map_read = RemoteMemory::kNone, guessed_sfi_read = RemoteMemory::kNone;
    uint64_t pc = 0;
    bool pc_after_scan = false;
    uint32_t id = 0;
    int32_t line = 0;
    uint32_t inlined_begin = 0, inlined_end = 0;  // into inlined_ids, innermost first
  };
  std::vector<Candidate> candidates;
  std::vector<uint32_t> inlined_ids;
  // What each JSFunction met held last time: its map and SharedFunctionInfo (tagged). A hint that
  // lets level 2's reads ride along with level 1's (one read per stack instead of two); a function
  // that moved or changed simply misses.
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> function_links;
  // The same for inlining: the SharedFunctionInfos (tagged) the code at a pc inlined there last time,
  // whose headers are then read with level 1 instead of in a batch of their own.
  std::unordered_map<uint64_t, std::vector<uint64_t>> inline_links;
  std::vector<size_t> inline_guess_reads;

  // Optimized code met at JIT pcs, by instruction start: where its instructions end and, when it
  // inlined functions, the decoded tables. An entry is used only after a fresh read shows the same
  // InstructionStream -> Code -> deoptimization data -> literal array chain (see expand_inlined).
  struct CodeEntry {
    uint64_t start = 0, end = 0;
    uint64_t code = 0, code_map = 0;
    uint32_t flags = 0;
    uint64_t deopt = 0, table = 0, literals = 0;  // 0 when the code inlined nothing
    int32_t max_literal = -1;
    std::vector<PositionEntry> positions;
    std::vector<std::pair<int32_t, int32_t>> inlining;  // per inlining id - 1: (caller's id, literal index)
  };
  std::map<uint64_t, CodeEntry> codes;
  std::unordered_map<uint64_t, uint64_t> code_misses;  // pc -> name_frames() call to look again at
  uint64_t istream_map = 0;                            // the InstructionStream map, once seen
  RemoteMemory aux{0};                                 // the inlining pass's batches
  std::vector<uint64_t> function_maps;

  // The reads queued in this call, by (address, length): the same object (a recursive function, a
  // map shared by many functions) is read once. A flat table, emptied per call without freeing.
  std::vector<uint64_t> queued_keys;
  std::vector<size_t> queued_reads;
  uint64_t queued_mask = 0;
  size_t queued_count = 0;

  void reset_queued(size_t expected) {
    size_t cap = 64;
    while (cap < expected * 2) cap *= 2;
    if (queued_keys.size() < cap) {
      queued_keys.resize(cap);
      queued_reads.resize(cap);
    }
    queued_mask = cap - 1;
    queued_count = 0;
    std::fill(queued_keys.begin(), queued_keys.begin() + static_cast<ptrdiff_t>(cap), 0);
  }

  size_t add_once(uint64_t addr, uint32_t len) {
    const uint64_t key = addr ^ (uint64_t{len} << 48);  // addresses are below 2^47, lengths small
    if (key == 0) return RemoteMemory::kNone;
    // More reads than the table was sized for (deep inlining): read them, just not deduplicated.
    if (2 * (queued_count + 1) > queued_mask + 1) return mem.add(addr, len);
    for (uint64_t h = (key * 0x9e3779b97f4a7c15ull) >> 40;; ++h) {
      const size_t i = h & queued_mask;
      if (queued_keys[i] == key) return queued_reads[i];
      if (queued_keys[i] == 0) {
        queued_keys[i] = key;
        queued_count++;
        return queued_reads[i] = mem.add(addr, len);
      }
    }
  }

  uint32_t function_header_size() const { return l.js_function_shared + 8; }
  uint32_t sfi_header_size() const {
    return std::max({l.sfi_function_data, l.sfi_name_or_scope_info, l.sfi_script, l.map}) + 8;
  }
  uint32_t bytecode_header_size() const {
    return std::max({l.map, l.bytecode_array_length, l.bytecode_array_source_position_table}) + 8;
  }

  uint32_t intern(const JsFunction& f) {
    std::string key = f.name;
    key += '\0';
    key += f.script;
    key += '\0';
    key += std::to_string(f.line) + ':' + std::to_string(f.column) + ':' +
           std::to_string(static_cast<int>(f.kind));
    auto [it, inserted] = function_ids.emplace(std::move(key), 0);
    if (inserted) {
      functions.push_back(f);
      it->second = static_cast<uint32_t>(functions.size());
    }
    return it->second;
  }

  std::optional<std::string> name_string(uint64_t tagged, size_t max_bytes) {
    auto type = heap.type_of(tagged);
    if (!type || !heap.is_string_type(*type)) return std::nullopt;
    return read_string(heap, tagged, max_bytes);
  }

  // The name, inferred name and source range a compiled function's ScopeInfo holds; false when the
  // object does not hold together.
  bool decode_scope_info(uint64_t scope_info, std::string& name, std::string& inferred, int32_t& start,
                         int32_t& end) {
    const ScopeInfoLayout& s = l.scope_info;
    uint8_t head[64];
    if (s.variable_part > sizeof head || !mem.read(untag(scope_info), head, s.variable_part)) return false;
    auto word = [&](uint32_t off) {
      uint64_t v;
      std::memcpy(&v, head + off, 8);
      return v;
    };
    uint64_t flags_word = word(s.flags);
    uint32_t flags = 0;
    if (s.flags_is_smi) {
      if (!is_smi(flags_word)) return false;
      flags = static_cast<uint32_t>(smi_value(flags_word));
    } else {
      flags = static_cast<uint32_t>(flags_word);
    }
    const uint64_t count_word = word(s.context_local_count);
    if (!is_smi(count_word) || smi_value(count_word) < 0 || smi_value(count_word) > kMaxContextLocals)
      return false;
    const uint32_t locals = static_cast<uint32_t>(smi_value(count_word));
    if ((flags >> s.is_empty_bit) & 1) return true;  // the empty ScopeInfo: no name, no positions
    const uint32_t scope_type = flags & s.scope_type_mask;

    uint64_t off = s.variable_part;
    if (s.module_scope_type >= 0 && scope_type == static_cast<uint32_t>(s.module_scope_type)) off += 8;
    off += 8 * uint64_t{locals < s.max_inlined_local_names ? locals : 1};  // names, or their hash table
    off += 8 * uint64_t{locals};                                           // local infos
    off += 8 * ((flags >> s.saved_class_variable_bit) & 1);
    const bool has_function_variable = (flags & s.function_variable_mask) != 0;
    const uint64_t function_variable = off;
    const uint64_t inferred_at = off + (has_function_variable ? 16 : 0);
    const bool has_inferred = (flags >> s.inferred_name_bit) & 1;
    const uint64_t positions_at = inferred_at + (has_inferred ? 8 : 0);
    const bool variable_positions =
        !s.fixed_position_info && ((s.position_info_scope_types >> scope_type) & 1) != 0;
    const uint64_t end_at = variable_positions ? positions_at + 16 : positions_at;
    uint64_t slots[5] = {};
    if (end_at > function_variable) {
      if (end_at - function_variable > sizeof slots) return false;
      if (!mem.read(untag(scope_info) + function_variable, slots, end_at - function_variable)) return false;
    }
    auto slot = [&](uint64_t at) { return slots[(at - function_variable) / 8]; };
    if (has_function_variable) {
      // The name, or Smi 0 when the function has no shared name.
      const uint64_t v = slot(function_variable);
      if (is_heap_object(v)) {
        auto n = name_string(v, kMaxNameBytes);
        if (!n) return false;
        name = *n;
      }
    }
    if (has_inferred) {
      const uint64_t v = slot(inferred_at);
      if (is_heap_object(v)) {
        if (auto n = name_string(v, kMaxNameBytes)) inferred = *n;  // or undefined
      }
    }
    uint64_t start_word = 0, end_word = 0;
    if (s.fixed_position_info) {
      start_word = word(s.position_info);
      end_word = word(s.position_info + 8);
    } else if (variable_positions) {
      start_word = slot(positions_at);
      end_word = slot(positions_at + 8);
    } else {
      return true;
    }
    if (!is_smi(start_word) || !is_smi(end_word)) return false;
    start = smi_value(start_word);
    end = smi_value(end_word);
    if (start < 0 || end < start) start = end = -1;
    return true;
  }

  // The Script `script` (type already checked) from the cache, revalidated by its map, source and
  // name; nullptr when it cannot be read.
  ScriptEntry* script_entry(uint64_t script) {
    const uint32_t size = std::max({l.map, l.script_source, l.script_name, l.script_line_offset,
                                    l.script_line_ends, l.script_eval_from_shared}) +
                          8;
    uint8_t head[128];
    if (size > sizeof head || !mem.read(untag(script), head, size)) return nullptr;
    auto word = [&](uint32_t off) {
      uint64_t v;
      std::memcpy(&v, head + off, 8);
      return v;
    };
    const uint64_t map = word(l.map), source = word(l.script_source), name = word(l.script_name);
    auto type = heap.map_type(map);
    if (!type || *type != l.script_type) return nullptr;
    auto it = scripts.find(script);
    if (it != scripts.end() && it->second.map == map && it->second.source == source &&
        it->second.name_object == name) {
      return &it->second;
    }
    if (scripts.size() >= kMaxScriptEntries) scripts.clear();
    ScriptEntry e;
    e.map = map;
    e.source = source;
    e.name_object = name;
    e.line_ends_object = word(l.script_line_ends);
    // Scripts of eval code are named undefined; a name that is a string but cannot be read fails
    // the whole entry (rather than naming the script "").
    auto name_type = heap.type_of(name);
    if (name_type && heap.is_string_type(*name_type)) {
      auto n = read_string(heap, name, kMaxScriptNameBytes);
      if (!n) return nullptr;
      e.name = *n;
    }
    const uint64_t offset = word(l.script_line_offset);
    if (is_smi(offset) && smi_value(offset) >= 0) e.line_offset = smi_value(offset);
    if (l.script_eval_from_shared != 0) {
      const uint64_t from = word(l.script_eval_from_shared);
      auto from_type = heap.type_of(from);
      e.eval = from_type && *from_type == l.shared_function_info_type;
    }
    ScriptEntry& stored = scripts[script];
    stored = std::move(e);
    return &stored;
  }

  // The script's line ends, computed once per entry (a Script whose source moves gets a new entry).
  const LineEnds* line_ends(ScriptEntry& s) {
    if (s.line_ends_tried) return s.line_ends ? &*s.line_ends : nullptr;
    s.line_ends_tried = true;
    // V8 computes Script.line_ends on demand (stack traces, the debugger); when it has, use it.
    auto type = heap.type_of(s.line_ends_object);
    if (type && *type == l.fixed_array_type) {
      auto length = heap.field(s.line_ends_object, l.fixed_array_length);
      if (length && is_smi(*length) && smi_value(*length) > 0 && smi_value(*length) <= kMaxLineEnds) {
        std::vector<uint64_t> words(static_cast<size_t>(smi_value(*length)));
        if (mem.read(untag(s.line_ends_object) + l.fixed_array_data, words.data(), words.size() * 8)) {
          LineEnds ends;
          ends.ends.reserve(words.size());
          bool ok = true;
          for (uint64_t w : words) {
            if (!is_smi(w) || smi_value(w) < 0 ||
                (!ends.ends.empty() && uint32_t(smi_value(w)) < ends.ends.back())) {
              ok = false;
              break;
            }
            ends.ends.push_back(static_cast<uint32_t>(smi_value(w)));
          }
          if (ok) {
            s.line_ends = std::move(ends);
            return &*s.line_ends;
          }
        }
      }
    }
    s.line_ends = scan_line_ends(heap, s.source, kMaxSourceChars);
    return s.line_ends ? &*s.line_ends : nullptr;
  }

  // Names a SharedFunctionInfo whose header words are known (map already checked). 0 when the
  // objects behind it do not validate.
  uint32_t resolve_function(uint64_t sfi, uint64_t map, uint64_t function_data, uint64_t name_or_scope_info,
                            uint64_t script_field) {
    // Remembered either way, so that an object that does not validate is not read every time.
    if (sfis.size() >= kMaxSfiEntries) sfis.clear();
    SfiEntry& entry = sfis[sfi];
    const bool same_fields = entry.map == map && entry.function_data == function_data &&
                             entry.name_or_scope_info == name_or_scope_info && entry.script == script_field;
    const uint32_t failures = same_fields ? entry.failures + 1 : 0;
    entry = SfiEntry{};
    entry.map = map;
    entry.function_data = function_data;
    entry.name_or_scope_info = name_or_scope_info;
    entry.script = script_field;
    entry.failures = failures;
    entry.retry_at = calls + (uint64_t{1} << std::min<uint32_t>(failures, 12));
    JsFunction f;
    std::string name, inferred;
    int32_t start = -1, end = -1;
    if (is_heap_object(name_or_scope_info)) {
      auto type = heap.type_of(name_or_scope_info);
      if (!type) return 0;
      if (heap.is_string_type(*type)) {
        auto n = read_string(heap, name_or_scope_info, kMaxNameBytes);
        if (!n) return 0;
        name = *n;
      } else if (*type == l.scope_info_type) {
        if (!decode_scope_info(name_or_scope_info, name, inferred, start, end)) return 0;
      } else {
        return 0;
      }
    } else if (name_or_scope_info != 0) {
      return 0;  // only Smi 0 (no shared name) is expected
    }
    // A function not compiled (again, after its bytecode was flushed) has its positions here.
    if (is_heap_object(function_data) && l.first_uncompiled_data_type != 0) {
      auto type = heap.type_of(function_data);
      if (type && *type >= l.first_uncompiled_data_type && *type <= l.last_uncompiled_data_type) {
        if (start < 0) {
          auto s = heap.int32_field(function_data, l.uncompiled_data_start_position);
          auto e = heap.int32_field(function_data, l.uncompiled_data_end_position);
          if (s && e && *s >= 0 && *e >= *s) {
            start = *s;
            end = *e;
          }
        }
        if (inferred.empty()) {
          if (auto v = heap.field(function_data, l.uncompiled_data_inferred_name); v && is_heap_object(*v)) {
            if (auto n = name_string(*v, kMaxNameBytes)) inferred = *n;
          }
        }
      }
    }
    f.name = name.empty() ? inferred : name;

    uint64_t script_object = 0, script = script_field;
    if (is_heap_object(script)) {
      auto type = heap.type_of(script);
      if (type && l.debug_info_type != 0 && *type == l.debug_info_type) {
        auto inner = heap.field(script, l.debug_info_script);
        type = inner ? heap.type_of(*inner) : std::nullopt;
        if (inner) script = *inner;
      }
      if (type && *type == l.script_type) script_object = script;
    }
    ScriptEntry* s = nullptr;
    if (script_object != 0) {
      s = script_entry(script_object);
      if (s == nullptr) return 0;  // a Script that cannot be read now
    }
    bool whole = true;
    if (s != nullptr) {
      f.script = s->name;
      f.kind = s->eval
                   ? JsFunction::Kind::kEval
                   : (s->name.starts_with("node:") ? JsFunction::Kind::kNative : JsFunction::Kind::kNormal);
      if (start >= 0) {
        whole = false;
        if (const LineEnds* ends = line_ends(*s)) {
          int line = 0, column = 0;
          if (ends->locate(start, line, column)) {
            f.line = line + 1 + s->line_offset;
            f.column = column + 1;
            whole = true;
          }
        }
      }
    } else {
      f.kind = JsFunction::Kind::kNative;
    }
    entry.whole = whole;
    entry.id = intern(f);
    entry.script_object = script_object;
    entry.start = start;
    entry.end = end;
    return entry.id;
  }

  // The line executing in an interpreted frame, 0 when it cannot be told for sure.
  int32_t current_line(const Candidate& c, const SfiEntry& fn, uint64_t function_data) {
    auto it = bytecodes.find(c.bytecode_array);
    const bool vouched = it != bytecodes.end() && it->second.function_data && it->second.sfi == c.sfi &&
                         function_data == c.bytecode_array;
    if (!vouched) {
      // The header, from this call's batch or (when a vouching entry did not hold) read now.
      uint8_t head[64];
      const uint32_t size = bytecode_header_size();
      if (size > sizeof head) return 0;
      if (c.bytecode_read != RemoteMemory::kNone && mem.ok(c.bytecode_read)) {
        std::memcpy(head, mem.data(c.bytecode_read), size);
      } else if (c.bytecode_read != RemoteMemory::kNone || !mem.read(untag(c.bytecode_array), head, size)) {
        return 0;
      }
      auto word = [&](uint32_t off) {
        uint64_t v;
        std::memcpy(&v, head + off, 8);
        return v;
      };
      const uint64_t map = word(l.map), length = word(l.bytecode_array_length),
                     table = word(l.bytecode_array_source_position_table);
      auto type = heap.map_type(map);
      if (!type || *type != l.bytecode_array_type || !is_smi(length) || smi_value(length) <= 0 ||
          smi_value(length) > kMaxBytecodeLength) {
        return 0;
      }
      if (it == bytecodes.end() || it->second.map != map || it->second.length != length ||
          it->second.table != table || it->second.sfi != c.sfi) {
        if (bytecodes.size() >= kMaxBytecodeEntries) bytecodes.clear();
        it = bytecodes.insert_or_assign(c.bytecode_array, make_bytecode_entry(map, length, table, c.sfi))
                 .first;
      }
      it->second.function_data = function_data == c.bytecode_array;
    }
    BytecodeEntry& e = it->second;
    if (c.bytecode_offset >= smi_value(e.length)) return 0;
    if (auto hit = e.lines.find(c.bytecode_offset); hit != e.lines.end()) return hit->second;
    int32_t line = 0;
    const int32_t position = position_at(e.positions, c.bytecode_offset);
    // A position outside the function's own range means the array is not this function's.
    if (position >= 0 && fn.script_object != 0 && fn.start >= 0 && position >= fn.start &&
        position <= fn.end) {
      if (ScriptEntry* s = script_entry(fn.script_object)) {
        if (const LineEnds* ends = line_ends(*s)) {
          int l0 = 0, column = 0;
          if (ends->locate(position, l0, column)) line = l0 + 1 + s->line_offset;
        }
      }
    }
    if (e.lines.size() < kMaxLinesPerBytecode) e.lines.emplace(c.bytecode_offset, line);
    return line;
  }

  // The id of a SharedFunctionInfo whose header was read (cached or resolved); 0 when it does not
  // validate.
  uint32_t name_sfi(uint64_t sfi, const uint8_t* head, HeapReader::Stats& stats) {
    const uint64_t sfi_map = word_at(head, l.map);
    const uint64_t function_data = word_at(head, l.sfi_function_data);
    const uint64_t name_or_scope_info = word_at(head, l.sfi_name_or_scope_info);
    const uint64_t script = word_at(head, l.sfi_script);
    auto sfi_type = heap.map_type(sfi_map);
    if (!sfi_type || *sfi_type != l.shared_function_info_type) return 0;
    auto it = sfis.find(sfi);
    if (it != sfis.end() && it->second.map == sfi_map && it->second.function_data == function_data &&
        it->second.name_or_scope_info == name_or_scope_info && it->second.script == script &&
        (it->second.whole || calls < it->second.retry_at)) {
      if (it->second.id != 0) stats.cache_hits++;
      return it->second.id;
    }
    return resolve_function(sfi, sfi_map, function_data, name_or_scope_info, script);
  }

  // For each named candidate at a JIT pc after a call: the functions its optimized code inlined
  // there, innermost first (into inlined_ids). Two batched reads: the code entries' chains
  // (InstructionStream header, Code header, the deoptimization data's literal array slot, the
  // literal array's inlined functions), then the inlined SharedFunctionInfos' headers. Anything that
  // does not read back as cached leaves the frame with its outermost function only.
  // Level 2 of name_frames: the code entry of each candidate at a JIT pc (found now when not
  // cached), and the reads that show it still holds queued into the batch (InstructionStream
  // header, Code header and, when it inlined functions, the deoptimization data's literal array
  // slot, the literal array's inlined functions and the bytes before pc + 1).
  struct CodeCheck {
    size_t candidate;
    uint64_t start;  // the code entry's key (entries are looked up again: code_at may clear them)
    size_t istream, code, slot, literals, bytes;
    uint32_t guess_begin = 0, guess_end = 0;  // into inline_guess_reads: inline_links[pc]'s headers
  };
  std::vector<CodeCheck> code_checks;

  void queue_code_checks() {
    code_checks.clear();
    inline_guess_reads.clear();
    for (size_t k = 0; k < candidates.size(); ++k) {
      Candidate& c = candidates[k];
      if ((c.pc >= l.builtins_start && c.pc < l.builtins_end) || c.pc < 6) continue;
      CodeEntry* e = code_at(c.pc);
      if (e == nullptr) continue;
      CodeCheck p{k, e->start, 0, 0, RemoteMemory::kNone, RemoteMemory::kNone, RemoteMemory::kNone};
      p.istream = add_once(e->start - l.instruction_stream_header, l.instruction_stream_code + 8);
      p.code = add_once(untag(e->code), code_header_size());
      if (e->literals != 0) {
        p.slot = add_once(untag(e->deopt) + l.fixed_array_data + 8 * l.deopt_literal_array_index, 8);
        p.literals = add_once(untag(e->literals) + l.fixed_array_data, 8 * uint32_t(e->max_literal + 1));
        p.bytes = add_once(c.pc - 5, 6);
        if (auto link = inline_links.find(c.pc); link != inline_links.end()) {
          p.guess_begin = static_cast<uint32_t>(inline_guess_reads.size());
          for (uint64_t sfi : link->second) inline_guess_reads.push_back(add_once(untag(sfi), sfi_header_size()));
          p.guess_end = static_cast<uint32_t>(inline_guess_reads.size());
        }
      }
      code_checks.push_back(p);
    }
  }

  // After level 2: for each named candidate at a JIT pc after a call, the functions its optimized
  // code inlined there, innermost first (into inlined_ids); their SharedFunctionInfos' headers take
  // one more batched read. Anything that does not read back as cached leaves the frame with its
  // outermost function only.
  void expand_inlined(HeapReader::Stats& stats) {
    if (code_checks.empty()) return;
    aux.clear();
    RemoteMemory& batch = mem;
    struct Chain {
      size_t candidate;
      uint32_t guess_begin, guess_end;
      std::vector<uint64_t> sfis;
      std::vector<size_t> reads;
      bool guessed = false;  // reads are level 1's (batch), not aux's
    };
    std::vector<Chain> chains;
    std::vector<uint64_t> stale;
    for (const CodeCheck& p : code_checks) {
      Candidate& c = candidates[p.candidate];
      if (c.id == 0) continue;
      auto found = codes.find(p.start);
      if (found == codes.end()) continue;
      const CodeEntry& e = found->second;
      if (e.literals == 0) {
        if (!batch.ok(p.istream) || !batch.ok(p.code) || batch.u64(p.istream, l.map) != istream_map ||
            batch.u64(p.istream, l.instruction_stream_code) != e.code ||
            word_at(batch.data(p.code), l.code_instruction_start) != e.start ||
            u32_at(batch.data(p.code), l.code_flags) != e.flags) {
          stale.push_back(e.start);
        }
        continue;
      }
      if (!batch.ok(p.istream) || !batch.ok(p.code) || !batch.ok(p.slot) || !batch.ok(p.literals) ||
          !batch.ok(p.bytes))
        continue;
      const uint8_t* code = batch.data(p.code);
      if (batch.u64(p.istream, l.map) != istream_map ||
          batch.u64(p.istream, l.instruction_stream_code) != e.code || word_at(code, l.map) != e.code_map ||
          word_at(code, l.code_instruction_start) != e.start ||
          u32_at(code, l.code_instruction_size) != e.end - e.start || u32_at(code, l.code_flags) != e.flags ||
          word_at(code, l.code_deoptimization_data) != e.deopt ||
          word_at(code, l.code_position_table) != e.table || batch.u64(p.slot, 0) != e.literals) {
        stats.invalid++;
        stale.push_back(e.start);  // looked up again next time
        continue;
      }
      const int32_t offset = static_cast<int32_t>(c.pc - e.start);
      int32_t id = 0, next_id = -1;
      for (const PositionEntry& pe : e.positions) {
        if (pe.code_offset > offset) {
          next_id = pe.inlining_id;
          break;
        }
        id = pe.inlining_id;
      }
      if (id == 0) continue;
      // At a call the last position is the call's. Elsewhere (a leaf in straight code) only when the
      // positions on both sides belong to the same inlined function: code between two of its calls
      // is taken as its own. (V8's profiler takes the last position before the pc in every case.)
      const bool call = after_call(batch.data(p.bytes));
      if (!call && (c.pc_after_scan || next_id != id)) continue;
      Chain chain{p.candidate, p.guess_begin, p.guess_end, {}, {}};
      bool ok = true;
      while (id > 0 && ok) {
        if (chain.sfis.size() >= kMaxInlinedDepth || static_cast<size_t>(id) > e.inlining.size()) {
          ok = false;
          break;
        }
        const auto [caller, literal] = e.inlining[static_cast<size_t>(id - 1)];
        uint64_t sfi = batch.u64(p.literals, 8 * static_cast<uint32_t>(literal));
        if ((sfi & 3) == 3) sfi &= ~uint64_t{2};  // a weak reference
        if (!is_heap_object(sfi) || !RemoteMemory::plausible(untag(sfi), sfi_header_size())) ok = false;
        chain.sfis.push_back(sfi);
        id = caller;
      }
      if (ok) chains.push_back(std::move(chain));
    }
    for (uint64_t start : stale) codes.erase(start);
    if (chains.empty()) return;
    // The SharedFunctionInfos' headers: read with level 1 where the chain is the one met at this pc
    // last time, else in one more batch (aux keeps the first's data).
    for (Chain& ch : chains) {
      const uint64_t pc = candidates[ch.candidate].pc;
      auto link = inline_links.find(pc);
      if (link != inline_links.end() && link->second == ch.sfis && ch.guess_end - ch.guess_begin == ch.sfis.size()) {
        ch.guessed = true;
        ch.reads.assign(inline_guess_reads.begin() + ch.guess_begin, inline_guess_reads.begin() + ch.guess_end);
        continue;
      }
      for (uint64_t sfi : ch.sfis) ch.reads.push_back(aux.add(untag(sfi), sfi_header_size()));
    }
    aux.run();
    for (Chain& ch : chains) {
      RemoteMemory& from = ch.guessed ? batch : aux;
      std::vector<uint32_t> ids;
      for (size_t k = 0; k < ch.sfis.size(); ++k) {
        const uint32_t id = from.ok(ch.reads[k]) ? name_sfi(ch.sfis[k], from.data(ch.reads[k]), stats) : 0;
        if (id == 0) {
          ids.clear();
          break;
        }
        ids.push_back(id);
      }
      if (ids.empty()) continue;
      Candidate& c = candidates[ch.candidate];
      if (!ch.guessed) {
        if (inline_links.size() >= kMaxFunctionLinks) inline_links.clear();
        inline_links[c.pc] = ch.sfis;
      }
      c.inlined_begin = static_cast<uint32_t>(inlined_ids.size());
      inlined_ids.insert(inlined_ids.end(), ids.begin(), ids.end());
      c.inlined_end = static_cast<uint32_t>(inlined_ids.size());
      stats.inlined += ids.size();
    }
  }

  static uint64_t word_at(const uint8_t* p, size_t off) {
    uint64_t v;
    std::memcpy(&v, p + off, 8);
    return v;
  }
  static uint32_t u32_at(const uint8_t* p, size_t off) {
    uint32_t v;
    std::memcpy(&v, p + off, 4);
    return v;
  }
  uint32_t code_header_size() const {
    return std::max({l.code_deoptimization_data, l.code_position_table, l.code_instruction_start,
                     l.code_flags, l.code_instruction_size}) +
           8;
  }
  // A tagged array's elements [0, n) (length Smi checked against `n`); false when it does not read.
  bool read_elements(uint64_t array, uint32_t n, std::vector<uint64_t>& out) {
    auto length = heap.field(array, l.fixed_array_length);
    if (!length || !is_smi(*length) || smi_value(*length) < int64_t{n}) return false;
    out.resize(n);
    return n == 0 || mem.read(untag(array) + l.fixed_array_data, out.data(), 8 * size_t{n});
  }
  bool type_in(uint64_t tagged, const std::vector<uint16_t>& types) {
    auto t = heap.type_of(tagged);
    return t && std::find(types.begin(), types.end(), *t) != types.end();
  }

  // The Code whose instructions start at `start` (the InstructionStream's Code field `code`), when
  // it validates and covers `pc`: its entry, decoded. nullopt when it does not validate.
  std::optional<CodeEntry> make_code_entry(uint64_t start, uint64_t code, uint64_t pc) {
    uint8_t head[96];
    const uint32_t size = code_header_size();
    if (!is_heap_object(code) || size > sizeof head || !mem.read(untag(code), head, size))
      return std::nullopt;
    const uint64_t map = word_at(head, l.map);
    auto type = heap.map_type(map);
    if (!type || *type != l.code_type || word_at(head, l.code_instruction_start) != start)
      return std::nullopt;
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
    const uint32_t n = std::max({l.deopt_inlined_count_index, l.deopt_literal_array_index,
                                 l.deopt_inlining_positions_index}) +
                       1;
    if (!read_elements(deopt, n, d)) return e;
    const uint64_t count = d[l.deopt_inlined_count_index], literals = d[l.deopt_literal_array_index],
                   inlining = d[l.deopt_inlining_positions_index];
    if (!is_smi(count) || smi_value(count) <= 0 || smi_value(count) > kMaxInliningPositions) return e;
    if (!type_in(literals, l.literal_array_types) || !type_in(inlining, l.pod_array_types)) return e;
    auto literal_length = heap.field(literals, l.fixed_array_length);
    if (!literal_length || !is_smi(*literal_length) || smi_value(*literal_length) < smi_value(count))
      return e;
    auto bytes = heap.field(inlining, l.fixed_array_length);
    if (!bytes || !is_smi(*bytes) || smi_value(*bytes) <= 0 ||
        smi_value(*bytes) % l.inlining_position_size != 0 ||
        smi_value(*bytes) / l.inlining_position_size > uint32_t{kMaxInliningPositions})
      return e;
    std::vector<uint8_t> raw(static_cast<size_t>(smi_value(*bytes)));
    if (!mem.read(untag(inlining) + l.byte_array_data, raw.data(), raw.size())) return e;
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
    auto table_type = heap.type_of(table);
    if (!table_type || (*table_type != l.source_position_table_type &&
                        std::find(l.pod_array_types.begin(), l.pod_array_types.end(), *table_type) ==
                            l.pod_array_types.end()))
      return e;
    auto table_size = heap.field(table, l.fixed_array_length);
    if (!table_size || !is_smi(*table_size) || smi_value(*table_size) <= 0 ||
        smi_value(*table_size) > kMaxPositionTableBytes)
      return e;
    std::vector<uint8_t> table_bytes(static_cast<size_t>(smi_value(*table_size)));
    if (!mem.read(untag(table) + l.byte_array_data, table_bytes.data(), table_bytes.size())) return e;
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

  // The code entry covering the JIT pc `pc`: cached, else found by scanning down from the pc for an
  // InstructionStream header (its map, then a Code whose instruction start is right after it).
  // nullptr when none validates (then not looked for again for a while).
  CodeEntry* code_at(uint64_t pc) {
    auto it = codes.upper_bound(pc);
    if (it != codes.begin()) {
      --it;
      if (pc >= it->second.start && pc < it->second.end) return &it->second;
    }
    if (auto miss = code_misses.find(pc); miss != code_misses.end() && calls < miss->second) return nullptr;
    std::optional<CodeEntry> found = scan_for_code(pc);
    if (!found) {
      if (code_misses.size() >= kMaxCodeEntries) code_misses.clear();
      code_misses[pc] = calls + 64;
      return nullptr;
    }
    if (codes.size() >= kMaxCodeEntries) codes.clear();
    // Entries overlapping the new one are stale (their code was freed).
    for (auto o = codes.lower_bound(found->start > (64u << 20) ? found->start - (64u << 20) : 0);
         o != codes.end() && o->first < found->end;) {
      if (o->second.end > found->start) {
        o = codes.erase(o);
      } else {
        ++o;
      }
    }
    const uint64_t start = found->start;
    return &(codes[start] = std::move(*found));
  }

  std::optional<CodeEntry> scan_for_code(uint64_t pc) {
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
      if (!mem.read(lo, buf.data(), hi - lo)) {
        lo = (hi - 1) & ~(kPage - 1);
        buf.resize(hi - lo);
        if (!mem.read(lo, buf.data(), hi - lo)) return std::nullopt;
      }
      // Candidates c (64-aligned) whose header [c - header, c - header + 16) lies in [lo, hi).
      for (uint64_t c = hi; c >= lo + 64; c -= 64) {
        if (c > pc) continue;
        const uint64_t at = c - header - lo;
        const uint64_t map = word_at(buf.data(), at),
                       code = word_at(buf.data(), at + l.instruction_stream_code);
        if (!is_heap_object(map) || !is_heap_object(code)) continue;
        if (istream_map != 0) {
          if (map != istream_map) continue;
        } else {
          if (++learning > 256) return std::nullopt;
          auto type = heap.map_type(map);
          if (!type || *type != l.instruction_stream_type) continue;
        }
        std::optional<CodeEntry> e = make_code_entry(c, code, pc);
        if (!e) {
          // A header whose Code does not point back: not live code's (or not a header at all).
          continue;
        }
        if (istream_map == 0) istream_map = map;
        return e;
      }
      hi = lo;
    }
    return std::nullopt;
  }

  // Does the instruction before pc + 1 look like a call (pc a return address - 1)? Only there does
  // the last position at or before pc belong to the executing call: V8 records optimized code's
  // positions at calls only (unless a profiler asks for more), so a leaf pc elsewhere would take a
  // neighbouring call's inlining.
  // The code at a JIT leaf's pc (FrameSlots::leaf): false at `push rbp`, `mov rbp, rsp`, `ret`, or
  // when it could not be read.
  static bool frame_built(RemoteMemory& mem, size_t read) {
    if (!mem.ok(read)) return false;
    const uint8_t* code = mem.data(read);
    if (code[0] == 0x55 || code[0] == 0xc3 || code[0] == 0xc2) return false;  // push rbp; ret; ret imm16
    if (code[0] == 0x48 && ((code[1] == 0x89 && code[2] == 0xe5) || (code[1] == 0x8b && code[2] == 0xec)))
      return false;  // mov rbp, rsp
    return true;
  }

  bool after_call(const uint8_t* b) {                        // b: the 6 bytes ending at pc + 1
    if (b[1] == 0xe8) return true;                           // call rel32
    if (b[4] == 0xff && (b[5] & 0xf8) == 0xd0) return true;  // call r
    if (b[3] == 0x41 && b[4] == 0xff && (b[5] & 0xf8) == 0xd0) return true;  // call r8-r15
    if (b[0] == 0xff && (b[1] & 0x38) == 0x10) return true;                  // call [r + disp32] (approx.)
    if (b[3] == 0xff && (b[4] & 0xf8) == 0x50) return true;                  // call [r + disp8]
    return false;
  }

  BytecodeEntry make_bytecode_entry(uint64_t map, uint64_t length, uint64_t table, uint64_t sfi) {
    BytecodeEntry e;
    e.map = map;
    e.length = length;
    e.table = table;
    e.sfi = sfi;
    // No table yet (V8 collects source positions lazily) gives no positions; a later read sees the
    // table pointer change.
    auto table_type = heap.type_of(table);
    if (!table_type || *table_type != l.source_position_table_type) return e;
    auto size = heap.field(table, l.fixed_array_length);
    if (!size || !is_smi(*size) || smi_value(*size) < 0 || smi_value(*size) > kMaxPositionTableBytes)
      return e;
    std::vector<uint8_t> bytes(static_cast<size_t>(smi_value(*size)));
    if (!mem.read(untag(table) + l.byte_array_data, bytes.data(), bytes.size())) return e;
    if (auto decoded =
            decode_position_table(bytes.data(), bytes.size(), l.source_position_format, smi_value(length))) {
      e.positions = std::move(*decoded);
    }
    return e;
  }
};

HeapReader::HeapReader(Layout layout, pid_t pid)
    : layout_(std::move(layout)), impl_(std::make_unique<Impl>(layout_, pid)) {}

HeapReader::~HeapReader() = default;

const JsFunction& HeapReader::function(uint32_t id) const {
  if (id == 0 || id > impl_->functions.size()) return kNoFunction;
  return impl_->functions[id - 1];
}

size_t HeapReader::function_count() const { return impl_->functions.size(); }

// A program that keeps making code (new Function, eval, a bundler) shows the reader a new
// SharedFunctionInfo, Script and BytecodeArray with nearly every sample: the caches are bounded
// and start again when full (their entries are re-read on the next use; function ids stay).
void HeapReader::bound_caches() {
  Impl& m = *impl_;
  constexpr size_t kMaxSfis = 8000, kMaxScripts = 1000, kMaxBytecodes = 2000;
  if (m.sfis.size() > kMaxSfis) {
    m.sfis.clear();
    stats_.cache_resets++;
  }
  if (m.scripts.size() > kMaxScripts) {
    m.scripts.clear();
    stats_.cache_resets++;
  }
  if (m.bytecodes.size() > kMaxBytecodes) {
    m.bytecodes.clear();
    stats_.cache_resets++;
  }
  constexpr size_t kMaxCodes = 2000, kMaxCodeMisses = 8000;
  if (m.codes.size() > kMaxCodes) {
    m.codes.clear();
    stats_.cache_resets++;
  }
  if (m.code_misses.size() > kMaxCodeMisses) {
    m.code_misses.clear();
    stats_.cache_resets++;
  }
}

void HeapReader::release_caches() {
  Impl& m = *impl_;
  m.sfis = {};
  m.scripts = {};
  m.bytecodes = {};
  m.candidates = {};
  m.inlined_ids = {};
  m.codes = {};
  m.code_misses = {};
  m.function_maps = {};
  m.function_links = {};
  m.inline_links = {};
  m.inline_guess_reads = {};
  m.queued_keys = {};
  m.queued_reads = {};
  m.heap.clear_cache();
}

void HeapReader::name_frames(std::span<const FrameSlots> slots, std::vector<NamedFrame>& out) {
  Impl& m = *impl_;
  const Layout& l = layout_;
  bound_caches();
  const uint64_t calls_before = m.mem.calls(), aux_before = m.aux.calls();
  m.calls++;
  m.candidates.clear();
  m.mem.clear();
  // Per frame: its function and bytecode array, the guessed map and SharedFunctionInfo, five code
  // checks and (usually a few) the guessed inlined functions' headers.
  m.reset_queued(12 * slots.size());

  // Level 1: the JSFunction in each frame's function slot (and, for interpreted frames, the bytecode
  // array's header), all in one read.
  for (uint32_t i = 0; i < slots.size(); ++i) {
    const FrameSlots& s = slots[i];
    stats_.frames++;
    // A Smi in the context slot is a typed frame's marker (entry, exit, stub, internal ...).
    if (is_smi(s.context_or_marker) || !is_heap_object(s.function) ||
        !RemoteMemory::plausible(untag(s.function), m.function_header_size())) {
      stats_.not_js++;
      continue;
    }
    Impl::Candidate c;
    c.slot = i;
    c.pc = s.pc;
    c.pc_after_scan = s.pc_after_scan;
    c.function = s.function;
    c.function_read = m.add_once(untag(s.function), m.function_header_size());
    if (s.leaf) c.leaf_code_read = m.add_once(s.pc, 3);
    if (auto link = m.function_links.find(s.function); link != m.function_links.end()) {
      c.guessed_map = link->second.first;
      c.guessed_sfi = link->second.second;
      c.guessed_map_read = m.add_once(untag(c.guessed_map) + l.map_instance_type, 2);
      c.guessed_sfi_read = m.add_once(untag(c.guessed_sfi), m.sfi_header_size());
    }
    // Interpreted frames run in the builtins (InterpreterEntryTrampoline, bytecode handlers); their
    // bytecode offset slot holds a Smi relative to the array's tagged address. Optimized code that
    // took over an interpreter frame (OSR) runs elsewhere and its slots are not current.
    const bool in_builtins = s.pc >= l.builtins_start && s.pc < l.builtins_end;
    if (in_builtins && is_heap_object(s.bytecode_array) && is_smi(s.bytecode_offset)) {
      const int64_t offset = int64_t{smi_value(s.bytecode_offset)} - (int64_t{l.bytecode_array_data} - 1);
      if (offset >= 0 && offset < kMaxBytecodeLength) {
        c.bytecode_array = s.bytecode_array;
        c.bytecode_offset = static_cast<int32_t>(offset);
        // An entry that its SharedFunctionInfo vouched for needs no header (checked after level 2).
        auto known = m.bytecodes.find(s.bytecode_array);
        if (known == m.bytecodes.end() || !known->second.function_data) {
          c.bytecode_read = m.add_once(untag(s.bytecode_array), m.bytecode_header_size());
        }
      }
    }
    m.candidates.push_back(c);
  }
  if (m.candidates.empty()) return;
  // The code checks depend on the pcs alone: they go with level 1.
  if (l.inlining) m.queue_code_checks();
  m.mem.run();

  // Level 2: each function's map (its instance type says JSFunction or not) and its
  // SharedFunctionInfo's header.
  m.reset_queued(7 * m.candidates.size());  // function map, SharedFunctionInfo, five code checks
  std::vector<uint64_t>& function_maps = m.function_maps;
  function_maps.assign(m.candidates.size(), 0);
  for (size_t k = 0; k < m.candidates.size(); ++k) {
    Impl::Candidate& c = m.candidates[k];
    if (!m.mem.ok(c.function_read)) continue;
    if (c.leaf_code_read != RemoteMemory::kNone && !Impl::frame_built(m.mem, c.leaf_code_read)) {
      stats_.leaf_rejected++;
      c.function_read = RemoteMemory::kNone;  // not named, and not counted as a failed read
      continue;
    }
    const uint64_t map = m.mem.u64(c.function_read, l.map);
    c.sfi = m.mem.u64(c.function_read, l.js_function_shared);
    if (!is_heap_object(map)) continue;
    function_maps[k] = map;
    if (map == c.guessed_map && c.sfi == c.guessed_sfi) {
      c.map_read = c.guessed_map_read;
      c.sfi_read = c.guessed_sfi_read;
      continue;
    }
    c.map_read = m.add_once(untag(map) + l.map_instance_type, 2);
    if (is_heap_object(c.sfi)) c.sfi_read = m.add_once(untag(c.sfi), m.sfi_header_size());
    if (m.function_links.size() >= kMaxFunctionLinks) m.function_links.clear();
    m.function_links[c.function] = {map, c.sfi};
  }
  // Level 1's ranges keep their data: run() reads only the new ones (none when every guess held).
  m.mem.run();

  for (size_t k = 0; k < m.candidates.size(); ++k) {
    Impl::Candidate& c = m.candidates[k];
    if (c.function_read == RemoteMemory::kNone) continue;  // a leaf rejected above
    if (!m.mem.ok(c.function_read)) {
      stats_.read_failed++;
      continue;
    }
    if (function_maps[k] == 0) {
      stats_.not_js++;
      continue;
    }
    if (!m.mem.ok(c.map_read)) {
      stats_.read_failed++;
      continue;
    }
    if (!m.heap.is_js_function_type(m.mem.u16(c.map_read, 0))) {
      stats_.not_js++;
      continue;
    }
    if (!is_heap_object(c.sfi)) {
      stats_.invalid++;
      continue;
    }
    if (!m.mem.ok(c.sfi_read)) {
      stats_.read_failed++;
      continue;
    }
    const uint64_t sfi_map = m.mem.u64(c.sfi_read, l.map);
    const uint64_t function_data = m.mem.u64(c.sfi_read, l.sfi_function_data);
    const uint64_t name_or_scope_info = m.mem.u64(c.sfi_read, l.sfi_name_or_scope_info);
    const uint64_t script = m.mem.u64(c.sfi_read, l.sfi_script);
    auto sfi_type = m.heap.map_type(sfi_map);
    if (!sfi_type || *sfi_type != l.shared_function_info_type) {
      stats_.invalid++;
      continue;
    }
    uint32_t id = 0;
    auto it = m.sfis.find(c.sfi);
    if (it != m.sfis.end() && it->second.map == sfi_map && it->second.function_data == function_data &&
        it->second.name_or_scope_info == name_or_scope_info && it->second.script == script &&
        (it->second.whole || m.calls < it->second.retry_at)) {
      id = it->second.id;
      if (id != 0) stats_.cache_hits++;
    } else {
      id = m.resolve_function(c.sfi, sfi_map, function_data, name_or_scope_info, script);
      it = m.sfis.find(c.sfi);
    }
    if (id == 0) {
      stats_.invalid++;
      continue;
    }
    int32_t line = 0;
    if (c.bytecode_array != 0 && it != m.sfis.end()) line = m.current_line(c, it->second, function_data);
    if (line > 0) stats_.lines++;
    c.id = id;
    c.line = line;
    stats_.named++;
  }
  m.inlined_ids.clear();
  if (l.inlining) m.expand_inlined(stats_);
  m.code_checks.clear();
  for (const Impl::Candidate& c : m.candidates) {
    if (c.id == 0) continue;
    for (uint32_t k = c.inlined_begin; k < c.inlined_end; ++k)
      out.push_back(NamedFrame{c.slot, m.inlined_ids[k], 0});
    out.push_back(NamedFrame{c.slot, c.id, c.line});
  }
  stats_.reads += m.mem.calls() + m.aux.calls() - calls_before - aux_before;
}

}  // namespace loopperf::v8
