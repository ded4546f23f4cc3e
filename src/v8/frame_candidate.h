// One frame that HeapReader::name_frames() tries to name (per-call scratch): the slots it was offered,
// the indexes of its reads in the call's batch (ReadBatch), and what it was named with. The levels of
// name_frames fill it in; BytecodeLines and InlinedFrames read it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "remote_memory.h"

namespace loopperf::v8 {

struct FrameCandidate {
  uint32_t slot = 0;
  uint64_t function = 0, bytecode_array = 0;
  int32_t bytecode_offset = -1;
  size_t function_read = RemoteMemory::kNone, bytecode_read = RemoteMemory::kNone;
  size_t map_read = RemoteMemory::kNone, sfi_read = RemoteMemory::kNone;
  uint64_t sfi = 0;
  // Level 2's reads queued at level 1 on the strength of what this JSFunction held last time
  // (function_links): used only when the fresh header shows the same map and SharedFunctionInfo.
  uint64_t guessed_map = 0, guessed_sfi = 0;
  size_t leaf_code_read = RemoteMemory::kNone;  // FrameSlots::leaf: the code bytes at pc
  size_t guessed_map_read = RemoteMemory::kNone, guessed_sfi_read = RemoteMemory::kNone;
  uint64_t pc = 0;
  bool pc_after_scan = false, leaf = false;  // FrameSlots'

  uint32_t id = 0;
  int32_t line = 0;
  uint32_t inlined_begin = 0, inlined_end = 0;  // into inlined_ids, innermost first
};

}  // namespace loopperf::v8
