// One PERF_RECORD_SAMPLE of loopperf's cpu-clock events (perf_event.h, make_cpu_clock_attr): read
// in place from a ring, or copied out of it to be taken in later (a process tree's samples that
// arrive before their process's recorder exists: tree_sampler.h).
#pragma once

#include <linux/perf_event.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "loopperf/sample/perf_event.h"

namespace loopperf::sample {

// One sample, pointing into the ring (valid only during the callback) or into an OwnedSample.
struct RawSample {
  pid_t pid = 0;
  pid_t tid = 0;
  uint64_t time_ns = 0;   // CLOCK_MONOTONIC
  // cpu-clock: nanoseconds of CPU this sample stands for. With jitter the kernel keeps reporting
  // the first period, which is the mean of the drawn ones: right on average, as a sample should be.
  uint64_t period = 0;
  const uint64_t* ips = nullptr;  // callchain with PERF_CONTEXT_* markers
  uint64_t nr = 0;
  // With EventConfig::user_regs_and_stack: the user registers (in the order of the mask's bits;
  // nullptr when the kernel had none, e.g. a kernel thread) and the copied user stack from sp.
  const uint64_t* regs = nullptr;
  size_t regs_count = 0;
  const uint8_t* stack = nullptr;
  uint64_t stack_size = 0;  // valid bytes (the kernel's dyn_size)
};

// Reads a PERF_RECORD_SAMPLE laid out by an event of `cfg` (TID, TIME, PERIOD, CALLCHAIN, then
// REGS_USER and STACK_USER when cfg.user_regs_and_stack). False when the record is malformed.
bool parse_cpu_sample(const perf_event_header* h, const EventConfig& cfg, RawSample& out);

// A sample copied out of its ring.
class OwnedSample {
 public:
  explicit OwnedSample(const RawSample& s);
  // A view of the copy, valid while this object lives and is not moved.
  RawSample view() const;
  size_t bytes() const { return sizeof *this + ips_.size() * 8 + regs_.size() * 8 + stack_.size(); }
  pid_t pid() const { return head_.pid; }
  uint64_t time_ns() const { return head_.time_ns; }

 private:
  RawSample head_;
  bool has_regs_ = false, has_stack_ = false;
  std::vector<uint64_t> ips_, regs_;
  std::vector<uint8_t> stack_;
};

}  // namespace loopperf::sample
