// One registry of a target process's files: its merged memory maps, the file behind each mapped
// module opened once (the guarded way), and its /proc/PID/status parsed once. The unwinder's
// ModuleMap and the symbolizer both take their files from here, so the rules for opening a file
// that another user's process maps (FIFOs, replaced paths, other mount namespaces) live in one place.
//
// The target may exit before its files are used (launch mode), so files are opened while it lives
// and kept open: a deleted or unmapped file stays readable through its descriptor.
//
// Not thread-safe: the recording loop, which refreshes maps and unwinds samples, is one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loopperf/common/unique_fd.h"
#include "loopperf/process/maps.h"
#include "loopperf/process/status.h"

namespace loopperf::process {

// A mapped file, opened once per (path, inode).
struct ModuleFile {
  std::string path;  // as mapped, without " (deleted)"
  uint64_t inode = 0;
  UniqueFd fd;      // -1 when it could not be opened (safely)
  std::string via;  // where it was opened: "map_files", "root", "path"; "" when not
};

class TargetFiles {
 public:
  // Reads /proc/PID/status (once, here; nullopt status when the process is gone or hidden). Maps are
  // read by refresh().
  explicit TargetFiles(pid_t pid);
  // A target as saved with a recording (record/replay.h): its status and maps as they were, every
  // module file read from a copy in `files_dir` (named saved_file_name()); refresh() changes nothing.
  static std::shared_ptr<TargetFiles> saved(pid_t pid, std::optional<ProcStatus> status, std::vector<MapEntry> maps,
                                            std::string files_dir);
  static std::string saved_file_name(const std::string& path, uint64_t inode);
  TargetFiles(const TargetFiles&) = delete;
  TargetFiles& operator=(const TargetFiles&) = delete;

  pid_t pid() const { return pid_; }
  const std::optional<ProcStatus>& status() const { return status_; }

  // Re-reads /proc/PID/maps and merges it into maps(); true when they changed. A vanished (or zombie,
  // whose maps read empty) process keeps the last snapshot.
  bool refresh();
  // Replaces the newest snapshot by hand (tests, or a snapshot taken elsewhere), merged as refresh()
  // does; true when the maps changed.
  bool merge(std::vector<MapEntry> snapshot);

  // The newest snapshot, plus the code mappings of earlier ones that nothing in it overlaps (code
  // unmapped since may still have samples waiting to be named). Sorted by start.
  const std::vector<MapEntry>& maps() const { return maps_; }
  // Bumped whenever maps() changes, so users can tell that their view of it is stale.
  uint64_t generation() const { return generation_; }

  // The file mapped by `m` (which must be file-backed), opened the first time any mapping of that
  // (path, inode) is asked for, and kept. Opened through, in order:
  //   /proc/PID/map_files/START-END  the exact mapped file, even deleted or in another mount namespace;
  //   /proc/PID/root/PATH, then PATH  only when the mapping is not deleted (the path would name a
  //                                  different file), and only when the file there has the mapping's inode.
  // Every open is O_NONBLOCK (a FIFO planted at the path would otherwise block the open until a writer
  // comes, and SIGTERM does not end that wait) and O_CLOEXEC, and keeps only a regular file.
  // Never null; its fd is -1 when no way gave a usable file.
  const ModuleFile& file_for(const MapEntry& m);

  // Closes every file and forgets the maps (status stays): recording is over.
  void release();

  // Every module file asked for so far, opened or not (what a saved recording keeps a copy of).
  std::vector<const ModuleFile*> files() const;

 private:
  UniqueFd open_module(const MapEntry& m, std::string& via) const;

  pid_t pid_;
  std::string proc_;       // "/proc/PID"
  std::string saved_dir_;  // a saved recording's files; "" for a live target
  std::optional<ProcStatus> status_;
  std::vector<MapEntry> maps_;
  uint64_t generation_ = 0;
  std::map<std::string, std::unique_ptr<ModuleFile>> files_;  // by path + inode; stable addresses
};

}  // namespace loopperf::process
