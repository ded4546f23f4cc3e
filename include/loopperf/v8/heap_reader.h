// Names JavaScript frames from the target's own heap, with no flag in the target: a JS frame's
// function slot leads to JSFunction -> SharedFunctionInfo -> name and Script -> file and line.
//
// Correct or unnamed, never wrong: objects move (scavenges, compaction) between the sample and the
// read, so every pointer is checked by its map's instance type before it is followed, and a cached
// answer is reused only after the object it came from was re-read and still matches.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "loopperf/v8/layout.h"

namespace loopperf::v8 {

// What one JavaScript function is named with.
struct JsFunction {
  // The function's name as V8's profiler shows it (SharedFunctionInfo::DebugName): its own name,
  // else the name V8 inferred from the assignment (`obj.handler = function () {}` gives
  // "obj.handler"); "" for an anonymous function.
  std::string name;
  std::string script;  // the script's name: a path, a file: URL, "node:internal/timers"; "" unknown
  int line = 0;        // 1-based line and column of the function's start; 0 when unknown
  int column = 0;      // (V8's start position: the parameter list's opening parenthesis)
  // kEval: code of eval() or new Function (its script has an eval origin and usually no name).
  // kNative: not the application's code: node's own JavaScript (a script named "node:...") or a
  // function with no script at all (a V8 builtin such as Array.prototype.map, an API function).
  enum class Kind : uint8_t { kNormal, kEval, kNative } kind = Kind::kNormal;
  bool operator==(const JsFunction&) const = default;
};

// The slots of one candidate frame, as read from the stack (relative to its frame pointer; see Layout).
struct FrameSlots {
  // The frame's pc (leaf) or return address - 1 (callers). A pc in a mapping of the node binary is
  // given as its ELF vaddr (through the mapping's file offset): V8 maps the embedded builtins a
  // second time near its code range (short builtin calls, seen in node 20 to 26) and runs them
  // from there, so a runtime address alone is not compared with Layout::builtins_start/end.
  // Other pcs (JIT code) as they are.
  uint64_t pc = 0;
  uint64_t fp = 0;
  uint64_t context_or_marker = 0, function = 0, bytecode_array = 0, bytecode_offset = 0;
  // `pc` is a return address - 1 found by scanning the stack (a frameless builtin leaf's caller), not
  // one the frame chain vouched for: its code's inlined functions are taken only where the bytes
  // before it are a call.
  bool pc_after_scan = false;
  // A JIT leaf sampled in its own code: named only when its frame is built, else fp is still the
  // caller's and naming the leaf with it would be wrong. The code at pc is read with the frame's
  // other reads: `push rbp` (the frame not begun), `mov rbp, rsp` (rbp pushed, not yet the leaf's),
  // `ret` (after `pop rbp`) reject it. Not caught (docs/js-names.md): the few instructions some V8
  // versions run before `push rbp`, and an argument drop between `pop rbp` and `ret`; the perf map
  // names those leaves in auto mode.
  bool leaf = false;
};

// One named frame. A frame whose code inlined other functions expands into several, innermost first,
// all with the same `slot` (index into the FrameSlots passed in): an optimized (TurboFan, Maglev)
// frame at a call expands into the functions its code inlined there (from the Code's deoptimization
// data and source positions; node 20 to 26), then its own function. Inlined frames have line 0.
struct NamedFrame {
  uint32_t slot = 0;
  uint32_t function = 0;  // id for function(); never 0 here
  // The line executing in that frame when known, else 0. Known for interpreted frames: the pc is in
  // the builtins (the interpreter's trampoline or a bytecode handler), the frame's bytecode array
  // and offset validate and the offset's source position lies inside the function. Optimized and
  // baseline (Sparkplug) frames have 0: their pc maps to a position through the Code object.
  // The offset is the one in the frame, as V8's own profiler reads it: a caller's is its call; the
  // innermost frame's is where the interpreter last saved it (a call, a loop's interrupt check), so
  // in straight-line code without calls the line may trail the one executing.
  int32_t line = 0;
  bool operator==(const NamedFrame&) const = default;
};

class GcEpochs;

// When and where a stack was sampled: with GcEpochs, frames named before are named again without
// reading the heap while the thread has had no garbage collection since.
struct SampleMoment {
  pid_t tid = 0;
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC
};

class HeapReader {
 public:
  // Reads `pid`'s memory (process_vm_readv). The layout comes from load_layout() on its executable.
  HeapReader(Layout layout, pid_t pid);
  ~HeapReader();
  HeapReader(const HeapReader&) = delete;
  HeapReader& operator=(const HeapReader&) = delete;

  const Layout& layout() const { return layout_; }

  // Names the JavaScript frames among `slots` (one stack, leaf first) with as few reads of the
  // target as possible. Appends to `out` in the order of `slots`; a slot that is not a JS frame, or
  // whose objects do not validate, gets nothing.
  // With `at` and set_gc_epochs(), a frame whose slots were named in the same collection epoch of
  // the same thread is named from the memo, without reading: no object has moved since.
  void name_frames(std::span<const FrameSlots> slots, std::vector<NamedFrame>& out,
                   const SampleMoment* at = nullptr);
  // Follows the target's garbage collections (gc_epochs.h), which the memo needs; nullptr: none.
  void set_gc_epochs(GcEpochs* epochs) { epochs_ = epochs; }
  void forget_thread(pid_t tid);

  // The function behind an id from name_frames(). Ids are stable for the reader's lifetime.
  const JsFunction& function(uint32_t id) const;
  size_t function_count() const;

  struct Stats {
    uint64_t frames = 0;       // slots offered
    uint64_t named = 0;        // slots named
    uint64_t not_js = 0;       // typed frames (marker), or no JSFunction in the function slot
    uint64_t invalid = 0;      // past the JSFunction, an object did not validate (moved, freed, torn read)
    uint64_t read_failed = 0;  // the target's memory could not be read (unmapped address, process gone)
    uint64_t reads = 0;        // process_vm_readv calls
    uint64_t cache_hits = 0;   // frames named from the per-SharedFunctionInfo cache
    uint64_t lines = 0;        // named frames that got their current line
    uint64_t inlined = 0;      // frames added for functions that optimized code inlined
    uint64_t cache_resets = 0;  // caches emptied because they reached their bound (code churn)
    uint64_t leaf_rejected = 0;  // JIT leaves in a prologue or epilogue (FrameSlots::leaf)
    uint64_t memo_hits = 0;      // frames named from the memo, without reading (also in `named`)
    uint64_t derived = 0;        // frames named from the epoch's facts, without reading (also in `named`)
    uint64_t memo_resets = 0;    // memos emptied: the thread collected garbage, or the bound
  };
  const Stats& stats() const { return stats_; }

  // Frees every cache (call when recording is over). function() stays valid, and so do ids: a
  // function named again later gets the id it had.
  void release_caches();

  struct Impl;

 private:
  void bound_caches();
  void read_frames(std::span<const FrameSlots> slots, std::vector<NamedFrame>& out);
  Layout layout_;
  GcEpochs* epochs_ = nullptr;
  Stats stats_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loopperf::v8
