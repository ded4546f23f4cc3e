#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "loopperf/process/launch.h"

using loopperf::process::LaunchedChild;
using loopperf::process::LaunchOptions;

namespace {
void start_exit_7(LaunchedChild& child) {
  LaunchOptions opts;
  opts.argv = {"/bin/sh", "-c", "exit 7"};
  opts.perf_map = false;
  REQUIRE(child.start(opts).ok());
  REQUIRE(child.release().ok());
}
}  // namespace

TEST_CASE("launched child: its exit status, and an exit collected elsewhere ends the wait instead of hanging") {
  SECTION("normal exit: poll_exit sees it and keeps the status") {
    LaunchedChild child;
    start_exit_7(child);
    for (int i = 0; i < 500 && !child.poll_exit(); i++) ::usleep(10000);
    REQUIRE(child.exited());
    CHECK(child.exit_status() == 7);
    CHECK_FALSE(child.status_lost());
  }
  SECTION("reaped by another wait of ours (as wall mode's ptrace wait can): exited, status lost") {
    LaunchedChild child;
    start_exit_7(child);
    int status = 0;
    REQUIRE(::waitpid(child.pid(), &status, 0) == child.pid());  // someone else takes the exit
    CHECK(child.poll_exit());
    CHECK(child.exited());
    CHECK(child.status_lost());
    CHECK(child.exit_status() == LaunchedChild::kStatusLost);
    CHECK(child.wait() == LaunchedChild::kStatusLost);  // and wait() returns at once
  }
}
