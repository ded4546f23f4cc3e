// The end-of-run warnings of a process tree: each process's said with its pid once there are
// several, as they are for a recording of one process.
#include <catch2/catch.hpp>

#include "loopperf/record/run_warnings.h"

using namespace loopperf::record;

TEST_CASE("one process: its warnings as they are") {
  auto out = tree_warnings({{4242, {{"no perf map found for pid 4242", "hint"}}}});
  REQUIRE(out.size() == 1);
  CHECK(out[0].text == "no perf map found for pid 4242");
  CHECK(out[0].hint == "hint");
}

TEST_CASE("several processes: each warning names its process, in the order given") {
  auto out = tree_warnings({{10, {{"a", "h1"}}}, {11, {{"b", "h2"}, {"c", ""}}}});
  REQUIRE(out.size() == 3);
  CHECK(out[0].text == "process 10: a");
  CHECK(out[1].text == "process 11: b");
  CHECK(out[1].hint == "h2");
  CHECK(out[2].text == "process 11: c");
  CHECK(tree_warnings({}).empty());
}
