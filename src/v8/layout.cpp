#include "loopperf/v8/layout.h"

#include <cstring>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dynamic_symbols.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "version_table.h"

namespace loopperf::v8 {

std::string V8Version::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build) + "." +
         std::to_string(patch);
}

namespace {

// The int32 value at `addr`. v8dbg_* constants are `int` globals; those whose value is 0 live in
// .bss, where the file has no bytes: a symbol that exists but cannot be read from the file is 0.
int64_t read_int_at(symbols::ElfFile& elf, uint64_t addr) {
  std::vector<uint8_t> bytes = elf.read_bytes(addr, 4);
  if (bytes.size() != 4) return 0;
  int32_t v = 0;
  std::memcpy(&v, bytes.data(), 4);
  return v;
}

// Other symbols this file reads: in .dynsym of some binaries, only in .symtab of others (node >= 24.11
// builds V8 with hidden visibility).
constexpr const char* kVersionSymbols[] = {
    "_ZN2v88internal7Version6major_E", "_ZN2v88internal7Version6minor_E", "_ZN2v88internal7Version6build_E",
    "_ZN2v88internal7Version6patch_E"};
constexpr const char* kBlobCode = "v8_Default_embedded_blob_code_";
constexpr const char* kBlobCodeSize = "v8_Default_embedded_blob_code_size_";
// Where objects move: every garbage collection of V8 11.3 to 14.6 runs through
// Heap::PerformGarbageCollection (Heap::CollectGarbage calls it), on the thread that owns the heap
// (gc_epochs.h). In .dynsym in node 20 and 22, .symtab in 24 and 26.
constexpr const char* kGcBegin =
    "_ZN2v88internal4Heap24PerformGarbageCollectionENS0_16GarbageCollectorENS0_23GarbageCollectionReasonEPKc";

// Reads v8dbg constants, each by its possible spellings (the metadata generator names a field after
// its C++ type, which changed from `Object` to `Tagged_Object_` and so on between versions).
class Metadata {
 public:
  explicit Metadata(symbols::ElfFile& elf) : elf_(elf) {
    // node's v8dbg constants are all in .dynsym when any is (all four lines): each is then looked
    // up through the GNU hash table as it is asked for, with no scan of the ~75k dynamic symbols
    // (a scan by prefix took ~13 ms of every start). A binary without that table is scanned once.
    by_hash_ = elf_.dynamic_symbol("v8dbg_SmiTag").has_value() || elf_.dynamic_symbol("v8dbg_HeapObjectTag").has_value();
    if (!by_hash_) {
      static constexpr std::string_view kPrefixes[] = {
          "v8dbg_",           kBlobCode,          kGcBegin,          kVersionSymbols[0],
          kVersionSymbols[1], kVersionSymbols[2], kVersionSymbols[3]};
      known_ = dynamic_symbols(elf, &sizes_, kPrefixes, [](std::string_view name) {
        if (name.starts_with("v8dbg_") || name == kBlobCode || name == kBlobCodeSize || name == kGcBegin)
          return true;
        for (const char* v : kVersionSymbols) {
          if (name == v) return true;
        }
        return false;
      });
      for (const auto& [name, addr] : known_) {
        if (name.starts_with("v8dbg_")) {
          have_dynamic_v8dbg_ = true;
          break;
        }
      }
    } else {
      have_dynamic_v8dbg_ = true;
    }
    // The others missing from .dynsym are in .symtab: all looked up in one scan of it, not one
    // scan each (node has ~180k symbols; six scans took ~25 ms of every start). Not exported, they
    // are local symbols there (hidden), found among the first fifth (~9 ms for the whole scan).
    std::vector<std::string> rest;
    for (const char* v : kVersionSymbols) rest.emplace_back(v);
    rest.emplace_back(kBlobCode);
    rest.emplace_back(kBlobCodeSize);
    rest.emplace_back(kGcBegin);
    std::erase_if(rest, [&](const std::string& n) { return from_dynamic(n) != 0; });
    for (auto& [name, where] : (by_hash_ ? elf_.unexported_symbols(rest) : elf_.symbol_addresses(rest))) {
      known_.emplace(name, where.first);
      sizes_.emplace(name, where.second);
    }
    scanned_.insert(rest.begin(), rest.end());
  }

  // A symbol's int32 value: from .dynsym, else by ElfFile's lookup (which scans .symtab too).
  std::optional<int64_t> symbol(const std::string& name) {
    const uint64_t addr = address(name);
    if (addr == 0) return std::nullopt;
    return read_int_at(elf_, addr);
  }
  uint64_t address(const std::string& name) {
    if (const uint64_t addr = from_dynamic(name); addr != 0) return addr;
    // Every v8dbg constant is in .dynsym when any is; looking up the many absent spellings one by
    // one would scan all symbols each time.
    if ((name.starts_with("v8dbg_") && have_dynamic_v8dbg_) || scanned_.count(name)) return 0;
    return elf_.symbol_address(name);
  }

  // The size of a symbol address() found (0 when unknown).
  uint64_t size(const std::string& name) const {
    auto it = sizes_.find(name);
    return it == sizes_.end() ? 0 : it->second;
  }

  std::optional<int64_t> get(std::initializer_list<const char*> names) {
    for (const char* name : names) {
      if (auto v = symbol(std::string("v8dbg_") + name)) return v;
    }
    return std::nullopt;
  }

  // A constant the reader cannot work without: a missing one is remembered for the error.
  int64_t require(const char* what, std::initializer_list<const char*> names) {
    if (auto v = get(names)) return *v;
    if (!missing_.empty()) missing_ += ", ";
    missing_ += what;
    return 0;
  }

  const std::string& missing() const { return missing_; }

 private:
  symbols::ElfFile& elf_;
  // What .dynsym (through its hash table, or scanned) and the one .symtab scan found.
  uint64_t from_dynamic(const std::string& name) {
    if (auto it = known_.find(name); it != known_.end()) return it->second;
    if (!by_hash_) return 0;
    auto found = elf_.dynamic_symbol(name);
    if (!found) return 0;
    known_.emplace(name, found->first);
    sizes_.emplace(name, found->second);
    return found->first;
  }
  bool by_hash_ = false;
  std::unordered_map<std::string, uint64_t> known_;
  std::unordered_map<std::string, uint64_t> sizes_;    // of the same symbols
  std::unordered_set<std::string> scanned_;            // looked up in .symtab already
  bool have_dynamic_v8dbg_ = false;
  std::string missing_;
};

uint16_t u16(int64_t v) { return static_cast<uint16_t>(v); }
uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

Result<V8Version> read_version(Metadata& md, const std::string& path) {
  // `int Version::major_` and friends are statically initialized globals of V8's version.cc.
  std::optional<int64_t> parts[4];
  for (int i = 0; i < 4; ++i) parts[i] = md.symbol(kVersionSymbols[i]);
  if (!parts[0] || !parts[1]) {
    return make_error(ErrorCode::kInput, path + ": no V8 version symbols (v8::internal::Version::major_)",
                      "JavaScript frames can be named only for an unstripped node binary");
  }
  V8Version v;
  v.major = static_cast<int>(*parts[0]);
  v.minor = static_cast<int>(*parts[1]);
  v.build = static_cast<int>(parts[2].value_or(0));
  v.patch = static_cast<int>(parts[3].value_or(0));
  return v;
}

// The embedded builtins' code: V8's mksnapshot emits it as one blob with a symbol at its start and
// its size in a separate uint32 (both in .symtab of every supported binary). The Builtins_* symbols
// tile the same range.
void read_builtins_range(Metadata& md, Layout& layout) {
  const uint64_t start = md.address(kBlobCode);
  const std::optional<int64_t> size = md.symbol(kBlobCodeSize);
  if (start != 0 && size && *size > 0) {
    layout.builtins_start = start;
    layout.builtins_end = start + static_cast<uint32_t>(*size);
    return;
  }
  layout.derived.push_back("builtins range: unknown (no v8_Default_embedded_blob_code_ symbols)");
}

// Where objects move (gc_epochs.h); without it, heap names are read for every sample (as they are
// where uprobes are not allowed).
void read_gc_function(Metadata& md, Layout& layout) {
  layout.gc_begin = md.address(kGcBegin);
  layout.gc_size = layout.gc_begin != 0 ? md.size(kGcBegin) : 0;
  if (layout.gc_begin == 0 || layout.gc_size == 0) {
    layout.gc_begin = layout.gc_size = 0;
    layout.derived.push_back("garbage collections: not followed (no Heap::PerformGarbageCollection symbol)");
  }
}

Result<Layout> read_layout(symbols::ElfFile& binary) {
  Metadata md(binary);
  // The tagging scheme first: without v8dbg metadata nothing else can be read.
  std::optional<int64_t> smi_shift = md.get({"SmiShiftSize"});
  if (!smi_shift) {
    return make_error(ErrorCode::kInput, binary.path() + ": no V8 postmortem metadata (v8dbg_* symbols)",
                      "JavaScript frames can be named only in official node binaries (or builds with "
                      "v8_postmortem_support)");
  }
  if (*smi_shift != 31) {
    return make_error(ErrorCode::kInput,
                      binary.path() + ": V8 built with pointer compression (SmiShiftSize " +
                          std::to_string(*smi_shift) + ", expected 31): not supported",
                      "official node binaries are built without pointer compression");
  }
  const int64_t tagged_size = md.get({"TaggedSize"}).value_or(8);
  const int64_t heap_object_tag = md.get({"HeapObjectTag"}).value_or(-1);
  const int64_t heap_object_tag_mask = md.get({"HeapObjectTagMask"}).value_or(-1);
  const int64_t smi_tag_mask = md.get({"SmiTagMask"}).value_or(-1);
  if (tagged_size != 8 || heap_object_tag != 1 || heap_object_tag_mask != 3 || smi_tag_mask != 1 ||
      md.get({"SmiTag"}).value_or(-1) != 0) {
    return make_error(ErrorCode::kInput, binary.path() + ": unknown V8 tagging scheme (TaggedSize " +
                                             std::to_string(tagged_size) + ", HeapObjectTag " +
                                             std::to_string(heap_object_tag) + ")");
  }

  Result<V8Version> version = read_version(md, binary.path());
  if (!version) return version.error();
  Layout l;
  l.version = *version;
  const VersionFacts* facts = version_facts(l.version);
  if (facts == nullptr) {
    return make_error(
        ErrorCode::kInput,
        binary.path() + ": V8 " + l.version.str() + " is not a supported version (11.x to 14.x)",
        "JavaScript frames are named for node 20 to 26");
  }
  auto derived = [&](const std::string& what, int64_t value, const std::string& from) {
    l.derived.push_back(what + ": " + std::to_string(value) + " (" + from + ")");
  };
  const std::string table = std::string("V8 ") + facts->versions + " table; " + facts->checked;

  // Frame slots.
  l.fp_context = md.require("off_fp_context", {"off_fp_context_or_frame_type", "off_fp_context"});
  l.fp_function = md.require("off_fp_function", {"off_fp_function"});
  l.fp_bytecode_array = md.get({"off_fp_bytecode_array"}).value_or(l.fp_function - 16);
  l.fp_bytecode_offset = md.get({"off_fp_bytecode_offset"}).value_or(l.fp_bytecode_array - 8);

  // Objects every name needs.
  l.map =
      u32(md.require("HeapObject.map", {"class_HeapObject__map__Map", "class_HeapObject__map__Tagged_Map_"}));
  l.map_instance_type = u32(md.require("Map.instance_type", {"class_Map__instance_type__uint16_t"}));
  l.js_function_shared =
      u32(md.require("JSFunction.shared", {"class_JSFunction__shared__SharedFunctionInfo",
                                           "class_JSFunction__shared__Tagged_SharedFunctionInfo_"}));
  l.sfi_name_or_scope_info =
      u32(md.require("SharedFunctionInfo.name_or_scope_info",
                     {"class_SharedFunctionInfo__name_or_scope_info__Object",
                      "class_SharedFunctionInfo__name_or_scope_info__Tagged_Object_",
                      "class_SharedFunctionInfo__name_or_scope_info__Tagged_NameOrScopeInfoT_"}));
  l.sfi_script = u32(
      md.require("SharedFunctionInfo.script", {"class_SharedFunctionInfo__script_or_debug_info__HeapObject",
                                               "class_SharedFunctionInfo__script_or_debug_info__Object",
                                               "class_SharedFunctionInfo__script__Tagged_HeapObject_",
                                               "class_SharedFunctionInfo__raw_script__Tagged_Object_"}));
  l.shared_function_info_type =
      u16(md.require("SHARED_FUNCTION_INFO_TYPE", {"type_SharedFunctionInfo__SHARED_FUNCTION_INFO_TYPE"}));
  l.scope_info_type = u16(md.require("SCOPE_INFO_TYPE", {"type_ScopeInfo__SCOPE_INFO_TYPE"}));
  l.script_type = u16(md.require("SCRIPT_TYPE", {"type_Script__SCRIPT_TYPE"}));
  l.map_object_type = u16(md.require("MAP_TYPE", {"type_Map__MAP_TYPE"}));
  const int64_t js_function_type = md.require("JS_FUNCTION_TYPE", {"type_JSFunction__JS_FUNCTION_TYPE"});

  // Strings.
  l.first_nonstring_type = u16(md.require("FirstNonstringType", {"FirstNonstringType"}));
  l.string_representation_mask = u16(md.require("StringRepresentationMask", {"StringRepresentationMask"}));
  l.string_encoding_mask = u16(md.require("StringEncodingMask", {"StringEncodingMask"}));
  l.seq_string_tag = u16(md.require("SeqStringTag", {"SeqStringTag"}));
  l.cons_string_tag = u16(md.require("ConsStringTag", {"ConsStringTag"}));
  l.external_string_tag = u16(md.require("ExternalStringTag", {"ExternalStringTag"}));
  l.sliced_string_tag = u16(md.require("SlicedStringTag", {"SlicedStringTag"}));
  l.thin_string_tag = u16(md.require("ThinStringTag", {"ThinStringTag"}));
  l.one_byte_string_tag = u16(md.require("OneByteStringTag", {"OneByteStringTag"}));
  l.string_length = u32(md.require("String.length", {"class_String__length__int32_t"}));
  l.seq_one_byte_chars = u32(md.require("SeqOneByteString.chars", {"class_SeqOneByteString__chars__char"}));
  l.seq_two_byte_chars = u32(md.require("SeqTwoByteString.chars", {"class_SeqTwoByteString__chars__char"}));
  l.cons_first = u32(md.require(
      "ConsString.first", {"class_ConsString__first__String", "class_ConsString__first__Tagged_String_"}));
  l.cons_second = u32(md.require(
      "ConsString.second", {"class_ConsString__second__String", "class_ConsString__second__Tagged_String_"}));
  l.thin_actual = u32(md.require(
      "ThinString.actual", {"class_ThinString__actual__String", "class_ThinString__actual__Tagged_String_"}));
  l.sliced_offset = u32(md.require("SlicedString.offset", {"class_SlicedString__offset__SMI"}));
  if (auto v = md.get({"class_SlicedString__parent__String", "class_SlicedString__parent__Tagged_String_"})) {
    l.sliced_parent = u32(*v);
  } else {
    l.sliced_parent = l.sliced_offset - 8;
    derived("SlicedString.parent", l.sliced_parent,
            "the field before SlicedString.offset; v8dbg has no entry");
  }
  const int64_t external_resource =
      md.require("ExternalString.resource", {"class_ExternalString__resource__Object"});
  l.external_resource_data = u32(external_resource + 8);
  derived("ExternalString.resource_data", l.external_resource_data,
          "the cached data pointer after ExternalString.resource; v8dbg has no entry");
  l.uncached_external_string_mask = 0x10;
  derived("UncachedExternalStringMask", l.uncached_external_string_mask,
          "kUncachedExternalStringMask, 1 << 4 since V8 6; v8dbg has no entry");

  // Scripts.
  l.script_source = u32(md.require("Script.source", {"class_Script__source__Object"}));
  l.script_name = u32(md.require("Script.name", {"class_Script__name__Object"}));
  l.script_line_ends = u32(md.require("Script.line_ends", {"class_Script__line_ends__Object"}));
  l.script_line_offset = l.script_name + 8;
  derived("Script.line_offset", l.script_line_offset, "the field after Script.name; v8dbg has no entry");
  if (auto v = md.get({"class_Script__eval_from_shared_or_wrapped_arguments__Object",
                       "class_Script__eval_from_shared_or_wrapped_arguments__Tagged_Object_"})) {
    l.script_eval_from_shared = u32(*v);
  }
  l.fixed_array_type = u16(md.require("FIXED_ARRAY_TYPE", {"type_FixedArray__FIXED_ARRAY_TYPE"}));
  l.fixed_array_length = u32(md.require("FixedArrayBase.length", {"class_FixedArrayBase__length__SMI"}));
  l.fixed_array_data = u32(md.require("FixedArray.data", {"class_FixedArray__data__uintptr_t"}));

  // Functions not compiled yet keep their start position in UncompiledData (four subclasses, with
  // consecutive types).
  l.uncompiled_data_start_position =
      u32(md.require("UncompiledData.start_position", {"class_UncompiledData__start_position__int32_t"}));
  l.uncompiled_data_end_position =
      u32(md.require("UncompiledData.end_position", {"class_UncompiledData__end_position__int32_t"}));
  l.uncompiled_data_inferred_name = u32(
      md.require("UncompiledData.inferred_name", {"class_UncompiledData__inferred_name__String",
                                                  "class_UncompiledData__inferred_name__Tagged_String_"}));
  {
    int64_t lo = 1 << 16, hi = -1;
    for (const char* name :
         {"type_UncompiledDataWithoutPreparseData__UNCOMPILED_DATA_WITHOUT_PREPARSE_DATA_TYPE",
          "type_UncompiledDataWithPreparseData__UNCOMPILED_DATA_WITH_PREPARSE_DATA_TYPE",
          "type_UncompiledDataWithoutPreparseDataWithJob__UNCOMPILED_DATA_WITHOUT_PREPARSE_DATA_WITH_JOB_"
          "TYPE",
          "type_UncompiledDataWithPreparseDataAndJob__UNCOMPILED_DATA_WITH_PREPARSE_DATA_AND_JOB_TYPE"}) {
      if (auto v = md.get({name})) {
        lo = std::min(lo, *v);
        hi = std::max(hi, *v);
      }
    }
    if (hi >= 0 && hi - lo <= 3) {
      l.first_uncompiled_data_type = u16(lo);
      l.last_uncompiled_data_type = u16(hi);
    }
  }

  // Interpreter frames: BytecodeArray and its source position table.
  l.bytecode_array_type = u16(md.require("BYTECODE_ARRAY_TYPE", {"type_BytecodeArray__BYTECODE_ARRAY_TYPE"}));
  l.bytecode_array_data = u32(md.require("BytecodeArray.data", {"class_BytecodeArray__data__uintptr_t"}));
  l.bytecode_array_length = u32(md.get({"class_BytecodeArray__length__SMI"}).value_or(l.fixed_array_length));
  l.byte_array_data = l.fixed_array_length + 8;
  derived("ByteArray.data", l.byte_array_data,
          "after the length, as SourcePositionTableIterator reads a (Trusted)ByteArray; v8dbg has no entry");
  l.bytecode_array_source_position_table = facts->bytecode_array_source_position_table;
  derived("BytecodeArray.source_position_table", l.bytecode_array_source_position_table, table);
  l.source_position_format = facts->source_position_format;
  derived("source position table format", l.source_position_format, table);
  l.source_position_table_type =
      facts->source_positions_trusted
          ? u16(md.require("TRUSTED_BYTE_ARRAY_TYPE", {"type_TrustedByteArray__TRUSTED_BYTE_ARRAY_TYPE"}))
          : u16(md.require("BYTE_ARRAY_TYPE", {"type_ByteArray__BYTE_ARRAY_TYPE"}));

  // JSFunction and subclasses.
  auto first_fn = md.get({"FirstJSFunctionType"});
  auto last_fn = md.get({"LastJSFunctionType"});
  if (first_fn && last_fn) {
    l.first_js_function_type = u16(*first_fn);
    l.last_js_function_type = u16(*last_fn);
  } else {
    l.first_js_function_type = u16(js_function_type);
    l.last_js_function_type = u16(js_function_type + facts->js_function_type_count - 1);
    derived("FIRST_JS_FUNCTION_TYPE", l.first_js_function_type,
            "JS_FUNCTION_TYPE; v8dbg has no FirstJSFunctionType");
    derived("LAST_JS_FUNCTION_TYPE", l.last_js_function_type,
            "JS_FUNCTION_TYPE + " + std::to_string(facts->js_function_type_count - 1) + "; " + table);
  }

  // SharedFunctionInfo.function_data: v8dbg lost it after V8 11.
  if (auto v = md.get({"class_SharedFunctionInfo__function_data__Object",
                       "class_SharedFunctionInfo__function_data__Tagged_Object_"})) {
    l.sfi_function_data = u32(*v);
  } else {
    l.sfi_function_data = facts->sfi_function_data;
    derived("SharedFunctionInfo.function_data", l.sfi_function_data, table);
  }
  if (facts->debug_info_script != 0) {
    l.debug_info_type = u16(md.require("DEBUG_INFO_TYPE", {"type_DebugInfo__DEBUG_INFO_TYPE"}));
    l.debug_info_script = facts->debug_info_script;
    derived("DebugInfo.script", l.debug_info_script, table);
  }

  // ScopeInfo: the fixed slots from v8dbg, the variable part's rules from the table.
  l.scope_info = facts->scope_info;
  const int64_t first_vars = md.require("scopeinfo_idx_first_vars", {"scopeinfo_idx_first_vars"});
  const int64_t ncontextlocals = md.require("scopeinfo_idx_ncontextlocals", {"scopeinfo_idx_ncontextlocals"});
  // The indexes count tagged slots after the map.
  l.scope_info.variable_part = u32(8 + 8 * first_vars);
  l.scope_info.context_local_count = u32(8 + 8 * ncontextlocals);
  if (l.scope_info.variable_part != facts->scope_info.variable_part) {
    return make_error(ErrorCode::kInput,
                      binary.path() + ": V8 " + l.version.str() +
                          ": ScopeInfo layout differs from the known one (first variable slot " +
                          std::to_string(first_vars) + ")");
  }
  l.derived.push_back(std::string("ScopeInfo: flags a ") + (l.scope_info.flags_is_smi ? "Smi" : "uint32") +
                      ", start/end positions " +
                      (l.scope_info.fixed_position_info ? "at +" + std::to_string(l.scope_info.position_info)
                                                        : std::string("after the inferred name")) +
                      ", function name after the locals (" + table + ")");

  // Inlined functions: a JIT pc leads to its InstructionStream (the header before the 64-byte aligned
  // instructions), that to its Code (the metadata), the Code to its deoptimization data. The Code's
  // fields come from v8dbg where it has them, else from the version table (facts->code); a version
  // for which neither knows one gets no expansion.
  {
    const CodeFacts& cf = facts->code;
    const std::string code_table = std::string("V8 ") + facts->versions + " table; " + cf.checked;
    std::vector<std::string> notes;  // kept only when inlined functions are expanded
    bool known = true;
    auto code_field = [&](const char* what, std::initializer_list<const char*> names, uint32_t fact) {
      if (auto v = md.get(names)) return u32(*v);
      if (fact == 0) {
        known = false;
        return uint32_t{0};
      }
      notes.push_back(
          std::string(what) + ": " + std::to_string(fact) + " (" + code_table +
          "; v8dbg has no entry; checked by type, or against the InstructionStream, at every use)");
      return fact;
    };
    auto code_type = md.get({"type_Code__CODE_TYPE"});
    auto istream_type = md.get({"type_InstructionStream__INSTRUCTION_STREAM_TYPE"});
    auto istream_start = md.get({"class_InstructionStream__instruction_start__uintptr_t"});
    const uint32_t istream_code = code_field("InstructionStream.code", {}, cf.instruction_stream_code);
    const uint32_t code_deopt = code_field(
        "Code.deoptimization_data", {"class_Code__deoptimization_data__FixedArray"}, cf.deoptimization_data);
    const uint32_t code_positions = code_field(
        "Code.source_position_table", {"class_Code__source_position_table__ByteArray"}, cf.position_table);
    const uint32_t code_start = code_field("Code.instruction_start",
                                           {"class_Code__instruction_start__Address"}, cf.instruction_start);
    const uint32_t code_size =
        code_field("Code.instruction_size", {"class_Code__instruction_size__int"}, cf.instruction_size);
    const uint32_t code_flags = code_field("Code.flags", {"class_Code__flags__uint32_t"}, cf.flags);
    auto kind_mask = md.get({"CodeKindFieldMask"});
    auto kind_shift = md.get({"CodeKindFieldShift"});
    auto baseline = md.get({"CodeKindBaseline"});
    auto count_index = md.get({"DeoptimizationDataInlinedFunctionCountIndex"});
    auto literal_index = md.get({"DeoptimizationDataLiteralArrayIndex"});
    auto positions_index = md.get({"DeoptimizationDataInliningPositionsIndex"});
    auto protected_fixed = md.get({"type_ProtectedFixedArray__PROTECTED_FIXED_ARRAY_TYPE"});
    if (known && code_type && istream_type && istream_start && kind_mask && baseline && count_index &&
        literal_index && positions_index && kind_shift.value_or(0) == 0) {
      l.inlining = true;
      l.derived.insert(l.derived.end(), notes.begin(), notes.end());
      l.code_type = u16(*code_type);
      l.instruction_stream_type = u16(*istream_type);
      l.instruction_stream_header = u32(*istream_start);
      l.instruction_stream_code = istream_code;
      l.code_deoptimization_data = code_deopt;
      l.code_position_table = code_positions;
      l.code_instruction_start = code_start;
      l.code_instruction_size = code_size;
      l.code_flags = code_flags;
      l.code_kind_mask = u32(*kind_mask);
      l.deopt_inlined_count_index = u32(*count_index);
      l.deopt_literal_array_index = u32(*literal_index);
      l.deopt_inlining_positions_index = u32(*positions_index);
      // code-kind.h: ... INTERPRETED_FUNCTION, BASELINE, MAGLEV, TURBOFAN(_JS) end the list (11.3-14.6).
      l.code_kind_maglev = u32(*baseline + 1);
      l.code_kind_turbofan = u32(*baseline + 2);
      derived(
          "CodeKind::MAGLEV", l.code_kind_maglev,
          "CodeKindBaseline + 1 (code-kind.h: ... BASELINE, MAGLEV, TURBOFAN_JS); Maglev code of node 24/26 "
          "carries inlining with it");
      derived("CodeKind::TURBOFAN_JS", l.code_kind_turbofan,
              "CodeKindBaseline + 2; TurboFan code seen with kind 13 on node 20 and 26, 12 on node 22/24");
      // DeoptimizationData: a FixedArray (11.3), TrustedFixedArray (12.4), ProtectedFixedArray (13.6,
      // 14.6).
      if (auto trusted_fixed = md.get({"type_TrustedFixedArray__TRUSTED_FIXED_ARRAY_TYPE"}))
        l.deopt_data_types.push_back(u16(*trusted_fixed));
      if (protected_fixed) l.deopt_data_types.push_back(u16(*protected_fixed));
      if (l.deopt_data_types.empty()) l.deopt_data_types.push_back(l.fixed_array_type);
      for (const char* name :
           {"type_FixedArray__FIXED_ARRAY_TYPE", "type_WeakFixedArray__WEAK_FIXED_ARRAY_TYPE",
            "type_TrustedFixedArray__TRUSTED_FIXED_ARRAY_TYPE",
            "type_TrustedWeakFixedArray__TRUSTED_WEAK_FIXED_ARRAY_TYPE",
            "type_ProtectedFixedArray__PROTECTED_FIXED_ARRAY_TYPE",
            "type_ProtectedWeakFixedArray__PROTECTED_WEAK_FIXED_ARRAY_TYPE"}) {
        if (auto v = md.get({name})) l.literal_array_types.push_back(u16(*v));
      }
      for (const char* name :
           {"type_ByteArray__BYTE_ARRAY_TYPE", "type_TrustedByteArray__TRUSTED_BYTE_ARRAY_TYPE"}) {
        if (auto v = md.get({name})) l.pod_array_types.push_back(u16(*v));
      }
      l.inlining_position_size = 16;
      derived("sizeof(InliningPosition)", l.inlining_position_size,
              "SourcePosition (uint64) + int inlined_function_id, padded (V8 11.3-14.6 source-position.h; "
              "node 20's SourcePosition::InliningStack indexes by 16)");
    }
  }
  if (!l.inlining) {
    l.derived.push_back("inlined functions: not expanded (" + std::string(facts->versions) +
                        ": optimized code's layout not known, or metadata missing)");
  }

  if (!md.missing().empty()) {
    return make_error(ErrorCode::kInput, binary.path() + ": V8 " + l.version.str() +
                                             " postmortem metadata lacks " + md.missing());
  }
  read_builtins_range(md, l);
  read_gc_function(md, l);
  return l;
}

}  // namespace

// One binary, one layout: a recording that follows several node processes of one executable
// (launch mode's process tree) scans its symbols once, not ~40 ms per process. Keyed by build id
// and path; a binary without a build id is read every time.
Result<Layout> load_layout(symbols::ElfFile& binary) {
  if (binary.build_id().empty()) return read_layout(binary);
  static std::mutex mu;
  static std::map<std::string, Layout> known;
  const std::string key = binary.build_id() + '\0' + binary.path();
  {
    std::lock_guard lock(mu);
    if (auto it = known.find(key); it != known.end()) return it->second;
  }
  auto layout = read_layout(binary);
  if (layout) {
    std::lock_guard lock(mu);
    if (known.size() >= 16) known.clear();
    known.emplace(key, *layout);
  }
  return layout;
}

}  // namespace loopperf::v8
