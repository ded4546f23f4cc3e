// What the v8dbg metadata of a V8 version does not say, by version: the one place where layout
// constants are written down by hand. Each row says where its values come from.
#pragma once

#include <cstdint>

#include "loopperf/v8/layout.h"

namespace loopperf::v8 {

// Optimized code's objects, where v8dbg has no entry. A JIT pc's InstructionStream holds the
// instructions after a header (its map, then its Code); the Code (elsewhere in the heap) holds the
// metadata. 0: not known for this version (v8dbg must give it, or inlined functions are not
// expanded).
struct CodeFacts {
  uint32_t instruction_stream_code = 0;  // InstructionStream.code
  uint32_t deoptimization_data = 0;      // Code.deoptimization_data(_or_interpreter_data)
  uint32_t position_table = 0;           // Code.(source_)position_table
  uint32_t instruction_start = 0;        // Code.instruction_start (code_entry_point in V8 11)
  uint32_t flags = 0;                    // Code.flags (the kind in its low bits)
  uint32_t instruction_size = 0;         // Code.instruction_size (int32)
  const char* checked = "";              // where these were read
};

struct VersionFacts {
  const char* versions;  // "11.x", for the derived notes
  const char* checked;   // where the values were read (the binaries' accessors, disassembled)
  // JSFunction and its subclasses (class/array/promise/regexp/typed-array constructors) are this
  // many consecutive instance types from JS_FUNCTION_TYPE; used when v8dbg has no
  // First/LastJSFunctionType.
  int js_function_type_count = 0;
  uint32_t sfi_function_data = 0;
  uint32_t debug_info_script = 0;  // 0: SharedFunctionInfo.script never holds a DebugInfo
  uint32_t bytecode_array_source_position_table = 0;
  bool source_positions_trusted = false;  // the table is a TrustedByteArray, not a ByteArray
  int source_position_format = 1;         // Layout::source_position_format
  ScopeInfoLayout scope_info;             // variable_part is filled from v8dbg
  CodeFacts code;
};

// The row for `version`, or nullptr when the major version is not one this code knows.
const VersionFacts* version_facts(const V8Version& version);

}  // namespace loopperf::v8
