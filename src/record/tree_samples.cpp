// ProcessTree's tree sampler (sample/tree_sampler.h): which program each sample of the tree
// belongs to, the samples kept until their program's recorder exists, and the programs that were
// gone before /proc could be read for them. The processes themselves (execs, exits, recorders) are
// followed in process_tree.cpp.
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "loopperf/common/duration.h"
#include "loopperf/record/process_tree.h"

namespace loopperf::record {

using Clock = std::chrono::steady_clock;

sample::EventConfig ProcessTree::sampler_config(const RecorderOptions& opts) {
  sample::EventConfig ev = cpu_event_config(opts);
  size_t pages = std::max(ev.ring_pages, ev.main_ring_pages) * 2;
  const size_t cpus = static_cast<size_t>(std::max(1L, ::sysconf(_SC_NPROCESSORS_CONF)));
  while (pages > 16 && pages * 4096 * cpus > (64u << 20)) pages /= 2;
  ev.ring_pages = pages;
  ev.main_ring_pages = 0;
  return ev;
}

void ProcessTree::record_gone() {
  std::vector<Pending> gone;
  std::erase_if(pending_, [&gone](const Pending& p) {
    if (p.gone) gone.push_back(p);
    return p.gone;
  });
  for (const Pending& p : gone) {
    if (!record_gone_program(p)) missed_++;
    take_early(p.pid);  // what is left of it: before its exec, or all when it could not be recorded
    unread_maps_.erase(p.pid);
    exec_comm_.erase(p.pid);
    exit_ns_.erase(p.pid);
  }
}

bool ProcessTree::record_gone_program(const Pending& p) {
  auto samples = early_samples_.find(p.pid);
  auto maps = unread_maps_.find(p.pid);
  if (samples == early_samples_.end() || maps == unread_maps_.end()) return false;
  if (std::none_of(samples->second.begin(), samples->second.end(),
                   [&](const sample::OwnedSample& o) { return o.time_ns() >= p.exec_ns; }))
    return false;
  // Its program's mappings: those made since the exec, in the order made; the first file is the
  // executable (the kernel maps it before the dynamic loader).
  std::vector<process::MapEntry> entries;
  std::string exe;
  for (const auto& [time_ns, m] : maps->second) {
    if (time_ns < p.exec_ns) continue;
    if (exe.empty() && m.is_file_backed()) exe = m.clean_path();
    entries.push_back(m);
  }
  if (exe.empty()) return false;
  RecorderOptions ro = opts_;
  ro.pid = p.pid;
  ro.loop_health = false;  // nothing left to trace or stop
  ro.wall = false;
  auto rec = Recorder::create(ro);
  if (!rec) return false;
  TracedProcess t;
  t.pid = p.pid;
  t.rec = std::move(rec.value());
  t.rec->files()->merge(std::move(entries));
  t.exe = exe;
  t.is_node = false;  // a node process does not end within milliseconds of its exec
  auto comm = exec_comm_.find(p.pid);
  t.cmdline = comm != exec_comm_.end() ? comm->second : exe.substr(exe.rfind('/') + 1);
  const uint64_t now_mono = monotonic_ns();
  const uint64_t ago = now_mono > p.exec_ns ? now_mono - p.exec_ns : 0;
  t.start = Clock::now() - std::chrono::nanoseconds(ago);
  t.start_real = realtime_ns() - static_cast<int64_t>(ago);
  t.start_mono = p.exec_ns;
  t.exec_mono = p.exec_ns;
  t.rec->start(exe, false);
  t.rec->on_thread_name(p.pid, t.cmdline.c_str());
  procs_.push_back(std::move(t));
  take_early(p.pid);
  auto exit = exit_ns_.find(p.pid);
  uint64_t end = exit != exit_ns_.end() ? exit->second : 0;
  stop(procs_.back(), true, end ? end : now_mono);
  return true;
}

void ProcessTree::keep(std::vector<sample::OwnedSample>& into, const sample::RawSample& s) {
  // Bounded: a fork that never execs, sampled for the whole recording, must not take memory without
  // end. Past the bound its samples are counted as unrecorded.
  constexpr size_t kKeepBytes = 64u << 20;
  sample::OwnedSample copy(s);
  if (kept_bytes_ + copy.bytes() > kKeepBytes) {
    unrecorded_++;
    return;
  }
  kept_bytes_ += copy.bytes();
  into.push_back(std::move(copy));
}

TracedProcess* ProcessTree::program_at(pid_t pid, uint64_t time_ns) {
  TracedProcess* best = nullptr;
  for (auto& p : procs_) {
    if (p.pid != pid || p.exec_mono > time_ns || (p.exited && time_ns > p.exit_mono)) continue;
    if (!best || p.exec_mono >= best->exec_mono) best = &p;
  }
  // A later exec whose program is not recorded yet: the sample is that program's.
  for (const auto& e : pending_)
    if (e.pid == pid && e.exec_ns <= time_ns && (!best || e.exec_ns > best->exec_mono)) return nullptr;
  return best;
}

void ProcessTree::dispatch(const sample::RawSample& s) {
  if (TracedProcess* p = program_at(s.pid, s.time_ns)) p->rec->on_cpu_sample(s);
  else keep(early_samples_[s.pid], s);
}

void ProcessTree::take_early(pid_t pid) {
  auto it = early_samples_.find(pid);
  if (it == early_samples_.end()) return;
  std::vector<sample::OwnedSample> samples = std::move(it->second);
  early_samples_.erase(it);
  const bool waiting = std::any_of(pending_.begin(), pending_.end(), [pid](const Pending& p) { return p.pid == pid; });
  std::vector<sample::OwnedSample> still;
  for (auto& o : samples) {
    kept_bytes_ -= o.bytes();
    const sample::RawSample s = o.view();
    if (TracedProcess* p = program_at(pid, s.time_ns)) {
      p->rec->on_cpu_sample(s);
    } else if (waiting) {
      kept_bytes_ += o.bytes();
      still.push_back(std::move(o));
    } else {
      unrecorded_++;  // before its first recorded program: a fork's, before its exec
    }
  }
  if (!still.empty()) early_samples_[pid] = std::move(still);
}

void ProcessTree::take_samples(uint64_t cut) {
  std::vector<sample::OwnedSample> held = std::move(held_);
  held_.clear();
  for (auto& o : held) {
    kept_bytes_ -= o.bytes();
    dispatch(o.view());
  }
  sampler_->drain(
      [&](const sample::RawSample& s) {
        if (s.time_ns > cut) keep(held_, s);
        else dispatch(s);
      },
      [this](pid_t pid, pid_t tid, const char* name, bool exec) {
        if (exec) exec_comm_[pid] = name;
        if (TracedProcess* p = current(pid)) p->rec->on_thread_name(tid, name);
      },
      [this](pid_t pid, uint64_t time_ns, process::MapEntry m) {
        // Kept only for processes whose program has no recorder yet (a bounded number each).
        if (program_at(pid, time_ns)) return;
        auto& list = unread_maps_[pid];
        if (list.size() < 4096) list.emplace_back(time_ns, std::move(m));
      });
  // Processes that exited with no program recorded: what was kept of them is counted, not held.
  for (pid_t pid : gone_) {
    auto it = early_samples_.find(pid);
    if (it == early_samples_.end() ||
        std::any_of(pending_.begin(), pending_.end(), [pid](const Pending& p) { return p.pid == pid; }))
      continue;
    for (const auto& o : it->second) kept_bytes_ -= o.bytes();
    unrecorded_ += it->second.size();
    early_samples_.erase(it);
  }
  for (pid_t pid : gone_) {
    if (std::any_of(pending_.begin(), pending_.end(), [pid](const Pending& p) { return p.pid == pid; })) continue;
    unread_maps_.erase(pid);
    exec_comm_.erase(pid);
    exit_ns_.erase(pid);
  }
  gone_.clear();
}

}  // namespace loopperf::record
