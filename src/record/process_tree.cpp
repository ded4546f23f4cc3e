#include "loopperf/record/process_tree.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "loopperf/common/duration.h"
#include "loopperf/common/log.h"
#include "loopperf/process/launch.h"
#include "loopperf/process/maps.h"
#include "loopperf/process/process.h"
#include "loopperf/record/node_target.h"

namespace loopperf::record {

using Clock = std::chrono::steady_clock;

namespace {

// The program an exec started is in place once its executable is mapped: the exec is news before
// the kernel has loaded it, and a recorder started then would find no node binary to read names
// and phases from.
bool program_in_place(pid_t pid) {
  auto info = process::inspect(pid);
  if (!info || info->exe.empty()) return false;
  auto maps = process::read_maps(pid);
  if (!maps) return false;
  for (const auto& m : *maps)
    if (m.clean_path() == info->exe) return true;
  return false;
}

}  // namespace

Result<TracedProcess> ProcessTree::start_process(pid_t pid, uint64_t exec_ns) {
  auto info = inspect_target(pid);
  if (!info) return info.error();
  if (launch_flags_) info->cmdline = process::without_launch_flags(info->cmdline, v8_log_dir_);
  RecorderOptions ro = opts_;
  ro.pid = pid;
  // Sampling starts now, before the ~10-60 ms of setting up names and probes (Recorder::start): a
  // process the command started is recorded from as close to its exec as loopperf can be; what
  // its rings cannot hold meanwhile is counted as lost.
  ro.defer_sampling = false;
  const auto start = Clock::now();
  const uint64_t start_real = realtime_ns(), start_mono = monotonic_ns();
  auto rec = Recorder::create(ro);
  if (!rec) return rec.error();
  TracedProcess p;
  p.pid = pid;
  p.rec = std::move(rec.value());
  p.exe = info->exe;
  p.is_node = info->is_node;
  p.cmdline = info->cmdline_string();
  // Asked of the executable in a short-lived process of its own, beside the recording.
  const bool is_node = p.is_node;
  p.node_version = std::async(std::launch::async, [is_node, pid] { return is_node ? process::node_version(pid) : std::string(); });
  p.rec->start(p.exe, p.is_node);
  log::debug("process " + std::to_string(pid) + " (" + p.exe + "): recorder set up in " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()) + " ms");
  // What its recorder could not set up (loop health, heap names ...) is said at the end, once per
  // text with the pids it applies to.
  for (const auto& w : p.rec->warnings()) setup_warnings_[w].push_back(pid);
  p.start = start;
  p.start_real = start_real;
  p.start_mono = start_mono;
  p.exec_mono = exec_ns;
  return p;
}

ProcessTree::ProcessTree(RecorderOptions opts, std::optional<sample::ProcessEvents> events,
                         std::unique_ptr<sample::TreeSampler> sampler)
    : opts_(std::move(opts)), events_(std::move(events)), sampler_(std::move(sampler)) {
  if (sampler_) {
    opts_.fed = true;
    opts_.kernel = sampler_->event().kernel;  // after the sampler's fallback to user frames
  }
}

void ProcessTree::add_root(TracedProcess p) {
  if (!p.exec_mono) p.exec_mono = root_exec_ns_;
  root_ = procs_.size();
  procs_.push_back(std::move(p));
  take_early(procs_.back().pid);
}

TracedProcess* ProcessTree::current(pid_t pid) {
  for (auto& p : procs_)
    if (p.pid == pid && !p.superseded) return &p;
  return nullptr;
}

bool ProcessTree::wait_for_root_exec(pid_t root_pid, std::chrono::milliseconds timeout) {
  if (!events_) return false;
  const auto deadline = Clock::now() + timeout;
  while (!root_exec_seen_) {
    for (const auto& e : events_->drain()) {
      // Everything else is news for update(): nothing in the tree runs before the root's exec, but
      // a shell may fork and its child exec before loopperf looks, and one drain (its CPUs' rings
      // one after another) need not hold them in time order.
      if (!root_exec_seen_ && e.kind == sample::ProcessEvent::Kind::kExec && e.pid == root_pid) {
        root_exec_seen_ = true;
        root_exec_ns_ = e.time_ns;
      } else {
        early_.push_back(e);
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    if (root_exec_seen_) {
      // And for the program to be loaded (program_in_place), polling: it takes microseconds.
      while (!program_in_place(root_pid) && Clock::now() < deadline && process::is_alive(root_pid))
        ::usleep(200);
      break;
    }
    std::vector<pollfd> fds;
    for (int fd : events_->fds()) fds.push_back(pollfd{fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(), static_cast<int>(std::min<int64_t>(left.count(), 20)));
  }
  return root_exec_seen_;
}

void ProcessTree::adopt_running_tree() {
  if (!events_) return;
  const pid_t root_pid = root().pid;
  std::vector<pid_t> queue{root_pid};
  std::set<pid_t> seen{root_pid};
  while (!queue.empty()) {
    const pid_t pid = queue.back();
    queue.pop_back();
    if (pid != root_pid) {
      auto p = start_process(pid, 0);
      if (!p) {
        missed_++;
        continue;
      }
      procs_.push_back(std::move(p.value()));
    }
    for (pid_t tid : process::list_threads(pid)) {
      if (tid != root_pid)  // the events were opened on it
        if (auto st = events_->add_thread(tid); !st && process::is_alive(pid))
          warnings_.push_back("processes started by thread " + std::to_string(tid) + " of " + std::to_string(pid) +
                              " are not followed: " + st.error().message);
      if (sampler_ && tid != sampler_->first_tid())
        if (auto st = sampler_->add_thread(pid, tid); !st && process::is_alive(pid))
          warnings_.push_back("thread " + std::to_string(tid) + " of " + std::to_string(pid) +
                              " is not sampled: " + st.error().message);
    }
    for (pid_t child : process::list_children(pid))
      if (seen.insert(child).second) queue.push_back(child);
  }
  root_exec_seen_ = true;  // an attached root has exec'd long ago: its next exec is news
  if (sampler_) sampler_->enable();  // every recorder is set up: the tree's samples count from now
}

size_t ProcessTree::running_tree_threads(pid_t root) {
  size_t threads = 0;
  std::vector<pid_t> queue{root};
  std::set<pid_t> seen{root};
  while (!queue.empty()) {
    const pid_t pid = queue.back();
    queue.pop_back();
    threads += process::list_threads(pid).size();
    for (pid_t child : process::list_children(pid))
      if (seen.insert(child).second) queue.push_back(child);
  }
  return threads;
}

void ProcessTree::stop(TracedProcess& p, bool exited, uint64_t end_ns) {
  if (p.stopped) return;
  // Its probes stay open until the session's end, when a sibling starting cannot wait for them.
  p.rec->stop(/*release_probes=*/false);
  p.elapsed = end_ns > p.start_mono && p.start_mono
                  ? std::chrono::nanoseconds(end_ns - p.start_mono)
                  : std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - p.start);
  p.stopped = true;
  p.exited = exited;
  if (exited) p.exit_mono = end_ns;
}

void ProcessTree::on_exec(pid_t pid, uint64_t time_ns) {
  TracedProcess* known = current(pid);
  // A node program's later execs stay with its recorder, which follows them.
  if (known && !known->stopped && known->is_node) return;
  for (const auto& p : pending_)
    if (p.pid == pid) return;
  pending_.push_back(Pending{pid, time_ns, Clock::now() + std::chrono::milliseconds(200)});
}

void ProcessTree::start_pending() {
  std::vector<pid_t> resolved;
  std::erase_if(pending_, [this, &resolved](Pending& p) {
    if (p.gone) return false;  // record_gone()'s, once the samples are in
    if (!process::is_alive(p.pid)) {
      // Gone before its program could be read (a short-lived process). The tree sampler may have
      // its samples and mappings; without it there is nothing to record.
      if (sampler_) {
        p.gone = true;
        return false;
      }
      missed_++;
      resolved.push_back(p.pid);
      return true;
    }
    // The kernel loads a program within microseconds of the exec: a short wait here, rather than
    // the sampling loop's next turn (up to 20 ms later).
    const auto briefly = std::min(p.deadline, Clock::now() + std::chrono::milliseconds(5));
    while (!program_in_place(p.pid) && Clock::now() < briefly) ::usleep(200);
    if (!program_in_place(p.pid) && Clock::now() < p.deadline) return false;
    begin_program(p.pid, p.exec_ns);
    resolved.push_back(p.pid);
    return true;
  });
  // What the tree sampler saw of them meanwhile goes to the program now recorded (or, for a
  // wrapper's exec that was not node, to the recorder that goes on following it).
  for (pid_t pid : resolved) take_early(pid);
}

void ProcessTree::begin_program(pid_t pid, uint64_t exec_ns) {
  TracedProcess* known = current(pid);
  if (known && !known->stopped) {
    // A program that was not node execs node (a wrapper: env, sh, npm's scripts): the recording of
    // that pid starts again, as node.
    auto info = inspect_target(pid);
    if (!info || !info->is_node) return;
    const bool was_root = known == &root();
    known->superseded = true;
    stop(*known, false);
    auto next = start_process(pid, exec_ns);
    if (!next) {
      warnings_.push_back("process " + std::to_string(pid) + " exec'd node and could not be recorded further: " +
                          next.error().message);
      return;
    }
    if (was_root) next->cmdline = root().cmdline;  // the command as the user gave it
    procs_.push_back(std::move(next.value()));
    if (was_root) root_ = procs_.size() - 1;
    return;
  }
  auto p = start_process(pid, exec_ns);
  if (!p) {
    missed_++;  // gone already, or not ours to record
    return;
  }
  procs_.push_back(std::move(p.value()));
}

void ProcessTree::update() {
  if (!events_) return;
  // Samples taken before this moment are given out after the events before it are taken in: a
  // sample after an exec must not go to the program the exec replaced.
  const uint64_t cut = monotonic_ns();
  // A program is news at its exec, before the kernel has put its arguments in place: its command
  // line is read again until it shows.
  for (auto& p : procs_) {
    if (!p.cmdline.empty() || p.stopped) continue;
    if (auto info = process::inspect(p.pid)) {
      if (launch_flags_) info->cmdline = process::without_launch_flags(info->cmdline, v8_log_dir_);
      p.cmdline = info->cmdline_string();
    }
  }
  const pid_t root_pid = root().pid;
  std::vector<sample::ProcessEvent> events = std::move(early_);
  early_.clear();
  for (auto& e : events_->drain()) events.push_back(std::move(e));
  for (const auto& e : events) {
    switch (e.kind) {
      case sample::ProcessEvent::Kind::kExec:
        if (e.pid == root_pid && !root_exec_seen_) {
          root_exec_seen_ = true;  // the release of the launched child: its recorder is in place
          break;
        }
        on_exec(e.pid, e.time_ns);
        break;
      case sample::ProcessEvent::Kind::kExit:
        // The root's exit is the session's (it waits for its child); another's ends its recording.
        if (e.pid == root_pid) break;
        if (TracedProcess* p = current(e.pid)) {
          stop(*p, true, e.time_ns);
          // Gone before its command line could be read: its program's name stands for it.
          if (auto comm = exec_comm_.find(e.pid); comm != exec_comm_.end()) {
            if (p->cmdline.empty()) p->cmdline = comm->second;
            exec_comm_.erase(comm);
          }
        } else {
          gone_.push_back(e.pid);
          if (sampler_) exit_ns_[e.pid] = e.time_ns;
        }
        break;
      case sample::ProcessEvent::Kind::kFork:
        break;  // a process is recorded from its exec: node's children, shells' commands all exec
    }
  }
  start_pending();
  if (sampler_) {
    take_samples(cut);
    record_gone();
  }
}

void ProcessTree::step(std::chrono::milliseconds timeout) {
  // A process's exec wakes the wait: the sooner its recorder starts, the more of it is recorded.
  std::vector<int> wake = events_ ? events_->fds() : std::vector<int>{};
  if (sampler_)
    for (int fd : sampler_->fds()) wake.push_back(fd);
  root().rec->step(timeout, wake);
  for (auto& p : procs_)
    if (&p != &root() && !p.stopped) p.rec->step(std::chrono::milliseconds(0));
}

void ProcessTree::stop_all() {
  if (sampler_) {
    // Everything the tree's events recorded, every exec and exit known by now (update() ran).
    sampler_->stop();
    take_samples(UINT64_MAX);
    record_gone();
    missed_ += pending_.size();  // exec'd in the last milliseconds, not recorded yet
    pending_.clear();
    for (auto& [pid, samples] : early_samples_) unrecorded_ += samples.size();
    early_samples_.clear();
    kept_bytes_ = 0;
  }
  for (auto& p : procs_) stop(p, false);
  for (auto& p : procs_) p.rec->release_probes();
}

std::vector<std::string> ProcessTree::warnings() const {
  std::vector<std::string> out = warnings_;
  for (const auto& [text, pids] : setup_warnings_) {
    std::string who;
    for (pid_t pid : pids) who += (who.empty() ? "" : ", ") + std::to_string(pid);
    out.push_back((pids.size() == 1 ? "process " : "processes ") + who + ": " + text);
  }
  return out;
}

size_t ProcessTree::process_count() const {
  std::set<pid_t> pids;
  for (const auto& p : procs_) pids.insert(p.pid);
  return pids.size();
}

uint64_t ProcessTree::samples() const {
  uint64_t n = 0;
  for (const auto& p : procs_) n += p.rec->samples();
  return n;
}

uint64_t ProcessTree::threads_active() const {
  uint64_t n = 0;
  for (const auto& p : procs_)
    if (!p.stopped) n += p.rec->stats().threads_active;
  return n;
}

uint64_t ProcessTree::lost_samples() const {
  uint64_t n = 0;
  for (const auto& p : procs_) n += p.rec->stats().lost;
  return n + tree_lost();
}

}  // namespace loopperf::record
