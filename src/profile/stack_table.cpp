#include "loopperf/profile/stack_table.h"

#include <cstring>

namespace loopperf::profile {

void StackTable::make_key(pid_t tid, std::span<const unwind::Frame> frames) {
  key_.resize(sizeof(pid_t) + frames.size() * 9);
  char* p = key_.data();
  std::memcpy(p, &tid, sizeof tid);
  p += sizeof tid;
  for (const auto& f : frames) {
    std::memcpy(p, &f.addr, 8);
    p[8] = f.kernel ? 1 : 0;
    p += 9;
  }
}

void StackTable::add(pid_t tid, std::span<const unwind::Frame> frames, uint64_t period) {
  total_samples_++;
  make_key(tid, frames);
  auto it = index_.find(key_);
  if (it != index_.end()) {
    entries_[it->second].count++;
    entries_[it->second].period += period;
    return;
  }
  if (entries_.size() >= max_stacks_) {
    overflowed_++;
    auto [ov, inserted] = overflow_index_.try_emplace(tid, static_cast<uint32_t>(entries_.size()));
    if (inserted) entries_.push_back(Entry{tid, static_cast<uint32_t>(frames_.size()), 0, 0, 0});
    entries_[ov->second].count++;
    entries_[ov->second].period += period;
    return;
  }
  Entry e{tid, static_cast<uint32_t>(frames_.size()), static_cast<uint32_t>(frames.size()), 1, period};
  frames_.insert(frames_.end(), frames.begin(), frames.end());
  index_.emplace(key_, static_cast<uint32_t>(entries_.size()));
  entries_.push_back(e);
}

size_t StackTable::memory_bytes() const {
  size_t keys = 0;
  for (const auto& [k, v] : index_) keys += k.capacity() + 48;
  return entries_.capacity() * sizeof(Entry) + frames_.capacity() * sizeof(unwind::Frame) + keys;
}

}  // namespace loopperf::profile
