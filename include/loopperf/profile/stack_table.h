// Raw stacks aggregated while recording: each distinct (thread, frames) is stored once with its
// count. Symbolization happens later, once per distinct address.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "loopperf/unwind/callchain.h"

namespace loopperf::profile {

class StackTable {
 public:
  // What else distinguishes samples with the same stack: how they were taken and, for wall-clock
  // samples, the system call the thread was blocked in.
  struct Tag {
    bool wall = false;  // a wall-clock sample (else cpu-clock)
    int32_t syscall = -1;  // blocked in this system call (wall samples), -1 when running
    bool operator==(const Tag&) const = default;
  };

  struct Entry {
    pid_t tid = 0;
    Tag tag;
    uint32_t first_frame = 0;  // index into frames()
    uint32_t depth = 0;
    uint64_t count = 0;
    uint64_t period = 0;  // sum of sample periods (cpu nanoseconds)
  };

  // `max_stacks` bounds memory: once reached, new distinct stacks are counted in a per-thread
  // overflow entry (an empty stack) and in overflowed().
  explicit StackTable(size_t max_stacks = 1'000'000) : max_stacks_(max_stacks) {}

  // Returns the index of the entry the sample went to (the Profile sample index after building).
  uint32_t add(pid_t tid, std::span<const unwind::Frame> frames, uint64_t period) {
    return add(tid, frames, period, Tag{});
  }
  uint32_t add(pid_t tid, std::span<const unwind::Frame> frames, uint64_t period, Tag tag);

  const std::vector<Entry>& entries() const { return entries_; }
  std::span<const unwind::Frame> frames(const Entry& e) const {
    return std::span<const unwind::Frame>(frames_).subspan(e.first_frame, e.depth);
  }
  // Rewrites every frame address through `canonical` (an address that symbolizes exactly like it,
  // e.g. the first address seen in the same function and line) and merges the stacks that became
  // equal: a long recording's leaf addresses differ in nearly every sample, its symbolized stacks
  // do not. Returns old entry index -> new entry index, for whoever kept indices (loop health).
  // Overflow entries stay overflow entries.
  std::vector<uint32_t> compact(const std::function<uint64_t(const unwind::Frame&)>& canonical);

  uint64_t total_samples() const { return total_samples_; }
  uint64_t overflowed() const { return overflowed_; }
  size_t memory_bytes() const;

 private:
  void make_key(pid_t tid, std::span<const unwind::Frame> frames, Tag tag);
  // Adds to the thread's overflow entry (an empty stack), creating it; returns its index.
  uint32_t add_overflow(pid_t tid, Tag tag, uint64_t count, uint64_t period);

  size_t max_stacks_;
  std::vector<Entry> entries_;
  std::vector<unwind::Frame> frames_;
  std::unordered_map<std::string, uint32_t> index_;
  std::unordered_map<pid_t, uint32_t> overflow_index_;
  std::string key_;  // reused lookup buffer: no allocation per sample once warm
  uint64_t total_samples_ = 0;
  uint64_t overflowed_ = 0;
};

}  // namespace loopperf::profile
