// What HeapReader named a frame with, by the frame's slots, per thread and per garbage-collection
// epoch of that thread (gc_epochs.h): until the thread's next collection no object moves and no
// address is reused, so the same slots (pc, function, bytecode array and offset) stand for the same
// functions and line, and need no read. A thread's memo empties when its epoch moves on.
//
// It also keeps what the epoch's reads vouched for beyond whole frames: which function each
// JSFunction address is, which optimized code read back as cached, and which function each of that
// code's inlining literals names. A frame met for the first time in known code of a known function
// (another call site of it: most of what a busy server's stacks show after each collection) is
// then named from those facts with no read (derive).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "code_index.h"
#include "loopperf/v8/heap_reader.h"

namespace loopperf::v8 {

class FrameMemo {
 public:
  struct Key {
    uint64_t pc = 0, function = 0, bytecode_array = 0, bytecode_offset = 0;
    uint8_t flags = 0;  // leaf, pc_after_scan, marker (a Smi in the context slot)
    bool operator==(const Key&) const = default;
  };
  static Key key_of(const FrameSlots& s);

  // A frame's names: `count` function ids from `first` in the thread's pool, innermost first (what
  // the code inlined there, then the frame's own function), and the own frame's line.
  struct Entry {
    uint32_t first = 0, count = 0;
    int32_t line = 0;
  };

  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  // What one read vouched for besides the frames it named (HeapReader::read_frames and
  // InlinedFrames::expand_inlined fill it in).
  struct Learned {
    std::vector<std::pair<uint64_t, uint32_t>> functions;  // JSFunction (tagged) -> its function id
    std::vector<uint64_t> codes;  // code entries (instruction start) whose chain read back as cached
    struct Literal {
      uint64_t code;  // instruction start
      int32_t index;  // into its deoptimization literal array
      uint32_t id;    // the inlined function's id
    };
    std::vector<Literal> literals;
    void clear() {
      functions.clear();
      codes.clear();
      literals.clear();
    }
  };

  struct Thread {
    uint64_t epoch = 0;
    std::unordered_map<Key, Entry, KeyHash> frames;
    std::vector<uint32_t> ids;
    // The epoch's facts (Learned): function ids by JSFunction; per code entry vouched for, the
    // function id at each literal index (0: not met yet).
    std::unordered_map<uint64_t, uint32_t> functions;
    std::unordered_map<uint64_t, std::vector<uint32_t>> codes;
  };

  // The memo of `tid` for `epoch`, emptied if it held an earlier one; nullptr for an epoch older than
  // the memo's (a sample older than one already named: it is read).
  Thread* at(pid_t tid, uint64_t epoch, HeapReader::Stats& stats);
  const Entry* find(const Thread& t, const Key& k) const {
    auto it = t.frames.find(k);
    return it == t.frames.end() ? nullptr : &it->second;
  }
  std::span<const uint32_t> ids(const Thread& t, const Entry& e) const {
    return std::span<const uint32_t>(t.ids).subspan(e.first, e.count);
  }
  // Remembers one slot's named frames (innermost first, all with that slot), bounded: a full memo
  // starts again.
  void store(Thread& t, const Key& k, std::span<const NamedFrame> frames, HeapReader::Stats& stats);
  // Keeps a read's facts for the rest of the epoch (bounded like the frames).
  void learn(Thread& t, const Learned& learned, HeapReader::Stats& stats);
  // A frame's functions (innermost first, the frame's own last; its line is 0) from the epoch's
  // facts alone, for a frame that is not a leaf, not found by scanning, and in optimized code: true
  // only when every fact it needs was vouched for in this epoch (else it is read).
  bool derive(const Thread& t, const FrameSlots& s, const Layout& layout, const CodeIndex& codes,
              std::vector<uint32_t>& ids);
  void forget(pid_t tid) { threads_.erase(tid); }
  void clear() { threads_.clear(); }

 private:
  std::unordered_map<pid_t, Thread> threads_;
  std::vector<int32_t> literals_;  // derive's scratch
};

}  // namespace loopperf::v8
