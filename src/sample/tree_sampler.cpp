#include "loopperf/sample/tree_sampler.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "loopperf/common/duration.h"
#include "loopperf/common/log.h"

namespace loopperf::sample {

namespace {
// As Sampler's: each re-draw drops the part of a period already elapsed (~1/64 of the task's CPU
// time from its cpu values at 32), and costs one ioctl.
constexpr uint32_t kRearmSamples = 32;
struct CommHead {
  uint32_t pid, tid;
  // char comm[]: NUL-terminated, padded to 8 bytes; then the IdTrailer
};
// PERF_RECORD_MMAP2's fixed part (linux/perf_event.h), then the file name (NUL-terminated, padded
// to 8 bytes) and the IdTrailer.
struct Mmap2Head {
  uint32_t pid, tid;
  uint64_t addr, len, pgoff;
  uint32_t maj, min;
  uint64_t ino, ino_generation;
  uint32_t prot, flags;
};
// sample_id_all's fields for sample_type TID|TIME|...: the record's pid, tid and time.
struct IdTrailer {
  uint32_t pid, tid;
  uint64_t time;
};
}  // namespace

perf_event_attr TreeSampler::attr() const {
  perf_event_attr attr = make_cpu_clock_attr(cfg_);
  attr.inherit = 1;       // every process and thread of the tree, from its fork on
  // From the launched child's exec: nothing of loopperf's own is sampled.
  attr.enable_on_exec = start_ == Start::kAtExec ? 1 : 0;
  attr.comm_exec = 1;     // a COMM record says when it is an exec
  attr.mmap = 1;          // executable mappings (PERF_RECORD_MMAP2), for processes gone too soon
  attr.mmap2 = 1;
  attr.sample_id_all = 1;  // their time, and the time of COMM records
  return attr;
}

Result<std::unique_ptr<TreeSampler>> TreeSampler::open(pid_t pid, EventConfig cfg, Start start) {
  std::unique_ptr<TreeSampler> t(
      new TreeSampler(pid, 1'000'000'000ULL / static_cast<uint64_t>(cfg.frequency_hz), start));
  const long cpus = std::max(1L, ::sysconf(_SC_NPROCESSORS_CONF));
  auto attr_for = [&t](const EventConfig& c) {
    t->cfg_ = c;
    return t->attr();
  };
  for (int cpu = 0; cpu < cpus; cpu++) {
    Result<PerfEvent> ev = PerfEvent::open(pid, attr_for(cfg), cfg.ring_pages, cfg, cpu);
    // Kernel callchains need more privilege than user ones: user frames only rather than nothing.
    if (!ev && cfg.kernel && ev.error().code == ErrorCode::kPermission && t->rings_.empty()) {
      EventConfig user = cfg;
      user.kernel = false;
      auto retry = PerfEvent::open(pid, attr_for(user), user.ring_pages, user, cpu);
      if (retry) {
        log::warn("kernel frames are not allowed at this kernel.perf_event_paranoid; recording user frames only",
                  "run as root or set kernel.perf_event_paranoid=1 to see kernel frames");
        cfg.kernel = false;
        ev = std::move(retry);
      }
    }
    // The locked-memory budget (kernel.perf_event_mlock_kb, `ulimit -l`) refused the ring: smaller
    // ones, for this CPU and the next.
    while (!ev && ev.error().code == ErrorCode::kResource && cfg.ring_pages > 16) {
      cfg.ring_pages /= 2;
      ev = PerfEvent::open(pid, attr_for(cfg), cfg.ring_pages, cfg, cpu);
    }
    if (ev) {
      t->rings_.push_back(Ring{std::move(*ev), cpu});
      continue;
    }
    // An offline CPU refuses (ENODEV, ENXIO); only a refusal on every CPU is the user's error, and
    // the first CPU's says why.
    if (cpu == 0) {
      Error first = ev.error();
      bool later = false;
      for (int c = 1; c < cpus && !later; c++) later = PerfEvent::open(pid, attr_for(cfg), cfg.ring_pages, cfg, c).ok();
      if (!later) return first;
    }
  }
  if (t->rings_.empty()) return make_error(ErrorCode::kResource, "no CPU accepted the sampling event");
  t->cfg_ = cfg;
  prepare_sampling_thread();
  // Drawn before the exec, so that no task of the tree, the first forked included, is sampled at
  // the nominal period (the one periodic work in step with the rate would alias with).
  if (cfg.jitter)
    for (auto& r : t->rings_)
      if (!r.event.set_period(t->jitter_.next())) t->cfg_.jitter = false;
  return t;
}

TreeSampler::~TreeSampler() { stop(); }

Status TreeSampler::add_thread(pid_t pid, pid_t tid) {
  Thread th;
  th.pid = pid;
  for (const auto& r : rings_) {
    auto ev = PerfEvent::open_into(tid, attr(), r.event, cfg_, r.cpu);
    if (!ev) return ev.error();
    if (cfg_.jitter) (void)ev->set_period(jitter_.next());
    if (enabled_) ev->enable();
    th.events.push_back(std::move(*ev));
  }
  added_[tid] = std::move(th);
  return {};
}

void TreeSampler::enable() {
  enabled_ = true;
  for (auto& r : rings_) r.event.enable();
  for (auto& [tid, th] : added_)
    for (auto& e : th.events) e.enable();
}

void TreeSampler::stop() {
  for (auto& r : rings_) r.event.disable();
  for (auto& [tid, th] : added_)
    for (auto& e : th.events) e.disable();
}

void TreeSampler::maybe_redraw(std::vector<PerfEvent*> events, uint32_t& since) {
  if (!cfg_.jitter || ++since < kRearmSamples) return;
  since = 0;
  for (PerfEvent* e : events)
    if (!e->set_period(jitter_.next())) cfg_.jitter = false;  // a kernel without it: fixed
}

void TreeSampler::forget_ended() {
  const uint64_t now = monotonic_ns();
  if (added_.empty() || now - last_forget_ns_ < 1'000'000'000) return;
  last_forget_ns_ = now;
  std::erase_if(added_, [](const auto& kv) {
    const std::string task = "/proc/" + std::to_string(kv.second.pid) + "/task/" + std::to_string(kv.first);
    return ::access(task.c_str(), F_OK) != 0 && errno == ENOENT;
  });
}

void TreeSampler::drain(const SampleFn& on_sample, const NameFn& on_name, const MapFn& on_map) {
  for (auto& ring : rings_) {
    ring.event.drain([&](const perf_event_header* h) {
      switch (h->type) {
        case PERF_RECORD_SAMPLE: {
          RawSample s;
          if (!parse_cpu_sample(h, cfg_, s)) return;
          samples_++;
          if (s.tid == pid_) {
            ring.since_rearm++;
            first_task_last_ns_ = std::max(first_task_last_ns_, s.time_ns);
          } else if (auto th = added_.find(s.tid); th != added_.end()) {
            std::vector<PerfEvent*> events;
            for (auto& e : th->second.events) events.push_back(&e);
            maybe_redraw(std::move(events), th->second.since_rearm);
          }
          on_sample(s);
          return;
        }
        case PERF_RECORD_LOST: {
          uint64_t v[2];  // id, lost
          if (h->size >= sizeof *h + sizeof v) {
            std::memcpy(v, h + 1, sizeof v);
            lost_ += v[1];
          }
          return;
        }
        case PERF_RECORD_COMM: {
          const size_t len = h->size - sizeof *h;
          if (len < sizeof(CommHead) + 1) return;
          CommHead c;
          std::memcpy(&c, h + 1, sizeof c);
          char name[17] = {};
          std::memcpy(name, reinterpret_cast<const char*>(h + 1) + sizeof c, std::min<size_t>(16, len - sizeof c));
          on_name(static_cast<pid_t>(c.pid), static_cast<pid_t>(c.tid), name, (h->misc & PERF_RECORD_MISC_COMM_EXEC) != 0);
          return;
        }
        case PERF_RECORD_MMAP2: {
          const size_t len = h->size - sizeof *h;
          if (len < sizeof(Mmap2Head) + sizeof(IdTrailer) || (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) return;
          Mmap2Head m;
          std::memcpy(&m, h + 1, sizeof m);
          IdTrailer id;
          std::memcpy(&id, reinterpret_cast<const char*>(h + 1) + len - sizeof id, sizeof id);
          const char* name = reinterpret_cast<const char*>(h + 1) + sizeof m;
          process::MapEntry e;
          e.start = m.addr;
          e.end = m.addr + m.len;
          e.offset = m.pgoff;
          e.readable = (m.prot & PROT_READ) != 0;
          e.writable = (m.prot & PROT_WRITE) != 0;
          e.executable = (m.prot & PROT_EXEC) != 0;
          e.is_private = (m.flags & MAP_PRIVATE) != 0;
          e.inode = m.ino;
          char dev[16];
          std::snprintf(dev, sizeof dev, "%02x:%02x", m.maj, m.min);
          e.dev = dev;
          e.path.assign(name, strnlen(name, len - sizeof m - sizeof id));
          on_map(static_cast<pid_t>(m.pid), id.time, std::move(e));
          return;
        }
        default:
          return;
      }
    });
    // Re-drawn on the original event: the launched process's first task, and what is forked from now on.
    if (cfg_.jitter && ring.since_rearm >= kRearmSamples) {
      ring.since_rearm = 0;
      if (!ring.event.set_period(jitter_.next())) cfg_.jitter = false;  // a kernel without it: fixed
    }
  }
  // A launcher that waits (sh, npm, a test runner) runs too little to reach 32 samples, and every
  // process it starts would copy one period: their samples would fall at the same points of their
  // lives (a short one's dynamic loader always or never sampled) and one alignment with periodic
  // work would hold for all of them. When its first task has not been sampled for 10 ms it is not
  // running, and a re-draw costs it nothing it was going to be sampled for: the period is re-drawn
  // every 10 ms then. (Not at every drain without its samples: drains come close together when the
  // tree starts threads, and a re-draw drops the part of the running task's period that elapsed.)
  forget_ended();
  if (cfg_.jitter && start_ == Start::kAtExec) {
    const uint64_t now = monotonic_ns();
    if (now - first_task_last_ns_ >= 10'000'000 && now - last_idle_draw_ns_ >= 10'000'000) {
      last_idle_draw_ns_ = now;
      for (auto& ring : rings_)
        if (!ring.event.set_period(jitter_.next())) cfg_.jitter = false;
    }
  }
}

std::vector<int> TreeSampler::fds() const {
  std::vector<int> fds;
  for (const auto& r : rings_) fds.push_back(r.event.fd());
  return fds;
}

size_t TreeSampler::ring_bytes() const {
  size_t n = 0;
  for (const auto& r : rings_) n += r.event.mapped_bytes();
  return n;
}

}  // namespace loopperf::sample
