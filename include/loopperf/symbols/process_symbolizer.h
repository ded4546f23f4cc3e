// Names every address seen in a target process: native frames through the ELF files of its mappings,
// JIT frames through V8's perf map, kernel frames through kallsyms.
//
// The target may exit before we symbolize (launch mode), so while it is alive `refresh()` snapshots its
// maps, keeps an fd for each executable file mapping (/proc/PID/map_files/..., falling back to
// /proc/PID/root/PATH) and tails the perf map. `resolve()` then works from what was kept.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "loopperf/process/maps.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "loopperf/symbols/kallsyms.h"
#include "loopperf/symbols/perf_map.h"

namespace loopperf::symbols {

enum class FrameOrigin { kNative, kKernel, kJit, kUnknown };

struct ResolvedFrame {
  FrameOrigin origin = FrameOrigin::kUnknown;
  // Module the address fell in: a file path, "[kernel.kallsyms]", "[jit]" (anonymous exec memory),
  // "[vdso]", or "" when no mapping contains it.
  std::string module;
  std::string build_id;
  uint64_t map_start = 0, map_limit = 0, map_offset = 0;
  // Innermost first (inlined callees before their caller). Never empty: an unnamed address gets one
  // frame named "[unknown]" (its module is in `module`).
  std::vector<SourceFrame> frames;
  JitKind jit_kind = JitKind::kOther;  // when origin == kJit and the perf map named it
  char jit_tier = 0;
  bool operator==(const ResolvedFrame&) const = default;
};

struct PerfMapStatus {
  bool found = false;
  bool trusted = true;      // false: ignored because of its owner or permissions
  std::string path;         // where it was found
  std::string problem;      // why it was ignored / not found, for the warning
  size_t entries = 0;
  size_t malformed = 0;
};

class ProcessSymbolizer {
 public:
  explicit ProcessSymbolizer(pid_t pid);
  ~ProcessSymbolizer();
  ProcessSymbolizer(const ProcessSymbolizer&) = delete;
  ProcessSymbolizer& operator=(const ProcessSymbolizer&) = delete;

  // Re-reads maps, opens newly mapped executable files, reads new perf-map lines. Cheap when nothing
  // changed; call periodically while recording and once more at the end (while the target is alive).
  void refresh();

  // Starts reading /proc/kallsyms on a background thread at the lowest CPU priority: ~40 ms of
  // kernel time for 120k symbols, spent while recording instead of after the stop. The first kernel
  // frame resolved waits for it; without this call it is read then.
  void preload_kernel_symbols();
  // False while preload_kernel_symbols() is still reading: resolving a kernel address now would wait
  // for it (the stack compactor leaves kernel frames alone until then).
  bool kernel_symbols_ready() const;

  // Resolves one address (user or kernel). Results are cached per address; the reference stays valid
  // for the symbolizer's lifetime. A result that may still improve (JIT or unnamed addresses) is
  // recomputed by a later resolve() once refresh() has seen new maps or perf-map lines (a reference
  // taken before keeps the old result).
  const ResolvedFrame& resolve(uint64_t addr, bool kernel);

  // Frees the symbol tables, open files and caches once the profile is built, before it is written
  // (they are ~20 MB for node, and the write needs memory of its own). perf_map_status() stays;
  // resolve() names nothing afterwards.
  void release();
  // Frees only the kernel's symbols (~5 MB); kernel addresses resolve to "[kernel]" afterwards.
  void release_kernel_symbols();

  const PerfMapStatus& perf_map_status() const { return perf_map_status_; }
  const std::vector<process::MapEntry>& maps() const { return maps_; }
  bool kernel_symbols_usable() const { return kallsyms_.usable(); }
  size_t resolved_addresses() const { return cache_.size(); }
  size_t distinct_results() const { return interned_.size(); }

  // The ELF file mapped at `path` (opened during refresh), or nullptr.
  ElfFile* elf_for(const std::string& path);

 private:
  struct Module;
  // Per address only an index into interned_: the addresses of one function and line resolve alike,
  // and a long recording resolves hundreds of thousands of them (the stack compactor does so while
  // recording), so each distinct result is stored once.
  struct CacheEntry {
    uint32_t frame = 0;       // index into interned_
    bool final = false;       // cannot change any more (ELF or kernel symbol found)
    uint64_t generation = 0;  // generation_ when computed
  };
  uint32_t intern(ResolvedFrame&& r);
  void merge_maps(std::vector<process::MapEntry> snapshot);
  void open_new_modules();
  void tail_perf_map();
  bool open_perf_map();
  Module* module_for(const process::MapEntry& m);
  ResolvedFrame compute(uint64_t addr, bool kernel, bool& final);
  bool resolve_jit(uint64_t addr, ResolvedFrame& out) const;
  ElfFile* vdso_elf();

  pid_t pid_;
  std::optional<double> process_start_;  // seconds since the epoch: a perf map older than this is stale
  // The newest snapshot, plus the code mappings of earlier ones that nothing in it overlaps.
  std::vector<process::MapEntry> maps_;
  std::map<std::string, std::unique_ptr<Module>> modules_;  // by path + inode
  Kallsyms kallsyms_;
  bool kallsyms_loaded_ = false;
  std::future<Kallsyms> kallsyms_future_;
  mutable bool kallsyms_ready_ = false;  // the future was seen ready (no more checks per sample)
  void hurry_kallsyms();
  struct KallsymsLoader;  // the reading thread's tid and "someone waits" flag, shared with it
  std::shared_ptr<KallsymsLoader> kallsyms_loader_;
  PerfMap perf_map_;
  PerfMapStatus perf_map_status_;
  int perf_map_fd_ = -1;
  uid_t perf_map_uid_ = 0;  // owner when the map was accepted: a later chown or chmod revokes the trust
  uint64_t perf_map_offset_ = 0;
  uint64_t generation_ = 0;  // bumped when maps or the perf map change
  std::unordered_map<uint64_t, CacheEntry> cache_;  // key: address << 1 | kernel
  std::deque<ResolvedFrame> interned_;                // stable references, never freed
  std::unordered_multimap<size_t, uint32_t> interned_by_hash_;
  std::unique_ptr<ElfFile> vdso_;
  bool vdso_tried_ = false;
};

}  // namespace loopperf::symbols
