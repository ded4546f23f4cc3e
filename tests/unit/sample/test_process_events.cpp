#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "loopperf/sample/process_events.h"
#include "held_child.h"

using namespace loopperf;

// A child held at a pipe before it runs a shell that starts two programs: every exec, fork and exit
// of the tree comes through the inherited event, the threads of none of them.
TEST_CASE("a process tree's forks, execs and exits are seen, from the held child's first exec on") {
  HeldChild held("/bin/true; /bin/true");
  const pid_t child = held.pid;
  REQUIRE(child > 0);
  auto events = sample::ProcessEvents::open(child);
  if (!events) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  REQUIRE(events.ok());
  REQUIRE(held.release());
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int execs = 0, forks = 0, exits = 0, child_execs = 0;
  uint64_t last = 0;
  bool ordered = true;
  for (const auto& e : events->drain()) {
    ordered = ordered && e.time_ns >= last;
    last = e.time_ns;
    switch (e.kind) {
      case sample::ProcessEvent::Kind::kExec:
        execs++;
        child_execs += e.pid == child;
        break;
      case sample::ProcessEvent::Kind::kFork:
        forks++;
        CHECK(e.ppid == child);
        break;
      case sample::ProcessEvent::Kind::kExit:
        exits++;
        break;
    }
  }
  CHECK(ordered);
  CHECK(child_execs == 1);  // sh
  // dash forks for the first /bin/true and may exec the last one in place.
  CHECK(execs >= 2);
  CHECK(execs <= 3);
  CHECK(forks == execs - 1);
  CHECK(exits == forks + 1);
  CHECK(events->lost() == 0);
}
