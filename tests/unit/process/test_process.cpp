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
