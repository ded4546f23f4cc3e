// The cpu samples of a whole process tree, each process sampled from its first instruction: one
// inherited cpu-clock event per CPU, opened on the launched child while it waits before its exec
// (or, for a running tree, on each of its threads: add_thread). Every process and thread started
// in the tree inherits the events at its fork, so nothing has to be opened when a process starts
// and nothing it runs before loopperf looks at it is missed (a per-process event opened at its
// exec, the alternative, misses its first milliseconds and every process shorter than that).
//
// The kernel maps an inherited event only per CPU (a per-task one refuses mmap with EINVAL), so
// there is one ring per CPU and a sample says its pid and tid; the caller gives each sample to the
// recorder of its process (record/process_tree.h). One event per CPU samples every thread of the
// tree: the target pays for one event per thread, as with per-thread events, not two.
//
// Periods (jitter.h). PERF_EVENT_IOC_PERIOD reaches only the event it is called on, not the copies
// the tree's tasks inherited; a task copies the period its original event has when the task is
// forked. The launched process's first task runs on the original events themselves: its period is
// re-drawn every 32 of its samples, as Sampler does per thread, and every 10 ms while it has not
// been sampled for 10 ms (a launcher waiting for what it started). Every other thread and process is sampled at the
// period drawn last before it was forked, fixed for its life: a random period, so not in step with
// periodic work unless its cycle happens to fall within a small fraction of it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/process/maps.h"
#include "loopperf/sample/jitter.h"
#include "loopperf/sample/perf_event.h"
#include "loopperf/sample/sample_record.h"

namespace loopperf::sample {

class TreeSampler {
 public:
  using SampleFn = std::function<void(const RawSample&)>;
  // A thread's name: at its process's exec (`exec`: the program's name) and when it renames itself.
  using NameFn = std::function<void(pid_t pid, pid_t tid, const char* name, bool exec)>;
  // An executable mapping a process made (its program and libraries at exec, code it loads later),
  // at `time_ns`: what names the samples of a process that was gone before /proc could be read.
  using MapFn = std::function<void(pid_t pid, uint64_t time_ns, process::MapEntry map)>;

  // When the events begin to count: at the launched child's exec, or when enable() is called
  // (a running tree, record -p PID --children).
  enum class Start { kAtExec, kWhenEnabled };
  // Opens the events on thread `tid` (launch mode: the child, which has not exec'd yet), counting
  // in it and in every process and thread it starts from then on. `cfg.ring_pages` is each CPU's
  // ring; halved down to 16 when the locked-memory budget refuses it. Kernel callchains fall back
  // to user ones when the kernel refuses them (said once, as Sampler does).
  static Result<std::unique_ptr<TreeSampler>> open(pid_t tid, EventConfig cfg, Start start = Start::kAtExec);
  // A running tree: the events of another running thread (`pid`'s thread `tid`), one per CPU,
  // writing into the same rings; what it starts from now on inherits them. Its period is re-drawn
  // every 32 of its samples, as the first task's; the events are closed once it has ended.
  Status add_thread(pid_t pid, pid_t tid);
  // Start::kWhenEnabled: every event counts from now on.
  void enable();
  ~TreeSampler();
  TreeSampler(const TreeSampler&) = delete;
  TreeSampler& operator=(const TreeSampler&) = delete;

  // Every record buffered in every CPU's ring, CPU by CPU: records of one CPU come in time order,
  // records of different CPUs do not.
  void drain(const SampleFn& on_sample, const NameFn& on_name, const MapFn& on_map);
  // Stops the events (the recording's end); what they recorded stays to be drained.
  void stop();

  std::vector<int> fds() const;
  pid_t first_tid() const { return pid_; }  // the thread open() was given
  const EventConfig& event() const { return cfg_; }
  uint64_t samples() const { return samples_; }
  uint64_t lost() const { return lost_; }  // dropped by the kernel: a CPU's ring was full
  size_t ring_bytes() const;

 private:
  TreeSampler(pid_t pid, uint64_t nominal_period, Start start)
      : pid_(pid), start_(start), jitter_(nominal_period) {}
  perf_event_attr attr() const;
  // Re-draws the period of events whose task had `since` samples since the last draw, at 32.
  void maybe_redraw(std::vector<PerfEvent*> events, uint32_t& since);
  // Closes the events of added threads that have ended (checked once a second).
  void forget_ended();

  pid_t pid_;
  Start start_;
  EventConfig cfg_;
  PeriodJitter jitter_;
  struct Ring {
    PerfEvent event;
    int cpu = 0;
    uint32_t since_rearm = 0;  // samples of pid_'s first task since its period was re-drawn
  };
  std::vector<Ring> rings_;  // one per CPU that accepted the event
  struct Thread {
    pid_t pid = 0;
    std::vector<PerfEvent> events;  // one per ring
    uint32_t since_rearm = 0;
  };
  std::map<pid_t, Thread> added_;  // add_thread()'s, by tid
  bool enabled_ = false;
  uint64_t samples_ = 0, lost_ = 0;
  uint64_t last_idle_draw_ns_ = 0;  // the period last re-drawn while the first task did not run
  uint64_t first_task_last_ns_ = 0;  // the first task's latest sample
  uint64_t last_forget_ns_ = 0;
};

}  // namespace loopperf::sample
