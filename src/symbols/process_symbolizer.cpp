#include "loopperf/symbols/process_symbolizer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "loopperf/common/fs.h"
#include "loopperf/common/log.h"
#include "loopperf/common/unique_fd.h"
#include "loopperf/process/process.h"

namespace loopperf::symbols {

namespace {

constexpr const char* kUnknown = "[unknown]";

std::string hex(uint64_t v) {
  char buf[17];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  (void)ec;
  return std::string(buf, ptr);
}

std::string module_key(const process::MapEntry& m) { return m.clean_path() + '\0' + std::to_string(m.inode); }

bool is_jit_mapping(const process::MapEntry& m) {
  if (m.is_file_backed()) return false;
  return m.path.empty() || m.path.starts_with("[anon:") || (m.executable && m.path[0] != '[');
}

// Value of a "Key:\tv1\tv2..." line of /proc/PID/status: field 0 is the first value, -1 the last.
std::optional<std::string> status_field(const std::string& status, std::string_view key, int index) {
  size_t pos = 0;
  while (pos < status.size()) {
    size_t nl = status.find('\n', pos);
    std::string_view line(status.data() + pos, (nl == std::string::npos ? status.size() : nl) - pos);
    pos = nl == std::string::npos ? status.size() : nl + 1;
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ':') continue;
    std::vector<std::string_view> fields;
    std::string_view rest = line.substr(key.size() + 1);
    while (!rest.empty()) {
      size_t b = rest.find_first_not_of(" \t");
      if (b == std::string_view::npos) break;
      rest.remove_prefix(b);
      size_t e = rest.find_first_of(" \t");
      fields.push_back(rest.substr(0, e));
      rest.remove_prefix(e == std::string_view::npos ? rest.size() : e);
    }
    if (fields.empty()) return std::nullopt;
    int i = index < 0 ? static_cast<int>(fields.size()) + index : index;
    if (i < 0 || i >= static_cast<int>(fields.size())) return std::nullopt;
    return std::string(fields[static_cast<size_t>(i)]);
  }
  return std::nullopt;
}

// "/tmp/perf-123.map" or "/tmp/perf-123.map (deleted)".
bool is_perf_map_link(std::string_view target) {
  if (target.ends_with(" (deleted)")) target.remove_suffix(10);
  if (!target.starts_with("/tmp/perf-") || !target.ends_with(".map")) return false;
  std::string_view digits = target.substr(10, target.size() - 14);
  return !digits.empty() &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

struct ProcessSymbolizer::Module {
  std::string path;  // without " (deleted)"
  UniqueFd fd;       // kept so the file stays readable after the target exits or unlinks it
  bool elf_tried = false;
  std::unique_ptr<ElfFile> elf;

  ElfFile* get_elf() {
    if (!elf_tried) {
      elf_tried = true;
      if (fd.get() >= 0) {
        auto opened = ElfFile::open_fd(fd.get(), path);
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

ProcessSymbolizer::ProcessSymbolizer(pid_t pid) : pid_(pid), process_start_(process::start_time(pid)) {}

ProcessSymbolizer::~ProcessSymbolizer() {
  if (perf_map_fd_ >= 0) ::close(perf_map_fd_);
  if (kallsyms_future_.valid()) hurry_kallsyms();  // its destructor waits for the thread
}

void ProcessSymbolizer::release_kernel_symbols() {
  if (kallsyms_future_.valid()) {
    hurry_kallsyms();
    kallsyms_future_.wait();
    kallsyms_future_ = {};
  }
  kallsyms_loaded_ = kallsyms_ready_ = true;
  kallsyms_ = Kallsyms{};
}

void ProcessSymbolizer::release() {
  release_kernel_symbols();
  if (perf_map_fd_ >= 0) ::close(perf_map_fd_);
  perf_map_fd_ = -1;
  perf_map_ = PerfMap{};
  modules_.clear();
  maps_ = {};
  vdso_.reset();
  vdso_tried_ = true;
  cache_ = {};
  interned_ = {};
  interned_by_hash_ = {};
}

void ProcessSymbolizer::refresh() {
  auto snapshot = process::read_maps(pid_);
  // A vanished (or zombie, whose maps read empty) process keeps the last snapshot.
  if (snapshot.ok() && !snapshot->empty()) merge_maps(std::move(snapshot.value()));
  tail_perf_map();
}

void ProcessSymbolizer::merge_maps(std::vector<process::MapEntry> snapshot) {
  // Keep old code mappings that nothing new overlaps: code unmapped since (dlclose, exit) may still
  // have samples waiting to be named. Vanished data mappings go: V8 maps and unmaps heap pages all
  // the time, and keeping them grew this list (and loopperf's memory) for as long as it recorded.
  std::vector<process::MapEntry> merged = snapshot;
  for (const process::MapEntry& old : maps_) {
    if (!old.executable) continue;
    auto it = std::lower_bound(snapshot.begin(), snapshot.end(), old.end,
                               [](const process::MapEntry& m, uint64_t end) { return m.start < end; });
    bool overlaps = it != snapshot.begin() && std::prev(it)->end > old.start;
    if (!overlaps) merged.push_back(old);
  }
  std::sort(merged.begin(), merged.end(),
            [](const process::MapEntry& a, const process::MapEntry& b) { return a.start < b.start; });
  bool changed = merged.size() != maps_.size() ||
                 !std::equal(merged.begin(), merged.end(), maps_.begin(), [](const auto& a, const auto& b) {
                   return a.start == b.start && a.end == b.end && a.offset == b.offset &&
                          a.inode == b.inode && a.path == b.path && a.executable == b.executable;
                 });
  if (!changed) return;
  maps_ = std::move(merged);
  ++generation_;
  open_new_modules();
}

void ProcessSymbolizer::open_new_modules() {
  const std::string proc = "/proc/" + std::to_string(pid_);
  for (const process::MapEntry& m : maps_) {
    if (!m.executable || !m.is_file_backed()) continue;
    std::string key = module_key(m);
    if (modules_.count(key) != 0) continue;
    auto module = std::make_unique<Module>();
    module->path = m.clean_path();
    // map_files reaches the exact mapped file even when it is deleted or in another mount namespace.
    module->fd.reset(
        ::open((proc + "/map_files/" + hex(m.start) + "-" + hex(m.end)).c_str(), O_RDONLY | O_CLOEXEC));
    // The path fallbacks would find a different file once the mapped one was deleted. O_NONBLOCK:
    // the path may have been replaced by a FIFO since, whose open would wait for a writer forever.
    if (module->fd.get() < 0 && !m.is_deleted()) {
      module->fd.reset(::open((proc + "/root" + module->path).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
      if (module->fd.get() < 0) module->fd.reset(::open(module->path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    }
    if (module->fd.get() < 0)
      log::debug("symbols: cannot open " + module->path + ": " + std::strerror(errno));
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

bool ProcessSymbolizer::open_perf_map() {
  const std::string proc = "/proc/" + std::to_string(pid_);
  struct Candidate {
    std::string open_path, display;
    bool follow;  // /proc/PID/fd/N is a magic link that must be followed
  };
  std::vector<Candidate> candidates;
  // The target's own open fd works across mount namespaces and after the file was unlinked. V8 opens
  // the map while the isolate is created, so it has a low number: a server with many thousands of
  // sockets need not cost a readlink per socket on every refresh.
  constexpr int kMaxFdsScanned = 1024;
  if (DIR* dir = ::opendir((proc + "/fd").c_str())) {
    int scanned = 0;
    while (dirent* ent = ::readdir(dir)) {
      if (++scanned > kMaxFdsScanned) break;
      if (ent->d_name[0] == '.') continue;
      std::string link = proc + "/fd/" + ent->d_name;
      char target[4096];
      ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      std::string_view t(target, static_cast<size_t>(n));
      if (is_perf_map_link(t)) candidates.push_back({link, std::string(t), true});
    }
    ::closedir(dir);
  }
  auto status = read_small_file(proc + "/status");
  if (status) {
    if (auto nspid = status_field(*status, "NSpid", -1)) {
      candidates.push_back(
          {proc + "/root/tmp/perf-" + *nspid + ".map", "/tmp/perf-" + *nspid + ".map", false});
    }
  }
  candidates.push_back(
      {"/tmp/perf-" + std::to_string(pid_) + ".map", "/tmp/perf-" + std::to_string(pid_) + ".map", false});

  for (const Candidate& c : candidates) {
    // O_NONBLOCK: anyone can plant a FIFO at /tmp/perf-PID.map, and opening one blocks until a
    // writer comes (SIGTERM does not end that wait). Regular files ignore the flag.
    UniqueFd fd(::open(c.open_path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | (c.follow ? 0 : O_NOFOLLOW)));
    if (fd.get() < 0) continue;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    // The file is in a world-writable directory: anyone could plant one to put names into our profile.
    // Accept only what root or the target's user wrote and nobody else can modify.
    long target_uid = -1;
    if (status) {
      if (auto uid = status_field(*status, "Uid", 0)) target_uid = std::strtol(uid->c_str(), nullptr, 10);
    }
    struct stat proc_st {};
    if (target_uid < 0 && ::stat(proc.c_str(), &proc_st) == 0) target_uid = proc_st.st_uid;
    perf_map_status_.found = true;
    perf_map_status_.path = c.display;
    bool owner_ok = st.st_uid == 0 || static_cast<long>(st.st_uid) == target_uid;
    if (!owner_ok || (st.st_mode & 022) != 0) {
      perf_map_status_.trusted = false;
      perf_map_status_.problem =
          c.display + " ignored: " +
          (!owner_ok ? "owned by uid " + std::to_string(st.st_uid) + ", neither root nor the target's user"
                     : std::string("writable by group or others"));
      return false;
    }
    // Found by its name alone, the file may be an earlier process's: node never removes its map, and
    // pids are reused. A map the target writes was written after it started; one last written before
    // would put another program's names on this one's frames. (The target's own open descriptor,
    // the first candidate, needs no such check.)
    if (!c.follow && process_start_ && static_cast<double>(st.st_mtime) < *process_start_ - 2) {
      perf_map_status_.trusted = false;
      perf_map_status_.problem = c.display + " ignored: last written before pid " + std::to_string(pid_) +
                                 " started, so it is an earlier process's (node leaves its map behind)";
      continue;
    }
    perf_map_status_.trusted = true;
    perf_map_status_.problem.clear();
    perf_map_uid_ = st.st_uid;
    perf_map_fd_ = fd.release();
    perf_map_offset_ = 0;
    return true;
  }
  if (!perf_map_status_.found) {
    perf_map_status_.problem = "no perf map (/tmp/perf-" + std::to_string(pid_) +
                               ".map) found; JavaScript frames need node --perf-basic-prof";
  }
  return false;
}

void ProcessSymbolizer::tail_perf_map() {
  if (perf_map_fd_ < 0 && !open_perf_map()) return;
  struct stat st {};
  if (::fstat(perf_map_fd_, &st) != 0) return;
  // Accepted once is not accepted for good: after a chmod or chown others may write names into it.
  // Drop all of it, as if it had been refused from the start (the final warning then says why).
  if ((st.st_mode & 022) != 0 || st.st_uid != perf_map_uid_) {
    perf_map_status_.trusted = false;
    perf_map_status_.problem = perf_map_status_.path + " ignored: " +
                               ((st.st_mode & 022) != 0 ? std::string("it became writable by group or others")
                                                        : "its owner changed to uid " + std::to_string(st.st_uid)) +
                               " during the recording";
    perf_map_ = PerfMap{};
    perf_map_status_.entries = 0;
    perf_map_status_.malformed = 0;
    ::close(perf_map_fd_);
    perf_map_fd_ = -1;
    ++generation_;
    return;
  }
  if (static_cast<uint64_t>(st.st_size) < perf_map_offset_) {
    // Truncated and rewritten (in-process perf-map writers do this): start over.
    perf_map_ = PerfMap{};
    perf_map_offset_ = 0;
    ++generation_;
  }
  size_t before = perf_map_.size();
  size_t malformed_before = perf_map_.malformed_lines();
  // V8 logs a few MB an hour; a file past this is garbage or sparse (`truncate -s 64G` takes no
  // disk), and reading it all would stall the recording for minutes.
  constexpr uint64_t kMaxPerfMapBytes = uint64_t{1} << 30;
  const bool under_cap = perf_map_offset_ < kMaxPerfMapBytes;
  std::string buf(size_t{1} << 20, '\0');
  while (perf_map_offset_ < kMaxPerfMapBytes) {
    ssize_t n = ::pread(perf_map_fd_, buf.data(), buf.size(), static_cast<off_t>(perf_map_offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    perf_map_.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
    perf_map_offset_ += static_cast<uint64_t>(n);
  }
  if (under_cap && perf_map_offset_ >= kMaxPerfMapBytes)
    log::warn(perf_map_status_.path + " is larger than " + std::to_string(kMaxPerfMapBytes >> 20) +
                  " MiB: the rest of it is not read",
              "JavaScript code logged after that point shows as [unknown]; restart node to start a new perf map");
  // Overlapping entries can leave size() unchanged while names changed; any new line counts. Past
  // the cap nothing is read, so nothing changed.
  if (perf_map_.size() != before || perf_map_.malformed_lines() != malformed_before ||
      (under_cap && perf_map_offset_ != static_cast<uint64_t>(st.st_size))) {
    ++generation_;
  }
  perf_map_status_.entries = perf_map_.size();
  perf_map_status_.malformed = perf_map_.malformed_lines();
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
  const PerfMapEntry* e = perf_map_.lookup(addr);
  if (e == nullptr) return false;
  out.origin = FrameOrigin::kJit;
  out.frames.push_back(SourceFrame{e->name, e->raw, e->file, e->line, e->column});
  out.jit_kind = e->kind;
  out.jit_tier = e->tier;
  return true;
}

// The reading thread runs at nice 19 (it must not compete with the target) until someone waits for
// it; then at the waiter's priority. Whichever of the two comes first, the thread never stays at 19
// once `urgent` is set: it checks the flag again after lowering itself.
struct ProcessSymbolizer::KallsymsLoader {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> urgent{false};
  std::atomic<int> waiter_nice{0};
};

void ProcessSymbolizer::preload_kernel_symbols() {
  if (kallsyms_loaded_ || kallsyms_future_.valid()) return;
  kallsyms_loader_ = std::make_shared<KallsymsLoader>();
  kallsyms_future_ = std::async(std::launch::async, [loader = kallsyms_loader_] {
    const id_t self = static_cast<id_t>(::gettid());
    loader->tid = static_cast<pid_t>(self);
    if (!loader->urgent) {
      (void)::setpriority(PRIO_PROCESS, self, 19);
      if (loader->urgent) (void)::setpriority(PRIO_PROCESS, self, loader->waiter_nice);
    }
    Kallsyms k;
    k.load();
    return k;
  });
}

void ProcessSymbolizer::hurry_kallsyms() {
  // Waited for now (or at exit: a std::async future waits for its thread when destroyed). At nice
  // 19 on a busy machine the thread may not have run yet: give it this thread's priority, so that
  // the wait is the ~40 ms the read takes.
  if (!kallsyms_loader_) return;
  errno = 0;
  int mine = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  kallsyms_loader_->waiter_nice = errno == 0 ? mine : 0;
  kallsyms_loader_->urgent = true;
  if (pid_t t = kallsyms_loader_->tid; t > 0)
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(t), kallsyms_loader_->waiter_nice);
}

bool ProcessSymbolizer::kernel_symbols_ready() const {
  if (!kallsyms_ready_)
    kallsyms_ready_ = kallsyms_loaded_ || !kallsyms_future_.valid() ||
                      kallsyms_future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  return kallsyms_ready_;
}

ResolvedFrame ProcessSymbolizer::compute(uint64_t addr, bool kernel, bool& final) {
  ResolvedFrame out;
  final = false;
  if (kernel) {
    if (!kallsyms_loaded_) {
      kallsyms_loaded_ = true;
      if (kallsyms_future_.valid()) {
        hurry_kallsyms();
        kallsyms_ = kallsyms_future_.get();
      } else {
        kallsyms_.load();
      }
    }
    out.origin = FrameOrigin::kKernel;
    out.module = "[kernel.kallsyms]";
    std::string name = kallsyms_.lookup(addr);
    out.frames.push_back(SourceFrame{name.empty() ? "[kernel]" : name, name, "", 0, 0});
    final = true;
    return out;
  }
  const process::MapEntry* m = process::find_map(maps_, addr);
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
  if (it != cache_.end() && (it->second.final || it->second.generation == generation_))
    return interned_[it->second.frame];
  CacheEntry entry;
  ResolvedFrame r = compute(addr, kernel, entry.final);
  entry.generation = generation_;
  // Unnamed code stays visible with the module it falls in: "[unknown] libc.so.6", "[unknown] [jit]".
  if (r.frames.size() == 1 && r.frames[0].name == kUnknown && !r.module.empty()) {
    std::string base = r.module.substr(r.module.rfind('/') == std::string::npos ? 0 : r.module.rfind('/') + 1);
    r.frames[0].name += " " + base;
  }
  entry.frame = intern(std::move(r));
  cache_[key] = entry;
  return interned_[entry.frame];
}

}  // namespace loopperf::symbols
