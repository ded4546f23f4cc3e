#include "loopperf/profile/stack_table.h"

#include <cstring>

namespace loopperf::profile {

void StackTable::make_key(pid_t tid, std::span<const unwind::Frame> frames, Tag tag) {
  key_.resize(sizeof(pid_t) + 5 + frames.size() * 9);
  char* p = key_.data();
  std::memcpy(p, &tid, sizeof tid);
  p += sizeof tid;
  *p++ = tag.wall ? 1 : 0;
  std::memcpy(p, &tag.syscall, 4);
  p += 4;
  for (const auto& f : frames) {
    std::memcpy(p, &f.addr, 8);
    p[8] = f.kernel ? 1 : 0;
    p += 9;
  }
}

uint32_t StackTable::add(pid_t tid, std::span<const unwind::Frame> frames, uint64_t period, Tag tag) {
  total_samples_++;
  make_key(tid, frames, tag);
  auto it = index_.find(key_);
  if (it != index_.end()) {
    entries_[it->second].count++;
    entries_[it->second].period += period;
    return it->second;
  }
  if (entries_.size() >= max_stacks_) {
    overflowed_++;
    return add_overflow(tid, Tag{tag.wall, -1}, 1, period);
  }
  Entry e{tid, tag, static_cast<uint32_t>(frames_.size()), static_cast<uint32_t>(frames.size()), 1, period};
  frames_.insert(frames_.end(), frames.begin(), frames.end());
  uint32_t index = static_cast<uint32_t>(entries_.size());
  index_.emplace(key_, index);
  entries_.push_back(e);
  return index;
}

uint32_t StackTable::add_overflow(pid_t tid, Tag tag, uint64_t count, uint64_t period) {
  auto [ov, inserted] = overflow_index_.try_emplace(tid, static_cast<uint32_t>(entries_.size()));
  if (inserted) entries_.push_back(Entry{tid, tag, static_cast<uint32_t>(frames_.size()), 0, 0, 0});
  entries_[ov->second].count += count;
  entries_[ov->second].period += period;
  return ov->second;
}

std::vector<uint32_t> StackTable::compact(const std::function<uint64_t(const unwind::Frame&)>& canonical) {
  std::vector<Entry> old_entries = std::move(entries_);
  std::vector<unwind::Frame> old_frames = std::move(frames_);
  entries_.clear();
  frames_.clear();
  index_.clear();
  overflow_index_.clear();
  std::vector<uint32_t> old_to_new(old_entries.size());
  std::vector<unwind::Frame> rewritten;
  for (size_t i = 0; i < old_entries.size(); i++) {
    const Entry& e = old_entries[i];
    if (e.depth == 0) {  // an overflow entry (or an empty stack): one per thread
      old_to_new[i] = add_overflow(e.tid, e.tag, e.count, e.period);
      continue;
    }
    rewritten.assign(old_frames.begin() + e.first_frame, old_frames.begin() + e.first_frame + e.depth);
    for (auto& f : rewritten) f.addr = canonical(f);
    make_key(e.tid, rewritten, e.tag);
    auto [it, inserted] = index_.try_emplace(key_, static_cast<uint32_t>(entries_.size()));
    if (inserted) {
      entries_.push_back(Entry{e.tid, e.tag, static_cast<uint32_t>(frames_.size()), e.depth, 0, 0});
      frames_.insert(frames_.end(), rewritten.begin(), rewritten.end());
    }
    entries_[it->second].count += e.count;
    entries_[it->second].period += e.period;
    old_to_new[i] = it->second;
  }
  entries_.shrink_to_fit();
  frames_.shrink_to_fit();
  return old_to_new;
}

size_t StackTable::memory_bytes() const {
  size_t keys = 0;
  for (const auto& [k, v] : index_) keys += k.capacity() + 48;
  return entries_.capacity() * sizeof(Entry) + frames_.capacity() * sizeof(unwind::Frame) + keys;
}

}  // namespace loopperf::profile
