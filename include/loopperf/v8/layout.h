// V8's heap layout for one node binary: frame slots, object field offsets, instance types and tagging,
// read from the postmortem metadata official node binaries ship (the v8dbg_* symbols in .dynsym).
// Where a constant is missing from a version's metadata it is derived here, in one place, and
// `derived` says from what.
//
// Supported: V8 11.x to 14.x (node 20 to 26) on x86-64 with 64-bit Smis (no pointer compression) and
// no V8 sandbox, which is how the official node binaries are built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loopperf/common/result.h"

namespace loopperf::symbols {
class ElfFile;
}

namespace loopperf::v8 {

struct V8Version {
  int major = 0, minor = 0, build = 0, patch = 0;
  std::string str() const;
};

// How a ScopeInfo (the compiled function's scope: its name and source range) is laid out. Its
// variable part has no postmortem metadata; the rules below come from the binaries' own accessors
// (ScopeInfo::FunctionName, InferredFunctionName, StartPosition, HasPositionInfo) per V8 version.
struct ScopeInfoLayout {
  uint32_t flags = 8;                     // the ScopeFlags bit field
  bool flags_is_smi = true;               // a Smi (V8 <= 12), a raw uint32 (V8 >= 13)
  uint32_t context_local_count = 24;      // Smi
  uint32_t variable_part = 32;            // first slot of the variable-length part
  int module_scope_type = -1;             // a MODULE_SCOPE ScopeInfo has one extra slot first (-1: none)
  uint32_t max_inlined_local_names = 75;  // from this many locals on, one hash table replaces the names
  uint32_t scope_type_mask = 0xf;
  uint32_t saved_class_variable_bit = 10;    // one slot
  uint32_t function_variable_mask = 0x3000;  // != 0: the two-slot function variable info (name first)
  uint32_t inferred_name_bit = 14;           // one slot: the inferred name (String or undefined)
  uint32_t is_empty_bit = 29;
  // V8 >= 12.8 keeps the start/end positions at fixed offsets; before, they follow the inferred name
  // and exist only for the scope types in position_info_scope_types (a bit per type).
  bool fixed_position_info = false;
  uint32_t position_info = 0;  // when fixed: offset of the start position (Smi), end follows
  uint32_t position_info_scope_types = 0;
};

struct Layout {
  V8Version version;
  // Frame slots relative to the frame pointer (v8dbg_off_fp_*).
  int64_t fp_context = -8;  // context, or a Smi frame-type marker for typed (non-JS) frames
  int64_t fp_function = -16;
  int64_t fp_bytecode_array = -32;
  int64_t fp_bytecode_offset = -40;
  // Where V8's builtins live in the binary (the embedded blob): vaddrs, [start, end). A pc there or
  // in anonymous executable memory (JIT) may belong to a JavaScript frame.
  uint64_t builtins_start = 0, builtins_end = 0;
  bool in_builtins(uint64_t vaddr) const { return vaddr >= builtins_start && vaddr < builtins_end; }
  // Heap::PerformGarbageCollection, where objects move: its vaddr and size (gc_epochs.h); 0 when the
  // binary does not have the symbol.
  uint64_t gc_begin = 0, gc_size = 0;

  // Object layout: byte offsets from an object's (untagged) address, instance types. Tagging is
  // fixed by load_layout()'s checks: heap object pointers end in 01, Smis have a clear low bit and
  // their 32-bit value in the upper half.
  uint32_t map = 0;                 // HeapObject.map
  uint32_t map_instance_type = 12;  // Map.instance_type (uint16)

  // Instance types.
  uint16_t map_object_type = 0;         // MAP_TYPE: a Map's own type
  uint16_t first_nonstring_type = 128;  // every string type is below
  uint16_t string_representation_mask = 7, string_encoding_mask = 8;
  uint16_t seq_string_tag = 0, cons_string_tag = 1, external_string_tag = 2, sliced_string_tag = 3,
           thin_string_tag = 5, one_byte_string_tag = 8;
  uint16_t uncached_external_string_mask = 0x10;  // external string without a cached data pointer
  uint16_t first_js_function_type = 0, last_js_function_type = 0;  // JSFunction and its subclasses
  uint16_t shared_function_info_type = 0;
  uint16_t scope_info_type = 0;
  uint16_t script_type = 0;
  uint16_t debug_info_type = 0;  // 0: SharedFunctionInfo.script never holds a DebugInfo (V8 >= 12)
  uint16_t first_uncompiled_data_type = 0, last_uncompiled_data_type = 0;
  uint16_t bytecode_array_type = 0;
  uint16_t source_position_table_type = 0;  // ByteArray (V8 11), TrustedByteArray (V8 >= 12)
  uint16_t fixed_array_type = 0;

  // Field offsets.
  uint32_t js_function_shared = 0;
  uint32_t sfi_function_data = 0;       // BytecodeArray, UncompiledData ... (trusted_function_data in 13+)
  uint32_t sfi_name_or_scope_info = 0;  // String (uncompiled) or ScopeInfo
  uint32_t sfi_script = 0;              // Script, undefined, or (V8 11) a DebugInfo
  uint32_t debug_info_script = 0;
  uint32_t uncompiled_data_inferred_name = 0;
  uint32_t uncompiled_data_start_position = 0, uncompiled_data_end_position = 0;  // int32
  uint32_t script_source = 0, script_name = 0, script_line_offset = 0, script_line_ends = 0,
           script_eval_from_shared = 0;
  uint32_t string_length = 12;  // int32
  uint32_t seq_one_byte_chars = 16, seq_two_byte_chars = 16;
  uint32_t cons_first = 16, cons_second = 24, thin_actual = 16, sliced_parent = 16, sliced_offset = 24;
  uint32_t external_resource_data = 24;                    // the cached pointer to the characters
  uint32_t fixed_array_length = 8, fixed_array_data = 16;  // also the length (Smi) of byte arrays
  uint32_t byte_array_data = 16;
  uint32_t bytecode_array_length = 8;  // Smi
  uint32_t bytecode_array_source_position_table = 0;
  uint32_t bytecode_array_data = 0;  // also the header size: the frame's bytecode offset is relative to it
  // How a source position table codes its code offsets: 1 (V8 <= 13) a zigzag delta whose sign is
  // "not a statement"; 2 (V8 14) an unsigned value, bit 0 is_statement, bit 1 a flag, delta >> 2.
  int source_position_format = 1;
  ScopeInfoLayout scope_info;

  // Optimized code and what it inlined (V8 11.3 to 14; `inlining` false: optimized frames are named
  // by their outermost function only). A JIT pc leads to its InstructionStream (header right before
  // the 64-byte aligned instructions, its map first, its Code next), the Code to its deoptimization
  // data (the inlined SharedFunctionInfos, InliningPositions) and its source position table. The
  // defaults below are V8 12.4's; load_layout sets them all when `inlining` is true.
  bool inlining = false;
  uint16_t code_type = 0, instruction_stream_type = 0;
  uint32_t instruction_stream_header = 32;  // InstructionStream.instruction_start: header size
  uint32_t instruction_stream_code = 8;     // InstructionStream.code
  uint32_t code_deoptimization_data = 8, code_position_table = 16;
  uint32_t code_instruction_start = 40, code_flags = 48, code_instruction_size = 52;
  uint32_t code_kind_mask = 15;
  uint32_t code_kind_maglev = 0, code_kind_turbofan = 0;
  // DeoptimizationData: FixedArray (V8 11.3), TrustedFixedArray (seen on V8 12.4), ProtectedFixedArray
  // (13.6, 14.6); all a Smi length and tagged elements.
  std::vector<uint16_t> deopt_data_types;
  std::vector<uint16_t> literal_array_types;  // (Trusted/Protected)(Weak)FixedArray (11.3: WeakFixedArray)
  std::vector<uint16_t> pod_array_types;      // ByteArray, TrustedByteArray
  uint32_t deopt_inlined_count_index = 1, deopt_literal_array_index = 2, deopt_inlining_positions_index = 7;
  uint32_t inlining_position_size = 16;  // InliningPosition {SourcePosition (int64); int function id}

  // One line per constant not taken from v8dbg metadata: "SharedFunctionInfo.script_or_debug_info:
  // 32 (V8 11.x table; v8dbg has no entry)".
  std::vector<std::string> derived;
};

// Reads the layout from the binary's v8dbg_* symbols (and the V8 version symbols). Fails with a
// message naming what is missing when the layout cannot be established: no v8dbg metadata (stripped
// or not node), a V8 version this code does not know, pointer compression, an unknown tagging scheme.
Result<Layout> load_layout(symbols::ElfFile& binary);

}  // namespace loopperf::v8
