#include "version_table.h"

namespace loopperf::v8 {

namespace {

// V8 11.x (node 20). Checked on node 20.20.2 (V8 11.3.244.8):
// - v8::Function::GetScriptLineNumber tests `type - 0x812 <= 15`: 16 JSFunction types (JS_FUNCTION,
//   class, promise, regexp, array constructors and 11 typed-array constructors).
// - the same function follows SharedFunctionInfo+32 and, when that is a DebugInfo (0x99), takes the
//   DebugInfo's field at +24 as the Script.
// - AbstractCode::SourcePosition reads BytecodeArray+32 as the source position table (a ByteArray).
// - ScopeInfo::StartPosition/FunctionName/InferredFunctionName/HasPositionInfo: flags a Smi at +8,
//   context_local_count a Smi at +24, variable part at +32: [local names (n < 75) or one hash
//   table] [n local infos] [saved class variable: flag bit 10] [function variable name+index: flag
//   bits 12-13 != 0] [inferred name: bit 14] [start, end: when not empty (bit 29) and the scope
//   type (bits 0-3) is 0..4].
constexpr VersionFacts kV8_11{
    "11.x",
    "node 20.20.2 (V8 11.3): v8::Function::GetScriptLineNumber, AbstractCode::SourcePosition, ScopeInfo "
    "accessors",
    16,
    8,
    24,
    32,
    false,
    1,
    ScopeInfoLayout{.flags = 8,
                    .flags_is_smi = true,
                    .context_local_count = 24,
                    .variable_part = 32,
                    .module_scope_type = -1,
                    .fixed_position_info = false,
                    .position_info = 0,
                    .position_info_scope_types = 0x1f},
    CodeFacts{},
};

// V8 11.3 (node 20) has the Code/InstructionStream split of later versions: the InstructionStream
// (code space) holds a 16-byte header (map, Code; v8dbg InstructionStream.instruction_start 16) and
// the instructions; the Code (old space; the former CodeDataContainer, type CODE_TYPE) holds the
// metadata: relocation_info +8, deoptimization_data_or_interpreter_data +16, position_table +24
// (all three in v8dbg), instruction_stream +32, code_entry_point +40, flags +48 (uint32: kind in bits
// 0-3, is_turbofanned bit 4, stack slots above), builtin_id +52, kind_specific_flags +54,
// instruction_size +56 (int32). Checked on node 20.20.2 (V8 11.3.244.8):
// - Code::constant_pool reads Code+32 (no InstructionStream: Smi 0), then the int32s at +56
//   (instruction_size) and +80 (constant_pool_offset) added to the entry point at +40.
// - Code::OptimizedCodeIterator::Next takes InstructionStream+8 as the Code and accepts it when
//   (Code+48 & 15) - 12 <= 1: CodeKindCanDeoptimize, MAGLEV 12 and TURBOFAN 13 (CodeKindBaseline 11).
// - Code::Inlines and DeoptimizationData::GetInlinedFunction: deoptimization data at Code+16 (a
//   FixedArray), the literal array (a WeakFixedArray, weak elements) at its index 2, the inlined
//   function count at index 1; SourcePosition::InliningStack(Isolate*, Code) reads InliningPosition
//   id k at the positions ByteArray's data + (k - 1) * 16 (SourcePosition; function id at +8) and
//   the inlining id as bits 31-46 of the SourcePosition.
// - A live TurboFan Code of node 20.20.2 read back: its +40 is its InstructionStream + 16, that
//   InstructionStream's +8 is the Code, flags 0xdd (kind 13), +16 a FixedArray, +24 a ByteArray.
constexpr VersionFacts with_code(VersionFacts facts, const char* versions, CodeFacts code) {
  facts.versions = versions;
  facts.code = code;
  return facts;
}
constexpr VersionFacts kV8_11_3 = with_code(
    kV8_11, "11.3",
    CodeFacts{.instruction_stream_code = 8,
              .deoptimization_data = 16,
              .position_table = 24,
              .instruction_start = 40,
              .flags = 48,
              .instruction_size = 56,
              .checked = "node 20.20.2 (V8 11.3): Code::constant_pool, Code::OptimizedCodeIterator::Next, "
                         "Code::Inlines, SourcePosition::InliningStack and a live Code read back"});

// V8 12-14: Code (trusted space) starts with deoptimization_data_or_interpreter_data and
// position_table before its wrapper (v8dbg Code.wrapper 24); v8dbg has the other Code fields.
// Seen on node 22.23.5, 24.22.3, 26.12.1: +8 a TrustedFixedArray (12.4) / ProtectedFixedArray (13.6,
// 14.6), +16 a TrustedByteArray, in TurboFan and Maglev code; InstructionStream.code +8 (an
// InstructionStream is accepted only where that Code's instruction_start is its instructions).
constexpr CodeFacts kCode12{.instruction_stream_code = 8,
                            .deoptimization_data = 8,
                            .position_table = 16,
                            .checked =
                                "the fields before Code.wrapper and after InstructionStream's map, "
                                "seen in optimized code of node 22/24/26"};

// V8 12.0-12.7 (node 22). Checked on node 22.23.5 (V8 12.4.254.21):
// - 17 JSFunction types (Float16Array's constructor was added), as v8dbg First/LastJSFunctionType say.
// - SharedFunctionInfo+32 is the Script itself (GetScriptLineNumber checks the Script type directly);
//   DebugInfos moved to a side table.
// - BytecodeArray::SourcePositionTable reads +24 and accepts a TrustedByteArray (0xd4).
// - TqRuntimeFieldSliceScopeInfo{FunctionVariableInfo,PositionInfo}: as 11.x, but a MODULE_SCOPE (3)
//   ScopeInfo has one slot before the local names, and position info exists for types 0..4 and 8.
// - SharedFunctionInfo::StartPosition reads function_data at +8 (UncompiledData.start_position).
constexpr VersionFacts kV8_12{
    "12.0-12.7",
    "node 22.23.5 (V8 12.4): v8::Function::GetScriptLineNumber, BytecodeArray::SourcePositionTable, "
    "ScopeInfo "
    "field slices",
    17,
    8,
    0,
    24,
    true,
    1,
    ScopeInfoLayout{.flags = 8,
                    .flags_is_smi = true,
                    .context_local_count = 24,
                    .variable_part = 32,
                    .module_scope_type = 3,
                    .fixed_position_info = false,
                    .position_info = 0,
                    .position_info_scope_types = 0x11f},
    kCode12,
};

// V8 12.8-13.x (node 24). Checked on node 24.22.3 (V8 13.6.233.17):
// - ScopeInfo::StartPosition reads a fixed Smi at +32 (12.8.44 moved the positions before the
//   variable part, which starts at +48 (v8dbg scopeinfo_idx_first_vars 5)); HasPositionInfo is
//   "not empty" alone; the flags are a raw uint32 at +8; MODULE_SCOPE is type 5 (one extra slot).
//   (Between 12.8 and 13.6 the flags' representation and the module type are assumed.)
// - SharedFunctionInfo::StartPosition reads trusted_function_data at +8 (no sandbox: a plain
//   tagged pointer) for UncompiledData.
// - BytecodeArray::SourcePosition reads +24 (a TrustedByteArray; 0 when not collected).
constexpr ScopeInfoLayout kScopeInfo13{.flags = 8,
                                       .flags_is_smi = false,
                                       .context_local_count = 24,
                                       .variable_part = 48,
                                       .module_scope_type = 5,
                                       .fixed_position_info = true,
                                       .position_info = 32,
                                       .position_info_scope_types = 0};
constexpr VersionFacts kV8_13{
    "12.8-13.x",
    "node 24.22.3 (V8 13.6): ScopeInfo accessors, SharedFunctionInfo::StartPosition, "
    "BytecodeArray::SourcePosition",
    17,
    8,
    0,
    24,
    true,
    1,
    kScopeInfo13,
    kCode12,
};

// V8 14.x (node 26). Checked on node 26.12.1 (V8 14.6.202.34): as 13.x, except that
// SourcePositionTableIterator::Advance decodes the code offset field as an unsigned VLQ with
// is_statement in bit 0, another flag in bit 1 and the delta above (13.6 still has the zigzag
// form; the change is assumed to come with 14.0).
constexpr VersionFacts kV8_14{
    "14.x",
    "node 26.12.1 (V8 14.6): ScopeInfo accessors, SharedFunctionInfo::StartPosition, "
    "SourcePositionTableIterator::Advance",
    17,
    8,
    0,
    24,
    true,
    2,
    kScopeInfo13,
    kCode12,
};

}  // namespace

const VersionFacts* version_facts(const V8Version& version) {
  switch (version.major) {
    case 11:
      return version.minor == 3 ? &kV8_11_3 : &kV8_11;
    case 12:
      return version.minor < 8 ? &kV8_12 : &kV8_13;
    case 13:
      return &kV8_13;
    case 14:
      return &kV8_14;
    default:
      return nullptr;
  }
}

}  // namespace loopperf::v8
