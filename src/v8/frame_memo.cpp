#include "frame_memo.h"

namespace loopperf::v8 {

namespace {
// Bounds per thread: a program that keeps making code (new Function) shows new slots with nearly
// every sample; the memo then starts again rather than grow.
constexpr size_t kMaxFrames = 1 << 14;
constexpr size_t kMaxIds = 1 << 16;
constexpr size_t kMaxFunctions = 1 << 14;
constexpr size_t kMaxCodes = 1 << 12;
constexpr int32_t kMaxLiteral = 1 << 12;  // literal indices kept per code entry

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
    t.functions.clear();
    t.codes.clear();
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

void FrameMemo::learn(Thread& t, const Learned& learned, HeapReader::Stats& stats) {
  if (t.functions.size() + learned.functions.size() > kMaxFunctions ||
      t.codes.size() + learned.codes.size() > kMaxCodes) {
    stats.memo_resets++;
    t.functions.clear();
    t.codes.clear();
  }
  for (const auto& [function, id] : learned.functions) t.functions.insert_or_assign(function, id);
  for (uint64_t code : learned.codes) t.codes.try_emplace(code);
  for (const Learned::Literal& lit : learned.literals) {
    auto code = t.codes.find(lit.code);
    if (code == t.codes.end() || lit.index < 0 || lit.index >= kMaxLiteral) continue;
    std::vector<uint32_t>& ids = code->second;
    if (ids.size() <= static_cast<size_t>(lit.index)) ids.resize(static_cast<size_t>(lit.index) + 1);
    ids[static_cast<size_t>(lit.index)] = lit.id;
  }
}

// The same answer a read would give (InlinedFrames::expand_inlined), from facts vouched for in
// this epoch: the function's id; the code at pc as cached (nothing about it can change before the
// next collection); the inlining at pc from its tables (a return address on the frame chain
// follows a call); the inlined functions' ids at their literal indices.
bool FrameMemo::derive(const Thread& t, const FrameSlots& s, const Layout& layout, const CodeIndex& codes,
                       std::vector<uint32_t>& ids) {
  ids.clear();
  if (s.leaf || s.pc_after_scan || is_smi(s.context_or_marker) || layout.in_builtins(s.pc)) return false;
  auto function = t.functions.find(s.function);
  if (function == t.functions.end()) return false;
  if (layout.inlining) {
    const CodeIndex::CodeEntry* e = codes.known_code_at(s.pc);
    if (e == nullptr) return false;
    auto code = t.codes.find(e->start);
    if (code == t.codes.end()) return false;
    if (e->literals != 0) {
      const InliningAt at = inlining_at(*e, static_cast<int32_t>(s.pc - e->start));
      // A table without a believable chain names the frame's own function alone, as a read does.
      if (at.id > 0 && inlined_literals(*e, at.id, literals_)) {
        for (int32_t literal : literals_) {
          const std::vector<uint32_t>& known = code->second;
          if (static_cast<size_t>(literal) >= known.size() || known[static_cast<size_t>(literal)] == 0) return false;
          ids.push_back(known[static_cast<size_t>(literal)]);
        }
      }
    }
  }
  ids.push_back(function->second);
  return true;
}

}  // namespace loopperf::v8
