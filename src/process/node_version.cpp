#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "loopperf/common/unique_fd.h"
#include "loopperf/process/process.h"
#include "loopperf/process/status.h"

namespace loopperf::process {

std::string node_version(pid_t pid) {
  std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  // Only a binary named node is asked: a program recognised as node by what it contains (a renamed
  // node, a single-executable application) may take --version as its own argument and run itself.
  if (!executable_named_node(pid)) return {};
  // The executable is whatever the target's owner runs, and "node" as argv[0] is enough to be taken
  // for node: run with our privileges (root, under sudo) it would run their code as root. So it runs
  // as the target's user and group, which gains nobody anything; without the right to switch, only
  // when that is who we are.
  auto status = read_status(pid);
  if (!status || !status->uid || !status->gid) return {};
  const uid_t uid = *status->uid;  // real ids: what the target's owner runs as
  const gid_t gid = *status->gid;
  const bool switch_ids = uid != ::geteuid() || gid != ::getegid();
  if (switch_ids && ::geteuid() != 0) return {};
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return {};
  UniqueFd read_end(out[0]), write_end(out[1]);
  char arg0[] = "node";
  char arg1[] = "--version";
  char* argv[] = {arg0, arg1, nullptr};
  // A clean environment: NODE_OPTIONS of ours must not leak into it.
  char* envp[] = {nullptr};
  // fork, not posix_spawn: the child must change its credentials before exec. Between fork and exec
  // only raw system calls: they change this one thread's credentials, not glibc's setxid broadcast.
  pid_t child = ::fork();
  if (child == 0) {
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(null_fd, STDERR_FILENO) < 0 ||
        ::dup2(write_end.get(), STDOUT_FILENO) < 0)
      ::_exit(127);
    if (switch_ids && (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, gid, gid, gid) != 0 ||
                       ::syscall(SYS_setresuid, uid, uid, uid) != 0))
      ::_exit(127);
    ::execve(exe.c_str(), argv, envp);
    ::_exit(127);
  }
  const int rc = child > 0 ? 0 : -1;
  write_end.reset();  // ours closed, so the read below ends when the child's copy does
  std::string text;
  if (rc == 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    char buf[128];
    while (text.size() < 64) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{read_end.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = ::read(read_end.get(), buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    ::kill(child, SIGKILL);  // harmless if it already exited; we reap it either way
    int status;
    ::waitpid(child, &status, 0);
  }
  read_end.reset();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  // Only a plausible version string: "v" + digits and dots.
  if (text.size() < 2 || text[0] != 'v' || text.find_first_not_of("0123456789.", 1) != std::string::npos) return {};
  return text;
}

}  // namespace loopperf::process
