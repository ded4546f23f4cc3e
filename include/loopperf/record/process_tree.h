// The processes of one recording. Attach mode has one. Launch mode follows the command's process
// tree (sample/process_events.h): every process the command starts gets a Recorder of its own from
// its exec on; a process that execs node after a wrapper (`#!/usr/bin/env node`, `sh -c`, npm's
// scripts) is recognised again at that exec; a process that exits keeps what was recorded of it.
// The session merges them into one profile (profile/processes.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loopperf/record/recorder.h"
#include "loopperf/sample/process_events.h"

namespace loopperf::record {

// One program run by one process: its recorder and what it is.
struct TracedProcess {
  pid_t pid = 0;
  std::unique_ptr<Recorder> rec;
  std::string exe, cmdline;
  bool is_node = false;
  std::future<std::string> node_version;
  std::chrono::steady_clock::time_point start{};  // its sampling began
  int64_t start_real = 0;                          // the same moment, CLOCK_REALTIME ns
  uint64_t start_mono = 0;                         // and CLOCK_MONOTONIC ns, the process events' clock
  uint64_t exec_mono = 0;                          // its exec, when the tree's events saw it (0: not seen)
  std::chrono::nanoseconds elapsed{};              // set when it stops
  bool stopped = false;
  bool exited = false;
  // An earlier program of a pid that later exec'd node: its samples are kept, under that pid.
  bool superseded = false;
};

class ProcessTree {
 public:
  // `events`: the tree's execs and exits (launch mode); none in attach mode or when they could not
  // be followed, then only the root is recorded. `opts` is what each new process's recorder gets.
  ProcessTree(RecorderOptions opts, std::optional<sample::ProcessEvents> events);

  // Launch mode put node's perf-map flags on the command line, with V8's log in `v8_log_dir`:
  // processes that inherit them (child_process.fork) show their command lines without them.
  void set_launch_flags(std::string v8_log_dir) {
    launch_flags_ = true;
    v8_log_dir_ = std::move(v8_log_dir);
  }
  // The launched (or attached) process; its recorder is created and started by the caller.
  void add_root(TracedProcess p);
  // The launched process's current program.
  TracedProcess& root() { return procs_[root_]; }

  // Attach mode with --children, after add_root(): follows every thread of the running root (any
  // of them may start a process) and records the descendants that already run, following theirs.
  // A thread or process started while this looks is caught by the events of the thread that
  // started it, once that one is followed.
  void adopt_running_tree();
  // Waits up to `timeout` for the first exec of the launched process `root_pid` (its release from
  // launch's gate), before add_root(); false when none came (then /proc is looked at as before).
  bool wait_for_root_exec(pid_t root_pid, std::chrono::milliseconds timeout);
  // Takes in the tree's execs and exits since the last call: recorders for new programs, stops for
  // exited processes.
  void update();
  // Steps every recorder that still records: the root's waits up to `timeout`, the others' do not.
  void step(std::chrono::milliseconds timeout);
  // Stops every recorder still running, the root's included.
  void stop_all();

  // Processes the root starts are followed (launch mode, --children, and the events could be opened).
  bool follows() const { return events_.has_value(); }
  std::vector<TracedProcess>& processes() { return procs_; }
  // Distinct processes recorded, the root included.
  size_t process_count() const;
  uint64_t samples() const;
  uint64_t threads_active() const;
  uint64_t lost_samples() const;
  // Processes that exec'd and were gone before a recorder could attach to them; process events
  // the kernel dropped (a ring was full).
  uint64_t missed() const { return missed_; }
  uint64_t events_lost() const { return events_ ? events_->lost() : 0; }
  // What went wrong while following the tree, and what the recorders of processes other than the
  // launched one could not set up (grouped by text, with their pids).
  std::vector<std::string> warnings() const;

 private:
  // Starts recording `pid` as it runs now (attach semantics: sampling begins when all is set up).
  Result<TracedProcess> start_process(pid_t pid);
  // An exec: the pid waits in pending_ until its program is loaded (or 200 ms have passed), then
  // begin_program() starts its recorder, or restarts it when a wrapper exec'd node.
  void on_exec(pid_t pid, uint64_t time_ns);
  void start_pending();
  void begin_program(pid_t pid, uint64_t exec_ns);
  // `end_ns`: its exit's time (CLOCK_MONOTONIC), 0 for now.
  void stop(TracedProcess& p, bool exited, uint64_t end_ns = 0);
  TracedProcess* current(pid_t pid);

  RecorderOptions opts_;
  std::optional<sample::ProcessEvents> events_;
  std::vector<TracedProcess> procs_;
  size_t root_ = 0;
  struct Pending {
    pid_t pid;
    uint64_t exec_ns;  // the exec's time
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<Pending> pending_;
  bool root_exec_seen_ = false;
  // Events drained while waiting for the root's exec, other than that exec (the root forking and
  // its child exec'ing already): update() takes them first.
  std::vector<sample::ProcessEvent> early_;
  bool launch_flags_ = false;
  std::string v8_log_dir_;
  uint64_t missed_ = 0;
  std::vector<std::string> warnings_;
  std::map<std::string, std::vector<pid_t>> setup_warnings_;
};


}  // namespace loopperf::record
