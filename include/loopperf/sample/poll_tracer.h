// Exact poll-wait boundaries of every thread, from the kernel's syscall tracepoints
// (syscalls:sys_enter/sys_exit_epoll_pwait and _epoll_wait): one ring per thread, drained with
// the sampler's. Costs the target a tracepoint hit per poll syscall, no signals, no stops.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/sample/perf_event.h"

namespace loopperf::sample {

struct PollEvent {
  pid_t tid = 0;
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC
  bool enter = false;    // enter: the wait begins; exit: it ended
  int epfd = -1;         // the epoll fd (exits carry the fd of their enter; -1 when that enter was not seen)
  uint64_t frame = 0;    // its events buffer (the second argument): where in the stack it waits
  // A gap, not a wait's edge: the thread's records from `time_ns` (its last one seen) may be lost
  // (its ring filled up: loopperf did not read it in time) until `until_ns`, from when they are
  // complete again. What they would have said is unknown: a busy period open at `time_ns` has no
  // known end, and the thread's state is unknown until its next record.
  bool gap = false;
  uint64_t until_ns = 0;
};

// Tracepoint ids come from tracefs; it is looked up in /proc/mounts and, if absent and we are root,
// mounted at /sys/kernel/tracing (the standard place). Returns the id or an error saying what to do.
Result<uint64_t> tracepoint_id(const std::string& category, const std::string& name);

class PollTracer {
 public:
  using EventFn = std::function<void(const PollEvent&)>;
  // A signal delivered to a thread (signal:signal_deliver): the thread takes it, by its handler or
  // by the default action (a SIGTERM that ends the process is seen too).
  using SignalFn = std::function<void(pid_t tid, uint64_t time_ns, int sig)>;
  // Fails (with the fix in the hint) when tracepoints are not available. With `on_signal`, each
  // thread's signal deliveries come through its ring as well.
  static Result<std::unique_ptr<PollTracer>> create(pid_t pid, EventFn fn, SignalFn on_signal = {});

  void add_thread(pid_t tid);  // idempotent; errors are counted, not fatal
  void remove_thread(pid_t tid);
  void drain();
  std::vector<int> fds() const;  // for poll()
  uint64_t lost() const { return lost_; }
  // Why a thread's signal tracepoint could not be opened (the first refusal), or "".
  const std::string& signal_problem() const { return signal_problem_; }
  uint64_t events() const { return events_; }

 private:
  struct Thread {
    PerfEvent ring;                  // sys_enter_epoll_pwait, owning the ring
    std::vector<PerfEvent> others;  // the other tracepoints, redirected into the ring
    std::map<uint64_t, int> kinds;  // event id -> index into ids_
    int open_epfd = -1;             // the fd of the enter awaiting its exit
    uint64_t open_frame = 0;        // and its events buffer
    uint64_t last_ns = 0;           // the last record's time
    bool in_gap = false;            // a gap was given and no record came since
  };
  PollTracer(pid_t pid, EventFn fn, SignalFn on_signal)
      : pid_(pid), fn_(std::move(fn)), on_signal_(std::move(on_signal)) {}
  static constexpr int kSignalKind = 4;  // ids_[4]: signal:signal_deliver
  void handle(Thread& t, const perf_event_header* h);
  void drain(Thread& t);
  void gap(pid_t tid, Thread& t);

  pid_t pid_;
  EventFn fn_;
  SignalFn on_signal_;
  std::vector<uint64_t> ids_;  // enter_pwait, exit_pwait, enter_wait, exit_wait[, signal_deliver]
  std::map<pid_t, Thread> threads_;
  uint64_t lost_ = 0, events_ = 0;
  std::string signal_problem_;
};

}  // namespace loopperf::sample
