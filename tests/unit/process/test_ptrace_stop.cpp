#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "loopperf/process/process.h"
#include "loopperf/process/ptrace_stop.h"

using loopperf::process::PtraceStop;

namespace {
pid_t fork_sleeper() {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  REQUIRE(pid > 0);
  return pid;
}
}  // namespace

// Wall mode stops our own child (record --mode wall -- CMD) from a sampler thread; if the child
// exits while the sampler waits for it to stop, that wait must not take the exit: the parent's
// wait needs the status (it is record's exit status). Here the test is tracer and parent at once,
// as loopperf's two threads are one thread group.
TEST_CASE("ptrace stop: our child's exit during the wait is left for the parent, with its status") {
  pid_t child = fork_sleeper();
  REQUIRE(::ptrace(PTRACE_SEIZE, child, nullptr, nullptr) == 0);
  REQUIRE(::kill(child, SIGKILL) == 0);
  auto stopped = PtraceStop::wait_for_stop(child);
  CHECK_FALSE(stopped.ok());
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);  // still there for the parent
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("ptrace stop: a stop is taken and the thread runs on after detach") {
  pid_t child = fork_sleeper();
  {
    auto stop = PtraceStop::stop(child);
    REQUIRE(stop.ok());
    CHECK(stop->regs().rsp != 0);
  }  // detached
  // Not stopped any more: /proc says sleeping (S), not traced-stopped (t).
  char state = '?';
  for (int i = 0; i < 200 && state != 'S'; i++) {
    FILE* f = ::fopen(("/proc/" + std::to_string(child) + "/stat").c_str(), "r");
    REQUIRE(f);
    int pid = 0;
    char comm[64];
    REQUIRE(::fscanf(f, "%d %63s %c", &pid, comm, &state) == 3);
    ::fclose(f);
    if (state != 'S') ::usleep(5000);
  }
  CHECK(state == 'S');
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("ptrace stop: only our own child's exit is left for the parent, not ours nor a missing pid's") {
  // wait_for_stop leaves an exit alone only for our own children's processes: not for ourselves
  // (our parent is someone else) nor for a missing process.
  CHECK_FALSE(loopperf::process::is_own_child_process(::getpid()));
  CHECK_FALSE(loopperf::process::is_own_child_process(999999999));
}
