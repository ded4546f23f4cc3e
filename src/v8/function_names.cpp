#include "function_names.h"

#include <algorithm>
#include <cstring>

#include "strings.h"

namespace loopperf::v8 {

namespace {

// Bounds on what the target can make us read or keep; all of its lengths are untrusted.
constexpr size_t kMaxNameBytes = 512;
constexpr size_t kMaxScriptNameBytes = 4096;
constexpr uint32_t kMaxSourceChars = 32u << 20;  // a script larger than this gets no lines
constexpr int32_t kMaxLineEnds = 8 << 20;        // Script.line_ends entries
constexpr int32_t kMaxContextLocals = 1 << 20;
constexpr size_t kMaxSfiEntries = 1 << 18;
constexpr size_t kMaxScriptEntries = 1 << 14;

const JsFunction kNoFunction{};

}  // namespace

const JsFunction& FunctionNames::function(uint32_t id) const {
  if (id == 0 || id > functions_.size()) return kNoFunction;
  return functions_[id - 1];
}

uint32_t FunctionNames::intern(const JsFunction& f) {
  std::string key = f.name;
  key += '\0';
  key += f.script;
  key += '\0';
  key += std::to_string(f.line) + ':' + std::to_string(f.column) + ':' +
         std::to_string(static_cast<int>(f.kind));
  auto [it, inserted] = function_ids_.emplace(std::move(key), 0);
  if (inserted) {
    functions_.push_back(f);
    it->second = static_cast<uint32_t>(functions_.size());
  }
  return it->second;
}

std::optional<std::string> FunctionNames::name_string(uint64_t tagged, size_t max_bytes) {
  auto type = heap_.type_of(tagged);
  if (!type || !heap_.is_string_type(*type)) return std::nullopt;
  return read_string(heap_, tagged, max_bytes);
}

// The name, inferred name and source range a compiled function's ScopeInfo holds; false when the
// object does not hold together.
bool FunctionNames::decode_scope_info(uint64_t scope_info, std::string& name, std::string& inferred,
                                      int32_t& start, int32_t& end) {
  const Layout& l = layout_;
  const ScopeInfoLayout& s = l.scope_info;
  uint8_t head[64];
  if (s.variable_part > sizeof head || !mem_.read(untag(scope_info), head, s.variable_part)) return false;
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
    if (!mem_.read(untag(scope_info) + function_variable, slots, end_at - function_variable)) return false;
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
FunctionNames::ScriptEntry* FunctionNames::script_entry(uint64_t script) {
  const Layout& l = layout_;
  const uint32_t size = std::max({l.map, l.script_source, l.script_name, l.script_line_offset,
                                  l.script_line_ends, l.script_eval_from_shared}) +
                        8;
  uint8_t head[128];
  if (size > sizeof head || !mem_.read(untag(script), head, size)) return nullptr;
  auto word = [&](uint32_t off) {
    uint64_t v;
    std::memcpy(&v, head + off, 8);
    return v;
  };
  const uint64_t map = word(l.map), source = word(l.script_source), name = word(l.script_name);
  auto type = heap_.map_type(map);
  if (!type || *type != l.script_type) return nullptr;
  auto it = scripts_.find(script);
  if (it != scripts_.end() && it->second.map == map && it->second.source == source &&
      it->second.name_object == name) {
    return &it->second;
  }
  if (scripts_.size() >= kMaxScriptEntries) scripts_.clear();
  ScriptEntry e;
  e.map = map;
  e.source = source;
  e.name_object = name;
  e.line_ends_object = word(l.script_line_ends);
  // Scripts of eval code are named undefined; a name that is a string but cannot be read fails
  // the whole entry (rather than naming the script "").
  auto name_type = heap_.type_of(name);
  if (name_type && heap_.is_string_type(*name_type)) {
    auto n = read_string(heap_, name, kMaxScriptNameBytes);
    if (!n) return nullptr;
    e.name = *n;
  }
  const uint64_t offset = word(l.script_line_offset);
  if (is_smi(offset) && smi_value(offset) >= 0) e.line_offset = smi_value(offset);
  if (l.script_eval_from_shared != 0) {
    const uint64_t from = word(l.script_eval_from_shared);
    auto from_type = heap_.type_of(from);
    e.eval = from_type && *from_type == l.shared_function_info_type;
  }
  ScriptEntry& stored = scripts_[script];
  stored = std::move(e);
  return &stored;
}

// The script's line ends, computed once per entry (a Script whose source moves gets a new entry).
const LineEnds* FunctionNames::line_ends(ScriptEntry& s) {
  const Layout& l = layout_;
  if (s.line_ends_tried) return s.line_ends ? &*s.line_ends : nullptr;
  s.line_ends_tried = true;
  // V8 computes Script.line_ends on demand (stack traces, the debugger); when it has, use it.
  auto type = heap_.type_of(s.line_ends_object);
  if (type && *type == l.fixed_array_type) {
    auto length = heap_.field(s.line_ends_object, l.fixed_array_length);
    if (length && is_smi(*length) && smi_value(*length) > 0 && smi_value(*length) <= kMaxLineEnds) {
      std::vector<uint64_t> words(static_cast<size_t>(smi_value(*length)));
      if (mem_.read(untag(s.line_ends_object) + l.fixed_array_data, words.data(), words.size() * 8)) {
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
  s.line_ends = scan_line_ends(heap_, s.source, kMaxSourceChars);
  return s.line_ends ? &*s.line_ends : nullptr;
}

// Names a SharedFunctionInfo whose header words are known (map already checked). 0 when the
// objects behind it do not validate.
uint32_t FunctionNames::resolve_function(uint64_t sfi, uint64_t map, uint64_t function_data,
                                         uint64_t name_or_scope_info, uint64_t script_field) {
  const Layout& l = layout_;
  // Remembered either way, so that an object that does not validate is not read every time.
  if (sfis_.size() >= kMaxSfiEntries) sfis_.clear();
  SfiEntry& entry = sfis_[sfi];
  const bool same_fields = entry.map == map && entry.function_data == function_data &&
                           entry.name_or_scope_info == name_or_scope_info && entry.script == script_field;
  const uint32_t failures = same_fields ? entry.failures + 1 : 0;
  entry = SfiEntry{};
  entry.map = map;
  entry.function_data = function_data;
  entry.name_or_scope_info = name_or_scope_info;
  entry.script = script_field;
  entry.failures = failures;
  entry.retry_at = calls_ + (uint64_t{1} << std::min<uint32_t>(failures, 12));
  JsFunction f;
  std::string name, inferred;
  int32_t start = -1, end = -1;
  if (is_heap_object(name_or_scope_info)) {
    auto type = heap_.type_of(name_or_scope_info);
    if (!type) return 0;
    if (heap_.is_string_type(*type)) {
      auto n = read_string(heap_, name_or_scope_info, kMaxNameBytes);
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
    auto type = heap_.type_of(function_data);
    if (type && *type >= l.first_uncompiled_data_type && *type <= l.last_uncompiled_data_type) {
      if (start < 0) {
        auto s = heap_.int32_field(function_data, l.uncompiled_data_start_position);
        auto e = heap_.int32_field(function_data, l.uncompiled_data_end_position);
        if (s && e && *s >= 0 && *e >= *s) {
          start = *s;
          end = *e;
        }
      }
      if (inferred.empty()) {
        if (auto v = heap_.field(function_data, l.uncompiled_data_inferred_name); v && is_heap_object(*v)) {
          if (auto n = name_string(*v, kMaxNameBytes)) inferred = *n;
        }
      }
    }
  }
  f.name = name.empty() ? inferred : name;

  uint64_t script_object = 0, script = script_field;
  if (is_heap_object(script)) {
    auto type = heap_.type_of(script);
    if (type && l.debug_info_type != 0 && *type == l.debug_info_type) {
      auto inner = heap_.field(script, l.debug_info_script);
      type = inner ? heap_.type_of(*inner) : std::nullopt;
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
    f.kind = s->eval ? JsFunction::Kind::kEval
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

// The id of a SharedFunctionInfo whose header was read (cached or resolved); 0 when it does not
// validate.
uint32_t FunctionNames::name_sfi(uint64_t sfi, const uint8_t* head, HeapReader::Stats& stats) {
  const Layout& l = layout_;
  const uint64_t sfi_map = word_at(head, l.map);
  const uint64_t function_data = word_at(head, l.sfi_function_data);
  const uint64_t name_or_scope_info = word_at(head, l.sfi_name_or_scope_info);
  const uint64_t script = word_at(head, l.sfi_script);
  auto sfi_type = heap_.map_type(sfi_map);
  if (!sfi_type || *sfi_type != l.shared_function_info_type) return 0;
  auto it = sfis_.find(sfi);
  if (it != sfis_.end() && it->second.map == sfi_map && it->second.function_data == function_data &&
      it->second.name_or_scope_info == name_or_scope_info && it->second.script == script &&
      (it->second.whole || calls_ < it->second.retry_at)) {
    if (it->second.id != 0) stats.cache_hits++;
    return it->second.id;
  }
  return resolve_function(sfi, sfi_map, function_data, name_or_scope_info, script);
}

void FunctionNames::bound_caches(HeapReader::Stats& stats) {
  constexpr size_t kMaxSfis = 8000, kMaxScripts = 1000;
  if (sfis_.size() > kMaxSfis) {
    sfis_.clear();
    stats.cache_resets++;
  }
  if (scripts_.size() > kMaxScripts) {
    scripts_.clear();
    stats.cache_resets++;
  }
}

void FunctionNames::release_caches() {
  sfis_ = {};
  scripts_ = {};
}

}  // namespace loopperf::v8
