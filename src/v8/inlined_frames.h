// The functions that optimized (TurboFan, Maglev) code inlined where a frame is executing: for each
// named frame at a JIT pc, the code entry (CodeIndex) is checked against reads queued with the
// reader's levels, the inlining chain at the pc is taken from its tables, and the inlined
// SharedFunctionInfos are named (FunctionNames). Holds the checks of the current call, its own
// batch of reads (aux) and, per pc, the SharedFunctionInfos inlined there last time, a guess that
// lets their headers be read with level 1.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "code_index.h"
#include "frame_candidate.h"
#include "frame_memo.h"
#include "function_names.h"
#include "loopperf/v8/heap_reader.h"
#include "read_batch.h"
#include "remote_memory.h"

namespace loopperf::v8 {

class InlinedFrames {
 public:
  // Queues its checks into `batch` (the reader's levels 1 and 2) and reads the rest in a batch of
  // its own; `codes` and `names` are the reader's.
  InlinedFrames(const Layout& layout, pid_t pid, ReadBatch& batch, CodeIndex& codes, FunctionNames& names)
      : layout_(layout), batch_(batch), codes_(codes), names_(names), aux_(pid) {}
  InlinedFrames(const InlinedFrames&) = delete;
  InlinedFrames& operator=(const InlinedFrames&) = delete;

  void queue_code_checks(const std::vector<FrameCandidate>& candidates);
  // What the checks vouched for goes into `learned` (code entries that read back as cached, the
  // functions named at their literal indices).
  void expand_inlined(std::vector<FrameCandidate>& candidates, std::vector<uint32_t>& inlined_ids,
                      FrameMemo::Learned& learned, HeapReader::Stats& stats);
  // Forgets the current call's checks (after expand_inlined).
  void clear_checks() { code_checks_.clear(); }

  uint64_t aux_calls() const { return aux_.calls(); }  // process_vm_readv calls of its own batches

  // HeapReader::release_caches for the guesses here.
  void release_caches() {
    inline_links_ = {};
    inline_guess_reads_ = {};
  }

 private:
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

  const Layout& layout_;
  ReadBatch& batch_;
  CodeIndex& codes_;
  FunctionNames& names_;
  RemoteMemory aux_;  // the inlining pass's batches
  std::vector<CodeCheck> code_checks_;
  // The same as the reader's function_links, for inlining: the SharedFunctionInfos (tagged) the code
  // at a pc inlined there last time, whose headers are then read with level 1 instead of in a batch
  // of their own.
  std::unordered_map<uint64_t, std::vector<uint64_t>> inline_links_;
  std::vector<size_t> inline_guess_reads_;
};

}  // namespace loopperf::v8
