// Keeps a long recording's stack table small. The table is keyed by exact addresses, and a busy
// program's leaf addresses differ in nearly every sample (a hot loop has hundreds), so a 10-minute
// recording at 999 Hz kept ~half a million distinct stacks that symbolize to a few thousand.
// Addresses that symbolize exactly alike (module, function, inlined chain, file and line) are
// stored as one, the first seen: the profile built at the end is the same, except for the
// addresses pprof shows with -addresses.
//
// Native and kernel symbols do not change during a recording: such addresses are resolved a few
// at a time between ring drains (resolve_pending) and rewritten as samples arrive (canonicalize).
// JIT addresses are named by V8's perf map, where code that moved or was collected can be replaced
// by other code at the same address; they are rewritten only when the whole table is compacted
// (maybe_compact), with the names they have then. uv_run's frames keep their addresses: the phase
// is read from the exact return address (loop/uv_run_phases.h). Unnamed addresses keep theirs.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "loopperf/profile/stack_table.h"
#include "loopperf/symbols/process_symbolizer.h"

namespace loopperf::profile {

class StackCompactor {
 public:
  // Compacts once the table holds `first_compaction` entries, then each time it has doubled since.
  StackCompactor(symbols::ProcessSymbolizer& symbolizer, StackTable& stacks, size_t first_compaction = 20000);

  // Rewrites the frames whose canonical address is known; queues the native/kernel ones not yet seen.
  void canonicalize(std::vector<Frame>& frames);
  // Resolves queued addresses until `budget` is spent (symbolizing a new one may read DWARF).
  void resolve_pending(std::chrono::microseconds budget);
  // Compacts the table when it has grown past the threshold. Returns old -> new entry indices, or
  // an empty vector when nothing was done.
  std::vector<uint32_t> maybe_compact();

  // Frees the address maps once the profile is built.
  void release();

  uint64_t compactions() const { return compactions_; }
  size_t pending() const { return pending_.size(); }
  size_t addresses() const { return stable_.size(); }  // addresses looked at since the last compaction

 private:
  // The canonical address of `f`, from its symbolization now; `f.addr` itself when it must keep it.
  // `stable`: set when the result will not change (native or kernel, named).
  uint64_t canonical(const Frame& f, std::unordered_map<std::string, uint64_t>& reps, bool& stable);

  symbols::ProcessSymbolizer& symbolizer_;
  StackTable& stacks_;
  size_t compact_at_;
  uint64_t compactions_ = 0;
  // (address << 1 | kernel) -> canonical address; 0 while queued.
  std::unordered_map<uint64_t, uint64_t> stable_;
  std::unordered_map<std::string, uint64_t> stable_reps_;  // symbolization key -> first address
  std::deque<Frame> pending_;  // in the order first seen: the first address of a kind is its canonical one
  std::string key_;
};

}  // namespace loopperf::profile
