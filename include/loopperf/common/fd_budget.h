// File descriptors as a budget loopperf can run out of (`ulimit -n`, a container's limit): one perf
// fd per sampled thread, four per node thread for loop health, the ELF files it names frames from.
// Running out must neither pass for something else (a target that "exited", tracefs "not mounted")
// nor cost the profile: opens that fail with EMFILE/ENFILE are counted here, and a recording keeps
// a few descriptors back for writing its file (FdReserve).
#pragma once

#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>

namespace loopperf {

// Counts `err` when it says the process (EMFILE) or the system (ENFILE) is out of descriptors;
// returns whether it did.
bool note_fd_shortage(int err);
// How many opens failed that way so far in this process.
uint64_t fd_shortages();
// The soft RLIMIT_NOFILE (0 when unknown).
uint64_t fd_limit();
// Whether a std::system_error's code says a resource ran out (EAGAIN: a thread that could not be
// started under `ulimit -u`/`-v` or a pids limit; ENOMEM) rather than a bug.
bool out_of_resources(const std::error_code& code);

// Descriptors held back from the start of a recording (on /dev/null) and given back before its
// file is written: sampling can use up every other one and the output still has room.
class FdReserve {
 public:
  explicit FdReserve(int count);
  ~FdReserve() { release(); }
  FdReserve(const FdReserve&) = delete;
  FdReserve& operator=(const FdReserve&) = delete;
  void release();
  size_t held() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
};

}  // namespace loopperf
