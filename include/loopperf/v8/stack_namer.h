// Names the JavaScript frames of sampled stacks from the target's heap (heap_reader.h): finds each
// frame's frame pointer by matching the stack's saved return addresses against the unwound frames,
// reads the frame's slots from the sample's stack copy (or, beyond it, from the live stack where the
// saved return address still matches), and marks the frames it names (profile::Frame::js).
//
// Which frames are looked at: only those whose pc is in V8 code, JIT memory or the interpreter's
// builtins, where the slots below the frame pointer are V8's; C++ frames may hold anything there.
// Builtins other than the interpreter's keep their ELF names. A leaf in a frameless builtin (a
// bytecode handler, most stubs) runs for the JavaScript frame at the frame pointer, which the
// frame-pointer chain skips: that frame is inserted above the leaf.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/common/time_budget.h"
#include "loopperf/process/target_files.h"
#include "loopperf/profile/frame.h"
#include "loopperf/symbols/js_names.h"
#include "loopperf/symbols/process_symbolizer.h"
#include "loopperf/unwind/hybrid.h"
#include "loopperf/v8/heap_reader.h"

namespace loopperf::v8 {

// The file that holds V8 (its postmortem metadata, builtins, garbage collector) in a node process:
// the libnode.so its maps hold (node built as a shared library, Debian's), else its executable.
std::string v8_binary(const process::TargetFiles& files, const std::string& exe);

class StackNamer : public symbols::JsNameTable {
 public:
  // `exe`: the target's executable, as mapped (its v8dbg metadata gives the layout). Fails, naming
  // what is missing, when the layout cannot be established (not node, stripped, unknown V8, pointer
  // compression): the caller warns once and names frames from the perf map alone.
  static Result<std::unique_ptr<StackNamer>> create(pid_t pid, symbols::ElfFile& exe,
                                                    std::shared_ptr<process::TargetFiles> files);
  // The same for the file V8 lives in (v8_binary()), as `symbolizer` reads it.
  static Result<std::unique_ptr<StackNamer>> create(symbols::ProcessSymbolizer& symbolizer, const std::string& v8_path,
                                                    std::shared_ptr<process::TargetFiles> files);
  ~StackNamer() override;

  // Names one stack in place. `frames`: leaf first, kernel frames first; `regs`: the user registers at
  // the sample; `stack`: the sample's stack copy, or the stopped thread's memory. `live`: frames
  // beyond `stack` may be read from the running target (verified by their return address).
  // A stack is left as it is (its frames keep the perf map's names or none) when the budget is spent.
  // `at`: the sample's thread and time, for the memo of frames already named (heap_reader.h); a
  // stack with slots read from the live stack does not use it.
  void name(std::vector<profile::Frame>& frames, const unwind::UserRegs& regs, unwind::Memory& stack, bool live,
            const SampleMoment* at = nullptr);
  void set_gc_epochs(GcEpochs* epochs) { reader_->set_gc_epochs(epochs); }
  void forget_thread(pid_t tid) { reader_->forget_thread(tid); }
  // Bounds the time name() may take, as a share of wall time (time_budget.h); unlimited by default.
  void set_budget(TimeBudget budget) { budget_ = budget; }
  // Reads now what naming reads from the binary on first use (its symbol table: 30-40 ms for node),
  // so that a caller holding a thread stopped while it names (dump) does not pay for it then.
  void prepare();
  uint64_t over_budget() const { return budget_.refused(); }
  symbols::ElfFile& binary() const { return exe_; }  // the file V8 lives in

  bool js_frame(uint32_t id, symbols::JsFrameName& out) const override;

  const HeapReader& reader() const { return *reader_; }
  // For the recording's details: version, layout source, counts.
  std::vector<std::pair<std::string, std::string>> details() const;
  void release_caches() { reader_->release_caches(); }

 private:
  StackNamer(std::unique_ptr<HeapReader> reader, std::shared_ptr<process::TargetFiles> files, symbols::ElfFile& exe);
  enum class Code : uint8_t { kOther, kJit, kInterpreter, kBuiltin };
  // What runs at `pc`; `reader_pc` gets the pc as the heap reader takes it (FrameSlots::pc: the ELF
  // vaddr inside the node binary, else the pc).
  Code code_at(uint64_t pc, uint64_t* reader_pc);
  void name_stack(std::vector<profile::Frame>& frames, const unwind::UserRegs& regs, unwind::Memory& stack, bool live,
                  const SampleMoment* at);
  bool read_record(uint64_t fp, unwind::Memory& stack, bool live, uint64_t out[7]);
  uint64_t caller_return(unwind::Memory& stack, uint64_t sp, uint64_t fp);
  uint64_t find_word(unwind::Memory& stack, uint64_t from, uint64_t value);
  bool inside_gc(const std::vector<profile::Frame>& frames, size_t u0);

  std::unique_ptr<HeapReader> reader_;
  std::shared_ptr<process::TargetFiles> files_;
  symbols::ElfFile& exe_;
  std::unordered_map<uint64_t, Code> builtin_kind_;  // by ELF vaddr: interpreter builtin or other
  pid_t pid_;
  // Scratch, reused per stack.
  std::vector<uint64_t> fps_;
  std::vector<std::array<uint64_t, 4>> record_slots_;  // per frame: context, function, bytecode array, offset
  std::vector<FrameSlots> slots_;
  std::vector<uint32_t> slot_frame_;  // slot index -> frame index
  std::vector<bool> slot_insert_;     // the slot's function runs the frame's leaf (inserted above it)
  std::vector<NamedFrame> named_;
  std::vector<profile::Frame> out_;
  TimeBudget budget_;
  uint64_t gc_lo_ = 0, gc_hi_ = 0;  // Heap::PerformGarbageCollection in the target, once found
  uint64_t inserted_ = 0, leaf_rejected_ = 0, live_reads_ = 0;
};

}  // namespace loopperf::v8
