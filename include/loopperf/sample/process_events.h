// The processes of a tree as the kernel starts them: every exec and exit in a process and all its
// descendants, from an inherited perf event that samples nothing (PERF_COUNT_SW_DUMMY with task and
// comm records). Opened on the launched child before it execs, it sees every process the command
// starts, however briefly it lives, without ptrace and without polling /proc.
//
// An inherited event can be mapped only per CPU, so there is one small ring per CPU; records of
// different CPUs are merged by time at each drain.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/sample/perf_event.h"

namespace loopperf::sample {

struct ProcessEvent {
  enum class Kind { kFork, kExec, kExit };
  Kind kind = Kind::kExec;
  pid_t pid = 0;   // the process
  pid_t ppid = 0;  // kFork: its parent
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC
};

class ProcessEvents {
 public:
  // Follows `pid` and every process it starts from now on (threads are not reported). The event
  // is the task `pid`'s: in launch mode the child, which has no other thread yet.
  static Result<ProcessEvents> open(pid_t pid);
  // Also follows what thread `tid` starts (attach mode: every thread of a running process, since
  // any of them may fork). Its records go to the same per-CPU rings.
  Status add_thread(pid_t tid);

  // The events buffered so far, oldest first. `lost` grows when a ring was full: events are
  // missing, and the caller should look at /proc for what it missed.
  std::vector<ProcessEvent> drain();
  uint64_t lost() const { return lost_; }
  // The rings' fds, for poll().
  std::vector<int> fds() const;

 private:
  std::vector<PerfEvent> rings_;   // one per CPU, with its cpu in cpus_
  std::vector<int> cpus_;
  std::vector<PerfEvent> extra_;   // add_thread's events, writing into rings_
  uint64_t lost_ = 0;
};

}  // namespace loopperf::sample
