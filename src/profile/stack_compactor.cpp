#include "loopperf/profile/stack_compactor.h"

#include <algorithm>
#include <map>

namespace loopperf::profile {

namespace {
uint64_t slot(const Frame& f) { return f.addr << 1 | (f.kernel ? 1 : 0); }
// Values in stable_ that are not addresses.
constexpr uint64_t kQueued = 0;
constexpr uint64_t kUntilCompaction = 1;  // JIT or unnamed: left alone until the next compaction
bool is_address(uint64_t v) { return v > kUntilCompaction; }
constexpr size_t kMaxStableAddresses = 100'000;  // ~4 MB of map at most
}  // namespace

StackCompactor::StackCompactor(symbols::ProcessSymbolizer& symbolizer, StackTable& stacks, size_t first_compaction)
    : symbolizer_(symbolizer), stacks_(stacks), compact_at_(first_compaction) {}

uint64_t StackCompactor::canonical(const Frame& f, std::unordered_map<std::string, uint64_t>& reps,
                                   bool& stable) {
  stable = false;
  const symbols::ResolvedFrame& r = symbolizer_.resolve(f);
  if (r.origin == symbols::FrameOrigin::kUnknown || r.frames.empty()) return f.addr;
  for (const auto& sf : r.frames)
    if (sf.name.empty() || sf.name.rfind("[unknown]", 0) == 0 || sf.name == "uv_run") return f.addr;
  // JIT names and heap names (f.js) are settled at compactions only.
  stable = r.origin != symbols::FrameOrigin::kJit && f.js == 0;
  // Everything build_profile turns into the Location, its Mapping and its Lines.
  key_.clear();
  key_ += f.kernel ? 'k' : 'u';
  key_ += r.module;
  key_ += '\0';
  key_ += r.build_id;
  key_ += '\0';
  // JIT code's mapping says nothing: V8's code space shows as many mappings (pages change
  // protection), so the same function would keep a representative per mapping and code that is
  // made all the time would never fold.
  if (r.origin != symbols::FrameOrigin::kJit)
    key_ += std::to_string(r.map_start) + ':' + std::to_string(r.map_limit) + ':' + std::to_string(r.map_offset);
  for (const auto& sf : r.frames) {
    key_ += '\0';
    key_ += sf.name;
    key_ += '\0';
    key_ += sf.system_name;
    key_ += '\0';
    key_ += sf.file;
    key_ += '\0';
    key_ += std::to_string(sf.line);
  }
  return reps.try_emplace(key_, f.addr).first->second;
}

void StackCompactor::canonicalize(std::vector<Frame>& frames) {
  for (auto& f : frames) {
    if (f.js) continue;  // named from the heap: left to the compaction (its address alone is not its name)
    // Resolving a kernel address before /proc/kallsyms is read would wait for it.
    if (f.kernel && !symbolizer_.kernel_symbols_ready()) continue;
    auto [it, inserted] = stable_.try_emplace(slot(f), kQueued);
    if (inserted) pending_.push_back(f);
    else if (is_address(it->second)) f.addr = it->second;
  }
}

void StackCompactor::resolve_pending(std::chrono::microseconds budget) {
  const auto until = std::chrono::steady_clock::now() + budget;
  while (!pending_.empty()) {
    const Frame f = pending_.front();
    pending_.pop_front();
    bool stable = false;
    uint64_t rep = canonical(f, stable_reps_, stable);
    // JIT and unnamed addresses are looked at again at the next compaction, not cached here.
    stable_[slot(f)] = stable ? rep : kUntilCompaction;
    if (std::chrono::steady_clock::now() >= until) break;
  }
}

std::vector<uint32_t> StackCompactor::maybe_compact() {
  if (stacks_.entries().size() < compact_at_) return {};
  std::unordered_map<std::string, uint64_t> jit_reps;  // JIT names as the perf map says now
  std::unordered_map<uint64_t, uint64_t> seen;
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> seen_js;
  const bool kernel_ready = symbolizer_.kernel_symbols_ready();
  std::vector<uint32_t> old_to_new = stacks_.compact([&](const Frame& f) {
    if (f.kernel && !kernel_ready) return f.addr;
    if (f.js) {
      auto [it, inserted] = seen_js.try_emplace({f.addr, f.js}, f.addr);
      bool stable = false;
      if (inserted) it->second = canonical(f, jit_reps, stable);
      return it->second;
    }
    auto [it, inserted] = seen.try_emplace(slot(f), f.addr);
    if (!inserted) return it->second;
    auto st = stable_.find(slot(f));
    if (st != stable_.end() && is_address(st->second)) return it->second = st->second;
    bool stable = false;
    uint64_t rep = canonical(f, jit_reps, stable);
    if (stable) {
      rep = stable_reps_.try_emplace(key_, rep).first->second;
      stable_[slot(f)] = rep;
    }
    return it->second = rep;
  });
  // What was queued was just resolved by the compaction. JIT addresses are forgotten: the next
  // compaction names them afresh, and the map does not grow with V8's code churn.
  pending_.clear();
  for (auto it = stable_.begin(); it != stable_.end();) {
    if (!is_address(it->second)) it = stable_.erase(it);
    else ++it;
  }
  // Every native address ever sampled would stay here, and a long recording of busy native code
  // (V8 compiling all the time) samples new ones for minutes: past a bound the addresses are looked
  // up again. stable_reps_ stays, so they come back to the same representatives.
  if (stable_.size() > kMaxStableAddresses) stable_ = {};
  compactions_++;
  compact_at_ = std::max(compact_at_, stacks_.entries().size() * 2);
  return old_to_new;
}

void StackCompactor::release() {
  stable_ = {};
  stable_reps_ = {};
  pending_ = {};
  key_ = {};
}

}  // namespace loopperf::profile
