// take_dump on real processes: every thread is stopped only while its own stack is read, and a
// dumper killed in the middle of a stop leaves the target running and untraced.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
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

namespace {
int g_go = -1, g_up = -1;
// In the forked target: reports its tid, then ends as soon as the dumper writes to `go`.
void* short_lived(void*) {
  pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  (void)!::write(g_up, &tid, sizeof tid);
  char c;
  (void)!::read(g_go, &c, 1);
  return nullptr;
}
}  // namespace

// docs/dump.md: `error` is set for a thread that exited before it could be stopped; the others are
// still dumped, each with its unwind_end. The thread is made to exit while another one is held.
TEST_CASE("dump: a thread that exits before its stop gets an error, the others are dumped") {
  int go[2], up[2];
  REQUIRE(::pipe(go) == 0);
  REQUIRE(::pipe(up) == 0);
  pid_t target = ::fork();
  if (target == 0) {
    g_go = go[0];
    g_up = up[1];
    pthread_t t;
    if (pthread_create(&t, nullptr, short_lived, nullptr) != 0) ::_exit(1);
    for (;;) ::pause();
  }
  REQUIRE(target > 0);
  ::close(go[0]);
  ::close(up[1]);
  pid_t doomed = 0;
  REQUIRE(::read(up[0], &doomed, sizeof doomed) == static_cast<ssize_t>(sizeof doomed));
  ::close(up[0]);
  const std::string doomed_dir = "/proc/" + std::to_string(target) + "/task/" + std::to_string(doomed);
  bool released = false, gone = false;
  record::DumpConfig cfg;
  cfg.pid = target;
  cfg.while_stopped = [&](pid_t tid) {
    if (released || tid == doomed) return;
    released = true;
    (void)!::write(go[1], "x", 1);
    for (int i = 0; i < 1000 && !gone; i++) {
      gone = !std::filesystem::exists(doomed_dir);
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  auto dump = record::take_dump(cfg);
  ::close(go[1]);
  REQUIRE(dump.ok());
  CHECK(released);
  CHECK(gone);
  REQUIRE(dump->threads.size() == 2);
  for (const auto& t : dump->threads) {
    INFO("thread " << t.tid << " error '" << t.error << "' unwind_end '" << t.unwind_end << "'");
    if (t.tid == doomed) {
      CHECK(t.error == "thread " + std::to_string(doomed) + " exited");
      CHECK(t.frames.empty());
    } else {
      CHECK(t.tid == target);
      CHECK(t.error.empty());
      CHECK_FALSE(t.unwind_end.empty());
      CHECK_FALSE(t.frames.empty());
    }
  }
  CHECK(status_field(target, target, "TracerPid") == "0");
  CHECK(ends_on_sigterm(target));
}
