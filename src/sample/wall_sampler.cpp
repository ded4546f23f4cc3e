#include "loopperf/common/duration.h"
#include "loopperf/sample/wall_sampler.h"

#include "loopperf/sample/jitter.h"

#include <sys/uio.h>
#include <time.h>

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
}  // namespace

WallSampler::WallSampler(pid_t pid, int frequency_hz, size_t stack_bytes)
    : pid_(pid), period_(std::chrono::nanoseconds(1'000'000'000 / frequency_hz)), stack_bytes_(stack_bytes) {}

WallSampler::~WallSampler() { stop(); }

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

WallStats WallSampler::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void WallSampler::sample_one(pid_t tid) {
  WallSample s;
  s.tid = tid;
  s.stack.resize(stack_bytes_);
  uint64_t stopped_ns;
  {
    auto stop = process::PtraceStop::stop(tid);
    if (!stop) {
      std::lock_guard lock(mu_);
      stats_.failed++;
      return;
    }
    s.time_ns = monotonic_ns();
    s.regs = stop->regs();
    s.syscall = stop->syscall();
    s.stack.resize(read_stack(pid_, s.regs.rsp, s.stack.data(), s.stack.size()));
    stop->detach();
    stopped_ns = static_cast<uint64_t>(stop->stopped_for().count());
  }
  std::lock_guard lock(mu_);
  stats_.samples++;
  stats_.stopped_ns_total += stopped_ns;
  stats_.stopped_ns_max = std::max(stats_.stopped_ns_max, stopped_ns);
  if (queue_.size() >= kMaxQueued) {
    stats_.dropped++;
    return;
  }
  queue_.push_back(std::move(s));
}

void WallSampler::run() {
  // Absolute deadlines: the rate does not drift with the time each round takes. Each interval is
  // drawn from [0.5, 1.5] x period (jitter.h): a fixed one aliases with the target's own timers.
  PeriodJitter jitter(static_cast<uint64_t>(period_.count()));
  auto next = std::chrono::steady_clock::now();
  while (running_) {
    std::set<pid_t> tids;
    {
      std::lock_guard lock(mu_);
      tids = tids_;
    }
    for (pid_t tid : tids) sample_one(tid);
    next += std::chrono::nanoseconds(jitter.next());
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // fell behind (a slow stop): skip, do not burst
    std::this_thread::sleep_until(next);
  }
}

}  // namespace loopperf::sample
