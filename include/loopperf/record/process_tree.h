// The processes of one recording. Attach mode has one. Launch mode follows the command's process
// tree (sample/process_events.h): every process the command starts gets a Recorder of its own for
// the program it execs; a process that execs node after a wrapper (`#!/usr/bin/env node`, `sh -c`,
// npm's scripts) is recognised again at that exec; a process that exits keeps what was recorded of
// it. The session merges them into one profile (profile/processes.h).
//
// In launch mode the tree's cpu samples come from one inherited event per CPU (sample/
// tree_sampler.h), each sample given to the recorder of the program its process ran at the
// sample's time: a program is sampled from its exec on, including what it ran before its recorder
// existed (kept until then), and the recorders open no events of their own (RecorderOptions::fed;
// that part of ProcessTree is in tree_samples.cpp).
// With --children (attach mode) the same, from events opened on every running thread of the tree
// (adopt_running_tree), unless the tree is too large for them: then each recorder samples its own
// process, from when it was found.
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
#include "loopperf/sample/sample_record.h"
#include "loopperf/sample/tree_sampler.h"

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
  uint64_t exit_mono = 0;                          // its exit, when it exited (the events' time)
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
  // `sampler`: the tree's cpu samples (launch mode), then every recorder is fed from it.
  ProcessTree(RecorderOptions opts, std::optional<sample::ProcessEvents> events,
              std::unique_ptr<sample::TreeSampler> sampler = nullptr);

  // The tree sampler's event for recordings of `opts`: the recorders' event, with one ring per CPU
  // that holds what every thread of the tree ran on that CPU while loopperf was busy (a new node
  // process's recorder takes 10-60 ms to set up): twice the main thread's ring, at most 64 MiB
  // over all CPUs.
  static sample::EventConfig sampler_config(const RecorderOptions& opts);

  // Launch mode put node's perf-map flags on the command line, with V8's log in `v8_log_dir`:
  // processes that inherit them (child_process.fork) show their command lines without them.
  void set_launch_flags(std::string v8_log_dir) {
    launch_flags_ = true;
    v8_log_dir_ = std::move(v8_log_dir);
  }
  // The launched (or attached) process; its recorder is created and started by the caller (with
  // RecorderOptions::fed when the tree has a sampler).
  void add_root(TracedProcess p);
  // The launched process's current program.
  TracedProcess& root() { return procs_[root_]; }

  // Attach mode with --children, after add_root(): follows every thread of the running root (any
  // of them may start a process) and records the descendants that already run, following theirs.
  // A thread or process started while this looks is caught by the events of the thread that
  // started it, once that one is followed.
  // With a tree sampler (opened with TreeSampler::Start::kWhenEnabled on the root's thread), every
  // running thread of the tree gets its sampling events too, and they count once all is set up.
  void adopt_running_tree();
  // The threads of a running process and its descendants (what adopt_running_tree's sampling
  // events cost: one per thread and CPU).
  static size_t running_tree_threads(pid_t root);
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
  // The tree's sampler, if it has one: its samples lost (a CPU's ring was full: not one process's),
  // and samples no program was recorded for (a process gone within milliseconds of its exec, before
  // its program could be read; a fork that never exec'd; the memory for samples kept waiting for
  // their recorder was used up).
  bool samples_tree() const { return sampler_ != nullptr; }
  uint64_t tree_lost() const { return sampler_ ? sampler_->lost() : 0; }
  uint64_t unrecorded_samples() const { return unrecorded_; }
  // What went wrong while following the tree, and what the recorders of processes other than the
  // launched one could not set up (grouped by text, with their pids).
  std::vector<std::string> warnings() const;

 private:
  // Starts recording `pid` as it runs now (attach semantics: sampling begins when all is set up).
  // `exec_ns`: the exec that started its program (0: not seen, attach mode).
  Result<TracedProcess> start_process(pid_t pid, uint64_t exec_ns);
  // An exec: the pid waits in pending_ until its program is loaded (or 200 ms have passed), then
  // begin_program() starts its recorder, or restarts it when a wrapper exec'd node.
  void on_exec(pid_t pid, uint64_t time_ns);
  void start_pending();
  void begin_program(pid_t pid, uint64_t exec_ns);
  // The tree sampler's samples since the last call, given to their programs' recorders: those
  // taken before `cut` (every exec and exit before it is known), the rest at the next call.
  void take_samples(uint64_t cut);
  void dispatch(const sample::RawSample& s);
  // The program `pid` ran at `time_ns`, if it is recorded; null as well while an exec of it before
  // that time waits for its recorder (pending_).
  TracedProcess* program_at(pid_t pid, uint64_t time_ns);
  // Samples of `pid` kept while it had no recorder, given to the recorders they belong to now.
  void take_early(pid_t pid);
  // A program that exited before /proc could show it (a few milliseconds): recorded as native code
  // from the tree sampler's samples and its mapping records, after the samples were taken in.
  void record_gone();
  struct Pending;
  bool record_gone_program(const Pending& p);
  void keep(std::vector<sample::OwnedSample>& into, const sample::RawSample& s);
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
    bool gone = false;  // exited before its program could be read: recorded from the tree's records
  };
  std::vector<Pending> pending_;
  bool root_exec_seen_ = false;
  uint64_t root_exec_ns_ = 0;  // the launched process's first exec (its events' time)
  // Events drained while waiting for the root's exec, other than that exec (the root forking and
  // its child exec'ing already): update() takes them first.
  std::vector<sample::ProcessEvent> early_;
  bool launch_flags_ = false;
  std::string v8_log_dir_;
  uint64_t missed_ = 0;
  std::vector<std::string> warnings_;
  std::map<std::string, std::vector<pid_t>> setup_warnings_;
  std::unique_ptr<sample::TreeSampler> sampler_;
  // Copies of samples: taken after the last cut (held_), or of a pid with no recorder yet (early_).
  std::vector<sample::OwnedSample> held_;
  std::map<pid_t, std::vector<sample::OwnedSample>> early_samples_;
  size_t kept_bytes_ = 0;
  std::vector<pid_t> gone_;  // exited with no program recorded, since the last take_samples()
  // What the tree sampler said of processes with no program recorded: their executable mappings
  // (with the record's time), their program's name at exec, their exit's time.
  std::map<pid_t, std::vector<std::pair<uint64_t, process::MapEntry>>> unread_maps_;
  std::map<pid_t, std::string> exec_comm_;
  std::map<pid_t, uint64_t> exit_ns_;
  uint64_t unrecorded_ = 0;
};


}  // namespace loopperf::record
