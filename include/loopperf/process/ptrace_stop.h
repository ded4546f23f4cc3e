// Stopping one thread for a moment with ptrace, the gentle way: PTRACE_SEIZE (no SIGSTOP, no
// options — in particular no PTRACE_O_EXITKILL) + PTRACE_INTERRUPT, and always PTRACE_DETACH. If
// loopperf dies while a thread is stopped, the kernel detaches it and the thread runs on.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <chrono>
#include <shared_mutex>
#include <string>

#include "loopperf/common/result.h"

namespace loopperf::process {

class PtraceStop {
 public:
  // Seizes and interrupts `tid`; returns once it is stopped. kNoProcess when the thread is gone,
  // kPermission when ptrace is not allowed (with the fix in the hint).
  static Result<PtraceStop> stop(pid_t tid);
  PtraceStop(PtraceStop&& o) noexcept;
  PtraceStop& operator=(PtraceStop&&) = delete;
  PtraceStop(const PtraceStop&) = delete;
  ~PtraceStop();  // detaches (re-injecting a signal that arrived meanwhile)

  const user_regs_struct& regs() const { return regs_; }
  // The syscall the thread is blocked in (orig_rax), or -1.
  long syscall() const { return static_cast<long>(regs_.orig_rax); }
  void detach();
  // How long the thread has been (or was) stopped.
  std::chrono::nanoseconds stopped_for() const;
  // Waits until the seized and interrupted `tid` is stopped: the signal that stopped it instead of
  // our interrupt (to hand back at detach) or 0. kNoProcess when it exited; the exit of a process
  // that is our own child is left for the parent's wait (is_own_child_process). Public for tests.
  static Result<int> wait_for_stop(pid_t tid);

 private:
  PtraceStop() = default;
  std::shared_lock<std::shared_mutex> gate_;  // held from the seize to the detach
  pid_t tid_ = -1;
  int pending_signal_ = 0;
  user_regs_struct regs_{};
  std::chrono::steady_clock::time_point since_{};
  std::chrono::steady_clock::time_point until_{};
};

// Job control must never leave a target thread stopped: a Ctrl-Z that stopped loopperf between a
// thread's interrupt and its detach would freeze that thread for as long as loopperf stays
// stopped. So the job-control handler (cli/signals.cpp) closes this gate first, which waits for
// every stop in progress to be detached and holds new ones back, then stops loopperf, and opens it
// again when loopperf is continued. Every PtraceStop holds the gate (shared) while it lasts.
void close_stop_gate();
void open_stop_gate();

}  // namespace loopperf::process
