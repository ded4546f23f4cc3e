// Event-loop health measured from outside: for each loop thread, the exact entry and exit times of
// its poll wait (syscall tracepoints on epoll_pwait/epoll_wait, filtered to the loop's own epoll fd)
// give utilization (share of wall time not spent waiting in the poll), iterations per second, the
// busy periods between two poll waits (count, p50, p99, max) and the stalls longer than a threshold,
// each with the heaviest stack sampled during it. docs/labels.md ("Loop health") documents the
// semantics and the metadata keys.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loopperf/profile/profile.h"

namespace loopperf::loop {

struct Stall {
  int64_t start_ns = 0;     // from the start of the recording
  int64_t duration_ns = 0;
  int64_t heaviest_stack = -1;  // StackTable entry index (= Profile sample index), -1 when none sampled
  // The recording (or the thread) began or ended during the stall: duration_ns is a lower bound.
  bool truncated = false;
  std::string phase;        // filled from the labelled profile (record::resolve_stalls)
  std::string summary;      // one-line stack summary, or why there is none
};

// Samples whose stack was cut short before uv_run (their phase unknown), taken before a whole
// sample of the same busy period: libuv runs its phases in one order between two poll waits (poll
// callbacks, pending, check, close, timers, pending, idle, prepare), so when `before` and `after`
// are in one phase other than pending, so were these; and with no whole sample before them in the
// period (kPeriodStart), when `after` is in poll, the first phase. Stack indices as in
// Stall::heaviest_stack.
struct PhaseBracket {
  static constexpr uint32_t kPeriodStart = UINT32_MAX;
  uint32_t stack = 0;   // the cut-short stack
  uint32_t before = 0;  // the whole stack sampled last before it, or kPeriodStart
  uint32_t after = 0;   // the whole stack sampled first after it
  uint64_t weight = 0;
};

struct LoopHealth {
  int64_t tid = 0;
  int64_t observed_ns = 0;  // wall time covered
  int64_t wait_ns = 0;      // time inside the loop's poll wait
  uint64_t iterations = 0;  // poll waits entered
  double utilization = 0;   // 1 - wait / observed
  double iterations_per_sec = 0;
  // Busy periods, including the (truncated) ones cut by the recording's start or end.
  uint64_t busy_count = 0;
  double busy_p50_ms = 0, busy_p99_ms = 0, busy_max_ms = 0;
  int64_t stall_threshold_ns = 0;
  uint64_t stall_count = 0;   // every busy period longer than the threshold, also those not kept
  // The scheduler's view of the thread over the recording (sched_reading): time on a CPU, and time
  // runnable but waiting for one (a loaded machine, a container's CPU quota). -1 when unknown.
  int64_t cpu_ns = -1;
  int64_t runnable_ns = -1;
  std::vector<Stall> stalls;  // longest first, at most kMaxStalls
  // For labelling the profile (loop::infer_cut_phases), not stored: at most kMaxBrackets (beyond
  // them, and beyond kMaxWaitingCut, cut-short samples stay unknown).
  std::vector<PhaseBracket> brackets;
};

class LoopHealthTracker {
 public:
  static constexpr size_t kMaxStalls = 1000;
  // Distinct (stack, before, after) kept per thread, and cut-short samples waiting for their `after`.
  static constexpr size_t kMaxBrackets = 1 << 16;
  static constexpr size_t kMaxWaitingCut = 1 << 14;
  static constexpr int64_t kDefaultReorderWindowNs = 250'000'000;

  // Times are CLOCK_MONOTONIC nanoseconds (the clock perf events use here). All members are
  // thread-safe (the wall-clock sampler may report from its own thread).
  LoopHealthTracker(uint64_t start_ns, int64_t stall_threshold_ns,
                    int64_t reorder_window_ns = kDefaultReorderWindowNs);

  // Follows a loop thread. `initially_waiting`: it was blocked in its poll when the recording began
  // (/proc/PID/task/TID/syscall), so a first exit without an enter closes a wait, not a busy period
  // (a first event contradicting it wins: /proc is read a little before the tracepoints start).
  // `loop_epfd`: the loop's epoll fd when known (the first argument in /proc/.../syscall), else the
  // first epoll fd this thread waits on is taken. `loop_frame`: the events buffer of that wait (its
  // second argument), a stack address; 0 when unknown. `since_ns`: when the thread appeared (a
  // worker started during the recording); 0 = the start of the recording.
  //
  // Which fd is the loop's own, when a nested loop (execSync) waits too: loop_wait.h.
  void add_thread(pid_t tid, bool initially_waiting, int loop_epfd = -1, uint64_t since_ns = 0,
                  uint64_t loop_frame = 0);
  bool follows(pid_t tid) const;
  // The thread exited: its figures cover [since, time_ns]. Buffered like the other events.
  void end_thread(pid_t tid, uint64_t time_ns);

  // Events may arrive out of order across sources (perf rings, the wall sampler): they are buffered
  // and processed in time order once older than the reorder window behind the newest time seen.
  // Events of threads not followed are ignored; an event older than what was already processed for
  // its thread is dropped (late_events()).
  // `frame`: the wait's events buffer (0 when unknown), as for add_thread.
  void poll_enter(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame = 0);
  void poll_exit(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame = 0);
  // The thread's poll records after `time_ns` may be lost (sample::PollEvent::gap): the busy period
  // open then, if any, has no known end and is not counted as one (its time still counts as busy).
  void poll_gap(pid_t tid, uint64_t time_ns);
  // `cut_short`: the stack's walk stopped before the thread's entry (unwind::cut_short), so its phase
  // may be unknown; it is bracketed by the whole samples around it (PhaseBracket).
  void sample(pid_t tid, uint64_t time_ns, uint32_t stack_index, uint64_t weight, bool cut_short = false);
  void flush(uint64_t now_ns);  // process events older than now - window
  // The thread's scheduler counters (process::sched_stat), read when it was found and when the
  // recording stopped: LoopHealth::cpu_ns and runnable_ns are what they grew by in between.
  void sched_reading(pid_t tid, uint64_t cpu_ns, uint64_t run_delay_ns);
  // The stack table was compacted (StackTable::compact): renumber every stack index held, in
  // buffered samples, open busy periods and stalls.
  void remap_stacks(const std::vector<uint32_t>& old_to_new);

  size_t buffered() const;       // events waiting in the reorder buffer
  uint64_t late_events() const;  // events dropped because they arrived too late

  // Processes every buffered event up to end_ns and closes each thread's open interval at end_ns.
  // Returns one entry per followed thread, in add_thread order. Call once.
  std::vector<LoopHealth> finish(uint64_t end_ns);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// What a stall without samples says (the thread was off the CPU in cpu mode).
inline constexpr const char* kStallNoSamples =
    "no samples during the stall (the thread was off the CPU: record with --mode wall to see where it waited)";

// The profile keeps the figures as metadata ("loopperf:loop.<tid>.utilization=0.53", ...; see
// docs/labels.md), so `report` and `diff` can show them from the file. store replaces any loop.*
// metadata already there; read ignores malformed values (a stall without a valid duration is dropped).
void store_loop_health(profile::Profile& p, const std::vector<LoopHealth>& health);
std::vector<LoopHealth> read_loop_health(const profile::Profile& p);

}  // namespace loopperf::loop
