// Launch mode: start a command held at a gate so sampling can be set up before its first
// instruction, then release it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "loopperf/common/unique_fd.h"
#include "loopperf/common/result.h"

namespace loopperf::process {

struct LaunchOptions {
  std::vector<std::string> argv;
  // Turn on V8's perf map (--perf-basic-prof, --interpreted-frames-native-stack) for node targets.
  bool perf_map = true;
  // Where V8's isolate-*.log goes when we can redirect it (a private temporary directory).
  std::string v8_log_dir;
};

// The argv and NODE_OPTIONS a command runs with; exposed for tests.
struct LaunchPlan {
  std::vector<std::string> argv;
  std::string node_options;   // value for NODE_OPTIONS, "" to leave it unset/unchanged
  bool argv_is_node = false;  // flags went into argv (node itself); else only NODE_OPTIONS
};
LaunchPlan plan_launch(const LaunchOptions& opts, const char* existing_node_options);
// A command line of the launched tree without the flags plan_launch put on node's (a child that
// child_process.fork started inherits them): what the user's command would have run.
std::vector<std::string> without_launch_flags(const std::vector<std::string>& cmdline, const std::string& v8_log_dir);

class LaunchedChild {
 public:
  LaunchedChild() = default;
  ~LaunchedChild();
  LaunchedChild(const LaunchedChild&) = delete;
  LaunchedChild& operator=(const LaunchedChild&) = delete;

  // Forks; the child waits at the gate (a pipe) before exec.
  Status start(const LaunchOptions& opts);
  // Opens the gate: the child execs. Returns kLaunch if exec failed (command not found ...).
  Status release();
  pid_t pid() const { return pid_; }
  // node's perf-map flags went on the command line (the command is node itself), not NODE_OPTIONS.
  bool flags_in_argv() const { return perf_map_ && argv_is_node_; }

  // Non-blocking reap; true once the child has exited (exit_status() then valid).
  bool poll_exit();
  // Blocking wait.
  int wait();
  // Shell-style status: the exit code, or 128 + signal number. kStatusLost when the exit was
  // collected by another wait of ours, so the status is unknown (the wall sampler's ptrace wait
  // leaves our child's exit alone; this is the safety net, see poll_exit).
  static constexpr int kStatusLost = 1;
  bool status_lost() const { return lost_; }
  int exit_status() const { return status_; }
  bool exited() const { return exited_; }
  void signal(int sig);

  // Removes isolate-*-v8.log files that V8 wrote into the child's working directory during the
  // run, when they could not be redirected (command was not node itself).
  void cleanup_v8_logs();

 private:
  pid_t pid_ = -1;
  UniqueFd gate_fd_;   // write end: closing it releases the child
  UniqueFd error_fd_;  // read end: exec errno, CLOEXEC on the child side
  bool exited_ = false;
  int status_ = 0;
  bool lost_ = false;
  bool argv_is_node_ = false;
  bool perf_map_ = false;
  std::string program_;  // argv[0] as given, for the error when it cannot be run
  std::string cwd_;
  long long start_time_ = 0;
};

}  // namespace loopperf::process
