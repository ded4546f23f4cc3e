// RAII wrappers for one perf_event fd and its mmap'ed ring buffer.
#pragma once

#include <linux/perf_event.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "loopperf/common/result.h"

namespace loopperf::sample {

struct EventConfig {
  int frequency_hz = 999;
  bool kernel = true;         // sample kernel callchains too
  bool enable_on_exec = false;  // launch mode: start counting at exec
  uint16_t max_stack = 127;   // callchain frames (kernel.perf_event_max_stack)
  size_t ring_pages = 16;     // data pages, power of two
  // The main thread's ring, 0: ring_pages. Its loop is what a recording is most often for, and a
  // ring that fills while loopperf is descheduled loses samples.
  size_t main_ring_pages = 0;
  // DWARF unwinding: also copy the user registers and the top `stack_bytes` of the user stack.
  bool user_regs_and_stack = false;
  uint32_t stack_bytes = 8192;
  uint64_t regs_mask = 0;  // PERF_SAMPLE_REGS_USER register mask
  // Re-draw each thread's period every few dozen samples (jitter.h): no aliasing with periodic work.
  bool jitter = true;
};

// The perf_event_attr loopperf uses for cpu-clock sampling (exposed for tests and docs).
perf_event_attr make_cpu_clock_attr(const EventConfig& cfg);

// For the thread that drains the rings, once: a few nice levels above where it was started when it
// may (root, CAP_SYS_NICE), so that a target keeping every CPU busy does not starve it into losing
// samples; and the soft `ulimit -n` raised to the hard one (one fd per followed thread).
void prepare_sampling_thread();

// Turns a failed perf_event_open errno into an Error whose hint names the fix.
Error perf_open_error(int err, pid_t tid, const EventConfig& cfg);

class PerfEvent {
 public:
  PerfEvent() = default;
  ~PerfEvent();
  PerfEvent(PerfEvent&& o) noexcept;
  PerfEvent& operator=(PerfEvent&& o) noexcept;
  PerfEvent(const PerfEvent&) = delete;
  PerfEvent& operator=(const PerfEvent&) = delete;

  // Opens a per-thread event (cpu = -1) and maps its ring buffer.
  static Result<PerfEvent> open(pid_t tid, const EventConfig& cfg);
  // The same with any attr and ring size (tracepoints); `cpu` >= 0: the task's events on that CPU
  // only (an inherited event, which follows the task's children, can be mapped only per CPU).
  static Result<PerfEvent> open(pid_t tid, perf_event_attr attr, size_t ring_pages, const EventConfig& error_cfg,
                                int cpu = -1);
  // An event without its own ring: its records go to `ring_owner`'s ring (same thread, or with
  // `cpu` >= 0 the same CPU).
  static Result<PerfEvent> open_into(pid_t tid, perf_event_attr attr, const PerfEvent& ring_owner,
                                     const EventConfig& error_cfg, int cpu = -1);
  uint64_t id() const;  // PERF_EVENT_IOC_ID

  int fd() const { return fd_; }
  pid_t tid() const { return tid_; }
  void enable();
  void disable();
  // PERF_EVENT_IOC_PERIOD: a new sampling period (ns for cpu-clock), counted from now; the part of
  // the current period already elapsed is dropped by the kernel. False when the kernel refuses.
  bool set_period(uint64_t period);

  // Calls `fn` for every complete record in the ring, then releases the space.
  // Records that wrap around the end of the ring are copied into `scratch` so `fn` always sees
  // contiguous bytes. Returns the number of records.
  size_t drain(const std::function<void(const perf_event_header*)>& fn);
  // Whether the last drain found the ring (nearly) full: the kernel may have dropped records after
  // the last one drained, from when it filled until that drain gave the space back. The kernel says
  // so only later (PERF_RECORD_LOST, written once a record fits again); a reader deciding on what
  // the records say, between drains, must know at once.
  bool drained_full() const { return drained_full_; }
  // Whether the ring holds records not drained yet (a read of the mapped head, no system call).
  bool has_data() const;

  size_t mapped_bytes() const { return map_size_; }

 private:
  void reset();
  int fd_ = -1;
  pid_t tid_ = 0;
  void* base_ = nullptr;  // metadata page + data pages
  size_t map_size_ = 0;
  size_t data_size_ = 0;
  bool drained_full_ = false;
  std::string scratch_;
};

}  // namespace loopperf::sample
