// When the target's heap may have changed under a cached name: V8's garbage collections, counted per
// thread from a uprobe on Heap::PerformGarbageCollection, the only place objects move. Between two
// collections no object moves and no address is reused, so a JavaScript frame's slots that were
// named once stand for the same functions until the thread's next collection (heap_reader.h's memo).
//
// A heap's collections run on the thread that owns it, synchronously: a sample of that thread taken
// outside PerformGarbageCollection, after the begin of collection N, was taken after N ended. So a
// begin probe is enough (StackNamer tells a sample inside the function by its frames).
//
// One small ring per JavaScript thread, opened the first time the thread's stacks are named. Costs
// the target a breakpoint trap per collection (not measurable at 55 collections a second) and nothing
// otherwise; the kernel removes the breakpoint when loopperf's fd closes, on any exit, SIGKILL
// included. Closing one takes an RCU grace period (about 0.1 s here), serialized in the kernel: a
// recording ends that much later per JavaScript thread probed. Needs the uprobe PMU and the right to
// use it (root or CAP_PERFMON); without them create() fails and every sample's frames are read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/sample/perf_event.h"

namespace loopperf::v8 {

class GcEpochs {
 public:
  // `exe`: a path the kernel resolves to the target's executable (/proc/PID/exe works across mount
  // namespaces); `offset`: the file offset of Heap::PerformGarbageCollection in it.
  static Result<std::unique_ptr<GcEpochs>> create(pid_t pid, const std::string& exe, uint64_t offset);
  ~GcEpochs();
  GcEpochs(const GcEpochs&) = delete;
  GcEpochs& operator=(const GcEpochs&) = delete;

  // How many collections thread `tid` had begun before `time_ns` (CLOCK_MONOTONIC, a sample's
  // time), counted from when it was first asked about; nullopt when not known: the time precedes
  // the thread's probe or the history kept, records were lost since, or the thread cannot be
  // probed. The first call for a thread opens its probe (and says nullopt).
  std::optional<uint64_t> epoch_at(pid_t tid, uint64_t time_ns);
  // The same for this moment.
  std::optional<uint64_t> epoch_now(pid_t tid);
  // The thread exited: its probe is closed, in the background.
  void forget(pid_t tid);
  // Nothing is known from now on: every probe is retired. With `release`, the retired probes are
  // closed now, in the background (the destructor waits for it).
  void close(bool release = true);
  // Closes the retired probes in the background. Closing a uprobe waits for an RCU grace period
  // (~0.1 s), and a tracepoint or uprobe opened meanwhile (a process starting) can wait for it: a
  // recording of a process tree closes its exited processes' probes at its end.
  void release();

  struct Stats {
    uint64_t threads = 0;      // threads probed
    uint64_t collections = 0;  // collections seen
    uint64_t lost = 0;         // records the kernel dropped (a full ring): history restarted
    uint64_t refused = 0;      // threads whose probe could not be opened
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Thread {
    sample::PerfEvent ring;
    uint64_t valid_from_ns = 0;   // nothing is known before this (probe opened, records lost)
    uint64_t count = 0;           // collections begun
    std::deque<uint64_t> begins;  // the last begins' times, oldest first
  };
  GcEpochs(pid_t pid, std::string exe, uint64_t offset, uint32_t pmu_type)
      : pid_(pid), exe_(std::move(exe)), offset_(offset), pmu_type_(pmu_type) {}
  Thread* thread(pid_t tid);  // nullptr: not probed (just opened, or refused)
  void update(Thread& t);
  bool open(pid_t tid);
  void close_in_background(sample::PerfEvent ev);

  pid_t pid_;
  std::string exe_;
  uint64_t offset_;
  uint32_t pmu_type_;
  std::map<pid_t, Thread> threads_;
  std::set<pid_t> refused_;
  Stats stats_;
  std::vector<sample::PerfEvent> retired_;  // an exited process's probes, not closed yet
  std::vector<std::future<void>> closing_;
  bool closed_ = false;
};

}  // namespace loopperf::v8
