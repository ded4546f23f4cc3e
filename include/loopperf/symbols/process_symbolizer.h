// Names every address seen in a target process: native frames through the ELF files of its mappings,
// JIT frames through V8's perf map, kernel frames through kallsyms.
//
// The target may exit before we symbolize (launch mode), so while it is alive `refresh()` snapshots its
// maps and opens each executable file mapping through the target's file registry
// (process/target_files.h, shared with the unwinder), and tails the perf map (perf_map_source.h).
// `resolve()` then works from what was kept. Kernel symbols come from kernel_symbols.h.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "loopperf/process/maps.h"
#include "loopperf/process/target_files.h"
#include "loopperf/profile/frame.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "loopperf/symbols/js_names.h"
#include "loopperf/symbols/kernel_symbols.h"
#include "loopperf/symbols/perf_map.h"
#include "loopperf/symbols/perf_map_source.h"

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
  // JavaScript frames: where the name came from, and when both the perf map and the heap named it,
  // whether they agree on the function (1), disagree (0), or were not compared (-1).
  JsNameSource js_source = JsNameSource::kNone;
  int8_t map_heap_agree = -1;
  bool operator==(const ResolvedFrame&) const = default;
};

class ProcessSymbolizer {
 public:
  // `files`: the target's registry, shared with the unwinder (the recorder makes one per target).
  explicit ProcessSymbolizer(std::shared_ptr<process::TargetFiles> files);
  // A replayed recording (record/replay.h): the target's files, and saved copies of its perf map
  // ("" = none) and of the kernel's symbols.
  ProcessSymbolizer(std::shared_ptr<process::TargetFiles> files, const std::string& saved_perf_map,
                    const std::string& saved_kallsyms);
  // With a registry of its own.
  explicit ProcessSymbolizer(pid_t pid) : ProcessSymbolizer(std::make_shared<process::TargetFiles>(pid)) {}
  ~ProcessSymbolizer();
  ProcessSymbolizer(const ProcessSymbolizer&) = delete;
  ProcessSymbolizer& operator=(const ProcessSymbolizer&) = delete;

  // Refreshes the registry's maps, opens newly mapped executable files, reads new perf-map lines.
  // Cheap when nothing changed; call periodically while recording and once more at the end (while
  // the target is alive).
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
  // A stack frame: as above, and a JavaScript frame named from the heap (f.js) by the table given
  // to set_js_names(), or by the perf map where the mode prefers it.
  const ResolvedFrame& resolve(const profile::Frame& f);

  // How JavaScript frames are named (js_names.h). `table`: the heap namer's, or null. The perf map
  // is not read in heap and none modes. Call before the first resolve().
  void set_js_names(JsNamesMode mode, const JsNameTable* table);
  JsNamesMode js_names_mode() const { return js_mode_; }

  // Frees the symbol tables, open files (the registry's too: recording is over) and caches once the
  // profile is built, before it is written (they are ~20 MB for node, and the write needs memory of
  // its own). perf_map_status() stays; resolve() names nothing afterwards.
  void release();
  // Gives back the file pages its ELF files' mappings hold (ElfFile::drop_pages); names stay.
  void drop_file_pages();
  // Frees only the kernel's symbols (~5 MB); kernel addresses resolve to "[kernel]" afterwards.
  void release_kernel_symbols();

  const PerfMapStatus& perf_map_status() const { return perf_map_.status(); }
  const PerfMapSource& perf_map_source() const { return perf_map_; }
  const std::vector<process::MapEntry>& maps() const { return files_->maps(); }
  bool kernel_symbols_usable() const { return kernel_.usable(); }
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
    uint64_t generation = 0;  // generation() when computed
  };
  uint32_t intern(ResolvedFrame&& r);
  void open_new_modules();
  Module* module_for(const process::MapEntry& m);
  ResolvedFrame compute(uint64_t addr, bool kernel, bool& final);
  bool resolve_jit(uint64_t addr, ResolvedFrame& out) const;
  ElfFile* vdso_elf();
  // Bumped when maps or the perf map change: cached results that may improve are recomputed.
  uint64_t generation() const { return files_->generation() + perf_map_generation_; }

  std::shared_ptr<process::TargetFiles> files_;
  uint64_t modules_generation_ = 0;  // files_->generation() when modules_ was last brought up to date
  std::map<std::string, std::unique_ptr<Module>> modules_;  // executable file mappings, by path + inode
  KernelSymbols kernel_;
  PerfMapSource perf_map_;
  uint64_t perf_map_generation_ = 0;
  std::unordered_map<uint64_t, CacheEntry> cache_;  // key: address << 1 | kernel
  std::deque<ResolvedFrame> interned_;                // stable references, never freed
  std::unordered_multimap<size_t, uint32_t> interned_by_hash_;
  std::unique_ptr<ElfFile> vdso_;
  bool vdso_tried_ = false;
  JsNamesMode js_mode_ = JsNamesMode::kAuto;
  const JsNameTable* js_table_ = nullptr;
  std::map<std::pair<uint64_t, uint32_t>, CacheEntry> js_cache_;  // key: (address << 1 | kernel, js id)
};

}  // namespace loopperf::symbols
