#include "loopperf/symbols/process_symbolizer.h"

#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "loopperf/common/log.h"
#include "loopperf/common/unique_fd.h"
#include "loopperf/process/process.h"

namespace loopperf::symbols {

namespace {

constexpr const char* kUnknown = "[unknown]";
constexpr size_t kMaxCachedAddresses = 50'000;

std::string module_key(const process::MapEntry& m) { return m.clean_path() + '\0' + std::to_string(m.inode); }

bool is_jit_mapping(const process::MapEntry& m) {
  if (m.is_file_backed()) return false;
  return m.path.empty() || m.path.starts_with("[anon:") || (m.executable && m.path[0] != '[');
}

}  // namespace

struct ProcessSymbolizer::Module {
  std::string path;  // without " (deleted)"
  // The registry keeps it open, so the file stays readable after the target exits or unlinks it.
  const process::ModuleFile* file = nullptr;
  bool elf_tried = false;
  std::shared_ptr<ElfFile> elf;  // shared with the recording's other processes (open_shared)

  ElfFile* get_elf() {
    if (!elf_tried) {
      elf_tried = true;
      if (file != nullptr && file->fd.get() >= 0) {
        auto opened = ElfFile::open_shared(file->fd.get(), path);
        if (opened.ok()) {
          elf = std::move(opened.value());
        } else {
          log::debug("symbols: " + opened.error().message);
        }
      }
    }
    return elf.get();
  }
};

ProcessSymbolizer::ProcessSymbolizer(std::shared_ptr<process::TargetFiles> files)
    : files_(std::move(files)),
      perf_map_(files_->pid(), files_->status(), process::start_time(files_->pid())) {}

ProcessSymbolizer::ProcessSymbolizer(std::shared_ptr<process::TargetFiles> files, const std::string& saved_perf_map,
                                     const std::string& saved_kallsyms)
    : files_(std::move(files)), kernel_(saved_kallsyms), perf_map_(PerfMapSource::saved(saved_perf_map)) {}

ProcessSymbolizer::~ProcessSymbolizer() = default;

void ProcessSymbolizer::release_kernel_symbols() { kernel_.release(); }

void ProcessSymbolizer::drop_file_pages() {
  for (auto& [key, module] : modules_)
    if (module->elf) module->elf->drop_pages();
  if (vdso_) vdso_->drop_pages();
}

void ProcessSymbolizer::release() {
  release_kernel_symbols();
  perf_map_.release();
  modules_.clear();
  files_->release();
  modules_generation_ = files_->generation();
  vdso_.reset();
  vdso_tried_ = true;
  cache_ = {};
  js_cache_ = {};
  js_table_ = nullptr;
  interned_ = {};
  interned_by_hash_ = {};
}

void ProcessSymbolizer::refresh() {
  files_->refresh();
  open_new_modules();
  if (uses_perf_map(js_mode_) && perf_map_.tail()) ++perf_map_generation_;
}

void ProcessSymbolizer::open_new_modules() {
  // The unwinder refreshes the same maps: whoever read them, their new files are opened here.
  if (modules_generation_ == files_->generation()) return;
  modules_generation_ = files_->generation();
  for (const process::MapEntry& m : files_->maps()) {
    if (!m.executable || !m.is_file_backed()) continue;
    std::string key = module_key(m);
    if (modules_.count(key) != 0) continue;
    auto module = std::make_unique<Module>();
    module->path = m.clean_path();
    module->file = &files_->file_for(m);
    modules_.emplace(std::move(key), std::move(module));
  }
}

ProcessSymbolizer::Module* ProcessSymbolizer::module_for(const process::MapEntry& m) {
  auto it = modules_.find(module_key(m));
  return it == modules_.end() ? nullptr : it->second.get();
}

ElfFile* ProcessSymbolizer::elf_for(const std::string& path) {
  std::string clean = path;
  if (clean.ends_with(" (deleted)")) clean.resize(clean.size() - 10);
  for (auto& [key, module] : modules_) {
    if (module->path == clean) {
      if (ElfFile* elf = module->get_elf()) return elf;
    }
  }
  return nullptr;
}

ElfFile* ProcessSymbolizer::vdso_elf() {
  if (vdso_tried_) return vdso_.get();
  vdso_tried_ = true;
  // Every 64-bit process of this kernel maps the same vDSO image, so our own copy names the target's.
  auto base = static_cast<uintptr_t>(::getauxval(AT_SYSINFO_EHDR));
  if (base == 0) return nullptr;
  auto self = process::read_maps(::getpid());
  if (!self.ok()) return nullptr;
  const process::MapEntry* m = process::find_map(*self, base);
  if (m == nullptr || m->path != "[vdso]") return nullptr;
  UniqueFd fd(::memfd_create("loopperf-vdso", MFD_CLOEXEC));
  if (fd.get() < 0) return nullptr;
  const char* data = reinterpret_cast<const char*>(base);
  size_t size = m->end - m->start;
  for (size_t done = 0; done < size;) {
    ssize_t n = ::write(fd.get(), data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;
    done += static_cast<size_t>(n);
  }
  auto opened = ElfFile::open_fd(fd.get(), "[vdso]");
  if (opened.ok()) vdso_ = std::move(opened.value());
  return vdso_.get();
}

bool ProcessSymbolizer::resolve_jit(uint64_t addr, ResolvedFrame& out) const {
  if (!uses_perf_map(js_mode_)) return false;
  const PerfMapEntry* e = perf_map_.lookup(addr);
  if (e == nullptr) return false;
  out.origin = FrameOrigin::kJit;
  out.frames.push_back(SourceFrame{e->name, e->raw, e->file, e->line, e->column});
  out.jit_kind = e->kind;
  out.jit_tier = e->tier;
  return true;
}

void ProcessSymbolizer::preload_kernel_symbols() { kernel_.preload(); }

bool ProcessSymbolizer::kernel_symbols_ready() const { return kernel_.ready(); }

ResolvedFrame ProcessSymbolizer::compute(uint64_t addr, bool kernel, bool& final) {
  ResolvedFrame out;
  final = false;
  if (kernel) {
    out.origin = FrameOrigin::kKernel;
    out.module = "[kernel.kallsyms]";
    std::string name = kernel_.table().lookup(addr);
    out.frames.push_back(SourceFrame{name.empty() ? "[kernel]" : name, name, "", 0, 0});
    final = true;
    return out;
  }
  open_new_modules();  // maps refreshed by the unwinder since our last refresh()
  const process::MapEntry* m = process::find_map(files_->maps(), addr);
  if (m == nullptr) {
    out.frames.push_back(SourceFrame{kUnknown, "", "", 0, 0});
    return out;
  }
  out.map_start = m->start;
  out.map_limit = m->end;
  out.map_offset = m->offset;
  if (m->path == "[vdso]") {
    out.origin = FrameOrigin::kNative;
    out.module = "[vdso]";
    if (ElfFile* vdso = vdso_elf()) {
      out.build_id = vdso->build_id();
      ElfSymbol sym = vdso->lookup(vdso->file_offset_to_vaddr(addr - m->start));
      if (sym.found) out.frames = std::move(sym.frames);
    }
    if (out.frames.empty()) out.frames.push_back(SourceFrame{kUnknown, "", "", 0, 0});
    final = true;
    return out;
  }
  if (m->is_file_backed()) {
    out.origin = FrameOrigin::kNative;
    out.module = m->clean_path();
    Module* module = module_for(*m);
    ElfFile* elf = module != nullptr && m->executable ? module->get_elf() : nullptr;
    if (elf != nullptr) {
      out.build_id = elf->build_id();
      // V8's remapped copy of the embedded builtins is a second r-xp mapping of node at a matching
      // file offset, so this arithmetic names it too.
      ElfSymbol sym = elf->lookup(elf->file_offset_to_vaddr(addr - m->start + m->offset));
      if (sym.found) {
        out.frames = std::move(sym.frames);
        final = true;
        return out;
      }
    }
    // No ELF symbol: code generated into a file-backed mapping (memfd, jitdump-style) may be named by
    // the perf map.
    if (!resolve_jit(addr, out)) out.frames.push_back(SourceFrame{kUnknown, "", "", 0, 0});
    return out;
  }
  if (is_jit_mapping(*m)) {
    // One "[jit]" mapping without bounds: V8's code space shows as many mappings that come and go
    // (pages change protection, are freed and taken again), and results that differed only in them
    // would be interned anew for as long as a program makes code.
    out.map_start = out.map_limit = out.map_offset = 0;
    out.origin = FrameOrigin::kJit;
    out.module = "[jit]";
    if (!resolve_jit(addr, out)) out.frames.push_back(SourceFrame{kUnknown, "", "", 0, 0});
    return out;
  }
  // [heap], [stack], [vsyscall]...: not code we can name.
  out.module = m->path;
  out.frames.push_back(SourceFrame{kUnknown, "", "", 0, 0});
  return out;
}

uint32_t ProcessSymbolizer::intern(ResolvedFrame&& r) {
  size_t h = std::hash<std::string>()(r.module) ^ (std::hash<uint64_t>()(r.map_start) * 31) ^
             static_cast<size_t>(r.origin) ^ (r.frames.size() << 8);
  for (const auto& f : r.frames)
    h = h * 1000003 ^ std::hash<std::string>()(f.name) ^ (std::hash<int64_t>()(f.line) << 1);
  auto [from, to] = interned_by_hash_.equal_range(h);
  for (auto it = from; it != to; ++it)
    if (interned_[it->second] == r) return it->second;
  interned_.push_back(std::move(r));
  const uint32_t index = static_cast<uint32_t>(interned_.size() - 1);
  interned_by_hash_.emplace(h, index);
  return index;
}

const ResolvedFrame& ProcessSymbolizer::resolve(uint64_t addr, bool kernel) {
  const uint64_t key = addr << 1 | (kernel ? 1 : 0);
  auto it = cache_.find(key);
  if (it != cache_.end() && (it->second.final || it->second.generation == generation()))
    return interned_[it->second.frame];
  // JIT addresses are cached until their names may change; a program that keeps making code would
  // grow the cache without end, so past a bound they are dropped (recomputed when seen again). When
  // named native addresses alone fill most of it (a long recording of a program with much hot native
  // code), everything goes: otherwise every new address would pay for a scan of a full cache.
  if (cache_.size() >= kMaxCachedAddresses) {
    std::erase_if(cache_, [](const auto& kv) { return !kv.second.final; });
    if (cache_.size() >= kMaxCachedAddresses / 2) cache_.clear();
    js_cache_.clear();
  }
  CacheEntry entry;
  ResolvedFrame r = compute(addr, kernel, entry.final);
  entry.generation = generation();
  // Unnamed code stays visible with the module it falls in: "[unknown] libc.so.6", "[unknown] [jit]".
  if (r.frames.size() == 1 && r.frames[0].name == kUnknown && !r.module.empty()) {
    std::string base = r.module.substr(r.module.rfind('/') == std::string::npos ? 0 : r.module.rfind('/') + 1);
    r.frames[0].name += " " + base;
  }
  entry.frame = intern(std::move(r));
  cache_[key] = entry;
  return interned_[entry.frame];
}

void ProcessSymbolizer::set_js_names(JsNamesMode mode, const JsNameTable* table) {
  js_mode_ = mode;
  js_table_ = uses_heap(mode) ? table : nullptr;
}

namespace {
// The perf map's name and the heap's name are of the same function: same name and script. (The map
// writes "(anonymous)" where the heap has no name; both give the function's first line.)
bool same_function(const SourceFrame& map, const SourceFrame& heap) {
  return map.name == heap.name && map.file == heap.file;
}
}  // namespace

const ResolvedFrame& ProcessSymbolizer::resolve(const profile::Frame& f) {
  const ResolvedFrame& base = resolve(f.addr, f.kernel);
  if (f.js == 0 || js_table_ == nullptr) return base;
  const auto key = std::make_pair(f.addr << 1 | (f.kernel ? 1 : 0), f.js);
  auto it = js_cache_.find(key);
  if (it != js_cache_.end() && it->second.generation == generation()) return interned_[it->second.frame];
  if (js_cache_.size() >= kMaxCachedAddresses) js_cache_.clear();
  ResolvedFrame r = base;
  JsFrameName heap;
  const bool named = js_table_->js_frame(f.js, heap);
  const bool map_named = base.origin == FrameOrigin::kJit && (base.jit_kind == JitKind::kJs || base.jit_kind == JitKind::kEval);
  // An inlined function has no map entry of its own: nothing to compare.
  const int8_t agree =
      map_named && named && !heap.inlined ? (same_function(base.frames.back(), heap.frame) ? 1 : 0) : -1;
  // auto: the perf map names this code, unless the heap named the frame otherwise. The heap was read
  // at the sample; the map answers for the address as it is now, and V8 may have put new code there
  // since (code collected, its space reused: prettier's printDocToString read as another script's
  // `i` in some runs). Heap mode never reads the map (resolve_jit).
  r.map_heap_agree = agree;
  if (map_named && !heap.inlined && agree != 0) {
    r.js_source = JsNameSource::kMap;
  } else if (named) {
    r.origin = FrameOrigin::kJit;
    r.frames = {heap.frame};
    r.jit_kind = heap.eval ? JitKind::kEval : JitKind::kJs;
    r.jit_tier = 0;
    r.js_source = JsNameSource::kHeap;
  }
  CacheEntry entry;
  entry.generation = generation();
  entry.frame = intern(std::move(r));
  js_cache_[key] = entry;
  return interned_[entry.frame];
}

Result<JsNamesMode> parse_js_names_mode(const std::string& s) {
  if (s == "auto") return JsNamesMode::kAuto;
  if (s == "heap") return JsNamesMode::kHeap;
  if (s == "map") return JsNamesMode::kMap;
  if (s == "none") return JsNamesMode::kNone;
  return make_error(ErrorCode::kUsage, "unknown --js-names '" + s + "'", "use --js-names auto, heap, map or none");
}

const char* js_names_mode_name(JsNamesMode m) {
  switch (m) {
    case JsNamesMode::kAuto: return "auto";
    case JsNamesMode::kHeap: return "heap";
    case JsNamesMode::kMap: return "map";
    case JsNamesMode::kNone: return "none";
  }
  return "?";
}

}  // namespace loopperf::symbols
