// load_layout on the official node binaries of the four supported lines, and on a binary that is not
// node. The expected values were read from each binary's v8dbg dump and its own V8 accessors.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "../../../src/v8/dynamic_symbols.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "loopperf/v8/layout.h"
#include "lp_skip.h"
#include "node_child.h"

using loopperf::symbols::ElfFile;
using loopperf::v8::Layout;
using loopperf::v8::load_layout;

namespace {

struct Expected {
  int major;
  size_t v8dbg_symbols;  // in .dynsym (nm -D)
  int v8_major, v8_minor;
  uint16_t first_js_function_type, last_js_function_type;
  uint32_t js_function_shared, sfi_name_or_scope_info, sfi_script;
  uint32_t scope_info_variable_part;
  bool scope_info_fixed_positions;
  uint32_t bytecode_array_data, bytecode_array_source_position_table;
  int source_position_format;
  bool debug_info;  // SharedFunctionInfo.script may hold a DebugInfo
  // Optimized code: InstructionStream header, Code fields, TurboFan's code kind, DeoptimizationData
  // indexes (literal array, inlining positions).
  uint32_t instruction_stream_header, code_deopt, code_positions, code_start, code_flags, code_size;
  uint32_t turbofan_kind, deopt_literals, deopt_positions;
};

const Expected kExpected[] = {
    {20, 531, 11, 3, 2066, 2081, 24, 16, 32, 32, false, 54, 32, 1, true, 16, 16, 24, 40, 48, 56, 13, 2, 7},
    {22, 457, 12, 4, 2066, 2082, 32, 16, 32, 32, false, 64, 24, 1, false, 32, 8, 16, 40, 48, 52, 12, 2, 7},
    {24, 480, 13, 6, 2065, 2081, 32, 24, 40, 48, true, 64, 24, 1, false, 32, 8, 16, 40, 52, 56, 12, 3, 8},
    {26, 477, 14, 6, 2066, 2082, 32, 24, 40, 48, true, 64, 24, 2, false, 32, 8, 16, 40, 52, 56, 13, 3, 8},
};

// One test case per line, so that a missing binary skips only its own.
void check_layout(const Expected& want) {
  const std::string node = v8_test::node_binary(want.major);
  if (node.empty()) LP_SKIP("node " << want.major << " not installed (scripts/install-test-nodes.sh)");
  auto elf = ElfFile::open_path(node);
  REQUIRE(elf.ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto layout = load_layout(**elf);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  INFO(node);
  REQUIRE(layout.ok());
  const Layout& l = *layout;
  WARN("node " << want.major << ": V8 " << l.version.str() << ", layout loaded in " << ms << " ms, "
               << l.derived.size() << " derived constants");
  for (const std::string& d : l.derived) UNSCOPED_INFO("derived " << d);
  CHECK(l.version.major == want.v8_major);
  CHECK(l.version.minor == want.v8_minor);
  CHECK(l.fp_context == -8);
  CHECK(l.fp_function == -16);
  CHECK(l.fp_bytecode_array == -32);
  CHECK(l.fp_bytecode_offset == -40);
  CHECK(l.first_js_function_type == want.first_js_function_type);
  CHECK(l.last_js_function_type == want.last_js_function_type);
  CHECK(l.js_function_shared == want.js_function_shared);
  CHECK(l.sfi_name_or_scope_info == want.sfi_name_or_scope_info);
  CHECK(l.sfi_script == want.sfi_script);
  CHECK(l.sfi_function_data == 8);
  CHECK(l.scope_info.variable_part == want.scope_info_variable_part);
  CHECK(l.scope_info.fixed_position_info == want.scope_info_fixed_positions);
  CHECK(l.bytecode_array_data == want.bytecode_array_data);
  CHECK(l.bytecode_array_source_position_table == want.bytecode_array_source_position_table);
  CHECK(l.source_position_format == want.source_position_format);
  CHECK((l.debug_info_type != 0) == want.debug_info);
  CHECK(l.map_instance_type == 12);
  CHECK(l.script_name == 16);
  CHECK(l.script_line_ends == 56);
  CHECK(l.first_uncompiled_data_type != 0);
  CHECK(l.last_uncompiled_data_type == l.first_uncompiled_data_type + 3);
  // Inlined functions, on every line; the optimized code kinds are the two after BASELINE (TurboFan
  // code seen at runtime with kind 13 on node 20 and 26, 12 on node 22 and 24).
  CHECK(l.inlining);
  if (l.inlining) {
    CHECK(l.code_kind_turbofan == want.turbofan_kind);
    CHECK(l.code_kind_maglev == l.code_kind_turbofan - 1);
    CHECK(l.code_kind_mask == 15);
    CHECK(l.instruction_stream_header == want.instruction_stream_header);
    CHECK(l.instruction_stream_code == 8);
    CHECK(l.code_deoptimization_data == want.code_deopt);
    CHECK(l.code_position_table == want.code_positions);
    CHECK(l.code_instruction_start == want.code_start);
    CHECK(l.code_flags == want.code_flags);
    CHECK(l.code_instruction_size == want.code_size);
    CHECK(l.deopt_inlined_count_index == 1);
    CHECK(l.deopt_literal_array_index == want.deopt_literals);
    CHECK(l.deopt_inlining_positions_index == want.deopt_positions);
    CHECK(!l.deopt_data_types.empty());
    CHECK(!l.literal_array_types.empty());
    CHECK(!l.pod_array_types.empty());
  }
  // Every derived constant says where it came from.
  for (const std::string& d : l.derived) CHECK(d.find('(') != std::string::npos);

  // The builtins range holds the interpreter's trampoline and is about 2 MB of code.
  REQUIRE(l.builtins_end > l.builtins_start);
  CHECK(l.builtins_end - l.builtins_start > (1u << 20));
  CHECK(l.builtins_end - l.builtins_start < (16u << 20));
  const uint64_t trampoline = (*elf)->symbol_address("Builtins_InterpreterEntryTrampoline");
  REQUIRE(trampoline != 0);
  CHECK(trampoline >= l.builtins_start);
  CHECK(trampoline < l.builtins_end);
  // One scan of the symbols, not one per constant.
  CHECK(ms < 5000);

  // All of the binary's v8dbg constants are found in its .dynsym (whose size comes from the GNU
  // hash table: these binaries have no DT_HASH).
  auto dynamic =
      loopperf::v8::dynamic_symbols(**elf, [](std::string_view n) { return n.starts_with("v8dbg_"); });
  CHECK(dynamic.size() == want.v8dbg_symbols);
}

}  // namespace

TEST_CASE("load_layout: node 20 (V8 11.3)", "[v8][layout]") { check_layout(kExpected[0]); }
TEST_CASE("load_layout: node 22 (V8 12.4)", "[v8][layout]") { check_layout(kExpected[1]); }
TEST_CASE("load_layout: node 24 (V8 13.6)", "[v8][layout]") { check_layout(kExpected[2]); }
TEST_CASE("load_layout: node 26 (V8 14.6)", "[v8][layout]") { check_layout(kExpected[3]); }

TEST_CASE("load_layout: a binary that is not node says what is missing", "[v8][layout]") {
  auto elf = ElfFile::open_path("/bin/ls");
  if (!elf.ok()) LP_SKIP("/bin/ls not readable");
  auto layout = load_layout(**elf);
  REQUIRE_FALSE(layout.ok());
  CHECK(layout.error().message.find("no V8 postmortem metadata") != std::string::npos);
  CHECK(layout.error().message.find("/bin/ls") != std::string::npos);
  CHECK_FALSE(layout.error().hint.empty());
}
