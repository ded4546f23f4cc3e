#include "loopperf/process/process.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "loopperf/common/fd_budget.h"
#include "loopperf/common/fs.h"
#include "loopperf/process/maps.h"
#include "loopperf/process/status.h"

namespace loopperf::process {

std::string ProcessInfo::cmdline_string() const {
  std::string out;
  for (const auto& a : cmdline) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

static std::string proc_path(pid_t pid, const char* leaf) { return "/proc/" + std::to_string(pid) + "/" + leaf; }

static bool looks_like_node(const std::string& name) {
  std::string base = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  return base == "node" || base == "nodejs" || base.rfind("node-", 0) == 0 || base.rfind("node_", 0) == 0 ||
         base == "MainThread";
}

bool executable_named_node(pid_t pid) {
  char buf[4096];
  const ssize_t n = ::readlink(proc_path(pid, "exe").c_str(), buf, sizeof buf - 1);
  return n > 0 && looks_like_node(std::string(buf, static_cast<size_t>(n)));
}

bool maps_libnode(pid_t pid) {
  auto maps = read_maps(pid);
  return maps && !libnode_path(*maps).empty();
}

std::string foreign_owner(pid_t pid) {
  const uid_t me = ::geteuid();
  if (me == 0) return {};
  auto status = read_status(pid);
  if (!status || !status->uid || *status->uid == me) return {};
  return "process " + std::to_string(pid) + " belongs to uid " + std::to_string(*status->uid) +
         " and loopperf runs as uid " + std::to_string(me);
}

bool is_alive(pid_t pid) {
  auto status = read_status(pid);
  if (status.ok()) return status->state != 0 && !status->is_zombie();
  // /proc could not be read (out of descriptors, say): the pid's existence is still known, without
  // an fd (a zombie then passes for alive; a process that is gone never does).
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

ExitWatch::ExitWatch(pid_t pid) : pid_(pid) {
#ifdef SYS_pidfd_open
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  // A process that exited before is a zombie (its pidfd readable at once) or gone (ESRCH: the
  // fallback then says exited).
  if (fd >= 0) fd_ = static_cast<int>(fd);
#endif
}

ExitWatch::~ExitWatch() {
  if (fd_ >= 0) ::close(fd_);
}

bool ExitWatch::exited() const {
  if (fd_ < 0) return !is_alive(pid_);
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

bool is_own_child_process(pid_t pid) {
  auto status = read_status(pid);
  return status.ok() && status->tgid == pid && status->ppid == ::getpid();
}

pid_t live_thread(pid_t pid) {
  for (pid_t tid : list_threads(pid)) {
    if (tid == pid) continue;
    auto st = read_status(tid);  // /proc/TID reads a thread of any group, listed or not
    if (st.ok() && st->tgid == pid && st->state != 0 && !st->is_zombie()) return tid;
  }
  return 0;
}

Result<ProcessInfo> inspect(pid_t pid) {
  auto status = read_status(pid);
  if (!status) return status.error();
  // A leader that ended with pthread_exit (or SYS_exit) stays a zombie while its other threads run:
  // the process is alive, but its memory, executable and maps are gone from /proc/PID and must be
  // read through one of the live threads.
  pid_t proc_pid = pid;
  if (status->is_zombie()) {
    proc_pid = status->tgid == pid ? live_thread(pid) : 0;
    if (proc_pid == 0)
      return make_error(ErrorCode::kNoProcess,
                        "process " + std::to_string(pid) + " has already exited (zombie)");
  }

  ProcessInfo info;
  info.pid = pid;
  info.proc_pid = proc_pid;
  info.nspid = status->innermost_pid(pid);
  info.uid = status->uid.value_or(0);
  if (auto comm = read_small_file(proc_path(pid, "comm"))) {  // the leader's name outlives it
    info.comm = *comm;
    while (!info.comm.empty() && info.comm.back() == '\n') info.comm.pop_back();
  }
  pid = proc_pid;  // what follows is read through a live thread
  if (auto cmd = read_small_file(proc_path(pid, "cmdline"), 1 << 20)) {
    size_t start = 0;
    for (size_t i = 0; i < cmd->size(); i++) {
      if ((*cmd)[i] == '\0') {
        info.cmdline.push_back(cmd->substr(start, i - start));
        start = i + 1;
      }
    }
    if (start < cmd->size()) info.cmdline.push_back(cmd->substr(start));
  }
  char buf[4096];
  ssize_t n = ::readlink(proc_path(pid, "exe").c_str(), buf, sizeof buf - 1);
  if (n > 0) info.exe.assign(buf, static_cast<size_t>(n));
  info.is_node = looks_like_node(info.exe.empty() ? info.comm : info.exe) || looks_like_node(info.comm);
  if (!info.is_node && !info.cmdline.empty()) info.is_node = looks_like_node(info.cmdline[0]);
  // A distribution's node: the runtime is the shared libnode, whatever the executable is called.
  if (!info.is_node) info.is_node = maps_libnode(pid);
  return info;
}

std::vector<pid_t> list_threads(pid_t pid) {
  std::vector<pid_t> out;
  DIR* dir = ::opendir(proc_path(pid, "task").c_str());
  if (!dir) {
    note_fd_shortage(errno);
    return out;
  }
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    out.push_back(static_cast<pid_t>(std::atol(e->d_name)));
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<pid_t> list_children(pid_t pid) {
  std::vector<pid_t> out;
  for (pid_t tid : list_threads(pid)) {
    auto text = read_small_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/children");
    if (!text) continue;
    size_t pos = 0;
    while (pos < text->size()) {
      size_t end = text->find(' ', pos);
      if (end == std::string::npos) end = text->size();
      const long v = std::strtol(text->c_str() + pos, nullptr, 10);
      if (v > 0) out.push_back(static_cast<pid_t>(v));
      pos = end + 1;
    }
  }
  return out;
}

std::vector<pid_t> list_descendants(pid_t pid) {
  std::vector<pid_t> out;
  std::set<pid_t> seen{pid};
  for (size_t next = 0;; next++) {
    for (pid_t child : list_children(next == 0 ? pid : out[next - 1]))
      if (seen.insert(child).second) out.push_back(child);
    if (next >= out.size()) break;
  }
  return out;
}

std::string thread_name(pid_t pid, pid_t tid) {
  auto comm = read_small_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
  if (!comm) return {};
  std::string name = *comm;
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return name;
}

std::optional<SchedStat> sched_stat(pid_t pid, pid_t tid) {
  auto text = read_small_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat");
  if (!text) return std::nullopt;
  unsigned long long cpu = 0, delay = 0;
  if (std::sscanf(text->c_str(), "%llu %llu", &cpu, &delay) != 2) return std::nullopt;
  return SchedStat{cpu, delay};
}

std::optional<double> start_time(pid_t pid) {
  auto stat = read_small_file(proc_path(pid, "stat"));
  auto sys = read_small_file("/proc/stat");
  if (!stat || !sys) return std::nullopt;
  // Fields after the command name, which may itself hold spaces and parentheses: the last ')' ends it.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 1));
  std::string field;
  unsigned long long ticks = 0;
  for (int i = 3; i <= 22 && fields >> field; i++)  // field 3 is the state, 22 the start time
    if (i == 22) ticks = std::strtoull(field.c_str(), nullptr, 10);
  size_t at = sys->find("\nbtime ");
  long hz = ::sysconf(_SC_CLK_TCK);
  if (ticks == 0 || at == std::string::npos || hz <= 0) return std::nullopt;
  double boot = std::strtod(sys->c_str() + at + 7, nullptr);
  return boot + static_cast<double>(ticks) / static_cast<double>(hz);
}

}  // namespace loopperf::process
