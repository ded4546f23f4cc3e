#include "loopperf/symbols/perf_map_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string_view>
#include <vector>

#include "loopperf/common/log.h"

namespace loopperf::symbols {

namespace {

// "/tmp/perf-123.map" or "/tmp/perf-123.map (deleted)".
bool is_perf_map_link(std::string_view target) {
  if (target.ends_with(" (deleted)")) target.remove_suffix(10);
  if (!target.starts_with("/tmp/perf-") || !target.ends_with(".map")) return false;
  std::string_view digits = target.substr(10, target.size() - 14);
  return !digits.empty() &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// V8 logs a few MB an hour; a file past this is garbage or sparse (`truncate -s 64G` takes no disk),
// and reading it all would stall the recording for minutes.
constexpr uint64_t kMaxPerfMapBytes = uint64_t{1} << 30;
// Reading a genuine map parses ~100-200 MB/s; this much time spent reading over a recording means a
// file nobody should wait for (a slow network file system, a map grown over months).
constexpr std::chrono::seconds kReadBudget{5};

// A directory stream closed on every path.
struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

PerfMapSource::PerfMapSource(pid_t pid, std::optional<process::ProcStatus> status,
                             std::optional<double> process_start)
    : pid_(pid),
      proc_("/proc/" + std::to_string(pid)),
      target_status_(std::move(status)),
      process_start_(process_start),
      stop_at_(kMaxPerfMapBytes) {}

PerfMapSource PerfMapSource::saved(std::string path) {
  PerfMapSource s(0, std::nullopt, std::nullopt);
  s.saved_ = true;
  s.saved_path_ = std::move(path);
  return s;
}

void PerfMapSource::release() {
  fd_.reset();
  map_ = PerfMap{};
}

void PerfMapSource::read_from_start() {
  offset_ = 0;
  stop_at_ = kMaxPerfMapBytes;
}

bool PerfMapSource::open() {
  if (saved_) {
    // loopperf saved it from a map it trusted: the owner and mode checks of tail() still apply.
    if (saved_path_.empty()) return false;
    UniqueFd fd(::open(saved_path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
    struct stat st {};
    if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    status_ = PerfMapStatus{true, true, saved_path_, "", 0, 0};
    uid_ = st.st_uid;
    fd_ = std::move(fd);
    read_from_start();
    return true;
  }
  struct Candidate {
    std::string open_path, display;
    bool follow;  // /proc/PID/fd/N is a magic link that must be followed
  };
  std::vector<Candidate> candidates;
  // The target's own open fd works across mount namespaces and after the file was unlinked. V8 opens
  // the map while the isolate is created, so it has a low number: a server with many thousands of
  // sockets need not cost a readlink per socket on every refresh.
  constexpr int kMaxFdsScanned = 1024;
  if (std::unique_ptr<DIR, DirCloser> dir(::opendir((proc_ + "/fd").c_str())); dir) {
    int scanned = 0;
    while (dirent* ent = ::readdir(dir.get())) {
      if (++scanned > kMaxFdsScanned) break;
      if (ent->d_name[0] == '.') continue;
      std::string link = proc_ + "/fd/" + ent->d_name;
      char target[4096];
      ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      std::string_view t(target, static_cast<size_t>(n));
      if (is_perf_map_link(t)) candidates.push_back({link, std::string(t), true});
    }
  }
  if (target_status_ && !target_status_->nspid.empty()) {
    const std::string nspid = std::to_string(target_status_->nspid.back());
    candidates.push_back({proc_ + "/root/tmp/perf-" + nspid + ".map", "/tmp/perf-" + nspid + ".map", false});
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
    if (target_status_ && target_status_->uid) target_uid = static_cast<long>(*target_status_->uid);
    struct stat proc_st {};
    if (target_uid < 0 && ::stat(proc_.c_str(), &proc_st) == 0) target_uid = proc_st.st_uid;
    status_.found = true;
    status_.path = c.display;
    bool owner_ok = st.st_uid == 0 || static_cast<long>(st.st_uid) == target_uid;
    if (!owner_ok || (st.st_mode & 022) != 0) {
      status_.trusted = false;
      status_.problem =
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
      status_.trusted = false;
      status_.problem = c.display + " ignored: last written before pid " + std::to_string(pid_) +
                        " started, so it is an earlier process's (node leaves its map behind)";
      continue;
    }
    status_.trusted = true;
    status_.problem.clear();
    uid_ = st.st_uid;
    fd_ = std::move(fd);
    read_from_start();
    return true;
  }
  if (!status_.found) {
    status_.problem = "no perf map (/tmp/perf-" + std::to_string(pid_) +
                      ".map) found; JavaScript frames need node --perf-basic-prof";
  }
  return false;
}

bool PerfMapSource::tail() {
  if (fd_.get() < 0 && !open()) return false;
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return false;
  // Accepted once is not accepted for good: after a chmod or chown others may write names into it.
  // Drop all of it, as if it had been refused from the start (the final warning then says why).
  if ((st.st_mode & 022) != 0 || st.st_uid != uid_) {
    status_.trusted = false;
    status_.problem = status_.path + " ignored: " +
                      ((st.st_mode & 022) != 0 ? std::string("it became writable by group or others")
                                               : "its owner changed to uid " + std::to_string(st.st_uid)) +
                      " during the recording";
    map_ = PerfMap{};
    status_.entries = 0;
    status_.malformed = 0;
    fd_.reset();
    return true;
  }
  bool changed = false;
  if (static_cast<uint64_t>(st.st_size) < offset_) {
    // Truncated and rewritten (in-process perf-map writers do this): start over.
    map_ = PerfMap{};
    read_from_start();
    stopped_warned_ = false;  // a new file: its own bounds, its own warning (the time budget stays)
    changed = true;
  }
  size_t before = map_.size();
  size_t malformed_before = map_.malformed_lines();
  const bool was_reading = offset_ < stop_at_ && read_time_ < kReadBudget;
  const auto began = std::chrono::steady_clock::now();
  std::string buf(size_t{1} << 20, '\0');
  while (offset_ < stop_at_) {
    if (read_time_ + (std::chrono::steady_clock::now() - began) >= kReadBudget) break;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), stop_at_ - offset_));
    ssize_t n = ::pread(fd_.get(), buf.data(), want, static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::string_view got(buf.data(), static_cast<size_t>(n));
    if (const size_t nul = got.find('\0'); nul != std::string_view::npos) {
      // Not V8's writing: a sparse file's hole or a corrupt tail. What precedes it is still read.
      got = got.substr(0, nul);
      stop_at_ = offset_ + nul;
    }
    map_.feed(got);
    offset_ += got.size();
  }
  read_time_ += std::chrono::steady_clock::now() - began;
  const bool stopped = offset_ >= stop_at_ || read_time_ >= kReadBudget;
  // The file may have grown while it was read (a hole made after the fstat above is read as NUL
  // bytes at the old end): the warning goes by its size now, or it would never be given.
  struct stat now {};
  if (stopped && ::fstat(fd_.get(), &now) == 0 && now.st_size > st.st_size) st.st_size = now.st_size;
  if (was_reading && stopped && !stopped_warned_ && offset_ < static_cast<uint64_t>(st.st_size)) {
    stopped_warned_ = true;
    std::string why = stop_at_ < kMaxPerfMapBytes && offset_ >= stop_at_
                          ? "holds a NUL byte at offset " + std::to_string(stop_at_) +
                                " (sparse or corrupt: V8 writes text)"
                          : offset_ >= kMaxPerfMapBytes
                                ? "is larger than " + std::to_string(kMaxPerfMapBytes >> 20) + " MiB"
                                : "took more than " + std::to_string(kReadBudget.count()) + " s to read";
    log::warn(status_.path + " " + why + ": the rest of it (" +
                  std::to_string((static_cast<uint64_t>(st.st_size) - offset_) >> 20) + " MiB) is not read",
              "JavaScript code logged after that point shows as [unknown] or is named from the heap; restart "
              "node to start a new perf map");
  }
  // Overlapping entries can leave size() unchanged while names changed; any new line counts. Past
  // a bound nothing more is read, so nothing changed.
  if (map_.size() != before || map_.malformed_lines() != malformed_before ||
      (!stopped && offset_ != static_cast<uint64_t>(st.st_size))) {
    changed = true;
  }
  status_.entries = map_.size();
  status_.malformed = map_.malformed_lines();
  return changed;
}

}  // namespace loopperf::symbols
