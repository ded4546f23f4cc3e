#include "loopperf/process/ptrace_stop.h"

#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "loopperf/common/fs.h"
#include "loopperf/process/process.h"
#include "loopperf/process/stop_watchdog.h"

namespace loopperf::process {

namespace {
std::shared_mutex g_gate;
}  // namespace

void close_stop_gate() { g_gate.lock(); }
void open_stop_gate() { g_gate.unlock(); }

Result<int> PtraceStop::wait_for_stop(pid_t tid) {
  auto gone = [tid] {
    return make_error(ErrorCode::kNoProcess, "thread " + std::to_string(tid) + " exited");
  };
  for (;;) {
    // Blocking: the kernel wakes us the moment the thread stops. __WNOTHREAD: only this thread's
    // tracees (another loopperf thread may wait for its own child, with WNOWAIT so that it never
    // takes this stop: see LaunchedChild::poll_exit). WNOWAIT first: an exit is only looked at, so
    // that our own child's exit can stay with the wait that wants its status (left_for_parent).
    siginfo_t si{};
    const int peek = WEXITED | WSTOPPED | WNOWAIT | __WALL | __WNOTHREAD;
    if (::waitid(P_PID, static_cast<id_t>(tid), &si, peek) != 0) {
      if (errno == EINTR) continue;
      return gone();
    }
    // An exit our wait must not take: a process that is our own child (`record --mode wall -- CMD`).
    // Tracer and parent are one thread group, so waitpid here would reap it and the parent's wait
    // for its status would find nothing. Other exits are taken as before: a non-leader thread must
    // be reaped by its tracer, and another parent's child goes on to that parent once we took it.
    bool exited = si.si_code == CLD_EXITED || si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
    if (exited && is_own_child_process(tid)) return gone();
    int status = 0;
    pid_t r = ::waitpid(tid, &status, __WALL | __WNOTHREAD);
    if (r < 0) {
      if (errno == EINTR) continue;
      return gone();
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) return gone();
    if (!WIFSTOPPED(status)) continue;
    // Our interrupt shows as PTRACE_EVENT_STOP. A signal-delivery-stop may come first: the thread is
    // stopped as well, so use it, and hand the signal back at detach.
    return (status >> 16) != PTRACE_EVENT_STOP ? WSTOPSIG(status) : 0;
  }
}

Result<PtraceStop> PtraceStop::stop(pid_t tid) {
  std::shared_lock gate(g_gate);
  if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
    int err = errno;
    if (err == ESRCH) return make_error(ErrorCode::kNoProcess, "thread " + std::to_string(tid) + " exited");
    std::string hint;
    if (err == EPERM) {
      if (std::string owner = foreign_owner(tid); !owner.empty()) {
        hint = owner + ": run loopperf as that user, as root, or with CAP_SYS_PTRACE";
      } else {
        hint = "run as root or with CAP_SYS_PTRACE";
        // Yama, where the kernel has it, restricts tracing further.
        if (auto v = read_small_file("/proc/sys/kernel/yama/ptrace_scope"))
          hint += "; kernel.yama.ptrace_scope is " + v->substr(0, v->find('\n')) +
                  " (1 allows only descendants, 2 needs CAP_SYS_PTRACE, 3 forbids)";
        hint += "; another debugger (gdb, strace) may already be attached";
      }
    }
    return make_error(ErrorCode::kPermission,
                      "cannot ptrace thread " + std::to_string(tid) + ": " + std::strerror(err), hint);
  }
  PtraceStop s;
  s.gate_ = std::move(gate);
  stop_begins();  // for the SIGSTOP watchdog (stop_watchdog.h), until the gate is let go
  s.tid_ = tid;
  s.since_ = std::chrono::steady_clock::now();
  if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) {
    int err = errno;
    s.detach();
    return make_error(ErrorCode::kNoProcess,
                      "cannot interrupt thread " + std::to_string(tid) + ": " + std::strerror(err));
  }
  auto stopped = wait_for_stop(tid);
  if (!stopped) {
    s.tid_ = -1;  // gone (and taken, or left for its parent): nothing to detach
    return stopped.error();
  }
  s.pending_signal_ = *stopped;
  if (::ptrace(PTRACE_GETREGS, tid, nullptr, &s.regs_) != 0) {
    int err = errno;
    s.detach();
    return make_error(ErrorCode::kNoProcess,
                      "cannot read registers of thread " + std::to_string(tid) + ": " + std::strerror(err));
  }
  return s;
}

PtraceStop::PtraceStop(PtraceStop&& o) noexcept
    : gate_(std::move(o.gate_)),
      tid_(o.tid_),
      pending_signal_(o.pending_signal_),
      regs_(o.regs_),
      since_(o.since_),
      until_(o.until_) {
  o.tid_ = -1;
}

PtraceStop::~PtraceStop() { detach(); }

void PtraceStop::detach() {
  if (tid_ >= 0) {
    ::ptrace(PTRACE_DETACH, tid_, nullptr, reinterpret_cast<void*>(static_cast<intptr_t>(pending_signal_)));
    until_ = std::chrono::steady_clock::now();
    tid_ = -1;
  }
  if (gate_.owns_lock()) {
    // The count first: once the gate is open, the job-control thread may stop loopperf at once,
    // and a count still above zero then would make the watchdog take that stop for a SIGSTOP inside
    // a ptrace stop and stop loopperf again, possibly after the user's SIGCONT (a Ctrl-Z'd dump then
    // stayed stopped for good, once in CI).
    stop_ends();
    gate_.unlock();
  }
}

std::chrono::nanoseconds PtraceStop::stopped_for() const {
  auto end = tid_ >= 0 ? std::chrono::steady_clock::now() : until_;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(end - since_);
}

}  // namespace loopperf::process
