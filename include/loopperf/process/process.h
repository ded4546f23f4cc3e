// Facts about a target process read from /proc, and the preflight checks that run before anything
// touches it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "loopperf/common/result.h"

namespace loopperf::process {

struct ProcessInfo {
  pid_t pid = 0;
  // What /proc/PID/... and the memory are read through: pid, or, when the thread-group leader has
  // exited (a zombie) while other threads run on, a live thread's tid (the leader's /proc entry no
  // longer shows the memory map or the executable).
  pid_t proc_pid = 0;
  pid_t nspid = 0;          // pid inside the innermost pid namespace (== pid outside containers)
  uid_t uid = 0;            // real uid
  std::string comm;         // /proc/PID/comm
  std::string exe;          // readlink /proc/PID/exe ("" when not readable)
  std::vector<std::string> cmdline;
  // exe, comm or argv[0] looks like node / nodejs, or it maps libnode.so (a distribution's node).
  // record and dump also look inside the executable (record/node_target.h).
  bool is_node = false;

  std::string cmdline_string() const;  // space-joined, for the profile header
};

// Reads /proc/PID/{status,comm,cmdline,exe}. kNoProcess when it does not exist (or has exited: a
// zombie with no live thread), kPermission when /proc hides it from us.
Result<ProcessInfo> inspect(pid_t pid);

// A thread of process `pid` other than its leader that has not exited; 0 when there is none.
pid_t live_thread(pid_t pid);

bool is_alive(pid_t pid);  // exists and is not a zombie

// Whether a process has exited, asked often (every turn of a recording's loop): through a pidfd
// (one poll with no wait, where is_alive reads /proc/PID/status, ~50-100 us for a busy node),
// which also never mistakes a new process that reuses the pid for the target, and tells a zombie
// leader with live threads from an exited process. Falls back to is_alive where pidfds are not
// available (kernels before 5.3, seccomp).
class ExitWatch {
 public:
  explicit ExitWatch(pid_t pid);
  ~ExitWatch();
  ExitWatch(const ExitWatch&) = delete;
  ExitWatch& operator=(const ExitWatch&) = delete;
  bool exited() const;

 private:
  pid_t pid_;
  int fd_ = -1;
};

// When `pid` belongs to another user and loopperf does not run as root: "process 4242 belongs to
// uid 0 and loopperf runs as uid 1000" (the cause of a refusal, whatever the sysctls say); else "".
std::string foreign_owner(pid_t pid);

// Its executable's file name is node's (node, nodejs, node-*, node_*): what node_version() runs.
bool executable_named_node(pid_t pid);
// It has libnode.so mapped: the node runtime as a shared library (Debian's nodejs package).
bool maps_libnode(pid_t pid);

// True when `pid` is a process (a thread group leader, zombie or not) whose parent is this process.
bool is_own_child_process(pid_t pid);

// Thread ids from /proc/PID/task ("" list when the process is gone).
// Its threads, sorted; empty when they cannot be listed (gone, or no descriptor to read /proc with):
// a live process has at least one, so callers take empty as "unknown", never as "all ended".
std::vector<pid_t> list_threads(pid_t pid);
// The processes `pid`'s threads have started and that still run (/proc/PID/task/TID/children).
std::vector<pid_t> list_children(pid_t pid);
// Its children, their children and so on, parents before their children (not `pid` itself).
std::vector<pid_t> list_descendants(pid_t pid);

// /proc/PID/task/TID/comm without the newline; "" when the thread is gone.
std::string thread_name(pid_t pid, pid_t tid);

// A thread's scheduler figures so far (/proc/PID/task/TID/schedstat): nanoseconds on a CPU, and
// nanoseconds runnable but waiting for one (other threads, other processes, a cgroup's CPU quota).
struct SchedStat {
  uint64_t cpu_ns = 0;
  uint64_t run_delay_ns = 0;
};
std::optional<SchedStat> sched_stat(pid_t pid, pid_t tid);

// When the process started, in seconds since the epoch (from its start time in /proc/PID/stat and
// the boot time in /proc/stat: ~1 s of precision). nullopt when unknown.
std::optional<double> start_time(pid_t pid);

}  // namespace loopperf::process

namespace loopperf::process {

// "v20.20.2": runs the target's own executable (/proc/PID/exe, so it works for deleted binaries
// and containers) with --version, only when it is named node (executable_named_node), time-limited, as the target's user and group (never with
// loopperf's own privileges: the binary is the target owner's choice). Never touches the running
// target. "" when unknown.
std::string node_version(pid_t pid);

}  // namespace loopperf::process
