#include "loopperf/record/process_tree.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "loopperf/common/duration.h"
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

Result<TracedProcess> ProcessTree::start_process(pid_t pid) {
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
  // What its recorder could not set up (loop health, heap names ...) is said at the end, once per
  // text with the pids it applies to.
  for (const auto& w : p.rec->warnings()) setup_warnings_[w].push_back(pid);
  p.start = start;
  p.start_real = start_real;
  p.start_mono = start_mono;
  return p;
}

ProcessTree::ProcessTree(RecorderOptions opts, std::optional<sample::ProcessEvents> events)
    : opts_(std::move(opts)), events_(std::move(events)) {}

void ProcessTree::add_root(TracedProcess p) {
  root_ = procs_.size();
  procs_.push_back(std::move(p));
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
      if (!root_exec_seen_ && e.kind == sample::ProcessEvent::Kind::kExec && e.pid == root_pid) root_exec_seen_ = true;
      else early_.push_back(e);
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
      auto p = start_process(pid);
      if (!p) {
        missed_++;
        continue;
      }
      procs_.push_back(std::move(p.value()));
    }
    for (pid_t tid : process::list_threads(pid)) {
      if (tid == root_pid) continue;  // the events were opened on it
      if (auto st = events_->add_thread(tid); !st && process::is_alive(pid))
        warnings_.push_back("processes started by thread " + std::to_string(tid) + " of " + std::to_string(pid) +
                            " are not followed: " + st.error().message);
    }
    for (pid_t child : process::list_children(pid))
      if (seen.insert(child).second) queue.push_back(child);
  }
  root_exec_seen_ = true;  // an attached root has exec'd long ago: its next exec is news
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
  std::erase_if(pending_, [this](const Pending& p) {
    if (!process::is_alive(p.pid)) {
      missed_++;  // gone before its program could be recorded (a short-lived process)
      return true;
    }
    // The kernel loads a program within microseconds of the exec: a short wait here, rather than
    // the sampling loop's next turn (up to 20 ms later).
    const auto briefly = std::min(p.deadline, Clock::now() + std::chrono::milliseconds(5));
    while (!program_in_place(p.pid) && Clock::now() < briefly) ::usleep(200);
    if (!program_in_place(p.pid) && Clock::now() < p.deadline) return false;
    begin_program(p.pid, p.exec_ns);
    return true;
  });
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
    auto next = start_process(pid);
    if (!next) {
      warnings_.push_back("process " + std::to_string(pid) + " exec'd node and could not be recorded further: " +
                          next.error().message);
      return;
    }
    if (was_root) next->cmdline = root().cmdline;  // the command as the user gave it
    next->exec_mono = exec_ns;
    procs_.push_back(std::move(next.value()));
    if (was_root) root_ = procs_.size() - 1;
    return;
  }
  auto p = start_process(pid);
  if (!p) {
    missed_++;  // gone already, or not ours to record
    return;
  }
  p->exec_mono = exec_ns;
  procs_.push_back(std::move(p.value()));
}

void ProcessTree::update() {
  if (!events_) return;
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
        if (e.pid != root_pid)
          if (TracedProcess* p = current(e.pid)) stop(*p, true, e.time_ns);
        break;
      case sample::ProcessEvent::Kind::kFork:
        break;  // a process is recorded from its exec: node's children, shells' commands all exec
    }
  }
  start_pending();
}

void ProcessTree::step(std::chrono::milliseconds timeout) {
  // A process's exec wakes the wait: the sooner its recorder starts, the more of it is recorded.
  root().rec->step(timeout, events_ ? events_->fds() : std::vector<int>{});
  for (auto& p : procs_)
    if (&p != &root() && !p.stopped) p.rec->step(std::chrono::milliseconds(0));
}

void ProcessTree::stop_all() {
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
  return n;
}

}  // namespace loopperf::record
