#include "frame_memo.h"

namespace loopperf::v8 {

namespace {
// Bounds per thread: a program that keeps making code (new Function) shows new slots with nearly
// every sample; the memo then starts again rather than grow.
constexpr size_t kMaxFrames = 1 << 14;
constexpr size_t kMaxIds = 1 << 16;

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}
}  // namespace

FrameMemo::Key FrameMemo::key_of(const FrameSlots& s) {
  Key k;
  k.pc = s.pc;
  k.function = s.function;
  k.bytecode_array = s.bytecode_array;
  k.bytecode_offset = s.bytecode_offset;
  k.flags = static_cast<uint8_t>((s.leaf ? 1 : 0) | (s.pc_after_scan ? 2 : 0) |
                                 ((s.context_or_marker & 1) == 0 ? 4 : 0));
  return k;
}

size_t FrameMemo::KeyHash::operator()(const Key& k) const {
  uint64_t h = mix(k.pc, k.function);
  h = mix(h, k.bytecode_array);
  h = mix(h, k.bytecode_offset);
  return static_cast<size_t>(mix(h, k.flags));
}

FrameMemo::Thread* FrameMemo::at(pid_t tid, uint64_t epoch, HeapReader::Stats& stats) {
  auto [it, inserted] = threads_.try_emplace(tid);
  Thread& t = it->second;
  if (inserted) {
    t.epoch = epoch;
    return &t;
  }
  if (epoch < t.epoch) return nullptr;
  if (epoch > t.epoch) {
    if (!t.frames.empty()) stats.memo_resets++;
    t.frames.clear();
    t.ids.clear();
    t.epoch = epoch;
  }
  return &t;
}

void FrameMemo::store(Thread& t, const Key& k, std::span<const NamedFrame> frames, HeapReader::Stats& stats) {
  if (frames.empty()) return;
  if (t.frames.size() >= kMaxFrames || t.ids.size() + frames.size() > kMaxIds) {
    stats.memo_resets++;
    t.frames.clear();
    t.ids.clear();
  }
  Entry e;
  e.first = static_cast<uint32_t>(t.ids.size());
  e.count = static_cast<uint32_t>(frames.size());
  e.line = frames.back().line;
  for (const NamedFrame& f : frames) t.ids.push_back(f.function);
  t.frames.insert_or_assign(k, e);
}

}  // namespace loopperf::v8
