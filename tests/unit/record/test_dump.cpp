// take_dump on real processes: every thread is stopped only while its own stack is read, and a
// dumper killed in the middle of a stop leaves the target running and untraced.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "loopperf/record/dump.h"

using namespace loopperf;

namespace {

std::string status_field(pid_t pid, pid_t tid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) {
      size_t v = line.find_first_not_of(" \t", key.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  return "";
}

// The state letter settles within a moment of a change (exec, detach).
bool reaches_state(pid_t pid, char state) {
  for (int i = 0; i < 400; i++) {
    if (status_field(pid, pid, "State").rfind(std::string(1, state), 0) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// A real program, blocked in clock_nanosleep once it is sleeping (state S).
pid_t start_sleeper() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("sleep", "sleep", "600", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  REQUIRE(pid > 0);
  REQUIRE(reaches_state(pid, 'S'));
  return pid;
}

// SIGTERM ends a running process; one held in a ptrace stop would not act on it.
bool ends_on_sigterm(pid_t pid) {
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 500; i++) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return false;
}

}  // namespace

TEST_CASE("dump: each thread is in a ptrace stop while it is read, and runs on after") {
  pid_t target = start_sleeper();
  std::string state_while_stopped;
  record::DumpConfig cfg;
  cfg.pid = target;
  cfg.while_stopped = [&](pid_t tid) { state_while_stopped = status_field(target, tid, "State"); };
  auto dump = record::take_dump(cfg);
  REQUIRE(dump.ok());
  CHECK(state_while_stopped.rfind("t", 0) == 0);  // "t (tracing stop)"
  REQUIRE(dump->threads.size() == 1);
  const auto& t = dump->threads[0];
  CHECK(t.tid == target);
  CHECK(t.error.empty());
  CHECK_FALSE(t.frames.empty());
  CHECK_FALSE(t.unwind_end.empty());
  CHECK(t.syscall == "clock_nanosleep");
  CHECK(t.stopped_ns > 0);
  CHECK(dump->max_stopped_ns == t.stopped_ns);
  CHECK(status_field(target, target, "TracerPid") == "0");
  CHECK(ends_on_sigterm(target));
}

TEST_CASE("dump: a dumper killed during a stop leaves the target running and untraced") {
  pid_t target = start_sleeper();
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t dumper = ::fork();
  if (dumper == 0) {
    ::close(ready[0]);
    record::DumpConfig cfg;
    cfg.pid = target;
    cfg.while_stopped = [&](pid_t tid) {
      (void)!::write(ready[1], &tid, sizeof tid);
      for (;;) ::pause();  // killed here, holding the stop
    };
    (void)record::take_dump(cfg);
    ::_exit(1);
  }
  REQUIRE(dumper > 0);
  ::close(ready[1]);
  pid_t held = 0;
  REQUIRE(::read(ready[0], &held, sizeof held) == static_cast<ssize_t>(sizeof held));
  ::close(ready[0]);
  CHECK(held == target);
  CHECK(status_field(target, held, "State").rfind("t", 0) == 0);
  CHECK(status_field(target, held, "TracerPid") == std::to_string(dumper));
  ::kill(dumper, SIGKILL);
  REQUIRE(::waitpid(dumper, nullptr, 0) == dumper);
  // The kernel detached it when its tracer died: no stop, no tracer, and it acts on signals.
  CHECK(status_field(target, held, "TracerPid") == "0");
  CHECK(reaches_state(target, 'S'));
  CHECK(ends_on_sigterm(target));
}
