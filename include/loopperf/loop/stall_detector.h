// Which event loop is stuck right now: a loop thread out of its poll wait for longer than a
// threshold. loop health (health.h) measures busy periods after the fact, behind a reorder window;
// `watch` must know while the stall lasts, to capture it. Fed the poll-wait tracepoints as they are
// drained (a few ms after they happen) and asked at every step.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "loopperf/loop/loop_wait.h"

namespace loopperf::loop {

class StallDetector {
 public:
  explicit StallDetector(int64_t threshold_ns) : threshold_(threshold_ns) {}

  // A thread found. It is watched once it is known to be a loop: it was blocked in an epoll wait
  // (`loop_epfd` >= 0, read from /proc/PID/task/TID/syscall), it enters one later, or `is_loop`
  // says so (node's main thread, busy since `now_ns` as far as anyone can tell).
  void add_thread(pid_t tid, bool is_loop, int loop_epfd, uint64_t loop_frame, uint64_t now_ns);
  void end_thread(pid_t tid);
  void poll_enter(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame);
  void poll_exit(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame);
  // A cpu-clock sample of the thread at `time_ns`: it was running then. Call it after the poll
  // events drained in the same step (an exit before the sample must be applied first). A loop
  // thread believed to wait since before then cannot have been waiting (a cpu sample fires only
  // while the thread runs; a thread blocked in epoll_wait does not, and its wake-up takes
  // microseconds): its exit was among records the kernel dropped. It is busy from the sample on.
  void on_cpu(pid_t tid, uint64_t time_ns);
  // The thread's poll records after `time_ns` may be lost until `until_ns` (its ring filled up:
  // sample::PollEvent::gap). Its state is unknown until its next record: it is not stuck (a busy
  // period read from the last record would last until loopperf catches up, a false stall), and a
  // cpu sample proves nothing before `until_ns` (the loop ran then, between waits whose records
  // are gone). A cpu sample after it while no record came is a stall begun in the gap: busy from
  // that sample. A busy period open at the gap ends there, for period_end: its end is not known.
  void gap(pid_t tid, uint64_t time_ns, uint64_t until_ns);

  struct Busy {
    pid_t tid = 0;
    uint64_t since_ns = 0;  // when it left its poll wait (or was found busy)
    bool operator==(const Busy&) const = default;
  };
  // Loop threads out of their poll wait for longer than the threshold at `now_ns`, longest first.
  std::vector<Busy> stuck(uint64_t now_ns) const;
  // When the thread's current busy period began; nullopt while it waits or when it is no loop.
  std::optional<uint64_t> busy_since(pid_t tid) const;
  // The end of the busy period that began at `since` (its loop's next poll enter), once it ended;
  // nullopt while it lasts or when the thread is unknown.
  std::optional<uint64_t> period_end(pid_t tid, uint64_t since) const;
  // When the thread last entered its loop's poll wait; nullopt while busy (or never seen waiting).
  std::optional<uint64_t> waiting_since(pid_t tid) const;
  // The loop's own wait as known now (loop_wait.h), for whoever measures the loop again.
  std::optional<LoopWait> loop_wait(pid_t tid) const;
  // The loop threads, in tid order.
  std::vector<pid_t> loops() const;
  int64_t threshold_ns() const { return threshold_; }

 private:
  struct Thread {
    bool loop = false;  // known to be an event loop
    bool waiting = false;
    uint64_t since = 0;  // start of the current busy period (when !waiting)
    uint64_t wait_since = 0;  // start of the current wait (when waiting; 0: found waiting)
    uint64_t prev_since = 0, prev_end = 0;  // the last busy period that ended
    uint64_t last = 0;   // the last event's time: an older one is stale
    uint64_t gap_until = 0;  // records may be lost before this (gap); cpu samples before it say nothing
    LoopWait wait;
  };
  void event(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame, bool enter);

  int64_t threshold_;
  std::map<pid_t, Thread> threads_;
};

}  // namespace loopperf::loop
