#include "loopperf/sample/poll_tracer.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <sstream>

#include "loopperf/common/duration.h"
#include "loopperf/common/fd_budget.h"
#include "loopperf/common/fs.h"

namespace loopperf::sample {

namespace {

std::string tracefs_root() {
  auto mounts = read_small_file("/proc/mounts");
  if (mounts) {
    std::istringstream in(*mounts);
    std::string dev, dir, type;
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      fields >> dev >> dir >> type;
      if (type == "tracefs") return dir;
    }
    in.clear();
    in.str(*mounts);
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      fields >> dev >> dir >> type;
      if (type == "debugfs") return dir + "/tracing";
    }
  }
  // Not mounted: the kernel has it built in; mounting it (root only) changes nothing but visibility.
  if (::geteuid() == 0 && ::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0) return "/sys/kernel/tracing";
  return {};
}

// Layout with sample_type IDENTIFIER | TID | TIME | RAW (kernel ABI order).
struct Head {
  perf_event_header header;
  uint64_t id;
  uint32_t pid, tid;
  uint64_t time;
  uint32_t raw_size;
};

}  // namespace

Result<uint64_t> tracepoint_id(const std::string& category, const std::string& name) {
  const uint64_t shortages_before = fd_shortages();
  std::string root = tracefs_root();
  // /proc/mounts unreadable for want of a descriptor says nothing about tracefs.
  if (root.empty() && fd_shortages() != shortages_before)
    return make_error(ErrorCode::kResource, "out of file descriptors (ulimit -n is " + std::to_string(fd_limit()) + ")",
                      "raise `ulimit -n`: loopperf needs one per thread, four more per node thread for loop health");
  if (root.empty())
    return make_error(ErrorCode::kPermission, "tracefs is not mounted, so syscall tracepoints cannot be found",
                      "mount it (sudo mount -t tracefs nodev /sys/kernel/tracing) or run loopperf as root");
  std::string path = root + "/events/" + category + "/" + name + "/id";
  auto text = read_small_file(path);
  if (!text && (errno == EMFILE || errno == ENFILE))
    return make_error(ErrorCode::kResource, "cannot read " + path + ": " + std::strerror(errno),
                      "raise `ulimit -n`: loopperf needs one per thread, four more per node thread for loop health");
  if (!text)
    return make_error(ErrorCode::kPermission, "cannot read " + path + ": " + std::strerror(errno),
                      "tracefs needs root (or a tracing group with access); the kernel needs CONFIG_FTRACE_SYSCALLS");
  return static_cast<uint64_t>(std::strtoull(text->c_str(), nullptr, 10));
}

Result<std::unique_ptr<PollTracer>> PollTracer::create(pid_t pid, EventFn fn, SignalFn on_signal) {
  std::unique_ptr<PollTracer> t(new PollTracer(pid, std::move(fn), std::move(on_signal)));
  for (const char* name : {"sys_enter_epoll_pwait", "sys_exit_epoll_pwait", "sys_enter_epoll_wait", "sys_exit_epoll_wait"}) {
    auto id = tracepoint_id("syscalls", name);
    if (!id) return id.error();
    t->ids_.push_back(*id);
  }
  if (t->on_signal_) {
    auto id = tracepoint_id("signal", "signal_deliver");
    if (!id) return id.error();
    t->ids_.push_back(*id);
  }
  return t;
}

void PollTracer::add_thread(pid_t tid) {
  if (threads_.count(tid)) return;
  EventConfig err_cfg;
  auto attr_for = [](uint64_t id) {
    perf_event_attr a{};
    a.size = sizeof a;
    a.type = PERF_TYPE_TRACEPOINT;
    a.config = id;
    a.sample_period = 1;
    a.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW;
    a.use_clockid = 1;
    a.clockid = CLOCK_MONOTONIC;
    a.watermark = 1;
    a.wakeup_watermark = 16384;
    return a;
  };
  auto ring = PerfEvent::open(tid, attr_for(ids_[0]), 64, err_cfg);
  if (!ring) return;
  Thread th{std::move(ring.value()), {}, {}, -1};
  th.kinds[th.ring.id()] = 0;
  for (size_t i = 1; i < ids_.size(); i++) {
    auto ev = PerfEvent::open_into(tid, attr_for(ids_[i]), th.ring, err_cfg);
    if (!ev) {
      // The syscall tracepoints may be opened on one's own tasks without privilege; the signal one's
      // raw data needs CAP_PERFMON (or kernel.perf_event_paranoid -1): say so once.
      if (static_cast<int>(i) == kSignalKind && signal_problem_.empty())
        signal_problem_ = ev.error().message + (ev.error().hint.empty() ? "" : " — hint: " + ev.error().hint);
      continue;
    }
    th.kinds[ev->id()] = static_cast<int>(i);
    ev->enable();
    th.others.push_back(std::move(ev.value()));
  }
  th.ring.enable();
  threads_.emplace(tid, std::move(th));
}

void PollTracer::remove_thread(pid_t tid) {
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  drain(it->second);
  threads_.erase(it);
}

void PollTracer::handle(Thread& t, const perf_event_header* h) {
  if (h->type == PERF_RECORD_LOST) {
    uint64_t lost[2];
    if (h->size >= sizeof(perf_event_header) + 16) std::memcpy(lost, h + 1, 16), lost_ += lost[1];
    // Which wait the next exit ends is unknown now: the enters since the last one seen may be lost.
    t.open_epfd = -1;
    t.open_frame = 0;
    // Said already when the drain before found the ring full; said here when it did not.
    if (!t.in_gap) gap(static_cast<pid_t>(t.ring.tid()), t);
    return;
  }
  constexpr size_t kRawOffset = offsetof(Head, raw_size) + sizeof(uint32_t);  // the raw bytes follow the u32 size
  if (h->type != PERF_RECORD_SAMPLE || h->size < kRawOffset) return;
  Head head{};
  std::memcpy(&head, h, kRawOffset);
  auto kind = t.kinds.find(head.id);
  if (kind == t.kinds.end()) return;
  t.last_ns = head.time;
  t.in_gap = false;
  const char* raw = reinterpret_cast<const char*>(h) + kRawOffset;
  if (kind->second == kSignalKind) {
    // signal:signal_deliver: common fields (8 bytes), then int sig.
    int32_t sig = 0;
    if (head.raw_size >= 12 && kRawOffset + 12 <= h->size) std::memcpy(&sig, raw + 8, 4);
    if (on_signal_) on_signal_(static_cast<pid_t>(head.tid), head.time, sig);
    return;
  }
  PollEvent e;
  e.tid = static_cast<pid_t>(head.tid);
  e.time_ns = head.time;
  e.enter = kind->second % 2 == 0;
  if (e.enter) {
    // syscalls:sys_enter_*: common fields (8 bytes), __syscall_nr (int, padded), then args[0] = epfd,
    // args[1] = the events buffer.
    uint64_t epfd = 0, frame = 0;
    if (head.raw_size >= 24 && kRawOffset + 24 <= h->size) std::memcpy(&epfd, raw + 16, 8);
    if (head.raw_size >= 32 && kRawOffset + 32 <= h->size) std::memcpy(&frame, raw + 24, 8);
    e.epfd = static_cast<int>(epfd);
    e.frame = frame;
    t.open_epfd = e.epfd;
    t.open_frame = frame;
  } else {
    e.epfd = t.open_epfd;  // the exit does not say; syscalls on one thread do not nest
    e.frame = t.open_frame;
    t.open_epfd = -1;
    t.open_frame = 0;
  }
  events_++;
  fn_(e);
}

void PollTracer::drain(Thread& t) {
  t.ring.drain([&](const perf_event_header* h) { handle(t, h); });
  // The kernel's PERF_RECORD_LOST comes with the next record that fits, which for a loop waiting in
  // its poll may be long after: until then the last record seen would stand for the thread's state
  // (an exit read as a busy period that never ends: a false stall).
  if (t.ring.drained_full()) gap(static_cast<pid_t>(t.ring.tid()), t);
}

void PollTracer::gap(pid_t tid, Thread& t) {
  t.in_gap = true;
  PollEvent e;
  e.tid = tid;
  e.time_ns = t.last_ns;
  e.gap = true;
  e.until_ns = monotonic_ns();  // the ring has room again: records from now on are kept
  fn_(e);
}

void PollTracer::drain() {
  for (auto& [tid, t] : threads_) drain(t);
}

std::vector<int> PollTracer::fds() const {
  std::vector<int> out;
  for (const auto& [tid, t] : threads_) out.push_back(t.ring.fd());
  return out;
}

}  // namespace loopperf::sample
