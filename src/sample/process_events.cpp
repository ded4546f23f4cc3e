#include "loopperf/sample/process_events.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace loopperf::sample {

namespace {

perf_event_attr tree_attr() {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_DUMMY;  // counts nothing, samples nothing: only the side records
  attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
  attr.sample_id_all = 1;  // the time on COMM records too
  attr.inherit = 1;        // every descendant, from its fork on
  attr.task = 1;           // PERF_RECORD_FORK / PERF_RECORD_EXIT
  attr.comm = 1;
  attr.comm_exec = 1;      // a COMM record marks an exec
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  attr.use_clockid = 1;
  attr.clockid = CLOCK_MONOTONIC;
  attr.watermark = 1;
  attr.wakeup_watermark = 1;  // wake a poll() at the first record: a new process is news at once
  return attr;
}

// Record bodies (linux/perf_event.h describes them), followed by the sample_id fields: pid, tid
// (PERF_SAMPLE_TID) then time (PERF_SAMPLE_TIME).
struct TaskBody {
  uint32_t pid, ppid, tid, ptid;
  uint64_t time;
};
struct IdTrailer {
  uint32_t pid, tid;
  uint64_t time;
};

}  // namespace

Result<ProcessEvents> ProcessEvents::open(pid_t pid) {
  ProcessEvents pe;
  const long cpus = ::sysconf(_SC_NPROCESSORS_CONF);
  EventConfig cfg;
  cfg.kernel = false;
  Error first_error = make_error(ErrorCode::kResource, "no CPU to follow processes on");
  for (int cpu = 0; cpu < std::max(1L, cpus); cpu++) {
    auto ev = PerfEvent::open(pid, tree_attr(), 8, cfg, cpu);
    if (ev) {
      pe.rings_.push_back(std::move(*ev));
      pe.cpus_.push_back(cpu);
    } else if (pe.rings_.empty() && cpu == 0) {
      first_error = ev.error();  // an offline CPU refuses; only a refusal everywhere is an error
    }
  }
  if (pe.rings_.empty()) return first_error;
  return pe;
}

Status ProcessEvents::add_thread(pid_t tid) {
  EventConfig cfg;
  cfg.kernel = false;
  for (size_t i = 0; i < rings_.size(); i++) {
    auto ev = PerfEvent::open_into(tid, tree_attr(), rings_[i], cfg, cpus_[i]);
    if (!ev) return ev.error();
    extra_.push_back(std::move(*ev));
  }
  return {};
}

std::vector<ProcessEvent> ProcessEvents::drain() {
  std::vector<ProcessEvent> out;
  for (auto& ring : rings_) {
    ring.drain([&](const perf_event_header* h) {
      const char* body = reinterpret_cast<const char*>(h + 1);
      const size_t len = h->size - sizeof *h;
      switch (h->type) {
        case PERF_RECORD_FORK:
        case PERF_RECORD_EXIT: {
          if (len < sizeof(TaskBody)) return;
          TaskBody t;
          std::memcpy(&t, body, sizeof t);
          if (t.pid != t.tid) return;  // a thread of a process, not a process
          // A fork's pid == ppid is a new thread; a thread's exit has pid != tid (above).
          if (h->type == PERF_RECORD_FORK && t.pid == t.ppid) return;
          out.push_back({h->type == PERF_RECORD_FORK ? ProcessEvent::Kind::kFork : ProcessEvent::Kind::kExit,
                         static_cast<pid_t>(t.pid), static_cast<pid_t>(t.ppid), t.time});
          return;
        }
        case PERF_RECORD_COMM: {
          if (!(h->misc & PERF_RECORD_MISC_COMM_EXEC) || len < 8 + sizeof(IdTrailer)) return;
          uint32_t ids[2];
          std::memcpy(ids, body, sizeof ids);
          IdTrailer id;
          std::memcpy(&id, body + len - sizeof id, sizeof id);
          out.push_back({ProcessEvent::Kind::kExec, static_cast<pid_t>(ids[0]), 0, id.time});
          return;
        }
        case PERF_RECORD_LOST: {
          uint64_t v[2];  // id, lost
          if (len >= sizeof v) {
            std::memcpy(v, body, sizeof v);
            lost_ += v[1];
          }
          return;
        }
        default:
          return;
      }
    });
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ProcessEvent& a, const ProcessEvent& b) { return a.time_ns < b.time_ns; });
  return out;
}

std::vector<int> ProcessEvents::fds() const {
  std::vector<int> fds;
  for (const auto& r : rings_) fds.push_back(r.fd());
  return fds;
}

}  // namespace loopperf::sample
