#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>

#include "loopperf/process/process.h"

TEST_CASE("process start time: ours is recent and in the past, a missing pid is unknown") {
  auto ours = loopperf::process::start_time(::getpid());
  REQUIRE(ours.has_value());
  const double now = static_cast<double>(::time(nullptr));
  CHECK(*ours <= now + 1.5);  // /proc/stat's boot time is whole seconds
  CHECK(*ours > now - 3600);  // a unit test run started within the hour
  CHECK_FALSE(loopperf::process::start_time(0x7ffffff0).has_value());
}

// ExitWatch: a live child is not exited; once it exits it is, zombie (not reaped) or reaped.
TEST_CASE("ExitWatch: a child's exit is seen, a live process is not taken for exited") {
  int go[2];
  REQUIRE(::pipe(go) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    char c;
    (void)!::read(go[0], &c, 1);
    ::_exit(0);
  }
  ::close(go[0]);
  {
    const loopperf::process::ExitWatch watch(child);
    CHECK_FALSE(watch.exited());
    CHECK_FALSE(watch.exited());
    REQUIRE(::write(go[1], "x", 1) == 1);
    // The child is a zombie until reaped: exited all the same.
    for (int i = 0; i < 200 && !watch.exited(); ++i) ::usleep(5000);
    CHECK(watch.exited());
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(watch.exited());
  }
  ::close(go[1]);
  // A pid that names no process: exited from the start.
  CHECK(loopperf::process::ExitWatch(0x7ffffff0).exited());
}

TEST_CASE("ExitWatch: a leader that exited while another thread lives is not taken for exited") {
  int go[2];
  REQUIRE(::pipe(go) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    pthread_t t;
    ::pthread_create(
        &t, nullptr,
        [](void* fd) -> void* {
          char c;
          (void)!::read(*static_cast<int*>(fd), &c, 1);
          ::_exit(0);
        },
        &go[0]);
    ::syscall(SYS_exit, 0);  // the leader goes (this thread only, no unwinding), its thread stays
  }
  ::close(go[0]);
  const loopperf::process::ExitWatch watch(child);
  // The leader shows as a zombie within a moment; the process has not exited.
  for (int i = 0; i < 40; ++i) ::usleep(5000);
  CHECK_FALSE(watch.exited());
  REQUIRE(::write(go[1], "x", 1) == 1);
  for (int i = 0; i < 200 && !watch.exited(); ++i) ::usleep(5000);
  CHECK(watch.exited());
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  ::close(go[1]);
}
