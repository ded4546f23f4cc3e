#include "loopperf/common/duration.h"
#include "loopperf/sample/wall_sampler.h"

#include "loopperf/sample/jitter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <new>
#include <cstring>

#include "loopperf/process/ptrace_stop.h"

namespace loopperf::sample {

namespace {
constexpr size_t kMaxQueued = 4096;  // ~4 s at 999 Hz of one thread: the recorder drains every 50 ms

// Reads up to n bytes from addr in page-sized pieces: process_vm_readv stops at the first
// unreadable page (the top of the stack), keeping what came before it.
size_t read_stack(pid_t pid, uint64_t addr, uint8_t* out, size_t n) {
  std::vector<iovec> local, remote;
  uint64_t a = addr;
  size_t done = 0;
  while (done < n) {
    size_t chunk = std::min<size_t>(n - done, 4096 - (a & 4095));
    local.push_back({out + done, chunk});
    remote.push_back({reinterpret_cast<void*>(a), chunk});
    a += chunk;
    done += chunk;
  }
  ssize_t r = ::process_vm_readv(pid, local.data(), local.size(), remote.data(), remote.size(), 0);
  return r > 0 ? static_cast<size_t>(r) : 0;
}

// The system calls libuv's poll phase waits in.
bool is_poll_wait(long nr) {
  return nr == SYS_epoll_wait || nr == SYS_epoll_pwait
#ifdef SYS_epoll_pwait2
         || nr == SYS_epoll_pwait2
#endif
      ;
}

// The return value of a system call the kernel restarts by itself when no signal handler runs
// (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK: kernel-internal codes).
bool restarts(unsigned long long rax) {
  const auto v = static_cast<long long>(rax);
  return v == -512 || v == -513 || v == -514 || v == -516;
}

uint64_t word_at(const std::vector<uint8_t>& stack, uint64_t base, uint64_t addr) {
  uint64_t v = 0;
  std::memcpy(&v, stack.data() + (addr - base), sizeof v);
  return v;
}
}  // namespace

WallSampler::WallSampler(pid_t pid, int frequency_hz, size_t stack_bytes)
    : pid_(pid), period_(std::chrono::nanoseconds(1'000'000'000 / frequency_hz)), stack_bytes_(stack_bytes) {}

WallSampler::~WallSampler() {
  stop();
  forget_gone({});
}

void WallSampler::start() {
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void WallSampler::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
}

void WallSampler::set_threads(const std::set<pid_t>& tids) {
  std::lock_guard lock(mu_);
  tids_ = tids;
}

std::vector<WallSample> WallSampler::take() {
  std::lock_guard lock(mu_);
  std::vector<WallSample> out;
  out.swap(queue_);
  return out;
}

std::vector<std::pair<pid_t, std::string>> WallSampler::take_refused() {
  std::lock_guard lock(mu_);
  std::vector<std::pair<pid_t, std::string>> out;
  out.swap(refused_);
  return out;
}

WallStats WallSampler::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// Reads /proc/PID/task/TID/<name> into buf (NUL-terminated), opening it on first use and keeping
// the fd: such files are generated at each read from offset 0. False when it cannot be read.
static bool read_task_file(pid_t pid, pid_t tid, const char* name, int& fd, char* buf, size_t size) {
  if (fd < 0) {
    std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/" + name;
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
  }
  ssize_t n = ::pread(fd, buf, size - 1, 0);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

std::optional<WallSampler::Blocked> WallSampler::blocked_in(Watched& w, pid_t tid) {
  // "nr arg1 .. arg6 sp pc" while blocked in a system call, "running" or "-1 sp pc" otherwise; the
  // kernel reads it without stopping the thread (it waits for it to be off the CPU, which a
  // blocked thread already is).
  char buf[256];
  if (!read_task_file(pid_, tid, "syscall", w.syscall_fd, buf, sizeof buf)) return std::nullopt;
  Blocked b;
  if (std::strncmp(buf, "running", 7) == 0) {
    b.running = true;
    return b;
  }
  uint64_t args[6];
  if (std::sscanf(buf, "%ld %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
                  " %" SCNx64,
                  &b.nr, &args[0], &args[1], &args[2], &args[3], &args[4], &args[5], &b.sp, &b.pc) != 9)
    return std::nullopt;
  return b;
}

std::optional<uint64_t> WallSampler::runs_of(Watched& w, pid_t tid) {
  char buf[128];
  if (!read_task_file(pid_, tid, "schedstat", w.schedstat_fd, buf, sizeof buf)) return std::nullopt;
  uint64_t on_cpu = 0, waited = 0, runs = 0;  // "ns on the CPU, ns waiting to run, times run"
  if (std::sscanf(buf, "%" SCNu64 " %" SCNu64 " %" SCNu64, &on_cpu, &waited, &runs) != 3) return std::nullopt;
  return runs;
}

std::optional<WallSample> WallSampler::sample_waiting(Watched& w, pid_t tid, const Blocked& now) {
  auto at = std::find_if(w.waits.begin(), w.waits.end(), [&](const PollWait& p) {
    return Blocked{p.sample.syscall, p.sample.regs.rsp, p.sample.regs.rip} == now;
  });
  if (at == w.waits.end()) return std::nullopt;
  const WallSample& last = at->sample;
  const Blocked where = now;
  WallSample s;
  s.tid = tid;
  s.time_ns = monotonic_ns();
  s.regs = last.regs;
  s.syscall = last.syscall;
  s.stack.resize(stack_bytes_);
  s.stack.resize(read_stack(pid_, where.sp, s.stack.data(), s.stack.size()));
  // The registers the stack itself does not hold (the frame pointer, the callee-saved ones) are
  // the last stop's. When rbp points into the stack (a frame pointer), the frame it points to must
  // still be linked the same way; otherwise (node 20-26 wait with rbp = 0) the unwinder follows
  // the CFI, which reads the fresh copy.
  const uint64_t fp = last.regs.rbp, base = where.sp;
  const uint64_t top = base + std::min(s.stack.size(), last.stack.size());
  if (fp >= base && fp + 16 <= top &&
      (word_at(s.stack, base, fp) != word_at(last.stack, base, fp) ||
       word_at(s.stack, base, fp + 8) != word_at(last.stack, base, fp + 8)))
    return std::nullopt;
  if (s.stack.empty()) return std::nullopt;
  // Still in that wait after the read: the copy is of a stack that did not move meanwhile (a
  // return and a new wait at the same place leave the same frames).
  auto after = blocked_in(w, tid);
  if (!after || !(*after == where)) return std::nullopt;
  return s;
}

void WallSampler::sample_one(pid_t tid) {
  Watched& w = watched_[tid];
  auto now = blocked_in(w, tid);  // nullopt: cannot tell (stop, as before /proc said)
  if (now && now->running) {
    std::lock_guard lock(mu_);
    stats_.on_cpu++;
    return;
  }
  if (now && is_poll_wait(now->nr)) {
    if (auto waiting = sample_waiting(w, tid, *now)) {
      record(std::move(*waiting), 0, false);
      return;
    }
  } else if (now && w.episode) {
    const WallSample& last = w.episode->sample;
    auto runs = runs_of(w, tid);
    if (*now == Blocked{last.syscall, last.regs.rsp, last.regs.rip} && runs && *runs == w.episode->runs) {
      WallSample s = last;
      s.time_ns = monotonic_ns();
      record(std::move(s), 0, false);
      return;
    }
  }
  w.episode.reset();
  WallSample s;
  s.tid = tid;
  s.stack.resize(stack_bytes_);
  uint64_t stopped_ns;
  {
    auto stop = process::PtraceStop::stop(tid);
    if (!stop) {
      std::lock_guard lock(mu_);
      stats_.failed++;
      if (stop.error().code == ErrorCode::kPermission && ++w.refusals == kRefusalsToGiveUp)
        refused_.emplace_back(tid, stop.error().message);
      return;
    }
    w.refusals = 0;
    s.time_ns = monotonic_ns();
    s.regs = stop->regs();
    s.syscall = stop->syscall();
    s.stack.resize(read_stack(pid_, s.regs.rsp, s.stack.data(), s.stack.size()));
    // Only a call the stop interrupted, which the thread restarts at once after the detach: one
    // that completed meanwhile lets it run on, and a later wait at the same place is another one.
    if (s.syscall >= 0 && !is_poll_wait(s.syscall) && restarts(s.regs.rax))
      if (auto runs = runs_of(w, tid)) w.episode = Episode{s, *runs + 1};
    stop->detach();
    stopped_ns = static_cast<uint64_t>(stop->stopped_for().count());
  }
  if (is_poll_wait(s.syscall)) {  // kept while the thread runs: it comes back
    const Blocked here{s.syscall, s.regs.rsp, s.regs.rip};
    std::erase_if(w.waits, [&](const PollWait& p) {
      return Blocked{p.sample.syscall, p.sample.regs.rsp, p.sample.regs.rip} == here;
    });
    if (w.waits.size() >= kWaitPlaces) w.waits.erase(w.waits.begin());
    w.waits.push_back(PollWait{s});
  }
  if (s.syscall < 0) {  // it was running after all (woke meanwhile): its cpu samples tell
    std::lock_guard lock(mu_);
    stats_.on_cpu++;
    stats_.stopped_ns_total += stopped_ns;
    stats_.stopped_ns_max = std::max(stats_.stopped_ns_max, stopped_ns);
    stats_.stops++;
    return;
  }
  record(std::move(s), stopped_ns, true);
}

void WallSampler::record(WallSample&& s, uint64_t stopped_ns, bool stopped) {
  std::lock_guard lock(mu_);
  stats_.samples++;
  if (stopped) {
    stats_.stops++;
    stats_.stopped_ns_total += stopped_ns;
    stats_.stopped_ns_max = std::max(stats_.stopped_ns_max, stopped_ns);
  } else {
    stats_.unstopped++;
  }
  if (queue_.size() >= kMaxQueued) {
    stats_.dropped++;
    return;
  }
  queue_.push_back(std::move(s));
}

void WallSampler::forget_gone(const std::set<pid_t>& tids) {
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (tids.count(it->first)) {
      ++it;
      continue;
    }
    if (it->second.syscall_fd >= 0) ::close(it->second.syscall_fd);
    if (it->second.schedstat_fd >= 0) ::close(it->second.schedstat_fd);
    it = watched_.erase(it);
  }
}

void WallSampler::run() {
  // Absolute deadlines: the rate does not drift with the time each round takes. Each interval is
  // drawn from [0.5, 1.5] x period (jitter.h): a fixed one aliases with the target's own timers.
  PeriodJitter jitter(static_cast<uint64_t>(period_.count()));
  auto next = std::chrono::steady_clock::now();
  constexpr int kMaxOutOfMemory = 100;
  int oom_in_a_row = 0;
  while (running_) {
    std::set<pid_t> tids;
    {
      std::lock_guard lock(mu_);
      tids = tids_;
    }
    // Out of memory in a round (a copy, a queue entry) costs that round, not loopperf: an exception
    // leaving this thread would end the process and the profile with it. A thread it had stopped
    // is detached by PtraceStop's destructor on the way out.
    try {
      forget_gone(tids);
      for (pid_t tid : tids) sample_one(tid);
      oom_in_a_row = 0;
    } catch (const std::bad_alloc&) {
      std::lock_guard lock(mu_);
      stats_.out_of_memory++;
      if (++oom_in_a_row >= kMaxOutOfMemory) break;
    }
    next += std::chrono::nanoseconds(jitter.next());
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // fell behind (a slow stop): skip, do not burst
    std::this_thread::sleep_until(next);
  }
}

}  // namespace loopperf::sample
