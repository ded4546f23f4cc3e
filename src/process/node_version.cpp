#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "loopperf/process/process.h"

extern char** environ;

namespace loopperf::process {

std::string node_version(pid_t pid) {
  std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  char arg0[] = "node";
  char arg1[] = "--version";
  char* argv[] = {arg0, arg1, nullptr};
  // A clean environment: NODE_OPTIONS of ours must not leak into it.
  char* envp[] = {nullptr};
  pid_t child = -1;
  int rc = posix_spawn(&child, exe.c_str(), &fa, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  std::string text;
  if (rc == 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    char buf[128];
    while (text.size() < 64) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    ::kill(child, SIGKILL);  // harmless if it already exited; we reap it either way
    int status;
    ::waitpid(child, &status, 0);
  }
  ::close(out[0]);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  // Only a plausible version string: "v" + digits and dots.
  if (text.size() < 2 || text[0] != 'v' || text.find_first_not_of("0123456789.", 1) != std::string::npos) return {};
  return text;
}

}  // namespace loopperf::process
