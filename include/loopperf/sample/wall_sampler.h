// Wall-clock sampling of a few threads (the event loops), whether they run or wait: a sampler
// thread stops each one for a moment with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT, never SIGSTOP),
// copies its registers and the top of its stack, and detaches at once. Unwinding happens later on
// the copy, after the thread already runs again.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace loopperf::sample {

struct WallSample {
  pid_t tid = 0;
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC at the stop
  user_regs_struct regs{};
  long syscall = -1;     // the system call it was blocked in (orig_rax), -1 when running
  std::vector<uint8_t> stack;  // from regs.rsp upwards
};

struct WallStats {
  uint64_t samples = 0;
  uint64_t dropped = 0;         // the queue was full (the consumer fell behind)
  uint64_t failed = 0;          // the thread could not be stopped (exited, ptrace refused)
  uint64_t stopped_ns_total = 0;
  uint64_t stopped_ns_max = 0;
};

class WallSampler {
 public:
  WallSampler(pid_t pid, int frequency_hz, size_t stack_bytes);
  ~WallSampler();  // stops the thread

  void start();
  void stop();
  void set_threads(const std::set<pid_t>& tids);  // thread-safe
  // Takes what was sampled since the last call (thread-safe).
  std::vector<WallSample> take();
  WallStats stats() const;

 private:
  void run();
  void sample_one(pid_t tid);

  pid_t pid_;
  std::chrono::nanoseconds period_;
  size_t stack_bytes_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  mutable std::mutex mu_;
  std::set<pid_t> tids_;
  std::vector<WallSample> queue_;
  WallStats stats_;
};

}  // namespace loopperf::sample
