// Wall-clock sampling of a few threads (the event loops) while they are off the CPU. At each tick
// the sampler reads /proc/PID/task/TID/syscall, which the kernel fills without stopping or
// signalling the thread. A thread on a CPU ("running") gets no wall sample: its cpu-clock samples,
// taken at the same rate, tell that time, and stopping a running thread only slows it. A thread
// blocked in a system call is stopped for a moment with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT,
// never SIGSTOP), its registers and the top of its stack copied, and detached at once. Unwinding
// happens later on the copy, after the thread already runs again. A stop that finds the thread
// running after all (it woke meanwhile) gives no sample either.
//
// Nor is the loop's poll wait stopped. A stop ends epoll_pwait with EINTR, and libuv then starts a new
// idle period: the target's own eventLoopUtilization() loses the idle time of every interrupted
// wait (0.62-0.67 instead of 0.51 at 199 Hz). So a thread that /proc/PID/task/TID/syscall shows
// blocked in an epoll wait (read without stopping or signalling it) is sampled from outside: its
// stack is read as it is, and the registers are those of the last stop in the same wait (same
// system call, stack pointer and pc), provided the frame-pointer link they lead to is unchanged in
// the fresh copy. Only the first wait at a new place is stopped.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
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
  uint64_t unstopped = 0;       // of samples: taken in a poll wait without stopping the thread
  uint64_t on_cpu = 0;          // ticks that found the thread on a CPU: its cpu-clock samples tell
  uint64_t stops = 0;           // ptrace stops (the stop_ns figures are over these)
  uint64_t stopped_ns_total = 0;
  uint64_t stopped_ns_max = 0;
  // Rounds given up for want of memory (an allocation failed: `ulimit -v`, a cgroup's limit). The
  // sampling thread goes on; after 100 such rounds in a row it ends and cpu samples stay.
  uint64_t out_of_memory = 0;
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
  // Threads that ptrace refused kRefusalsToGiveUp times in a row (another tracer, such as gdb or
  // strace, holds them), with why; each is returned once (thread-safe). The caller stops wall
  // sampling them.
  static constexpr int kRefusalsToGiveUp = 3;
  std::vector<std::pair<pid_t, std::string>> take_refused();
  WallStats stats() const;

 private:
  // What the last stop saw of a thread blocked in its poll wait: reused while it waits there again.
  struct PollWait {
    WallSample sample;  // regs, syscall and stack of that stop
  };
  struct Blocked {  // /proc/PID/task/TID/syscall of a thread blocked in a system call
    long nr = -1;
    uint64_t sp = 0, pc = 0;
    bool running = false;  // "running": on a CPU (nr, sp, pc unset)
    bool operator==(const Blocked&) const = default;
  };
  // A loop that runs execSync alternates between its own wait and the nested loop's: a few places.
  static constexpr size_t kWaitPlaces = 4;
  // A thread blocked outside its poll, as its last stop saw it. The stop woke it (it ran to the
  // stop, and again to block anew), so its run count (/proc/PID/task/TID/schedstat, third field:
  // times it was scheduled in) was then one more than during the stop. While it stays at that
  // count, it has not run since: the same blocking episode, the same stack, and the stop's sample
  // holds as it is. One stop per episode, however long it blocks.
  struct Episode {
    WallSample sample;
    uint64_t runs = 0;  // the run count while the episode lasts
  };
  struct Watched {
    int syscall_fd = -1;  // /proc/PID/task/TID/syscall, kept open
    int schedstat_fd = -1;  // /proc/PID/task/TID/schedstat, kept open
    std::vector<PollWait> waits;  // the last stop at each place it waited, newest last
    std::optional<Episode> episode;
    int refusals = 0;     // ptrace refused the last stops (kPermission)
  };

  void run();
  void sample_one(pid_t tid);
  std::optional<Blocked> blocked_in(Watched& w, pid_t tid);
  std::optional<uint64_t> runs_of(Watched& w, pid_t tid);
  // The sample of a thread waiting where it last waited, without stopping it; nullopt when it
  // cannot be taken that way (not in a poll wait, somewhere new, the stack changed under the read).
  std::optional<WallSample> sample_waiting(Watched& w, pid_t tid, const Blocked& now);
  void forget_gone(const std::set<pid_t>& tids);
  void record(WallSample&& s, uint64_t stopped_ns, bool stopped);

  pid_t pid_;
  std::chrono::nanoseconds period_;
  size_t stack_bytes_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  mutable std::mutex mu_;
  std::set<pid_t> tids_;
  std::vector<WallSample> queue_;
  std::vector<std::pair<pid_t, std::string>> refused_;
  WallStats stats_;
  std::map<pid_t, Watched> watched_;  // the sampler thread's own, no lock
};

}  // namespace loopperf::sample
