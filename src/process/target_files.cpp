#include "loopperf/process/target_files.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "loopperf/common/log.h"

namespace loopperf::process {

namespace {

std::string hex(uint64_t v) {
  char buf[17];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  (void)ec;
  return std::string(buf, ptr);
}

std::string file_key(const std::string& clean_path, uint64_t inode) {
  return clean_path + '\0' + std::to_string(inode);
}

// Opens `path` without blocking and keeps it only when it is a regular file (and, when `inode` is
// not 0, that very file). errno tells why not.
UniqueFd open_regular(const std::string& path, int extra_flags, uint64_t inode) {
  // O_NONBLOCK: the path may have been replaced by a FIFO, whose open would wait for a writer
  // forever. Regular files ignore the flag.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | extra_flags));
  if (fd.get() < 0) return fd;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return UniqueFd();
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return UniqueFd();
  }
  if (inode != 0 && static_cast<uint64_t>(st.st_ino) != inode) {
    errno = ESTALE;
    return UniqueFd();
  }
  return fd;
}

}  // namespace

TargetFiles::TargetFiles(pid_t pid) : pid_(pid), proc_("/proc/" + std::to_string(pid)) {
  if (auto st = read_status(pid)) status_ = std::move(st.value());
}

std::shared_ptr<TargetFiles> TargetFiles::saved(pid_t pid, std::optional<ProcStatus> status,
                                                std::vector<MapEntry> maps, std::string files_dir) {
  // pid 0 reads nothing from /proc: every fact comes from the saved recording.
  auto t = std::make_shared<TargetFiles>(0);
  t->pid_ = pid;
  t->proc_.clear();
  t->status_ = std::move(status);
  t->saved_dir_ = std::move(files_dir);
  t->merge(std::move(maps));
  return t;
}

std::string TargetFiles::saved_file_name(const std::string& path, uint64_t inode) {
  // Flat and unique: the path's characters that are not safe in a file name become '_', and the
  // inode and a hash of the whole path tell apart paths that flatten alike.
  std::string name;
  for (char c : path) name += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  if (name.size() > 120) name = name.substr(name.size() - 120);
  return name + "." + std::to_string(inode) + "." + hex(std::hash<std::string>{}(path));
}

std::vector<const ModuleFile*> TargetFiles::files() const {
  std::vector<const ModuleFile*> out;
  for (const auto& [key, f] : files_) out.push_back(f.get());
  return out;
}

bool TargetFiles::refresh() {
  if (!saved_dir_.empty()) return false;
  auto snapshot = read_maps(pid_);
  if (!snapshot.ok() || snapshot->empty()) return false;
  return merge(std::move(snapshot.value()));
}

bool TargetFiles::merge(std::vector<MapEntry> snapshot) {
  // Keep old code mappings that nothing new overlaps: code unmapped since (dlclose, exit) may still
  // have samples waiting to be named. Vanished data mappings go: V8 maps and unmaps heap pages all
  // the time, and keeping them grew this list (and loopperf's memory) for as long as it recorded.
  std::sort(snapshot.begin(), snapshot.end(),
            [](const MapEntry& a, const MapEntry& b) { return a.start < b.start; });
  std::vector<MapEntry> merged = snapshot;
  for (const MapEntry& old : maps_) {
    if (!old.executable) continue;
    auto it = std::lower_bound(snapshot.begin(), snapshot.end(), old.end,
                               [](const MapEntry& m, uint64_t end) { return m.start < end; });
    bool overlaps = it != snapshot.begin() && std::prev(it)->end > old.start;
    if (!overlaps) merged.push_back(old);
  }
  std::sort(merged.begin(), merged.end(),
            [](const MapEntry& a, const MapEntry& b) { return a.start < b.start; });
  bool changed = merged.size() != maps_.size() ||
                 !std::equal(merged.begin(), merged.end(), maps_.begin(), [](const auto& a, const auto& b) {
                   return a.start == b.start && a.end == b.end && a.offset == b.offset &&
                          a.inode == b.inode && a.path == b.path && a.executable == b.executable;
                 });
  if (!changed) return false;
  maps_ = std::move(merged);
  ++generation_;
  return true;
}

UniqueFd TargetFiles::open_module(const MapEntry& m, std::string& via) const {
  if (!saved_dir_.empty()) {
    UniqueFd fd = open_regular(saved_dir_ + "/" + saved_file_name(m.clean_path(), m.inode), O_NOFOLLOW, 0);
    if (fd.get() >= 0) via = "saved";
    return fd;
  }
  // map_files reaches the exact mapped file even when it is deleted or in another mount namespace
  // (it needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE: without them the paths below are tried).
  UniqueFd fd = open_regular(proc_ + "/map_files/" + hex(m.start) + "-" + hex(m.end), 0, 0);
  if (fd.get() >= 0) {
    via = "map_files";
    return fd;
  }
  // The paths would find a different file once the mapped one was deleted; and one replaced since
  // the maps were read (a new package version, a symlink, a FIFO) is not the mapped file either:
  // its inode tells. maps prints canonical paths, so a symlink as the last component is a replacement.
  if (m.is_deleted()) return fd;
  const std::string path = m.clean_path();
  fd = open_regular(proc_ + "/root" + path, O_NOFOLLOW, m.inode);
  if (fd.get() >= 0) {
    via = "root";
    return fd;
  }
  fd = open_regular(path, O_NOFOLLOW, m.inode);
  if (fd.get() >= 0) via = "path";
  return fd;
}

const ModuleFile& TargetFiles::file_for(const MapEntry& m) {
  const std::string path = m.clean_path();
  std::string key = file_key(path, m.inode);
  auto it = files_.find(key);
  if (it != files_.end()) return *it->second;
  auto file = std::make_unique<ModuleFile>();
  file->path = path;
  file->inode = m.inode;
  file->fd = open_module(m, file->via);
  if (file->fd.get() < 0) log::debug("target files: cannot open " + path + ": " + std::strerror(errno));
  return *files_.emplace(std::move(key), std::move(file)).first->second;
}

void TargetFiles::release() {
  files_.clear();
  maps_ = {};
  ++generation_;
}

}  // namespace loopperf::process
