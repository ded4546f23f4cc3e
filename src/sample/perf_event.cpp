#include "loopperf/sample/perf_event.h"


#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "loopperf/common/fd_budget.h"
#include "loopperf/common/fs.h"
#include "loopperf/process/process.h"

namespace loopperf::sample {

perf_event_attr make_cpu_clock_attr(const EventConfig& cfg) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;  // hardware counters are not available in many VMs
  attr.freq = 1;
  attr.sample_freq = static_cast<uint64_t>(cfg.frequency_hz);
  attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
  attr.disabled = 1;
  attr.enable_on_exec = cfg.enable_on_exec ? 1 : 0;
  attr.exclude_kernel = cfg.kernel ? 0 : 1;
  attr.exclude_hv = 1;
  attr.exclude_callchain_kernel = cfg.kernel ? 0 : 1;
  attr.comm = 1;  // thread renames (and exec) arrive as PERF_RECORD_COMM
  attr.use_clockid = 1;
  attr.clockid = CLOCK_MONOTONIC;  // same clock as V8's jitdump and our own timestamps
  attr.sample_max_stack = cfg.max_stack;
  if (cfg.user_regs_and_stack) {
    attr.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
    attr.sample_regs_user = cfg.regs_mask;
    attr.sample_stack_user = cfg.stack_bytes;
  }
  attr.watermark = 1;
  attr.wakeup_watermark = static_cast<uint32_t>(cfg.ring_pages * 4096 / 4);  // wake at a quarter full
  return attr;
}

static std::string sysctl_value(const char* path) {
  auto v = read_small_file(path);
  if (!v) return "?";
  std::string s = *v;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Error perf_open_error(int err, pid_t tid, const EventConfig& cfg) {
  std::string what = "perf_event_open on thread " + std::to_string(tid) + " failed: " + std::strerror(err);
  switch (err) {
    case EACCES:
    case EPERM:
      // Another user's process: ownership is the cause, and lowering the sysctl would not do.
      if (std::string owner = process::foreign_owner(tid); !owner.empty())
        return make_error(ErrorCode::kPermission, what,
                          owner + ": run loopperf as that user, or as root (CAP_PERFMON and CAP_SYS_PTRACE)");
      return make_error(ErrorCode::kPermission, what,
                        "kernel.perf_event_paranoid is " + sysctl_value("/proc/sys/kernel/perf_event_paranoid") +
                            ": run as root, grant CAP_PERFMON (and CAP_SYS_PTRACE for another user's process), "
                            "or `sudo sysctl kernel.perf_event_paranoid=1`" +
                            (cfg.kernel ? " (or -1 for kernel frames)" : ""));
    case ESRCH:
      return make_error(ErrorCode::kNoProcess, what, "the thread or process exited");
    case EMFILE:
    case ENFILE:
      note_fd_shortage(err);
      return make_error(ErrorCode::kResource, what, "too many open files: raise `ulimit -n` (one fd per thread)");
    case ENOENT:
    case ENODEV:
    case EOPNOTSUPP:
      return make_error(ErrorCode::kPermission, what,
                        "the kernel does not offer the cpu-clock software event here; in a container, allow "
                        "perf_event_open in the seccomp profile");
    case EINVAL:
      return make_error(ErrorCode::kResource, what,
                        "the rate or stack depth may exceed kernel.perf_event_max_sample_rate (" +
                            sysctl_value("/proc/sys/kernel/perf_event_max_sample_rate") +
                            ") or kernel.perf_event_max_stack (" +
                            sysctl_value("/proc/sys/kernel/perf_event_max_stack") + "): lower -F");
    default:
      return make_error(ErrorCode::kResource, what);
  }
}

// The rings must be drained in time even when the target keeps every CPU busy: at the caller's
// priority the sampler gets a 1/(busy threads + 1) share of a CPU, and with stack copies (dwarf,
// auto: ~60 samples per ring) a wait of a few hundred ms loses samples; the stop phase crawls the
// same way. Its own work is small (tens of µs per sample), so the sampling thread runs a few nice
// levels above where it was started, when it may (root, CAP_SYS_NICE); otherwise as it is. Only
// this thread: a launched target was forked before and keeps its priority.
static constexpr int kNiceBoost = 5;
static void raise_own_priority() {
  const id_t self = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  int nice = ::getpriority(PRIO_PROCESS, self);
  if (errno != 0) return;
  int want = nice - kNiceBoost < -20 ? -20 : nice - kNiceBoost;
  if (want < nice) (void)::setpriority(PRIO_PROCESS, self, want);
}
// One fd per followed thread (and 4 more per node thread for the poll tracepoints): at the common
// soft `ulimit -n` of 1024 the threads would take every fd and leave none to write the profile. The
// soft limit is raised to the hard one, which any process may do.
static void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &lim);
  }
}
void prepare_sampling_thread() {
  raise_own_priority();
  raise_fd_limit();
}

PerfEvent::~PerfEvent() { reset(); }

PerfEvent::PerfEvent(PerfEvent&& o) noexcept { *this = std::move(o); }

PerfEvent& PerfEvent::operator=(PerfEvent&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.fd_;
    tid_ = o.tid_;
    base_ = o.base_;
    map_size_ = o.map_size_;
    data_size_ = o.data_size_;
    drained_full_ = o.drained_full_;
    o.fd_ = -1;
    o.base_ = nullptr;
    o.map_size_ = 0;
  }
  return *this;
}

void PerfEvent::reset() {
  if (base_) ::munmap(base_, map_size_);
  if (fd_ >= 0) ::close(fd_);
  base_ = nullptr;
  fd_ = -1;
  map_size_ = 0;
}

Result<PerfEvent> PerfEvent::open(pid_t tid, const EventConfig& cfg) {
  return open(tid, make_cpu_clock_attr(cfg), cfg.ring_pages, cfg);
}

Result<PerfEvent> PerfEvent::open_into(pid_t tid, perf_event_attr attr, const PerfEvent& ring_owner,
                                       const EventConfig& error_cfg, int cpu) {
  int fd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) return perf_open_error(errno, tid, error_cfg);
  PerfEvent ev;
  ev.fd_ = fd;
  ev.tid_ = tid;
  if (::ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring_owner.fd()) != 0) {
    int err = errno;
    return make_error(ErrorCode::kResource, std::string("PERF_EVENT_IOC_SET_OUTPUT: ") + std::strerror(err));
  }
  return ev;
}

uint64_t PerfEvent::id() const {
  uint64_t id = 0;
  if (fd_ >= 0) ::ioctl(fd_, PERF_EVENT_IOC_ID, &id);
  return id;
}

Result<PerfEvent> PerfEvent::open(pid_t tid, perf_event_attr attr, size_t ring_pages, const EventConfig& cfg,
                                  int cpu) {
  int fd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) return perf_open_error(errno, tid, cfg);
  PerfEvent ev;
  ev.fd_ = fd;
  ev.tid_ = tid;
  ev.data_size_ = ring_pages * 4096;
  ev.map_size_ = ev.data_size_ + 4096;
  ev.base_ = ::mmap(nullptr, ev.map_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ev.base_ == MAP_FAILED) {
    int err = errno;
    ev.base_ = nullptr;
    ev.map_size_ = 0;
    return make_error(ErrorCode::kResource,
                      "cannot map the perf ring buffer for thread " + std::to_string(tid) + ": " + std::strerror(err),
                      "the locked-memory budget is exhausted: raise kernel.perf_event_mlock_kb (now " +
                          sysctl_value("/proc/sys/kernel/perf_event_mlock_kb") + " KiB) or `ulimit -l`");
  }
  return ev;
}

void PerfEvent::enable() {
  if (fd_ >= 0) ::ioctl(fd_, PERF_EVENT_IOC_ENABLE, 0);
}
void PerfEvent::disable() {
  if (fd_ >= 0) ::ioctl(fd_, PERF_EVENT_IOC_DISABLE, 0);
}
bool PerfEvent::set_period(uint64_t period) {
  return fd_ >= 0 && ::ioctl(fd_, PERF_EVENT_IOC_PERIOD, &period) == 0;
}

bool PerfEvent::has_data() const {
  if (!base_) return false;
  const auto* meta = static_cast<const perf_event_mmap_page*>(base_);
  return __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE) != meta->data_tail;
}

size_t PerfEvent::drain(const std::function<void(const perf_event_header*)>& fn) {
  if (!base_) return 0;
  auto* meta = static_cast<perf_event_mmap_page*>(base_);
  auto* data = static_cast<const char*>(base_) + 4096;
  uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  // Less room left than a large record takes: the next one may not have fit.
  constexpr uint64_t kFullSlack = 512;
  drained_full_ = head - tail + kFullSlack > data_size_;
  size_t count = 0;
  while (tail < head) {
    size_t off = tail % data_size_;
    perf_event_header hdr;
    if (off + sizeof hdr <= data_size_) {
      std::memcpy(&hdr, data + off, sizeof hdr);
    } else {
      size_t first = data_size_ - off;
      std::memcpy(&hdr, data + off, first);
      std::memcpy(reinterpret_cast<char*>(&hdr) + first, data, sizeof hdr - first);
    }
    if (hdr.size < sizeof hdr || tail + hdr.size > head) break;  // corrupt or partial: stop here
    const perf_event_header* rec;
    if (off + hdr.size <= data_size_) {
      rec = reinterpret_cast<const perf_event_header*>(data + off);
    } else {
      scratch_.resize(hdr.size);
      size_t first = data_size_ - off;
      std::memcpy(scratch_.data(), data + off, first);
      std::memcpy(scratch_.data() + first, data, hdr.size - first);
      rec = reinterpret_cast<const perf_event_header*>(scratch_.data());
    }
    fn(rec);
    tail += hdr.size;
    count++;
  }
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  return count;
}

}  // namespace loopperf::sample
