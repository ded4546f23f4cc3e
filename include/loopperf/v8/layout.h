// V8's heap layout for one node binary: frame slots, object field offsets, instance types and tagging,
// read from the postmortem metadata official node binaries ship (the v8dbg_* symbols in .dynsym).
// Where a constant is missing from a version's metadata it is derived here, in one place, and
// `derived` says from what.
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

struct Layout {
  V8Version version;
  // Frame slots relative to the frame pointer (v8dbg_off_fp_*).
  int64_t fp_context = -8;   // context, or a Smi frame-type marker for typed (non-JS) frames
  int64_t fp_function = -16;
  int64_t fp_bytecode_array = -32;
  int64_t fp_bytecode_offset = -40;
  // Where V8's builtins live in the binary (the embedded blob): vaddrs, [start, end). A pc there or
  // in anonymous executable memory (JIT) may belong to a JavaScript frame.
  uint64_t builtins_start = 0, builtins_end = 0;

  // Object layout: owned by heap_reader.cpp (the fields below are what it needs; add what it needs).
  // ... (filled by load_layout)

  // One line per constant not taken from v8dbg metadata: "SharedFunctionInfo.script_or_debug_info:
  // 32 (V8 11.x table; v8dbg has no entry)".
  std::vector<std::string> derived;
};

// Reads the layout from the binary's v8dbg_* symbols (and the V8 version symbols). Fails with a
// message naming what is missing when the layout cannot be established: no v8dbg metadata (stripped
// or not node), a V8 version this code does not know, pointer compression, an unknown tagging scheme.
Result<Layout> load_layout(symbols::ElfFile& binary);

}  // namespace loopperf::v8
