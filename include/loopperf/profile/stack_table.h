// Raw stacks aggregated while recording: each distinct (thread, frames) is stored once with its
// count. Symbolization happens later, once per distinct address.
//
// Stacks are stored as a prefix tree of frames, outermost first: the stacks of one program share
// long prefixes (thread entry, uv_run, the phase's callback, node's glue), so a stack costs only the
// frames where it differs from every stack seen before, not its whole depth (~50 frames for node).
// A 10-minute recording at 999 Hz kept 17k stacks; stored whole they took ~25 MB, in the tree a few.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "loopperf/profile/frame.h"

namespace loopperf::profile {

class StackTable {
 public:
  // What else distinguishes samples with the same stack: how they were taken and, for wall-clock
  // samples, the system call the thread was blocked in.
  struct Tag {
    bool wall = false;  // a wall-clock sample (else cpu-clock)
    int32_t syscall = -1;  // blocked in this system call (wall samples), -1 when running
    // `watch`: 0 = not said, 1 = before the incident, 2 = during it (the `window` label).
    uint8_t window = 0;
    bool operator==(const Tag&) const = default;
  };

  struct Entry {
    pid_t tid = 0;
    Tag tag;
    uint32_t leaf = 0;   // the stack's innermost node in the tree (0: the empty stack)
    uint32_t depth = 0;
    uint64_t count = 0;
    uint64_t period = 0;  // sum of sample periods (cpu nanoseconds)
  };

  // `max_stacks` bounds memory: once reached, new distinct stacks are counted in a per-thread
  // overflow entry (an empty stack) and in overflowed().
  explicit StackTable(size_t max_stacks = 1'000'000);

  // Returns the index of the entry the sample went to (the Profile sample index after building).
  // `frames` is leaf first. `count`: what the sample adds to the entry's sample count (1; a sample
  // of a period other than the recording's counts in units of it, record/recorder.h).
  uint32_t add(pid_t tid, std::span<const Frame> frames, uint64_t period) {
    return add(tid, frames, period, Tag{});
  }
  uint32_t add(pid_t tid, std::span<const Frame> frames, uint64_t period, Tag tag, uint64_t count = 1);

  const std::vector<Entry>& entries() const { return entries_; }
  // The entry's frames, leaf first.
  std::vector<Frame> frames(const Entry& e) const;
  // Rewrites every frame address through `canonical` (an address that symbolizes exactly like it,
  // e.g. the first address seen in the same function and line) and merges the stacks that became
  // equal: a long recording's leaf addresses differ in nearly every sample, its symbolized stacks
  // do not. Returns old entry index -> new entry index, for whoever kept indices (loop health).
  // Overflow entries stay overflow entries.
  std::vector<uint32_t> compact(const std::function<uint64_t(const Frame&)>& canonical);
  // Frees everything but the counters (total_samples, overflowed), once the profile was built.
  void release();

  uint64_t total_samples() const { return total_samples_; }
  uint64_t overflowed() const { return overflowed_; }
  size_t nodes() const { return nodes_.size() - 1; }  // frames stored in the tree
  size_t memory_bytes() const;

 private:
  struct Node {
    uint64_t addr = 0;
    uint32_t parent = 0;
    bool kernel = false;
    uint32_t js = 0;
  };
  // The child of `parent` for `f`, created when new if `create`, else 0 when new.
  uint32_t child(uint32_t parent, const Frame& f, bool create = true);
  // The entry of (tid, tag, leaf), created when new and the table has room; UINT32_MAX when full.
  uint32_t entry_for(pid_t tid, Tag tag, uint32_t leaf, uint32_t depth);
  // Adds to the thread's overflow entry (an empty stack), creating it; returns its index.
  uint32_t add_overflow(pid_t tid, Tag tag, uint64_t count, uint64_t period);
  void grow_node_slots();
  void grow_entry_slots();

  size_t max_stacks_;
  std::vector<Entry> entries_;
  std::vector<Node> nodes_;  // [0] is the root (no frame); a parent's index is below its children's
  // Open-addressing hash sets of indices (0 = empty slot): nodes by (parent, frame), entries by
  // (tid, tag, leaf) with entry index + 1. The key lives in the indexed vector, so a slot is 4 bytes.
  std::vector<uint32_t> node_slots_;
  std::vector<uint32_t> entry_slots_;
  std::unordered_map<pid_t, uint32_t> overflow_index_;
  uint64_t total_samples_ = 0;
  uint64_t overflowed_ = 0;
};

}  // namespace loopperf::profile
